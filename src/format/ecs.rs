//! `ecs`: Elastic Common Schema JSON, compatible with Elastic's Office 365 integration.
//! Placeholder until issue 3: writes the raw record.

use super::{FormatOptions, Origin};
use crate::record::Record;

pub fn encode(rec: &Record, _origin: &Origin<'_>, _opts: &FormatOptions, out: &mut Vec<u8>) {
    out.extend_from_slice(rec.raw.get().as_bytes());
}
