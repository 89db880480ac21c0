//! `startTime`/`endTime` parsing and validation (reference §3.5).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::server::Reply;

const HOUR_MS: i64 = 3_600_000;
const MAX_SPAN_MS: i64 = 24 * HOUR_MS;
/// How far back a start may lie: 7 days plus the hour of slack Beats observed.
pub(crate) const MAX_AGE_MS: i64 = 7 * 24 * HOUR_MS + HOUR_MS;

const AF20030: &str = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past.";
const AF20055: &str = "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past, and start time should be before end time.";

/// A validated listing window in epoch milliseconds, with the strings to echo in
/// `NextPageUri`.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
    pub start_text: String,
    pub end_text: String,
}

/// Accepts the documented `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`, plus
/// fractional seconds, `Z` and RFC 3339 offsets. All naive forms are UTC.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    // A `+` offset sent unencoded arrives as a space after form decoding.
    let s = s.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.timestamp_millis());
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(&s);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

pub(crate) fn validate(
    start: Option<&str>,
    end: Option<&str>,
    now_ms: i64,
) -> Result<Window, Reply> {
    let (start, end) = match (start, end) {
        (None, None) => {
            // The reference's "last 24 hours"; the next page link then carries this window.
            let fmt = |ms: i64| {
                DateTime::from_timestamp_millis(ms)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .unwrap_or_default()
            };
            let to = now_ms - now_ms.rem_euclid(1000);
            return Ok(Window {
                from_ms: to - MAX_SPAN_MS,
                to_ms: to,
                start_text: fmt(to - MAX_SPAN_MS),
                end_text: fmt(to),
            });
        }
        (Some(s), Some(e)) => (s, e),
        _ => return Err(Reply::error(400, "AF20030", AF20030)),
    };
    let parse = |name: &str, v: &str| {
        parse_time(v).ok_or_else(|| {
            Reply::error(
                400,
                "AF20002",
                &format!("Parameter {name} has wrong type; expected datetime."),
            )
        })
    };
    let from_ms = parse("startTime", start)?;
    let to_ms = parse("endTime", end)?;
    if from_ms >= to_ms {
        return Err(Reply::error(400, "AF20055", AF20055));
    }
    if to_ms - from_ms > MAX_SPAN_MS || from_ms < now_ms - MAX_AGE_MS {
        return Err(Reply::error(400, "AF20030", AF20030));
    }
    Ok(Window {
        from_ms,
        to_ms,
        start_text: start.to_string(),
        end_text: end.to_string(),
    })
}

#[cfg(test)]
mod tests;
