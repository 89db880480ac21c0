use super::*;

#[test]
fn creation_time_is_read_from_the_head() {
    let json = r#"{"CreationTime":"2026-08-01T10:00:00","Id":"x"}"#;
    assert_eq!(
        time_of(json),
        Some(
            chrono::DateTime::parse_from_rfc3339("2026-08-01T10:00:00Z")
                .unwrap()
                .timestamp_millis()
        )
    );
    assert_eq!(time_of("{}"), None);
    assert_eq!(user_type(Some(0)), "regular");
    assert_eq!(user_type(Some(99)), "unknownFutureValue");
}
