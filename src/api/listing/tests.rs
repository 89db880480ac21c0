use super::*;

fn good(id: &str) -> String {
    format!(
        r#"{{"contentType":"Audit.General","contentId":"{id}","contentUri":"https://manage.office.com/api/v1.0/t/activity/feed/audit/{id}","contentCreated":"2025-03-01T10:00:00.000Z","contentExpiration":"2025-03-08T10:00:00.000Z"}}"#
    )
}

#[test]
fn a_bad_entry_is_set_aside_and_its_neighbours_kept() {
    let body = format!(
        r#"[{},{{"contentId":"x1","contentUri":"https://h/a","contentCreated":"2025-03-01T10:00:00Z","contentExpiration":"not-a-date"}},{{"contentUri":"https://h/b"}},42,{{"contentId":"x2","contentUri":"not a uri","contentCreated":"2025-03-01T10:00:00Z","contentExpiration":"2025-03-08T10:00:00Z"}},{{"contentId":"a\nb"}},{}]"#,
        good("ok1"),
        good("ok2")
    );
    let p = parse_page(body.as_bytes()).unwrap();
    let ids: Vec<_> = p.entries.iter().map(|c| c.content_id.as_str()).collect();
    assert_eq!(ids, ["ok1", "ok2"]);
    assert_eq!(p.bad.len(), 5, "{:?}", p.bad);
    assert_eq!(p.bad[0].content_id, "x1");
    assert!(
        p.bad[0]
            .reason
            .contains("contentExpiration \"not-a-date\" is not a date"),
        "{:?}",
        p.bad[0]
    );
    assert!(p.bad[0].created.is_some() && p.bad[0].expiration.is_none());
    assert!(p.bad[1].content_id.starts_with("unidentified-"));
    assert!(p.bad[1].reason.contains("contentId"), "{:?}", p.bad[1]);
    assert!(p.bad[2].reason.contains("not a JSON object"));
    assert_eq!(p.bad[3].content_id, "x2");
    assert!(p.bad[3].reason.contains("is not a URL"), "{:?}", p.bad[3]);
    assert!(p.bad[4].content_id.starts_with("unidentified-"));
    assert!(p.bad[4].reason.contains("control"));
    // The same bad entry gets the same name every time it is listed.
    let again = parse_page(body.as_bytes()).unwrap();
    assert_eq!(again.bad, p.bad);
}

#[test]
fn only_a_body_that_is_not_an_array_fails_the_page() {
    assert!(parse_page(b"{\"a\":1}").is_err());
    assert!(parse_page(b"[1,").is_err());
    assert!(parse_page(b"[]").unwrap().entries.is_empty());
}
