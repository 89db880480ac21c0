//! `cef`: ArcSight Common Event Format,
//! `CEF:0|Microsoft|<product>|1.0|<Operation>|<name>|<severity>|<extension>`.
//!
//! The product follows the workload, the signature id is the `Operation`, severity comes
//! from a configurable table, and the extension uses dictionary keys where they fit plus
//! labelled custom strings. Escaping and length limits follow the CEF spec exactly, so one
//! event is always one line whatever the record holds. `docs/mapping.md` has the table.

mod escape;
mod map;

use std::borrow::Cow;
use std::io::Write;

pub use escape::{TRUNCATION_MARK, ext_limit, truncate, valid_key};
pub use map::{default_severity, human_name, lookup, product};

use super::{FormatOptions, Origin};
use crate::record::Record;
use crate::record::classify::{Fields, classify};

pub const VENDOR: &str = "Microsoft";
pub const DEVICE_VERSION: &str = "1.0";

/// A severity override: matches a record whose `Operation` (or, for Dynamics 365, its
/// access class such as `ReadMultiple`) equals `operation` case-insensitively, or starts
/// with it when it ends in `*` (`*` alone matches all); optionally only for one `Workload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityRule {
    pub operation: String,
    pub workload: Option<String>,
    /// 0–10; larger values are clamped to 10.
    pub severity: u8,
}

impl SeverityRule {
    fn matches(&self, op: &str, class: Option<&str>, workload: Option<&str>) -> bool {
        if let Some(w) = &self.workload
            && !workload.is_some_and(|x| x.eq_ignore_ascii_case(w))
        {
            return false;
        }
        let pat = self.operation.as_str();
        let hit = |s: &str| match pat.strip_suffix('*') {
            Some(prefix) => {
                s.len() >= prefix.len()
                    && s.is_char_boundary(prefix.len())
                    && s[..prefix.len()].eq_ignore_ascii_case(prefix)
            }
            None => s.eq_ignore_ascii_case(pat),
        };
        hit(op) || class.is_some_and(hit)
    }
}

/// Checks `cef_fields` overrides; returns one message per problem.
pub fn validate_field_overrides(overrides: &[(String, String)]) -> Vec<String> {
    overrides
        .iter()
        .filter(|(k, _)| !valid_key(k))
        .map(|(k, _)| format!("CEF extension key {k:?} must be ASCII letters and digits only"))
        .collect()
}

/// One CEF event before escaping: what [`encode`] writes, exposed so tests can check a
/// parser's reading of the line against it. Values are not yet truncated.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub product: &'static str,
    pub signature: &'a str,
    pub name: String,
    pub severity: u8,
    pub ext: Vec<(&'a str, Cow<'a, str>)>,
}

pub fn encode(rec: &Record, origin: &Origin<'_>, opts: &FormatOptions, out: &mut Vec<u8>) {
    let ev = event(rec, origin, opts);
    write_header(out, ev.product, ev.signature, &ev.name, ev.severity);
    write_ext(out, &ev.ext);
}

/// Maps a record to its CEF event.
pub fn event<'a>(rec: &'a Record, origin: &Origin<'a>, opts: &'a FormatOptions) -> Event<'a> {
    let Some(f) = Fields::of(rec) else {
        return unparsed(rec, origin);
    };
    let cls = classify(&f, rec);
    let op = rec.operation().unwrap_or("");
    let message = f.nonempty("Message");
    let class = cls.crm.map(|a| a.label(message.as_deref().unwrap_or(op)));
    let severity = opts
        .cef_severity
        .iter()
        .find(|r| r.matches(op, class, rec.workload()))
        .map_or_else(|| default_severity(&cls, op), |r| r.severity.min(10));
    let entity = cls.crm.and(f.nonempty("EntityName"));
    let mut ext = map::extension(&f, rec, origin, &cls, opts.enrich.as_deref());
    let parsed: Option<serde_json::Value> = (!opts.cef_fields.is_empty())
        .then(|| serde_json::from_str(rec.raw.get()).ok())
        .flatten();
    for (key, path) in &opts.cef_fields {
        if !valid_key(key) {
            continue;
        }
        let value = if let Some(constant) = path.strip_prefix('=') {
            Some(constant.to_string())
        } else if path.is_empty() {
            None
        } else {
            parsed.as_ref().and_then(|v| lookup(v, path))
        };
        let slot = ext.iter().position(|(k, _)| *k == key.as_str());
        match (slot, value) {
            (Some(i), Some(v)) => ext[i] = (key.as_str(), Cow::Owned(v)),
            (Some(i), None) => {
                ext.remove(i);
            }
            (None, Some(v)) => ext.push((key.as_str(), Cow::Owned(v))),
            (None, None) => {}
        }
    }
    ext.retain(|(_, v)| !v.is_empty());
    Event {
        product: map::product(rec.workload()),
        signature: if op.is_empty() { "Unknown" } else { op },
        name: human_name(op, entity.as_deref()),
        severity,
        ext,
    }
}

fn write_header(out: &mut Vec<u8>, product: &str, signature: &str, name: &str, severity: u8) {
    out.extend_from_slice(b"CEF:0|");
    escape::header(out, VENDOR, 63);
    out.push(b'|');
    escape::header(out, product, 63);
    out.push(b'|');
    escape::header(out, DEVICE_VERSION, 31);
    out.push(b'|');
    escape::header(out, signature, 1023);
    out.push(b'|');
    escape::header(out, name, 512);
    let _ = write!(out, "|{severity}|");
}

fn write_ext(out: &mut Vec<u8>, ext: &[(&str, Cow<'_, str>)]) {
    let mut first = true;
    for (k, v) in ext {
        if v.is_empty() {
            continue;
        }
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        escape::ext_value(out, v, escape::ext_limit(k));
    }
}

/// A record that is not a JSON object still yields one valid event carrying its text.
fn unparsed<'a>(rec: &'a Record, origin: &Origin<'a>) -> Event<'a> {
    let mut ev = Event {
        product: "Office 365",
        signature: "Unparsed",
        name: "Unparsed audit record".to_string(),
        severity: 5,
        ext: vec![
            ("externalId", Cow::Borrowed(rec.id())),
            ("msg", Cow::Borrowed(rec.raw.get())),
            ("dvchost", Cow::Borrowed(origin.tenant)),
            ("deviceExternalId", Cow::Borrowed(origin.tenant_id)),
        ],
    };
    ev.ext.retain(|(_, v)| !v.is_empty());
    ev
}

#[cfg(test)]
mod tests;
