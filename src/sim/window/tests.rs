use super::*;

#[test]
fn documented_and_observed_formats() {
    let base = parse_time("2025-03-02").unwrap();
    assert_eq!(parse_time("2025-03-02T00:00"), Some(base));
    assert_eq!(parse_time("2025-03-02T00:00:00"), Some(base));
    assert_eq!(parse_time("2025-03-02T00:00:00Z"), Some(base));
    assert_eq!(parse_time("2025-03-02T00:00:00.000Z"), Some(base));
    assert_eq!(parse_time("2025-03-02T01:00:00+01:00"), Some(base));
    assert_eq!(parse_time("2025-03-02T01:00:00 01:00"), Some(base));
    assert_eq!(parse_time("2025-03-02T00:00:00.5"), Some(base + 500));
    assert_eq!(parse_time("yesterday"), None);
    assert_eq!(parse_time("2025-13-02"), None);
}

#[test]
fn window_rules() {
    let now = parse_time("2025-03-10T12:00:00").unwrap();
    let code =
        |s: Option<&str>, e: Option<&str>| validate(s, e, now).err().and_then(|r| r.error_code);
    assert_eq!(
        code(Some("2025-03-10T00:00"), Some("2025-03-10T12:00")),
        None
    );
    assert_eq!(
        code(Some("2025-03-09T00:00"), Some("2025-03-10T00:00")),
        None,
        "exactly 24 h"
    );
    assert_eq!(
        code(Some("2025-03-09T00:00"), Some("2025-03-10T00:01")).as_deref(),
        Some("AF20030")
    );
    assert_eq!(
        code(Some("2025-03-10T00:00"), None).as_deref(),
        Some("AF20030")
    );
    assert_eq!(
        code(Some("2025-03-10T00:00"), Some("2025-03-10T00:00")).as_deref(),
        Some("AF20055")
    );
    assert_eq!(
        code(Some("2025-03-03T11:30"), Some("2025-03-03T12:00")),
        None,
        "inside the slack"
    );
    assert_eq!(
        code(Some("2025-03-03T10:30"), Some("2025-03-03T12:00")).as_deref(),
        Some("AF20030")
    );
    assert_eq!(
        code(Some("bad"), Some("2025-03-10T00:00")).as_deref(),
        Some("AF20002")
    );
    assert_eq!(
        code(Some("2025-03-10T11:00"), Some("2025-03-11T00:00")),
        None,
        "future end"
    );
    let w = validate(None, None, now).unwrap();
    assert_eq!(w.to_ms - w.from_ms, MAX_SPAN_MS);
}
