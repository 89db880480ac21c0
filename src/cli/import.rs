//! `o365fwd import`: delivers an audit log export downloaded from Microsoft Purview (or the
//! older Security & Compliance portal) through the configured formats and sinks.
//!
//! Accepted files: CSV with an `AuditData` column (found by its header, so both the current
//! `RecordId, CreationDate, RecordType, Operation, UserId, AuditData, …` and the older
//! `CreationDate, UserIds, Operations, AuditData` layouts work); a JSON array of records or of
//! rows carrying `AuditData` (a JSON string or an object); or NDJSON of either. A line that
//! cannot be read is reported with its line number and counted; the rest is imported.
//!
//! Each record goes to the tenant whose `tenant_id` is its `OrganizationId` (or to `--tenant`)
//! and to the content type the API would have listed it under ([`content_type_of`]). Record
//! ids are deduplicated within the import. Delivery is the same as `replay`'s
//! ([`crate::offline`]); the daemon's state is never opened.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde_json::value::RawValue;

use super::exit;
use super::progress::bar;
use super::subscriptions::select_tenants;
use crate::api::TenantConfig;
use crate::config::Config;
use crate::feed_id::FeedId;
use crate::offline::{OfflineRun, select_sinks};
use crate::pipeline::FeedShared;
use crate::record::content_type::content_type_of;
use crate::record::{ContentType, Record};

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
    config: PathBuf,
    /// Sink(s) to deliver to (repeatable).
    #[arg(long, required = true)]
    sink: Vec<String>,
    /// Deliver every record as this tenant's (default: the tenant whose tenant_id is the
    /// record's OrganizationId).
    #[arg(long)]
    tenant: Option<String>,
    /// Where a file sink writes: required for a file sink, never the daemon's own file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The export: `.csv`, or JSON / NDJSON.
    file: PathBuf,
}

/// One entry of the export: the record's JSON text, or why it cannot be used.
struct Entry {
    line: u64,
    audit: Result<String, String>,
}

pub async fn run(a: ImportArgs) -> anyhow::Result<i32> {
    let cfg = Config::load(&a.config)?;
    let usage = |msg: String| {
        eprintln!("error: {msg}");
        Ok(exit::USAGE)
    };
    let tenants = match select_tenants(&cfg, a.tenant.as_deref()) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let forced = a.tenant.is_some().then(|| tenants[0]);
    let sinks = match select_sinks(&cfg, &a.sink, a.output.as_deref()) {
        Ok(s) => s,
        Err(e) => return usage(e.to_string()),
    };
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let entries = read_export(&a.file, &bytes)?;

    let feeds: Vec<_> = tenants
        .iter()
        .flat_map(|t| {
            ContentType::ALL
                .into_iter()
                .map(|ct| FeedId::new(&t.name, &t.tenant_id, ct))
        })
        .collect();
    let run = OfflineRun::start(&cfg, &sinks, &feeds).await?;
    let source = a.file.display().to_string();
    let batch = cfg.agent.batch_size.max(1);
    let pb = bar(entries.len() as u64, "records");
    let mut pending: HashMap<(String, ContentType), (Arc<FeedShared>, Vec<Record>)> =
        HashMap::new();
    let mut seen: HashSet<Box<str>> = HashSet::new();
    let (mut bad, mut dups, mut total) = (0u64, 0u64, 0u64);
    for e in entries {
        pb.inc(1);
        let routed = e
            .audit
            .and_then(|text| route(&text, e.line, &source, &tenants, forced));
        let (tenant, ct, rec) = match routed {
            Ok(x) => x,
            Err(msg) => {
                bad += 1;
                tracing::error!(file = %source, line = e.line, error = %msg, "Line skipped.");
                pb.suspend(|| eprintln!("{source}: line {}: {msg}", e.line));
                continue;
            }
        };
        total += 1;
        if !seen.insert(Box::<str>::from(rec.id())) {
            dups += 1;
            continue;
        }
        let key = (tenant.tenant_id.clone(), ct);
        let slot = pending.entry(key).or_insert_with(|| {
            let feed = run
                .feed(&tenant.tenant_id, ct)
                .expect("every feed declared");
            (feed, Vec::new())
        });
        slot.1.push(rec);
        if slot.1.len() >= batch {
            let recs = std::mem::take(&mut slot.1);
            dups += run.deliver(&slot.0, &source, recs).await?;
        }
    }
    for (_, (feed, recs)) in pending {
        if !recs.is_empty() {
            dups += run.deliver(&feed, &source, recs).await?;
        }
    }
    pb.finish_and_clear();
    let done = run.finish().await?;
    let rejected = done.rejected;
    let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
    eprintln!(
        "import {source}: {} records delivered to {}, {dups} duplicates skipped, {total} records read, {bad} lines failed, {rejected} rejected",
        done.records,
        names.join(", "),
    );
    Ok(if bad + rejected > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}

/// The record, its tenant and its content type.
fn route<'c>(
    text: &str,
    line: u64,
    source: &str,
    tenants: &[&'c TenantConfig],
    forced: Option<&'c TenantConfig>,
) -> Result<(&'c TenantConfig, ContentType, Record), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("AuditData is not JSON: {e}"))?;
    if !v.is_object() {
        return Err("AuditData is not a JSON object".into());
    }
    let tenant = match forced {
        Some(t) => t,
        None => {
            let org = v
                .get("OrganizationId")
                .and_then(|o| o.as_str())
                .ok_or("the record has no OrganizationId; give --tenant")?;
            *tenants
                .iter()
                .find(|t| t.tenant_id.eq_ignore_ascii_case(org))
                .ok_or_else(|| {
                    format!("OrganizationId {org} is no configured tenant; give --tenant")
                })?
        }
    };
    let rec = Record::from_json(text, &format!("{source}:{line}"))
        .map_err(|e| format!("AuditData is not JSON: {e}"))?;
    Ok((tenant, content_type_of(&rec), rec))
}

fn read_export(path: &Path, bytes: &[u8]) -> anyhow::Result<Vec<Entry>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let first = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    match (ext.as_str(), first) {
        ("csv", _) => read_csv(bytes),
        (_, Some(b'[')) => read_json_array(bytes),
        (_, Some(b'{')) => Ok(read_ndjson(bytes)),
        ("json" | "ndjson" | "jsonl", _) => Ok(Vec::new()),
        _ => read_csv(bytes),
    }
}

