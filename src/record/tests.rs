use super::*;

#[test]
fn api_time_fast_path_agrees_with_chrono() {
    for s in [
        "2015-06-29T20:03:19",
        "2015-06-29T20:03:19Z",
        "2024-02-29T23:59:59",
        "1999-12-31T00:00:00",
    ] {
        let slow =
            NaiveDateTime::parse_from_str(s.strip_suffix('Z').unwrap_or(s), "%Y-%m-%dT%H:%M:%S")
                .unwrap()
                .and_utc();
        assert_eq!(parse_api_time(s), Some(slow), "{s}");
        assert_eq!(parse_creation_time(s), Some(slow), "{s}");
    }
    for s in [
        "2015-02-30T20:03:19",
        "2015-06-29 20:03:19",
        "2015-06-29T24:03:19",
        "2015-0a-29T20:03:19",
        "+2015-06-29T20:03:1",
    ] {
        assert_eq!(parse_api_time(s), None, "{s}");
    }
    // Fractions and offsets still go through chrono.
    assert!(parse_creation_time("2015-06-29T20:03:19.5").is_some());
    assert!(parse_creation_time("2015-06-29T20:03:19+02:00").is_some());
}

#[test]
fn parses_records_and_keeps_raw_text() {
    let body = br#"[{"Id":"a","CreationTime":"2015-06-29T20:03:19","RecordType":21,"Workload":"CRM","Operation":"Retrieve","X":{"y":[1,2]}},
            {"Id":"b","RecordType":"15"}, 42, {"CreationTime":"2015-06-29T20:03:19.5Z"}]"#;
    let recs = parse_blob("cid", body.as_slice()).unwrap();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0].id(), "a");
    assert_eq!(recs[0].record_type, Some(21));
    assert_eq!(recs[0].workload(), Some("CRM"));
    assert!(recs[0].raw.get().contains(r#""X":{"y":[1,2]}"#));
    assert_eq!(
        recs[0].creation_time.unwrap().to_rfc3339(),
        "2015-06-29T20:03:19+00:00"
    );
    assert_eq!(recs[1].record_type, Some(15));
    assert_eq!(recs[2].id(), "cid#2");
    assert_eq!(recs[2].raw.get(), "42");
    assert_eq!(recs[3].id(), "cid#3");
    assert!(recs[3].creation_time.is_some());
}

#[test]
fn head_fields_are_spans_of_the_text_or_decoded_copies() {
    let body = br#"[{"Id":"a\u0062","Operation":"Op\"1","Workload":"CRM"},
            {"Operation":7,"Workload":null,"Id":""}, {"Id":"x","Id":"y","Workload":"W"}]"#;
    let recs = parse_blob("cid", body.as_slice()).unwrap();
    assert_eq!(recs[0].id(), "ab");
    assert!(matches!(recs[0].id, Text::Owned(_)), "escaped: decoded");
    assert_eq!(recs[0].operation(), Some("Op\"1"));
    assert_eq!(recs[0].workload(), Some("CRM"));
    assert!(
        matches!(recs[0].workload, Some(Text::Span(..))),
        "plain: no copy"
    );
    assert_eq!(recs[1].operation(), None, "not a string");
    assert_eq!(recs[1].workload(), None);
    assert_eq!(recs[1].id(), "cid#1", "an empty Id is no id");
    // A repeated head key: no index, and serde refuses the head, so the record gets
    // its deterministic synthetic id (it is still delivered whole).
    assert!(recs[2].members().is_none());
    assert_eq!(recs[2].id(), "cid#2");
    assert!(recs[2].raw.get().contains(r#""Id":"y""#));
    // Records of one blob share its text; a clone shares it too.
    let copy = recs[0].clone();
    assert!(Arc::ptr_eq(&copy.raw.src, &recs[2].raw.src));
    assert_eq!(copy.raw, recs[0].raw);
    assert_eq!(copy.id(), "ab");
}

#[test]
fn rejects_non_array_blob() {
    assert!(parse_blob("c", b"{\"error\":1}").is_err());
    assert!(parse_blob("c", b"[{\"Id\":").is_err());
    let e = parse_blob("c", b"[{\"Id\":\"a\"},\n {\"N\": tru}]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed blob (expected a JSON array of audit records): invalid literal at byte 20"
    );
}

#[test]
fn content_type_round_trip() {
    for ct in ContentType::ALL {
        assert_eq!(ct.as_str().parse::<ContentType>().unwrap(), ct);
    }
    assert_eq!(
        "audit.general".parse::<ContentType>().unwrap(),
        ContentType::General
    );
    assert!("Audit.Foo".parse::<ContentType>().is_err());
}
