//! `[sinks.NAME] type = "kafka"` keys, and `[sinks.NAME.librdkafka]`, passed through after
//! checks that keep delivery reliable (idempotence and `acks=all` cannot be turned off).

use std::path::Path;

use super::table::{Ctx, Table, type_name};
use crate::secret::{Env, Secret, read_env, read_file};
use crate::sink::kafka::config::{
    self as rules, KafkaConfig, PINNED, REFUSED, SECRET_KEYS, TUNABLES,
};
use crate::sink::kafka::topic::TopicTemplate;

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
            if let Err(e) = rules::brokers(b) {
                ctx.report(&t.key("brokers"), Some(&span), e);
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
        match rules::compression(c) {
            Ok(()) => cfg.compression = c.to_string(),
            Err(e) => ctx.report(&t.key("compression"), Some(&span), e),
        }
    }
    cfg.delivery_timeout = t.duration(
        ctx,
        "delivery_timeout",
        cfg.delivery_timeout,
        rules::DELIVERY_TIMEOUT_RANGE,
    );
    cfg.linger = t.duration(ctx, "linger", cfg.linger, rules::LINGER_RANGE);
    cfg.batch_max_bytes = t.int(
        ctx,
        "batch_max_bytes",
        rules::BATCH_MAX_BYTES_RANGE,
        cfg.batch_max_bytes,
    );
    cfg.batch_max_messages = t.int(
        ctx,
        "batch_max_messages",
        rules::BATCH_MAX_MESSAGES_RANGE,
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

/// The sink's `security.protocol` ([`rules::security_protocol`]), or why it is refused.
fn in_clear(
    ctx: &mut Ctx<'_>,
    key: &str,
    span: Option<std::ops::Range<usize>>,
    allow: bool,
    cfg: &mut KafkaConfig,
) {
    match rules::security_protocol(cfg, allow) {
        Ok(Some(p)) => cfg.security_protocol = Some(p),
        Ok(None) => {}
        Err(e) => ctx.report(key, span.as_ref(), e),
    }
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
