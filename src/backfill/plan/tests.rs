use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn slices_cover_the_range_and_split_in_halves() {
    let mut p = Plan::new(
        "j".into(),
        ("t", "tid"),
        t("2026-08-01T00:00:00Z"),
        t("2026-08-03T12:00:00Z"),
        chrono::Duration::days(1),
        vec![],
        vec!["Audit.General".into()],
        BTreeMap::new(),
        false,
    );
    let ids: Vec<String> = p.slices.iter().map(Slice::id).collect();
    assert_eq!(
        ids,
        [
            "2026-08-01T00:00:00Z..2026-08-02T00:00:00Z",
            "2026-08-02T00:00:00Z..2026-08-03T00:00:00Z",
            "2026-08-03T00:00:00Z..2026-08-03T12:00:00Z"
        ]
    );
    assert!(p.split(t("2026-08-02T00:00:00Z")));
    assert_eq!(p.slices.len(), 4);
    assert_eq!(p.slices[1].to, t("2026-08-02T12:00:00Z"));
    assert_eq!(p.slices[2].from, t("2026-08-02T12:00:00Z"));
    let one = Plan::new(
        "j".into(),
        ("t", "tid"),
        t("2026-08-01T00:00:00Z"),
        t("2026-08-01T00:01:00Z"),
        chrono::Duration::days(1),
        vec![],
        vec![],
        BTreeMap::new(),
        false,
    );
    let mut one = one;
    assert!(
        !one.split(t("2026-08-01T00:00:00Z")),
        "a minute is not split"
    );

    let dir = tempfile::tempdir().unwrap();
    p.slices[0].query = Some(QueryRef {
        id: None,
        name: p.query_name(&p.slices[0]),
    });
    p.save(dir.path()).unwrap();
    let back = Plan::load(dir.path()).unwrap().unwrap();
    assert_eq!(back.slices.len(), 4);
    assert_eq!(back.slices[0].query, p.slices[0].query);
    assert!(Plan::load(&dir.path().join("none")).unwrap().is_none());
    p.slices[0].failed_queries = 1;
    assert!(p.query_name(&p.slices[0]).ends_with(" #2"));
}
