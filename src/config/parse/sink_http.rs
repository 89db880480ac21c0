//! Keys of the HTTP sinks: `splunk_hec`, `elasticsearch`, `http` (webhook), and the keys
//! they share (TLS, timeouts, batching, compression, concurrency).

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::checks::is_loopback;
use super::secret::{self, Env};
use super::table::{Ctx, Span, Table, type_name};
use crate::config::{Secret, SecretOrigin, SinkKind};
use crate::format::Format;
use crate::sink::http::elasticsearch::{self as es, EsAuth, EsConfig, EsTarget};
use crate::sink::http::hec::{self, HecConfig};
use crate::sink::http::webhook::{self, Encoding, Header, WebhookConfig};
use crate::sink::http::{BatchLimits, HttpCommon, TlsConfig};

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

fn placeholder() -> (Secret, SecretOrigin) {
    (Secret::new(""), SecretOrigin::Inline)
}

pub(super) fn splunk_hec(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
    format: Format,
) -> SinkKind {
    let endpoint = url(
        ctx,
        t,
        "endpoint",
        "the HEC address, e.g. https://splunk.example:8088",
    );
    let keys = ["token", "token_file", "token_env"];
    let (token, token_origin) = secret::secret(ctx, t, base, env, keys, true)
        .map(|s| header_safe(ctx, t, keys, s))
        .unwrap_or_else(placeholder);
    let sourcetype = match format {
        // The Splunk Add-on for Microsoft Office 365's own sourcetype: its field extractions
        // and CIM mappings apply to the records unchanged.
        Format::Raw => hec::O365_SOURCETYPE,
        Format::Ecs | Format::Ocsf => "_json",
        Format::Cef => "cef",
        Format::Text => "o365fwd:text",
    };
    let cfg = HecConfig {
        endpoint,
        token,
        token_origin,
        indexer_ack: t.bool(ctx, "indexer_ack", false),
        ack_poll_interval: t.duration(
            ctx,
            "ack_poll_interval",
            Duration::from_secs(2),
            MS,
            Duration::from_secs(600),
        ),
        ack_timeout: t.duration(ctx, "ack_timeout", Duration::from_secs(300), MS, HOUR),
        index: text(ctx, t, "index"),
        source: text(ctx, t, "source"),
        host: text(ctx, t, "host"),
        sourcetype: text(ctx, t, "sourcetype").unwrap_or_else(|| sourcetype.to_string()),
        http: common(ctx, t, base, true, hec::LIMITS),
    };
    SinkKind::SplunkHec(cfg)
}

pub(super) fn elasticsearch(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
    format: Format,
    format_span: Option<Span>,
) -> SinkKind {
    let endpoint = url(
        ctx,
        t,
        "endpoint",
        "the Elasticsearch address, e.g. https://es.example:9200",
    );
    let (integration, pipeline) =
        super::es_integration::parse(ctx, t, format, format_span.is_some());
    if integration.is_none() && matches!(format, Format::Cef | Format::Text) {
        ctx.report(
            &t.key("format"),
            format_span.as_ref(),
            "Elasticsearch stores JSON documents: use format = \"ecs\", \"ocsf\" or \"raw\"",
        );
    }
    let ds = t.str(ctx, "data_stream");
    let index = t.str(ctx, "index");
    let target = match (ds, index) {
        _ if integration.is_some() => EsTarget::DataStream(
            integration
                .as_ref()
                .map(|i| i.data_stream())
                .unwrap_or_default(),
        ),
        (Some(_), Some((_, span))) => {
            ctx.report(
                &t.key("index"),
                Some(&span),
                "set either data_stream or index, not both",
            );
            EsTarget::DataStream(es::DEFAULT_DATA_STREAM.into())
        }
        (None, Some((name, span))) => {
            target_name(ctx, &t.key("index"), name, &span);
            EsTarget::Index(name.into())
        }
        (Some((name, span)), None) => {
            target_name(ctx, &t.key("data_stream"), name, &span);
            EsTarget::DataStream(name.into())
        }
        (None, None) => EsTarget::DataStream(es::DEFAULT_DATA_STREAM.into()),
    };
    if integration.is_none()
        && matches!(target, EsTarget::DataStream(_))
        && matches!(format, Format::Raw | Format::Ocsf)
    {
        let span = format_span.or_else(|| t.span.clone());
        ctx.report(
            &t.key("format"),
            span.as_ref(),
            "a data stream needs @timestamp in every document, which raw records and OCSF events do not have: \
             use format = \"ecs\", or index = \"...\" to store them",
        );
    }
    let api_keys = ["api_key", "api_key_file", "api_key_env"];
    let pw_keys = ["password", "password_file", "password_env"];
    let has_api = secret::given(t, api_keys);
    let has_pw = secret::given(t, pw_keys);
    let username = t.str(ctx, "username");
    let auth = if has_api && (has_pw || username.is_some()) {
        ctx.report(
            &t.key("api_key"),
            t.span.as_ref(),
            "set either an api_key or a username and password, not both",
        );
        EsAuth::None
    } else if has_api {
        let (key, origin) = secret::secret(ctx, t, base, env, api_keys, true)
            .map(|s| header_safe(ctx, t, api_keys, s))
            .unwrap_or_else(placeholder);
        EsAuth::ApiKey { key, origin }
    } else if let Some((user, span)) = username {
        if user.is_empty() || user.contains(':') {
            ctx.report(
                &t.key("username"),
                Some(&span),
                "must be non-empty and without `:`",
            );
        }
        let (password, origin) =
            secret::secret(ctx, t, base, env, pw_keys, true).unwrap_or_else(placeholder);
        EsAuth::Basic {
            username: user.to_string(),
            password,
            origin,
        }
    } else {
        if has_pw {
            t.missing(ctx, "username", "the user the password belongs to");
        }
        EsAuth::None
    };
    SinkKind::Elasticsearch(EsConfig {
        endpoint,
        target,
        auth,
        http: common(ctx, t, base, true, es::LIMITS),
        pipeline,
        integration,
    })
}

