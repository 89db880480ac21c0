//! Encodings of one record for a sink: `raw` (the record as received), `ecs` (Elastic Common
//! Schema JSON), `cef` (ArcSight CEF), `ocsf` (Open Cybersecurity Schema Framework JSON) and
//! `text` (a readable line, for `demo` and terminals).
//!
//! Every encoder writes one record into a reusable buffer, without a trailing newline; the
//! sink adds its own framing.

pub mod cef;
pub mod ecs;
pub mod enrich;
pub mod ocsf;
pub mod raw;
pub mod text;

use std::str::FromStr;

use crate::record::{ContentType, Record};

/// Where a record came from; encoders may put this in the output.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The tenant's name in the config (`[tenants.NAME]`).
    pub tenant: &'a str,
    /// The tenant GUID.
    pub tenant_id: &'a str,
    pub content_type: ContentType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Raw,
    Ecs,
    Cef,
    Ocsf,
    Text,
}

impl Format {
    /// Every format, in the order the docs list them.
    pub const ALL: [Format; 5] = [
        Format::Raw,
        Format::Ecs,
        Format::Cef,
        Format::Ocsf,
        Format::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Ecs => "ecs",
            Format::Cef => "cef",
            Format::Ocsf => "ocsf",
            Format::Text => "text",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Format::Raw),
            "ecs" => Ok(Format::Ecs),
            "cef" => Ok(Format::Cef),
            "ocsf" => Ok(Format::Ocsf),
            "text" => Ok(Format::Text),
            other => Err(format!(
                "unknown format {other:?} (expected raw, ecs, cef, ocsf or text)"
            )),
        }
    }
}

/// Options that change an encoding; one set per sink. `docs/mapping.md` describes each.
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// ECS: add `event.original` with the record as received; OCSF: `raw_data`.
    pub keep_original: bool,
    /// CEF: severity rules tried in order before the built-in table; first match wins.
    pub cef_severity: Vec<cef::SeverityRule>,
    /// CEF: `(cef key, record field path)` overrides applied after the built-in mapping.
    /// An empty path removes the key; a path starting with `=` sets a constant.
    pub cef_fields: Vec<(String, String)>,
    /// `[enrich]`: GeoIP/ASN and user-agent lookups, shared by every sink of a generation
    /// (set when the sinks start; `None`: the output is exactly as without enrichment).
    pub enrich: Option<std::sync::Arc<enrich::Enricher>>,
}

/// A configured encoder. Cheap to clone; holds no per-record state.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub format: Format,
    pub options: FormatOptions,
}

impl Encoder {
    pub fn new(format: Format, options: FormatOptions) -> Encoder {
        Encoder { format, options }
    }

    /// Appends the encoded record to `out` (no trailing newline). Never fails: a record that
    /// cannot be mapped is still written (ECS and CEF fall back to keeping the original).
    pub fn encode(&self, rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
        match self.format {
            Format::Raw => raw::encode(rec, out),
            Format::Ecs => ecs::encode(rec, origin, &self.options, out),
            Format::Cef => cef::encode(rec, origin, &self.options, out),
            Format::Ocsf => ocsf::encode(rec, origin, &self.options, out),
            Format::Text => text::encode(rec, origin, out),
        }
    }
}

#[cfg(all(test, feature = "sim"))]
pub(crate) mod robustness;

#[doc(hidden)]
pub mod invariants;
