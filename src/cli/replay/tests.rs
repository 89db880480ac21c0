use super::*;

#[test]
fn times_and_ranges() {
    let now = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        parse_time("36h", now).unwrap(),
        now - chrono::Duration::hours(36)
    );
    assert_eq!(
        parse_time("2026-11-28T09:30", now).unwrap().to_rfc3339(),
        "2026-11-28T09:30:00+00:00"
    );
    assert_eq!(
        parse_time("2026-11-28T10:30:00+01:00", now)
            .unwrap()
            .to_rfc3339(),
        "2026-11-28T09:30:00+00:00"
    );
    assert!(parse_time("yesterday", now).is_err());
    let h = chrono::Duration::hours;
    assert!(
        check_range(now - h(24 * 7 + 1), now, now)
            .unwrap_err()
            .contains("7 days")
    );
    assert!(
        check_range(now - h(2), now + h(1), now)
            .unwrap_err()
            .contains("future")
    );
    assert!(
        check_range(now - h(2), now - h(3), now)
            .unwrap_err()
            .contains("after")
    );
    assert!(check_range(now - h(24 * 7 - 1), now, now).is_ok());
}
