//! What every encoding of any blob must satisfy, beyond not panicking: ECS is one JSON
//! object, CEF one line with its header, raw the record byte for byte. The fuzz target
//! `record_formats` and the `robustness` unit test both run this one check.

use super::{Encoder, Format, FormatOptions, Origin};
use crate::record::{ContentType, Record, parse_blob};

/// Where the checked records come from.
pub const ORIGIN: Origin<'static> = Origin {
    tenant: "contoso",
    tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
    content_type: ContentType::General,
};

/// The records of `body` when it is a blob. One that is not is fine: it is refused, not
/// encoded, so there is nothing to check.
pub fn records(body: &[u8]) -> Vec<Record> {
    parse_blob("c", body).unwrap_or_default()
}

/// Parses `body` as a blob and encodes every record in every format; panics on any broken
/// invariant.
pub fn check(body: &[u8]) {
    let origin = ORIGIN;
    let mut out = Vec::new();
    for rec in &records(body) {
        for format in Format::ALL {
            out.clear();
            Encoder::new(format, FormatOptions::default()).encode(rec, &origin, &mut out);
            match format {
                Format::Ecs | Format::Ocsf => {
                    // Syntax, as the input was checked: numbers are copied verbatim, so one
                    // out of f64's range (valid JSON) stays as it came.
                    let v: &serde_json::value::RawValue = serde_json::from_slice(&out)
                        .unwrap_or_else(|e| {
                            panic!("{format:?} not JSON ({e}) for {}", rec.raw.get())
                        });
                    assert!(v.get().starts_with('{'), "{format:?} output is an object");
                }
                Format::Cef => {
                    assert!(out.starts_with(b"CEF:0|"), "CEF header");
                    assert!(
                        !out.contains(&b'\n') && !out.contains(&b'\r'),
                        "CEF not one line for {}",
                        rec.raw.get()
                    );
                }
                Format::Raw => assert_eq!(out, rec.raw.get().as_bytes()),
                Format::Text => {}
            }
        }
    }
}
