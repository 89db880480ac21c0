use super::*;

#[test]
fn odata_annotations_are_dropped_and_the_rest_kept_byte_for_byte() {
    let raw: Box<RawValue> = serde_json::from_str(
            r##"{"@odata.type":"#microsoft.graph.security.auditData","CreationTime":"2026-08-01T10:00:00","Id":"a","Nested":{"@odata.type":"x","b":[1, 2]},"RecordType":21}"##,
        )
        .unwrap();
    assert_eq!(
        audit_record_text(&raw).unwrap(),
        r#"{"CreationTime":"2026-08-01T10:00:00","Id":"a","Nested":{"@odata.type":"x","b":[1, 2]},"RecordType":21}"#
    );
    let plain: Box<RawValue> = serde_json::from_str(r#"{"Id":"b"}"#).unwrap();
    assert_eq!(audit_record_text(&plain).unwrap(), r#"{"Id":"b"}"#);
    let arr: Box<RawValue> = serde_json::from_str("[1]").unwrap();
    assert!(audit_record_text(&arr).is_err());
}

#[test]
fn pages_name_bad_elements_and_keep_the_rest() {
    let body = br##"{"@odata.context":"x","value":[
            {"id":"1","createdDateTime":"2026-08-01T10:00:00Z","auditData":{"@odata.type":"#t","Id":"1","CreationTime":"2026-08-01T10:00:00"}},
            {"id":"2","createdDateTime":"2026-08-01T11:00:00Z"},
            {"id":"3","createdDateTime":"2026-08-01T12:00:00Z","auditData":{"Id":"3"}}
        ],"@odata.nextLink":"https://graph.microsoft.com/v1.0/next"}"##;
    let p = parse_page(body, "q").unwrap();
    assert_eq!(p.items.len(), 3);
    assert_eq!(p.items[0].as_ref().unwrap().record.id(), "1");
    assert!(p.items[1].as_ref().unwrap_err().contains("auditData"));
    let third = p.items[2].as_ref().unwrap();
    assert_eq!(
        third.time().unwrap().to_rfc3339(),
        "2026-08-01T12:00:00+00:00",
        "Graph's time when the record has none"
    );
    assert_eq!(
        p.next.as_deref(),
        Some("https://graph.microsoft.com/v1.0/next")
    );
    assert!(parse_page(b"{\"value\":[", "q").is_err());
    assert!(
        parse_page(b"{\"error\":{}}", "q")
            .unwrap_err()
            .contains("value")
    );
}

#[test]
fn query_objects_tolerate_int64_as_strings_and_new_statuses() {
    let q: AuditLogQuery = serde_json::from_str(
            r#"{"id":"q","status":"succeeded","approximateReturnedRecordCount":"12","recordCountLimit":1000000,"isRecordCountLimitExceeded":false,"filterStartDateTime":"2026-08-01T00:00:00Z","filterEndDateTime":"2026-08-02T00:00:00Z"}"#,
        )
        .unwrap();
    assert_eq!(q.status(), QueryStatus::Succeeded);
    assert_eq!(q.approximate_returned_record_count, Some(12));
    assert_eq!(q.record_count_limit, Some(1_000_000));
    assert!(q.range().is_some());
    let q: AuditLogQuery =
        serde_json::from_str(r#"{"id":"q","status":"unknownFutureValue"}"#).unwrap();
    assert_eq!(q.status(), QueryStatus::Other("unknownFutureValue".into()));
    assert!(!q.status().is_lost());
    let spec = QuerySpec::new(
        "n".into(),
        q_time("2026-08-01T00:00:00Z"),
        q_time("2026-08-02T00:00:00Z"),
        &["crm".into()],
    );
    assert_eq!(
        serde_json::to_string(&spec).unwrap(),
        r#"{"displayName":"n","filterStartDateTime":"2026-08-01T00:00:00Z","filterEndDateTime":"2026-08-02T00:00:00Z","recordTypeFilters":["crm"]}"#
    );
}

fn q_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
