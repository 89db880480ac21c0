//! The TOML configuration: schema, defaults, validation, secrets.
//!
//! The types in this file are what the rest of the program consumes: fully validated, with
//! defaults applied and secrets resolved. Parsing is strict (`deny_unknown_fields`) and
//! reports every problem at once with its key path and line/column.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::format::{Format, FormatOptions};
use crate::record::ContentType;

/// A secret value. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The only way to read the value: call sites are easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration was read from (for messages).
    pub source: PathBuf,
    pub agent: AgentConfig,
    pub tenants: BTreeMap<String, TenantConfig>,
    pub sinks: BTreeMap<String, SinkConfig>,
    /// What was accepted but deserves attention (a secret file its group can read), each
    /// located like a problem: `FILE:LINE:COLUMN: key: message`.
    pub warnings: Vec<String>,
    /// `[enrich]`: GeoIP/ASN and user-agent enrichment (off when absent).
    pub enrich: Option<crate::format::enrich::EnrichConfig>,
}

/// `[agent]`
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// sled database directory. Default `/var/lib/o365fwd`.
    pub state_dir: PathBuf,
    /// Time between listings of a feed. Default 60 s.
    pub poll_interval: Duration,
    /// How far behind the cursor every listing starts again, to catch content that is
    /// listed late. Default 1 h.
    pub overlap: Duration,
    /// How long record ids are remembered to drop the API's repeats. Default 24 h.
    pub dedup_horizon: Duration,
    /// How far back a feed starts on its first run. Default 7 days (all the API keeps).
    pub initial_lookback: Duration,
    /// Bound on the SIGTERM drain. Default 30 s.
    pub shutdown_timeout: Duration,
    /// Records per batch handed to the sinks. Default 500.
    pub batch_size: usize,
    /// Batches submitted and not yet committed, over all feeds. Default 16.
    pub max_in_flight_batches: usize,
    /// Blobs fetched concurrently per feed. Default 4.
    pub fetch_concurrency: usize,
    /// Per-request timeout towards the API. Default 60 s.
    pub request_timeout: Duration,
    /// Fetch attempts of a blob before it is recorded as failed (it is retried on later
    /// polls until it expires). Default 5.
    pub blob_attempts: u32,
    /// Address of the `/metrics` and `/health` endpoint. None = off.
    pub listen: Option<SocketAddr>,
    /// How long a sink may fail without any acknowledgement before `/health` reports it.
    /// Default 60 s.
    pub unhealthy_after: Duration,
    /// Largest blob read, decoded; a larger one is recorded as failed. Default 64 MiB.
    pub max_blob_bytes: u64,
    /// How long a feed may make no progress at all (see `daemon::progress`) before
    /// `/health` reports it and the watchdog is no longer fed. `None` = derived from
    /// `poll_interval` and `request_timeout`.
    pub stall_timeout: Option<Duration>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            state_dir: PathBuf::from("/var/lib/o365fwd"),
            poll_interval: Duration::from_secs(60),
            overlap: Duration::from_secs(3600),
            dedup_horizon: Duration::from_secs(24 * 3600),
            initial_lookback: Duration::from_secs(7 * 24 * 3600),
            shutdown_timeout: Duration::from_secs(30),
            batch_size: 500,
            max_in_flight_batches: 16,
            fetch_concurrency: 4,
            request_timeout: Duration::from_secs(60),
            blob_attempts: 5,
            listen: None,
            unhealthy_after: Duration::from_secs(60),
            max_blob_bytes: crate::api::DEFAULT_MAX_BLOB_BYTES,
            stall_timeout: None,
        }
    }
}

/// Microsoft cloud of a tenant; selects the API host and the login authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    #[default]
    Commercial,
    Gcc,
    GccHigh,
    Dod,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Commercial => "commercial",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc_high",
            Cloud::Dod => "dod",
        }
    }
    /// API root host (`https://{host}/api/v1.0/{tenant}/activity/feed`).
    pub fn api_url(self) -> &'static str {
        match self {
            Cloud::Commercial => "https://manage.office.com",
            Cloud::Gcc => "https://manage-gcc.office.com",
            Cloud::GccHigh => "https://manage.office365.us",
            Cloud::Dod => "https://manage.protection.apps.mil",
        }
    }
    /// Microsoft Graph host of the cloud (the audit log search of `backfill`); its token's
    /// scope is this + `/.default`. Commercial and GCC share one.
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Commercial | Cloud::Gcc => "https://graph.microsoft.com",
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
        }
    }
    /// Token authority.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Commercial | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
        }
    }
    pub fn parse(s: &str) -> Option<Cloud> {
        match s {
            "commercial" => Some(Cloud::Commercial),
            "gcc" => Some(Cloud::Gcc),
            "gcc_high" => Some(Cloud::GccHigh),
            "dod" => Some(Cloud::Dod),
            _ => None,
        }
    }
}

