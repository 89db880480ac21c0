//! HTTP sinks: Splunk HEC (`splunk_hec`), Elasticsearch `_bulk` (`elasticsearch`) and a
//! generic webhook (`http`).
//!
//! The three share one shape: the [`driver`] gathers pipeline batches into flushes (by
//! count, bytes and time), encodes every record once into an [`Item`], and hands each flush
//! to the sink's [`Deliver`] implementation, with a bounded number of flushes in flight and
//! acknowledgements sent strictly in arrival order. Each reaches its receiver through one
//! [`Endpoint`], which posts and waits out transport failures and transient answers the
//! same way for all three. A sink's `deliver` returns only when every item is delivered by
//! that receiver's definition (a 2xx is not always enough) or refused for good; while it
//! retries the pipeline stalls. A configuration error (bad token, missing index, 4xx on the request)
//! [`Halt::Stopped`] the sink: nothing more is acknowledged, so nothing is committed past it,
//! and the data is still upstream for when the operator fixes the configuration.

pub mod config;
pub mod elasticsearch;
pub mod es_integration;
pub mod hec;
pub mod webhook;

mod client;
mod driver;
mod endpoint;
#[doc(hidden)]
pub mod invariants;

use crate::format::{Encoder, Format, Origin};
use crate::record::Record;

pub use client::build_client;
pub(crate) use client::{Halt, unless_aborted};
pub(crate) use driver::{Deliver, Flush, Item, Refused, chunks, start};
pub(crate) use endpoint::{Endpoint, transient};

/// Joins an endpoint (which may carry a path prefix, e.g. behind a proxy) and an API path.
pub(crate) fn join(endpoint: &url::Url, path: &str) -> String {
    format!(
        "{}/{}",
        endpoint.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Writes `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends an encoded record so that it stays on one line (NDJSON bodies). In JSON text a
/// raw CR or LF can only be insignificant whitespace (inside strings they are escaped), so
/// replacing them with spaces changes nothing; line-oriented formats never contain them.
pub(crate) fn push_one_line(out: &mut Vec<u8>, encoded: &[u8]) {
    let start = out.len();
    out.extend_from_slice(encoded);
    for b in &mut out[start..] {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
}

/// Appends the record as one JSON value: the encoded record itself for the JSON formats
/// (raw, ECS and OCSF always write one JSON object: `format::invariants`, and
/// [`invariants`] over every envelope, both fuzzed and run by `cargo test`), a JSON string
/// for the text formats (CEF, text).
pub(crate) fn push_json_value(
    enc: &Encoder,
    rec: &Record,
    origin: &Origin<'_>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    match enc.format {
        Format::Raw | Format::Ecs | Format::Ocsf => enc.encode(rec, origin, out),
        Format::Cef | Format::Text => {
            scratch.clear();
            enc.encode(rec, origin, scratch);
            json_str(out, &String::from_utf8_lossy(scratch));
        }
    }
}

#[cfg(test)]
mod tests;
