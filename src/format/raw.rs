//! `raw`: the record exactly as the API sent it.

use crate::record::Record;

pub fn encode(rec: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(rec.raw.get().as_bytes());
}
