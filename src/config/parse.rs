//! Parsing and validation of the TOML text.
//!
//! The text is parsed once into a span-carrying tree (`toml::de::DeTable`); each table is
//! then read by hand through [`table::Table`], which knows every allowed key, so unknown
//! keys, wrong types and bad values are all collected, each with its key path and
//! line:column, and reported together. A TOML syntax error stops at that point: the tree
//! after it would be guesswork.

mod checks;
mod credential;
mod enrich;
mod es_integration;
mod filter;
mod format;
mod kafka;
mod secret;
mod sink;
mod sink_http;
mod sink_syslog;
mod summary;
mod table;
mod tenant;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeTable;

use self::checks::is_identifier;
use self::table::{Ctx, Span, Table};
use super::{AgentConfig, Config, ConfigError, Problem};
use crate::secret::Env;
use crate::sink::config::SinkKind;

pub use self::summary::summary;

/// Parses and validates `text`; relative paths are resolved against `source`'s directory.
pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
    parse_with_env(text, source, &|name| std::env::var_os(name))
}

/// [`parse`] with an injected environment, so tests never mutate the process environment.
pub(crate) fn parse_with_env(
    text: &str,
    source: &Path,
    env: Env<'_>,
) -> Result<Config, ConfigError> {
    let fail = |problems: Vec<Problem>| ConfigError {
        file: source.to_path_buf(),
        problems,
    };
    let mut ctx = Ctx::new(text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            // Only the parser's message: its Display quotes the source line, which may hold
            // a secret.
            let mut message = format!("TOML syntax error: {}", e.message());
            let span = e.span();
            if e.message() == "duplicate key" {
                let key = span.clone().and_then(|s| text.get(s));
                if let Some(k) = key.filter(|k| k.len() < 80 && !k.contains('\n')) {
                    message.push_str(&format!(" `{k}`"));
                }
            }
            ctx.report("", span.as_ref(), message);
            return Err(fail(ctx.problems));
        }
    };
    let base = base_dir(source);
    let mut root = Table::new(doc.get_ref(), String::new(), None);

    let agent = match root.table(&mut ctx, "agent") {
        Some(t) => agent(&mut ctx, t, &base),
        None => AgentConfig::default(),
    };

    let mut tenants = BTreeMap::new();
    let mut tenant_ids: Vec<(String, String, Span)> = Vec::new();
    for (name, t) in named_tables(&mut ctx, &mut root, "tenants", "tenant") {
        let parsed = tenant::tenant(&mut ctx, &name, t, &base, env);
        if let Some(span) = parsed.tenant_id_span {
            tenant_ids.push((parsed.cfg.tenant_id.clone(), name.clone(), span));
        }
        tenants.insert(name, parsed.cfg);
    }
    let mut sinks = BTreeMap::new();
    let mut sink_paths: Vec<(PathBuf, String, Span)> = Vec::new();
    for (name, t) in named_tables(&mut ctx, &mut root, "sinks", "sink") {
        if let Some(parsed) = sink::sink(&mut ctx, &name, t, &base, env) {
            filter::check_tenants(&mut ctx, &parsed.filter_tenants, &tenants);
            if let (SinkKind::File { path }, Some(span)) = (&parsed.cfg.kind, parsed.path_span) {
                sink_paths.push((path.clone(), name.clone(), span));
            }
            sinks.insert(name, parsed.cfg);
        }
    }
    let enrich = root
        .table(&mut ctx, "enrich")
        .map(|t| enrich::enrich(&mut ctx, t, &base));
    root.finish(&mut ctx);

    // Two feeds for one tenant would deliver every record twice.
    duplicates(&mut ctx, tenant_ids, "tenants", "tenant_id", "tenant");
    // Two file sinks on one file would interleave and truncate each other's records.
    duplicates(&mut ctx, sink_paths, "sinks", "path", "file sink");

    if ctx.problems.is_empty() {
        return Ok(Config {
            source: source.to_path_buf(),
            agent,
            tenants,
            sinks,
            warnings: ctx.warnings.iter().map(|w| w.located(source)).collect(),
            enrich,
        });
    }
    let mut problems = ctx.problems;
    problems.sort_by_key(|p| (p.line.is_none(), p.line, p.column));
    Err(fail(problems))
}

