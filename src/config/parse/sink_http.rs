//! Keys of the HTTP sinks: `splunk_hec`, `elasticsearch`, `http` (webhook), and the keys
//! they share (TLS, timeouts, batching, compression, concurrency).

use std::path::{Path, PathBuf};

use url::Url;

use super::secret;
use super::table::{Ctx, Span, Table, type_name};
use crate::format::Format;
use crate::secret::{Env, Secret, SecretOrigin};
use crate::sink::config::SinkKind;
use crate::sink::http::config::{
    self as rules, BatchLimits, EsAuth, EsConfig, EsTarget, Header, HecConfig, HttpCommon,
    TlsConfig, WebhookConfig,
};

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
    let sourcetype = rules::default_sourcetype(format);
    let cfg = HecConfig {
        endpoint,
        token,
        token_origin,
        indexer_ack: t.bool(ctx, "indexer_ack", false),
        ack_poll_interval: t.duration(
            ctx,
            "ack_poll_interval",
            rules::ACK_POLL_INTERVAL,
            rules::ACK_POLL_INTERVAL_RANGE,
        ),
        ack_timeout: t.duration(
            ctx,
            "ack_timeout",
            rules::ACK_TIMEOUT,
            rules::ACK_TIMEOUT_RANGE,
        ),
        index: text(ctx, t, "index"),
        source: text(ctx, t, "source"),
        host: text(ctx, t, "host"),
        sourcetype: text(ctx, t, "sourcetype").unwrap_or_else(|| sourcetype.to_string()),
        http: common(ctx, t, base, true, rules::HEC_LIMITS),
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
    if integration.is_none() {
        if let Err(e) = rules::es_document_format(format) {
            ctx.report(&t.key("format"), format_span.as_ref(), e);
        }
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
            EsTarget::DataStream(rules::DEFAULT_DATA_STREAM.into())
        }
        (None, Some((name, span))) => {
            target_name(ctx, &t.key("index"), name, &span);
            EsTarget::Index(name.into())
        }
        (Some((name, span)), None) => {
            target_name(ctx, &t.key("data_stream"), name, &span);
            EsTarget::DataStream(name.into())
        }
        (None, None) => EsTarget::DataStream(rules::DEFAULT_DATA_STREAM.into()),
    };
    if integration.is_none() && matches!(target, EsTarget::DataStream(_)) {
        if let Err(e) = rules::es_data_stream_format(format) {
            let span = format_span.or_else(|| t.span.clone());
            ctx.report(&t.key("format"), span.as_ref(), e);
        }
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
        if let Err(e) = rules::es_username(user) {
            ctx.report(&t.key("username"), Some(&span), e);
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
        http: common(ctx, t, base, true, rules::ES_LIMITS),
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
        None => Default::default(),
        Some((s, span)) => rules::encoding(s).unwrap_or_else(|e| {
            ctx.report(&t.key("encoding"), Some(&span), e);
            Default::default()
        }),
    };
    let mut headers = Vec::new();
    if let Some(h) = t.table(ctx, "headers") {
        for (name, span, v) in h.entries() {
            let key = h.key(name);
            if let Err(e) = rules::header_name(name) {
                ctx.report(&key, Some(&span), e);
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
                if !rules::header_value_ok(&value) {
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
        http: common(ctx, t, base, false, rules::WEBHOOK_LIMITS),
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
                crate::sink::tls::pinned_excludes(other),
            );
        } else if p.exists() {
            if let Err(e) = crate::sink::tls::pinned_cert(p) {
                ctx.report(&t.key("tls_pinned_cert_file"), Some(&span), e);
            }
        }
    }
    let compression = match t.str(ctx, "compression") {
        None => d.compression,
        Some((s, span)) => rules::compression(s).unwrap_or_else(|e| {
            ctx.report(&t.key("compression"), Some(&span), e);
            d.compression
        }),
    };
    HttpCommon {
        tls: TlsConfig {
            ca_file,
            cert_file,
            key_file,
            pinned_cert_file,
            verify,
        },
        request_timeout: t.duration(ctx, "request_timeout", d.request_timeout, rules::WAIT_RANGE),
        compression,
        batch: BatchLimits {
            max_events: t.int(
                ctx,
                "batch_max_events",
                rules::BATCH_MAX_EVENTS_RANGE,
                limits.max_events,
            ),
            max_bytes: t.int(
                ctx,
                "batch_max_bytes",
                rules::BATCH_MAX_BYTES_RANGE,
                limits.max_bytes,
            ),
            timeout: t.duration(
                ctx,
                "batch_timeout",
                limits.timeout,
                rules::BATCH_TIMEOUT_RANGE,
            ),
        },
        concurrency: t.int(ctx, "concurrency", rules::CONCURRENCY_RANGE, d.concurrency),
        retry_max_backoff: t.duration(
            ctx,
            "retry_max_backoff",
            d.retry_max_backoff,
            rules::WAIT_RANGE,
        ),
    }
}

/// A required endpoint: `https://`, or `http://` to a loopback host only (credentials and
/// records would otherwise cross the network in clear).
fn url(ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str, what: &str) -> Url {
    let fallback = Url::parse("https://invalid.invalid/").expect("a valid constant");
    let Some((s, span)) = t.required_str(ctx, key, what) else {
        return fallback;
    };
    rules::endpoint(s).unwrap_or_else(|e| {
        ctx.report(&t.key(key), Some(&span), e);
        fallback
    })
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

/// Reports a secret that cannot go in a header (without showing it).
fn header_safe(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    keys: [&'static str; 3],
    s: (Secret, SecretOrigin),
) -> (Secret, SecretOrigin) {
    if !rules::header_value_ok(&s.0) {
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

/// Elasticsearch index and data stream names ([`rules::target_name`]).
fn target_name(ctx: &mut Ctx<'_>, key: &str, name: &str, span: &Span) {
    if let Err(e) = rules::target_name(name) {
        ctx.report(key, Some(span), e);
    }
}
