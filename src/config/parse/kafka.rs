//! `[sinks.NAME] type = "kafka"` keys, and `[sinks.NAME.librdkafka]`, passed through after
//! checks that keep delivery reliable (idempotence and `acks=all` cannot be turned off).

use std::path::Path;
use std::time::Duration;

use super::secret::{Env, read_env, read_file};
use super::table::{Ctx, Table, type_name};
use crate::config::Secret;
use crate::sink::kafka::config::{COMPRESSIONS, PINNED, REFUSED, TUNABLES};
use crate::sink::kafka::{KafkaConfig, TopicTemplate};

/// (inline key, file key, env key, librdkafka property).
const SECRET_KEYS: [(&str, &str, &str, &str); 3] = [
    (
        "sasl_password",
        "sasl_password_file",
        "sasl_password_env",
        "sasl.password",
    ),
    (
        "sasl_oauthbearer_client_secret",
        "sasl_oauthbearer_client_secret_file",
        "sasl_oauthbearer_client_secret_env",
        "sasl.oauthbearer.client.secret",
    ),
    (
        "ssl_key_password",
        "ssl_key_password_file",
        "ssl_key_password_env",
        "ssl.key.password",
    ),
];

pub(super) fn kafka(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    base: &Path,
    env: Env<'_>,
) -> KafkaConfig {
    let brokers = match t.required_str(
        ctx,
        "brokers",
        "comma-separated bootstrap list, e.g. \"kafka1:9092,kafka2:9092\"",
    ) {
        Some((b, span)) => {
            if b.split(',').any(|s| s.trim().is_empty()) {
                ctx.report(
                    &t.key("brokers"),
                    Some(&span),
                    "has an empty entry (expected host:port[,host:port…])",
                );
            }
            b.to_string()
        }
        None => String::new(),
    };
    let topic = match t.required_str(
        ctx,
        "topic",
        "a topic name, or a template such as \"o365.{content_type}\"",
    ) {
        Some((s, span)) => TopicTemplate::parse(s).unwrap_or_else(|e| {
            ctx.report(&t.key("topic"), Some(&span), e);
            fallback_topic()
        }),
        None => fallback_topic(),
    };
    let mut cfg = KafkaConfig::new(&brokers, topic);
    let mut set: Vec<&'static str> = Vec::new();
    for (key, _) in TUNABLES {
        if t.get(key).is_some() {
            set.push(key);
        }
    }
    if let Some((c, span)) = t.str(ctx, "compression") {
        if COMPRESSIONS.contains(&c) {
            cfg.compression = c.to_string();
        } else {
            ctx.report(
                &t.key("compression"),
                Some(&span),
                format!(
                    "unknown compression {c:?} (expected one of: {})",
                    COMPRESSIONS.join(", ")
                ),
            );
        }
    }
    let week = Duration::from_secs(7 * 24 * 3600);
    cfg.delivery_timeout = t.duration(
        ctx,
        "delivery_timeout",
        cfg.delivery_timeout,
        Duration::ZERO,
        week,
    );
    cfg.linger = t.duration(
        ctx,
        "linger",
        cfg.linger,
        Duration::ZERO,
        Duration::from_secs(900),
    );
    cfg.batch_max_bytes = t.int(
        ctx,
        "batch_max_bytes",
        1..=2_147_483_647,
        cfg.batch_max_bytes,
    );
    cfg.batch_max_messages = t.int(
        ctx,
        "batch_max_messages",
        1..=1_000_000,
        cfg.batch_max_messages,
    );

    for (inline, file, var, prop) in SECRET_KEYS {
        if let Some(s) = secret(ctx, t, [inline, file, var], base, env) {
            cfg.secrets.push((prop.to_string(), s));
        }
    }
    let mut protocol_span = None;
    if let Some(lib) = t.table(ctx, "librdkafka") {
        protocol_span = lib
            .entries()
            .into_iter()
            .find(|(k, _, _)| *k == "security.protocol")
            .map(|(_, _, v)| v.span());
        passthrough(ctx, &lib, &set, &mut cfg);
    }
    let allow = t.bool(ctx, "allow_plaintext", false);
    let span = protocol_span.or_else(|| t.span.clone());
    in_clear(
        ctx,
        &t.key("librdkafka.\"security.protocol\""),
        span,
        allow,
        &mut cfg,
    );
    cfg
}

/// Kafka in clear is refused towards any broker that is not on this host: an explicit
/// `plaintext` or `sasl_plaintext` needs `allow_plaintext = true`, and without an explicit
/// protocol the sink uses TLS (`ssl`, or `sasl_ssl` when SASL is configured) instead of
/// librdkafka's default, plaintext.
fn in_clear(
    ctx: &mut Ctx<'_>,
    key: &str,
    span: Option<std::ops::Range<usize>>,
    allow: bool,
    cfg: &mut KafkaConfig,
) {
    let remote: Vec<&str> = cfg
        .brokers
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty() && !broker_is_loopback(b))
        .collect();
    if remote.is_empty() {
        return;
    }
    // `ssl_key_password` is a secret too, but of the client's TLS key, not SASL.
    let sasl = cfg
        .secrets
        .iter()
        .chain(&cfg.librdkafka)
        .any(|(k, _)| k.starts_with("sasl."));
    let given = cfg
        .librdkafka
        .iter()
        .find(|(k, _)| k == "security.protocol")
        .map(|(_, v)| v.expose().to_ascii_lowercase());
    match given.as_deref() {
        None => {
            cfg.security_protocol = Some(if sasl { "sasl_ssl" } else { "ssl" }.to_string());
        }
        Some(p @ ("plaintext" | "sasl_plaintext")) if !allow => {
            let what = if p == "sasl_plaintext" {
                "the records and the SASL credentials"
            } else {
                "the records"
            };
            ctx.report(
                key,
                span.as_ref(),
                format!(
                    "{p} to {} sends {what} in clear: use ssl or sasl_ssl, or set allow_plaintext = true on the sink if that network is trusted",
                    remote.join(", ")
                ),
            );
        }
        Some(_) => {}
    }
}