/// `[agent]`; every key optional, defaults and bounds from [`super`].
fn agent(ctx: &mut Ctx<'_>, mut t: Table<'_, '_>, base: &Path) -> AgentConfig {
    use super as a;
    let d = AgentConfig::default();

    let state_dir = match t.str(ctx, "state_dir") {
        Some(("", span)) => {
            ctx.report(&t.key("state_dir"), Some(&span), "is empty");
            d.state_dir
        }
        Some((s, _)) => resolve(base, s),
        None => d.state_dir,
    };
    let listen = t.str(ctx, "listen").and_then(|(s, span)| {
        s.parse::<SocketAddr>()
            .map_err(|_| {
                let msg =
                    format!("{s:?} is not an address (expected IP:port, e.g. \"127.0.0.1:9464\")");
                ctx.report(&t.key("listen"), Some(&span), msg);
            })
            .ok()
    });
    let cfg = AgentConfig {
        state_dir,
        poll_interval: t.duration(
            ctx,
            "poll_interval",
            d.poll_interval,
            a::POLL_INTERVAL_RANGE,
        ),
        overlap: t.duration(ctx, "overlap", d.overlap, a::OVERLAP_RANGE),
        dedup_horizon: t.duration(
            ctx,
            "dedup_horizon",
            d.dedup_horizon,
            a::DEDUP_HORIZON_RANGE,
        ),
        dedup_hot_window: t.duration(
            ctx,
            "dedup_hot_window",
            d.dedup_hot_window,
            a::DEDUP_HOT_WINDOW_RANGE,
        ),
        dedup_hot_ids: t.int(
            ctx,
            "dedup_hot_ids",
            a::DEDUP_HOT_IDS_RANGE,
            d.dedup_hot_ids,
        ),
        initial_lookback: t.duration(
            ctx,
            "initial_lookback",
            d.initial_lookback,
            a::INITIAL_LOOKBACK_RANGE,
        ),
        shutdown_timeout: t.duration(
            ctx,
            "shutdown_timeout",
            d.shutdown_timeout,
            a::SHUTDOWN_TIMEOUT_RANGE,
        ),
        batch_size: t.int(ctx, "batch_size", a::BATCH_SIZE_RANGE, d.batch_size),
        max_in_flight_batches: t.int(
            ctx,
            "max_in_flight_batches",
            a::MAX_IN_FLIGHT_BATCHES_RANGE,
            d.max_in_flight_batches,
        ),
        fetch_concurrency: t.int(
            ctx,
            "fetch_concurrency",
            a::FETCH_CONCURRENCY_RANGE,
            d.fetch_concurrency,
        ),
        request_timeout: t.duration(
            ctx,
            "request_timeout",
            d.request_timeout,
            a::REQUEST_TIMEOUT_RANGE,
        ),
        blob_attempts: t.int(
            ctx,
            "blob_attempts",
            a::BLOB_ATTEMPTS_RANGE,
            d.blob_attempts,
        ),
        listen,
        unhealthy_after: t.duration(
            ctx,
            "unhealthy_after",
            d.unhealthy_after,
            a::UNHEALTHY_AFTER_RANGE,
        ),
        max_blob_bytes: t.int(
            ctx,
            "max_blob_bytes",
            a::MAX_BLOB_BYTES_RANGE,
            d.max_blob_bytes,
        ),
        // Unset: derived from poll_interval and request_timeout. The fallback only stands
        // in for a value that was reported.
        stall_timeout: t.get("stall_timeout").is_some().then(|| {
            t.duration(
                ctx,
                "stall_timeout",
                Duration::from_secs(3600),
                a::STALL_TIMEOUT_RANGE,
            )
        }),
    };
    t.finish(ctx);
    cfg
}

/// The `[tenants.NAME]` / `[sinks.NAME]` tables, in source order, each named by a simple
/// identifier; reports an absent or empty section.
fn named_tables<'a, 'i>(
    ctx: &mut Ctx<'_>,
    root: &mut Table<'a, 'i>,
    section: &'static str,
    what: &str,
) -> Vec<(String, Table<'a, 'i>)> {
    let present = root.get(section).is_some();
    let Some(parent) = root.table(ctx, section) else {
        if !present {
            ctx.report(
                section,
                None,
                format!("no {what} configured: add a [{section}.NAME] table"),
            );
        }
        return Vec::new();
    };
    let entries = parent.entries();
    if entries.is_empty() {
        ctx.report(
            section,
            parent.span.as_ref(),
            format!("no {what} configured: add a [{section}.NAME] table"),
        );
    }
    let mut out = Vec::new();
    for (name, key_span, v) in entries {
        let path = parent.key(name);
        if !is_identifier(name) {
            ctx.report(
                &path,
                Some(&key_span),
                format!("{what} name {name:?} must use only letters, digits, `_` and `-`"),
            );
        }
        match v.get_ref().as_table() {
            Some(t) => out.push((name.to_string(), Table::new(t, path, Some(v.span())))),
            None => ctx.report(
                &path,
                Some(&v.span()),
                format!(
                    "expected a table ([{section}.{name}]), found {}",
                    table::type_name(v.get_ref())
                ),
            ),
        }
    }
    out
}

/// Reports every entry whose value was already used by an earlier one (in source order).
fn duplicates<T: PartialEq>(
    ctx: &mut Ctx<'_>,
    mut items: Vec<(T, String, Span)>,
    section: &str,
    key: &str,
    what: &str,
) {
    items.sort_by_key(|(_, _, span)| span.start);
    for (i, (value, name, span)) in items.iter().enumerate() {
        if let Some((_, first, _)) = items[..i].iter().find(|(v, _, _)| v == value) {
            ctx.report(
                &format!("{section}.{name}.{key}"),
                Some(span),
                format!("same {key} as {what} `{first}`; each must be configured once"),
            );
        }
    }
}

/// The directory relative paths are resolved against: the config file's, made absolute so
/// that a later change of working directory cannot move them.
fn base_dir(source: &Path) -> PathBuf {
    let dir = source
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// `p` if absolute, else `base/p`.
fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}