pub(super) fn webhook(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> SinkKind {
    let url = url(
        ctx,
        t,
        "url",
        "where records are POSTed, e.g. https://collector.example/ingest",
    );
    let encoding = match t.str(ctx, "encoding") {
        None | Some(("ndjson", _)) => Encoding::Ndjson,
        Some(("json_array", _)) => Encoding::JsonArray,
        Some((other, span)) => {
            ctx.report(
                &t.key("encoding"),
                Some(&span),
                format!("unknown encoding {other:?} (expected ndjson or json_array)"),
            );
            Encoding::Ndjson
        }
    };
    let mut headers = Vec::new();
    if let Some(h) = t.table(ctx, "headers") {
        for (name, span, v) in h.entries() {
            let key = h.key(name);
            const RESERVED: [&str; 6] = [
                "content-type",
                "content-encoding",
                "content-length",
                "host",
                "transfer-encoding",
                "connection",
            ];
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                ctx.report(
                    &key,
                    Some(&span),
                    format!("{name:?} is not a valid header name"),
                );
                continue;
            }
            if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
                ctx.report(
                    &key,
                    Some(&span),
                    format!("{name} is set by o365fwd itself"),
                );
                continue;
            }
            let value = if let Some(s) = v.get_ref().as_str() {
                Some((Secret::new(s), SecretOrigin::Inline))
            } else if let Some(tbl) = v.get_ref().as_table() {
                let mut sub = Table::new(tbl, key.clone(), Some(v.span()));
                let keys = ["value", "file", "env"];
                let got = secret::secret(ctx, &mut sub, base, env, keys, true)
                    .map(|s| header_safe(ctx, &sub, keys, s));
                sub.finish(ctx);
                got
            } else {
                ctx.report(
                    &key,
                    Some(&v.span()),
                    format!(
                        "expected a string or a table {{ file = \"...\" }} / {{ env = \"...\" }}, found {}",
                        type_name(v.get_ref())
                    ),
                );
                None
            };
            if let Some((value, origin)) = value {
                if !value_ok(&value) {
                    ctx.report(
                        &key,
                        Some(&v.span()),
                        "the value contains characters not allowed in a header",
                    );
                }
                headers.push(Header {
                    name: name.to_string(),
                    value,
                    origin,
                });
            }
        }
    }
    SinkKind::Http(WebhookConfig {
        url,
        encoding,
        headers,
        http: common(ctx, t, base, false, webhook::LIMITS),
    })
}