/// CSV: the `AuditData` column, found by its header (any case, BOM tolerated).
fn read_csv(bytes: &[u8]) -> anyhow::Result<Vec<Entry>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    // From the byte offset: the csv crate's own line count is off by one with CRLF endings.
    // Offsets only grow, so lines are counted once, incrementally.
    let (mut counted_to, mut counted_lines) = (0usize, 1u64);
    let mut line_of = |p: Option<&csv::Position>| match p {
        Some(p) => {
            // With CRLF the record's position is at the `\n` of the previous line ending.
            let mut at = (p.byte() as usize).min(bytes.len());
            while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                at += 1;
            }
            if at >= counted_to {
                counted_lines += bytes[counted_to..at]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count() as u64;
                counted_to = at;
            }
            counted_lines
        }
        None => 0,
    };
    let headers = rdr.headers().context("cannot read the CSV header")?.clone();
    let col = headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("AuditData"))
        .with_context(|| {
            format!(
                "the CSV has no AuditData column (columns: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
    let mut out = Vec::new();
    for row in rdr.records() {
        match row {
            Ok(r) => {
                let line = line_of(r.position());
                let audit = r
                    .get(col)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| "the AuditData column is empty".to_string());
                out.push(Entry { line, audit });
            }
            Err(e) => {
                let line = line_of(e.position());
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields where the header has {expected_len}"),
                    _ => e.to_string(),
                };
                out.push(Entry {
                    line,
                    audit: Err(format!("malformed CSV row: {msg}")),
                });
            }
        }
    }
    Ok(out)
}

/// A JSON array: each element's line is where it starts in the file.
fn read_json_array(bytes: &[u8]) -> anyhow::Result<Vec<Entry>> {
    let items: Vec<&RawValue> =
        serde_json::from_slice(bytes).context("the file is not a JSON array")?;
    let base = bytes.as_ptr() as usize;
    let mut out = Vec::with_capacity(items.len());
    let (mut line, mut counted) = (1u64, 0usize);
    for raw in items {
        let at = (raw.get().as_ptr() as usize)
            .saturating_sub(base)
            .min(bytes.len());
        line += bytes[counted..at].iter().filter(|b| **b == b'\n').count() as u64;
        counted = at;
        out.push(Entry {
            line,
            audit: audit_of(raw.get()),
        });
    }
    Ok(out)
}

fn read_ndjson(bytes: &[u8]) -> Vec<Entry> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| Entry {
            line: i as u64 + 1,
            audit: std::str::from_utf8(l)
                .map_err(|_| "not UTF-8".to_string())
                .and_then(audit_of),
        })
        .collect()
}

/// A row with `AuditData` (a string holding JSON, or an object), or a record itself.
fn audit_of(text: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Row<'a> {
        #[serde(rename = "AuditData", alias = "auditData", borrow)]
        audit: Option<&'a RawValue>,
    }
    let row: Row = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(audit) = row.audit else {
        return Ok(compact(text));
    };
    match serde_json::from_str::<String>(audit.get()) {
        Ok(s) => Ok(s),
        Err(_) => Ok(compact(audit.get())),
    }
}

/// JSON text without the whitespace between tokens (key order and every value kept as
/// written): a pretty-printed export must still become one line per record.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in json.chars() {
        if in_str {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
