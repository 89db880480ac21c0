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
mod tests {
    use super::*;

    #[test]
    fn pads_the_day_with_a_space_and_cleans_the_tag() {
        let rec = crate::sink::syslog::test_record(
            r#"{"Id":"a","CreationTime":"2024-06-05T06:13:20","Operation":"X"}"#,
        );
        let mut out = Vec::new();
        header(&mut out, 134, &rec, "fwd01", "o365 fwd[x]:", "42");
        assert_eq!(out, b"<134>Jun  5 06:13:20 fwd01 o365fwdx[42]:");
        let long = "a".repeat(40);
        assert_eq!(tag(&long).len(), 32);
        assert_eq!(tag("::"), "o365fwd");
    }
}