/// The keys every HTTP sink has.
fn common(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    compression: bool,
    limits: BatchLimits,
) -> HttpCommon {
    let d = HttpCommon::new(compression, limits);
    let ca_file = file(ctx, t, base, "tls_ca_file");
    let cert_file = file(ctx, t, base, "tls_cert_file");
    let key_file = file(ctx, t, base, "tls_key_file");
    if let (Some(p), Some(v)) = (&key_file, t.get("tls_key_file")) {
        secret::private(ctx, &t.key("tls_key_file"), &v.span(), p);
    }
    if cert_file.is_some() != key_file.is_some() {
        let missing = if cert_file.is_some() {
            "tls_key_file"
        } else {
            "tls_cert_file"
        };
        t.missing(
            ctx,
            missing,
            "a client certificate needs both tls_cert_file and tls_key_file",
        );
    }
    let verify = t.bool(ctx, "tls_verify", true);
    let pinned_cert_file = file(ctx, t, base, "tls_pinned_cert_file");
    if let (Some(p), Some(v)) = (&pinned_cert_file, t.get("tls_pinned_cert_file")) {
        let span = v.span();
        let other = match (&ca_file, verify) {
            (Some(_), _) => Some("tls_ca_file"),
            (None, false) => Some("tls_verify = false"),
            (None, true) => None,
        };
        if let Some(other) = other {
            ctx.report(
                &t.key("tls_pinned_cert_file"),
                Some(&span),
                format!("a pinned certificate replaces the CA check: remove {other}"),
            );
        } else if p.exists() {
            if let Err(e) = crate::sink::tls::pinned_cert(p) {
                ctx.report(&t.key("tls_pinned_cert_file"), Some(&span), e);
            }
        }
    }
    let compression = match t.str(ctx, "compression") {
        None => d.compression,
        Some(("gzip", _)) => true,
        Some(("none", _)) => false,
        Some((other, span)) => {
            ctx.report(
                &t.key("compression"),
                Some(&span),
                format!("unknown compression {other:?} (expected gzip or none)"),
            );
            d.compression
        }
    };
    HttpCommon {
        tls: TlsConfig {
            ca_file,
            cert_file,
            key_file,
            pinned_cert_file,
            verify,
        },
        request_timeout: t.duration(ctx, "request_timeout", d.request_timeout, MS, HOUR),
        compression,
        batch: BatchLimits {
            max_events: t.int(ctx, "batch_max_events", 1..=100_000, limits.max_events),
            max_bytes: t.int(
                ctx,
                "batch_max_bytes",
                1_000..=100_000_000,
                limits.max_bytes,
            ),
            timeout: t.duration(
                ctx,
                "batch_timeout",
                limits.timeout,
                Duration::ZERO,
                Duration::from_secs(60),
            ),
        },
        concurrency: t.int(ctx, "concurrency", 1..=64, d.concurrency),
        retry_max_backoff: t.duration(ctx, "retry_max_backoff", d.retry_max_backoff, MS, HOUR),
    }
}

/// A required endpoint: `https://`, or `http://` to a loopback host only (credentials and
/// records would otherwise cross the network in clear).
fn url(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str, what: &str) -> Url {
    let fallback = Url::parse("https://invalid.invalid/").expect("a valid constant");
    let Some((s, span)) = t.required_str(ctx, key, what) else {
        return fallback;
    };
    let shown = super::checks::redact_url(s);
    let problem = match Url::parse(s) {
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
            ("https", Some(_)) => return u,
            ("http", Some(h)) if is_loopback(&h) => return u,
            ("http", Some(h)) => format!(
                "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); \
                 to {h} the credentials and the records would travel in clear: use https://"
            ),
            (other, _) => {
                format!("unsupported scheme {other:?} in {shown:?} (expected https://)")
            }
        },
    };
    ctx.report(&t.key(key), Some(&span), problem);
    fallback
}

/// An optional non-empty string.
fn text(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str) -> Option<String> {
    match t.str(ctx, key) {
        Some(("", span)) => {
            ctx.report(&t.key(key), Some(&span), "is empty");
            None
        }
        Some((s, _)) => Some(s.to_string()),
        None => None,
    }
}

/// An optional file that must be readable now, so `check` finds a wrong path.
fn file(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    key: &'static str,
) -> Option<PathBuf> {
    let (p, span) = t.str(ctx, key)?;
    let path = super::resolve(base, p);
    if let Err(e) = std::fs::File::open(&path) {
        ctx.report(
            &t.key(key),
            Some(&span),
            format!("cannot read {}: {e}", path.display()),
        );
    }
    Some(path)
}

/// Visible ASCII, space and tab: what an HTTP header value may hold.
fn value_ok(s: &Secret) -> bool {
    s.expose()
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// Reports a secret that cannot go in a header (without showing it).
fn header_safe(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    keys: [&'static str; 3],
    s: (Secret, SecretOrigin),
) -> (Secret, SecretOrigin) {
    if !value_ok(&s.0) {
        let key = match &s.1 {
            SecretOrigin::Inline => keys[0],
            SecretOrigin::File(_) => keys[1],
            SecretOrigin::Env(_) => keys[2],
        };
        ctx.report(
            &t.key(key),
            t.span.as_ref(),
            "contains characters not allowed in an HTTP header",
        );
    }
    s
}

/// Elasticsearch index and data stream names: lowercase, no separators or wildcards.
fn target_name(ctx: &mut Ctx<'_>, key: &str, name: &str, span: &Span) {
    let bad = name.is_empty()
        || name.len() > 255
        || name.starts_with(['-', '_', '+', '.'])
        || name
            .chars()
            .any(|c| c.is_uppercase() || "\\/*?\"<>| ,#:".contains(c));
    if bad {
        ctx.report(
            key,
            Some(span),
            format!("{name:?} is not a valid name (lowercase, not starting with - _ + ., none of \\ / * ? \" < > | , # : or spaces)"),
        );
    }
}
