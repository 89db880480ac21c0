//! The settings of the HTTP sinks (`splunk_hec`, `elasticsearch`, `http`): what they share
//! (TLS, timeouts, batching, compression, concurrency) and each one's own, with their
//! defaults and the rules a value must pass. `config` reads the TOML and applies these rules;
//! nothing here knows about TOML.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::es_integration::EsIntegration;
use crate::format::Format;
use crate::secret::{Secret, SecretOrigin, is_loopback, redact_url};

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// TLS settings of an HTTP sink. Verification is on unless `verify` is turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM bundle of extra trusted CAs (added to the system roots).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) and its PEM private key, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The receiver's own certificate (PEM), trusted exactly instead of a CA and name
    /// check (`sink::tls`).
    pub pinned_cert_file: Option<PathBuf>,
    pub verify: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca_file: None,
            cert_file: None,
            key_file: None,
            pinned_cert_file: None,
            verify: true,
        }
    }
}

/// When a flush is sent: whichever limit is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records per request.
    pub max_events: usize,
    /// Encoded bytes per request (before compression); one larger record is sent alone.
    pub max_bytes: usize,
    /// How long the first batch of a flush waits for more to join it.
    pub timeout: Duration,
}

/// Settings every HTTP sink has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCommon {
    pub tls: TlsConfig,
    /// Per request, connection included.
    pub request_timeout: Duration,
    /// gzip request bodies.
    pub compression: bool,
    pub batch: BatchLimits,
    /// Flushes in flight at once (acknowledgements still go out in order).
    pub concurrency: usize,
    /// Upper bound of the backoff between retries.
    pub retry_max_backoff: Duration,
}

/// Default `request_timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Allowed `request_timeout` and `retry_max_backoff`.
pub const WAIT_RANGE: RangeInclusive<Duration> = MS..=HOUR;
/// Default `concurrency`: a second flush in flight hides one round trip.
pub const CONCURRENCY: usize = 2;
pub const CONCURRENCY_RANGE: RangeInclusive<i64> = 1..=64;
/// Default `retry_max_backoff`.
pub const RETRY_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Allowed `batch_max_events`.
pub const BATCH_MAX_EVENTS_RANGE: RangeInclusive<i64> = 1..=100_000;
/// Allowed `batch_max_bytes`.
pub const BATCH_MAX_BYTES_RANGE: RangeInclusive<i64> = 1_000..=100_000_000;
/// Allowed `batch_timeout`.
pub const BATCH_TIMEOUT_RANGE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(60);

impl HttpCommon {
    /// Defaults shared by the three sinks; each sink adjusts batch size and compression.
    pub fn new(compression: bool, batch: BatchLimits) -> HttpCommon {
        HttpCommon {
            tls: TlsConfig::default(),
            request_timeout: REQUEST_TIMEOUT,
            compression,
            batch,
            concurrency: CONCURRENCY,
            retry_max_backoff: RETRY_MAX_BACKOFF,
        }
    }
}

/// `compression`: `gzip` or `none`.
pub fn compression(s: &str) -> Result<bool, String> {
    match s {
        "gzip" => Ok(true),
        "none" => Ok(false),
        other => Err(format!(
            "unknown compression {other:?} (expected gzip or none)"
        )),
    }
}

/// A sink's endpoint: `https://`, or `http://` to a loopback host only (credentials and
/// records would otherwise cross the network in clear); no credentials, query or fragment.
pub fn endpoint(s: &str) -> Result<Url, String> {
    let shown = redact_url(s);
    Err(match Url::parse(s) {
        Err(e) => format!("{shown:?} is not a valid URL: {e}"),
        Ok(u) => match (u.scheme(), u.host()) {
            (_, None) => format!("{shown:?} has no host"),
            (_, Some(_)) if !u.username().is_empty() || u.password().is_some() => {
                "must not contain credentials (user:password@); use the token / password keys"
                    .into()
            }
            (_, Some(_)) if u.query().is_some() || u.fragment().is_some() => {
                format!(
                    "{shown:?} must not have a query or fragment (a secret in a URL ends up in logs; use the token, api_key or headers keys)"
                )
            }
            ("https", Some(_)) => return Ok(u),
            ("http", Some(h)) if is_loopback(&h) => return Ok(u),
            ("http", Some(h)) => format!(
                "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); \
                 to {h} the credentials and the records would travel in clear: use https://"
            ),
            (other, _) => {
                format!("unsupported scheme {other:?} in {shown:?} (expected https://)")
            }
        },
    })
}

/// Visible ASCII, space and tab: what an HTTP header value may hold (a token, an API key or
/// a header value is refused otherwise, without being shown).
pub fn header_value_ok(s: &Secret) -> bool {
    s.expose()
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

// splunk_hec

/// The sourcetype of the Splunk Add-on for Microsoft Office 365 (raw records only).
pub const O365_SOURCETYPE: &str = "o365:management:activity";

/// `[sinks.NAME] type = "splunk_hec"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecConfig {
    /// Base URL (`https://splunk.example:8088`); the collector paths are appended.
    pub endpoint: Url,
    pub token: Secret,
    pub token_origin: SecretOrigin,
    pub indexer_ack: bool,
    pub ack_poll_interval: Duration,
    pub ack_timeout: Duration,
    pub index: Option<String>,
    pub source: Option<String>,
    pub host: Option<String>,
    pub sourcetype: String,
    pub http: HttpCommon,
}

/// Default batch limits of `splunk_hec`: Vector's 1 MB, and a count that keeps ack lists
/// short.
pub const HEC_LIMITS: BatchLimits = BatchLimits {
    max_events: 1000,
    max_bytes: 1_000_000,
    timeout: Duration::from_secs(1),
};

