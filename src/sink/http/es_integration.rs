//! The Elasticsearch sink's integration mode: each record handed to Elastic's own `o365`
//! integration assets as Elastic Agent's `o365` input hands it over, so the integration's
//! ingest pipeline (`logs-o365.audit-*`) does the mapping, GeoIP included.
//!
//! The input (CEL, and the older `o365audit` input before it) publishes the record as the
//! object `o365audit`; the pipeline reads only that field, sets `event.original` from it,
//! takes `@timestamp` from `CreationTime` and keeps `event.original` only with the tag
//! `preserve_original_event`. `_conf.tenants` (organization id → name) is the package's
//! tenant map: the pipeline names `organization.name` and `host.name` from it and removes
//! it. The pipeline replaces `_id` with a fingerprint of the record `Id`, so a re-send stays
//! a duplicate (409) either way.

use chrono::Utc;

use crate::format::Origin;
use crate::record::Record;

/// The integration's data set; the data stream is `logs-o365.audit-<namespace>`.
pub const DATASET: &str = "o365.audit";

/// `integration = true` on an Elasticsearch sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsIntegration {
    /// The data stream namespace (`namespace`, default `default`).
    pub namespace: String,
}

/// `namespace` of integration mode when none is set.
pub const NAMESPACE: &str = "default";

/// Fleet's rule for a namespace: lowercase, no `-`, none of \ / * ? " < > | , # or spaces,
/// at most 100 bytes.
pub fn namespace(ns: &str) -> Result<(), String> {
    let bad = ns.is_empty()
        || ns.len() > 100
        || ns
            .chars()
            .any(|c| c.is_uppercase() || "-\\/*?\"<>| ,#:".contains(c));
    if bad {
        return Err(format!(
            "{ns:?} is not a valid namespace (lowercase, at most 100 bytes, no - \\ / * ? \" < > | , # : or spaces)"
        ));
    }
    Ok(())
}

/// `pipeline`: the name of an ingest pipeline.
pub fn pipeline(p: &str) -> Result<(), String> {
    let bad =
        p.is_empty() || p.len() > 512 || p.chars().any(|c| c.is_control() || c.is_whitespace());
    if bad {
        return Err("the name of an ingest pipeline (no spaces or control characters)".into());
    }
    Ok(())
}

impl EsIntegration {
    pub fn data_stream(&self) -> String {
        format!("logs-{DATASET}-{}", self.namespace)
    }
}

/// Writes one document (one line, no newline) as Elastic Agent's o365 input would.
pub fn encode(
    rec: &Record,
    origin: &Origin<'_>,
    it: &EsIntegration,
    keep_original: bool,
    out: &mut Vec<u8>,
) {
    let raw = rec.raw.get();
    let is_object = raw.trim_start().starts_with('{');
    out.extend_from_slice(b"{\"@timestamp\":");
    crate::format::ecs::timestamp(out, rec.creation_time.unwrap_or_else(Utc::now));
    if is_object {
        out.extend_from_slice(b",\"o365audit\":");
        super::push_one_line(out, raw.as_bytes());
    }
    out.extend_from_slice(b",\"data_stream\":{\"type\":\"logs\",\"dataset\":\"");
    out.extend_from_slice(DATASET.as_bytes());
    out.extend_from_slice(b"\",\"namespace\":");
    super::json_str(out, &it.namespace);
    out.extend_from_slice(b"},\"event\":{\"dataset\":\"");
    out.extend_from_slice(DATASET.as_bytes());
    out.push(b'"');
    // A record that is not an object cannot go under `o365audit`: its text is kept, so the
    // document is not lost and shows as what it is.
    if keep_original || !is_object {
        out.extend_from_slice(b",\"original\":");
        super::json_str(out, raw);
    }
    out.extend_from_slice(b"},\"input\":{\"type\":\"cel\"}");
    if keep_original || !is_object {
        out.extend_from_slice(b",\"tags\":[\"preserve_original_event\"]");
    }
    if !is_object {
        out.extend_from_slice(b",\"error\":{\"message\":\"audit record is not a JSON object\"}");
    }
    if !origin.tenant_id.is_empty() && !origin.tenant.is_empty() {
        out.extend_from_slice(b",\"_conf\":{\"tenants\":{");
        super::json_str(out, &origin.tenant_id.to_ascii_lowercase());
        out.push(b':');
        super::json_str(out, origin.tenant);
        out.extend_from_slice(b"}}");
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests;