/// Whether a bootstrap entry (`host:port`, `[v6]:port`, optionally `proto://` first) names
/// this host.
fn broker_is_loopback(entry: &str) -> bool {
    let entry = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    let host = match entry.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => entry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let parsed = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => url::Host::Ipv4(ip),
        Ok(std::net::IpAddr::V6(ip)) => url::Host::Ipv6(ip),
        Err(_) => url::Host::Domain(host),
    };
    super::checks::is_loopback(&parsed)
}

fn fallback_topic() -> TopicTemplate {
    TopicTemplate::parse("invalid").unwrap_or_else(|_| unreachable!("a literal topic parses"))
}

/// One secret from exactly one of `NAME`, `NAME_file`, `NAME_env`; None when absent or bad
/// (reported). No message contains the value.
fn secret(
    ctx: &mut Ctx<'_>,
    t: &mut Table<'_, '_>,
    keys: [&'static str; 3],
    base: &Path,
    env: Env<'_>,
) -> Option<Secret> {
    let given: Vec<_> = keys
        .into_iter()
        .filter_map(|k| t.get(k).map(|v| (k, v.span())))
        .collect();
    if let [(first, _), rest @ ..] = given.as_slice() {
        for (k, span) in rest {
            ctx.report(
                &t.key(k),
                Some(span),
                format!("set only one of {} (`{first}` is set too)", keys.join(", ")),
            );
        }
        if !rest.is_empty() {
            return None;
        }
    }
    let [inline, file, var] = keys;
    if let Some((s, span)) = t.str(ctx, inline) {
        if s.is_empty() {
            ctx.report(&t.key(inline), Some(&span), "is empty");
            return None;
        }
        return Some(Secret::new(s));
    }
    if let Some((p, span)) = t.str(ctx, file) {
        let path = super::resolve(base, p);
        if !super::secret::private(ctx, &t.key(file), &span, &path) {
            return None;
        }
        return read_file(&path)
            .map(Secret::new)
            .map_err(|e| ctx.report(&t.key(file), Some(&span), e))
            .ok();
    }
    if let Some((name, span)) = t.str(ctx, var) {
        return read_env(name, env, inline)
            .map(Secret::new)
            .map_err(|e| ctx.report(&t.key(var), Some(&span), e))
            .ok();
    }
    None
}

fn passthrough(ctx: &mut Ctx<'_>, lib: &Table<'_, '_>, set: &[&str], cfg: &mut KafkaConfig) {
    for (name, span, v) in lib.entries() {
        let key = lib.key(&format!("\"{name}\""));
        let value = match v.get_ref() {
            toml::de::DeValue::String(s) => s.to_string(),
            toml::de::DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => n.to_string(),
                Err(_) => {
                    ctx.report(&key, Some(&v.span()), "integer out of range");
                    continue;
                }
            },
            toml::de::DeValue::Boolean(b) => b.to_string(),
            other => {
                ctx.report(
                    &key,
                    Some(&v.span()),
                    format!(
                        "expected a string, integer or boolean, found {}",
                        type_name(other)
                    ),
                );
                continue;
            }
        };
        if let Some((_, why)) = REFUSED.iter().find(|(p, _)| *p == name) {
            ctx.report(&key, Some(&span), format!("cannot be set here: {why}"));
            continue;
        }
        if let Some((_, allowed)) = PINNED.iter().find(|(p, _)| *p == name) {
            if !allowed.contains(&value.as_str()) {
                ctx.report(
                    &key,
                    Some(&v.span()),
                    format!(
                        "must be {} (reliable delivery needs it)",
                        allowed.join(" or ")
                    ),
                );
            }
            continue;
        }
        if let Some((sink_key, _)) = TUNABLES
            .iter()
            .find(|(k, props)| props.contains(&name) && set.contains(k))
        {
            ctx.report(
                &key,
                Some(&span),
                format!("sets the same thing as `{sink_key}`; set only one"),
            );
            continue;
        }
        if let Some((inline, ..)) = SECRET_KEYS
            .iter()
            .find(|s| s.3 == name && cfg.secrets.iter().any(|(p, _)| p == name))
        {
            ctx.report(
                &key,
                Some(&span),
                format!("sets the same thing as `{inline}`; set only one"),
            );
            continue;
        }
        cfg.librdkafka.push((name.to_string(), Secret::new(value)));
    }
}