/// Default `ack_poll_interval`: how often `/services/collector/ack` is asked.
pub const ACK_POLL_INTERVAL: Duration = Duration::from_secs(2);
pub const ACK_POLL_INTERVAL_RANGE: RangeInclusive<Duration> = MS..=Duration::from_secs(600);
/// Default `ack_timeout`: how long a batch may wait to be indexed before it is sent again.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(300);
pub const ACK_TIMEOUT_RANGE: RangeInclusive<Duration> = MS..=HOUR;

/// The `sourcetype` of a HEC sink that sets none, by its format.
pub fn default_sourcetype(format: Format) -> &'static str {
    match format {
        // The Splunk Add-on for Microsoft Office 365's own sourcetype: its field extractions
        // and CIM mappings apply to the records unchanged.
        Format::Raw => O365_SOURCETYPE,
        Format::Ecs | Format::Ocsf => "_json",
        Format::Cef => "cef",
        Format::Text => "o365fwd:text",
    }
}

// elasticsearch

/// Default target of `elasticsearch` (ECS documents in a data stream).
pub const DEFAULT_DATA_STREAM: &str = "logs-o365.audit-default";

/// Where documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsTarget {
    /// A data stream: `create` only, every document needs `@timestamp`.
    DataStream(String),
    Index(String),
}

impl EsTarget {
    pub fn name(&self) -> &str {
        match self {
            EsTarget::DataStream(s) | EsTarget::Index(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsAuth {
    None,
    /// `Authorization: ApiKey <encoded>` (the base64 `id:key` Elasticsearch hands out).
    ApiKey {
        key: Secret,
        origin: SecretOrigin,
    },
    Basic {
        username: String,
        password: Secret,
        origin: SecretOrigin,
    },
}

/// `[sinks.NAME] type = "elasticsearch"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsConfig {
    pub endpoint: Url,
    pub target: EsTarget,
    pub auth: EsAuth,
    pub http: HttpCommon,
    /// `pipeline`: the ingest pipeline named on every action (else the target's default).
    pub pipeline: Option<String>,
    /// `integration = true`: documents shaped as Elastic Agent's o365 input sends them.
    pub integration: Option<EsIntegration>,
}

/// Default batch limits of `elasticsearch`: well under Elastic's "a few tens of MB"
/// guidance.
pub const ES_LIMITS: BatchLimits = BatchLimits {
    max_events: 2000,
    max_bytes: 5_000_000,
    timeout: Duration::from_secs(1),
};

/// Elasticsearch stores JSON documents: CEF and text lines have no place there (outside
/// integration mode, which fixes the documents' shape itself).
pub fn es_document_format(format: Format) -> Result<(), String> {
    match format {
        Format::Cef | Format::Text => Err(
            "Elasticsearch stores JSON documents: use format = \"ecs\", \"ocsf\" or \"raw\"".into(),
        ),
        Format::Raw | Format::Ecs | Format::Ocsf => Ok(()),
    }
}

/// A data stream needs `@timestamp` in every document, which raw records and OCSF events do
/// not have (outside integration mode, which adds it).
pub fn es_data_stream_format(format: Format) -> Result<(), String> {
    match format {
        Format::Raw | Format::Ocsf => Err(
            "a data stream needs @timestamp in every document, which raw records and OCSF events do not have: \
             use format = \"ecs\", or index = \"...\" to store them"
                .into(),
        ),
        Format::Ecs | Format::Cef | Format::Text => Ok(()),
    }
}

/// The `username` of basic authentication: it is sent as `username:password`.
pub fn es_username(u: &str) -> Result<(), String> {
    if u.is_empty() || u.contains(':') {
        return Err("must be non-empty and without `:`".into());
    }
    Ok(())
}

/// Elasticsearch index and data stream names: lowercase, no separators or wildcards.
pub fn target_name(name: &str) -> Result<(), String> {
    let bad = name.is_empty()
        || name.len() > 255
        || name.starts_with(['-', '_', '+', '.'])
        || name
            .chars()
            .any(|c| c.is_uppercase() || "\\/*?\"<>| ,#:".contains(c));
    if bad {
        return Err(format!(
            "{name:?} is not a valid name (lowercase, not starting with - _ + ., none of \\ / * ? \" < > | , # : or spaces)"
        ));
    }
    Ok(())
}

// http (webhook)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// One record per line (`application/x-ndjson`).
    #[default]
    Ndjson,
    /// One JSON array of records per request (`application/json`); text formats become
    /// JSON strings.
    JsonArray,
}

/// A configured header. Every value is held as a secret: headers usually carry credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Secret,
    pub origin: SecretOrigin,
}

/// `[sinks.NAME] type = "http"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: Url,
    pub encoding: Encoding,
    pub headers: Vec<Header>,
    pub http: HttpCommon,
}

/// Default batch limits of `http`.
pub const WEBHOOK_LIMITS: BatchLimits = BatchLimits {
    max_events: 500,
    max_bytes: 1_000_000,
    timeout: Duration::from_secs(1),
};

/// `encoding`: `ndjson` (the default) or `json_array`.
pub fn encoding(s: &str) -> Result<Encoding, String> {
    match s {
        "ndjson" => Ok(Encoding::Ndjson),
        "json_array" => Ok(Encoding::JsonArray),
        other => Err(format!(
            "unknown encoding {other:?} (expected ndjson or json_array)"
        )),
    }
}

/// Headers the sink sets itself, refused in `[sinks.NAME.headers]`.
pub const RESERVED_HEADERS: [&str; 6] = [
    "content-type",
    "content-encoding",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
];

/// A configured header's name: an HTTP token that the sink does not set itself.
pub fn header_name(name: &str) -> Result<(), String> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(format!("{name:?} is not a valid header name"));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("{name} is set by o365fwd itself"));
    }
    Ok(())
}