/// `[tenants.NAME]`
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The name of the table (`contoso` in `[tenants.contoso]`).
    pub name: String,
    pub tenant_id: String,
    pub client_id: String,
    /// Empty when `certificate` is set.
    pub client_secret: Secret,
    /// Where the secret (or the certificate key) was read from, for `check` output.
    pub secret_origin: SecretOrigin,
    /// Certificate credential (signed client assertions) instead of the client secret.
    pub certificate: Option<crate::api::CertificateKey>,
    /// Proxy for this tenant's token and API requests. None: the `HTTPS_PROXY` /
    /// `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` environment variables apply.
    pub proxy: Option<Url>,
    pub cloud: Cloud,
    pub content_types: Vec<ContentType>,
    /// `PublisherIdentifier` on every call; defaults to `tenant_id`.
    pub publisher_id: String,
    /// API base (scheme, host, port); `/api/v1.0/{tenant}/activity/feed/...` is appended.
    pub api_url: Url,
    /// Token authority; `/{tenant}/oauth2/v2.0/token` is appended.
    pub login_url: Url,
    /// The resource the token is for (v1 `resource`, v2 `scope` = this + `/.default`).
    /// Defaults to the cloud's API host, as Microsoft documents per cloud.
    pub resource: String,
    /// Request budget shared by all feeds of the tenant. Default 2000 per minute.
    pub requests_per_minute: u32,
    /// Microsoft Graph base for `backfill` (the audit log search); defaults to the cloud's
    /// Graph host, `/v1.0` appended unless a path is given. The token is always asked for
    /// the cloud's Graph host ([`Cloud::graph_url`]), so an override only moves requests.
    pub graph_url: Url,
}

/// Where a tenant's client secret came from. Shown by `o365fwd check` in place of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// `client_secret` written in the configuration file itself.
    Inline,
    /// `client_secret_file`, read at load time (absolute path).
    File(PathBuf),
    /// `client_secret_env`: the variable's name.
    Env(String),
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretOrigin::Inline => f.write_str("inline (in the configuration file)"),
            SecretOrigin::File(p) => write!(f, "file {}", p.display()),
            SecretOrigin::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

/// `[sinks.NAME]`
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub format: Format,
    pub format_options: FormatOptions,
    /// `reassemble_split_records = true`: also send a merged view of Dynamics 365 records
    /// split for size (every part is still sent as itself).
    pub reassemble: Option<crate::record::split::SplitConfig>,
    /// `[sinks.NAME.filter]`: which records the sink receives (`None`: all).
    pub filter: Option<std::sync::Arc<crate::filter::Filter>>,
    pub kind: SinkKind,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    /// NDJSON file, fsynced before acknowledging, truncated back to the last committed
    /// length on start.
    File {
        path: PathBuf,
    },
    Stdout,
    /// RFC 5424 / 3164 over UDP, TCP, TLS or a Unix socket.
    Syslog(crate::sink::syslog::SyslogConfig),
    /// Splunk HTTP Event Collector, optionally with indexer acknowledgement.
    SplunkHec(crate::sink::http::hec::HecConfig),
    /// Elasticsearch `_bulk` with `create` and the record id as `_id`.
    Elasticsearch(crate::sink::http::elasticsearch::EsConfig),
    /// A generic HTTP collector (webhook).
    Http(crate::sink::http::webhook::WebhookConfig),
    /// Kafka through librdkafka, idempotent, acknowledged per record with `acks=all`.
    Kafka(crate::sink::kafka::KafkaConfig),
}

impl SinkKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkKind::File { .. } => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::Syslog(_) => "syslog",
            SinkKind::SplunkHec(_) => "splunk_hec",
            SinkKind::Elasticsearch(_) => "elasticsearch",
            SinkKind::Http(_) => "http",
            SinkKind::Kafka(_) => "kafka",
        }
    }
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `tenants.contoso.cloud` (empty for syntax errors).
    pub key: String,
    /// 1-based line and column of the offending value, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The file the problems are in.
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{} problem{} in {}:",
            n,
            if n == 1 { "" } else { "s" },
            self.file.display()
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", p.located(&self.file))?;
        }
        Ok(())
    }
}

impl Problem {
    /// `FILE:LINE:COLUMN: key: message`, as printed.
    pub fn located(&self, file: &Path) -> String {
        let mut s = file.display().to_string();
        if let (Some(l), Some(c)) = (self.line, self.column) {
            s.push_str(&format!(":{l}:{c}"));
        }
        if self.key.is_empty() {
            s.push_str(&format!(": {}", self.message));
        } else {
            s.push_str(&format!(": {}: {}", self.key, self.message));
        }
        s
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            problems: vec![Problem {
                key: String::new(),
                line: None,
                column: None,
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `source` is only used in messages.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        parse::parse(text, source)
    }

    /// A summary safe to print: every secret redacted.
    pub fn summary(&self) -> String {
        parse::summary(self)
    }
}

mod parse;
