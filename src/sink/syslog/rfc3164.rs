//! RFC 3164 ("BSD") header: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]:`.
//!
//! The timestamp is the record's CreationTime in UTC (3164 has no zone; UTC is what the
//! record says and what Vector writes), the day space-padded as the RFC requires.

use std::io::Write;

use crate::record::Record;

/// Longest TAG the RFC allows.
const TAG_MAX: usize = 32;

pub(super) fn header(
    out: &mut Vec<u8>,
    pri: u8,
    rec: &Record,
    hostname: &str,
    app_name: &str,
    procid: &str,
) {
    let t = rec.creation_time.unwrap_or_else(chrono::Utc::now);
    let _ = write!(out, "<{pri}>{} {hostname} ", t.format("%b %e %H:%M:%S"));
    out.extend_from_slice(tag(app_name).as_bytes());
    if procid != "-" {
        let _ = write!(out, "[{procid}]");
    }
    out.push(b':');
}

/// TAG: alphanumerics (and `_ - .`, which every receiver accepts), at most 32 characters.
fn tag(app_name: &str) -> String {
    let t: String = app_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(TAG_MAX)
        .collect();
    if t.is_empty() {
        "o365fwd".to_string()
    } else {
        t
    }
}

#[cfg(test)]
mod tests;
