use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn rec(id: &str, time: &str) -> Record {
    Record::from_json(&format!(r#"{{"Id":"{id}","CreationTime":"{time}"}}"#), "x").unwrap()
}

#[test]
fn start_is_kept_across_restarts_and_early_records_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let feed = "tid/Audit.General";
    let mut c = FeedCoverage::new(dir.path(), feed);
    let t0 = t("2026-11-01T00:00:00Z");
    let earliest = t("2026-10-26T00:00:00Z");
    assert_eq!(c.start(t0, earliest), t0);
    // A restart before the first commit proposes a later start: the published one holds.
    let mut c = FeedCoverage::new(dir.path(), feed);
    assert_eq!(c.start(t0 + chrono::Duration::hours(2), earliest), t0);
    // Past the API's reach it moves forward.
    let later = t0 + chrono::Duration::days(1);
    assert_eq!(
        FeedCoverage::new(dir.path(), feed).start(later, later),
        later
    );
    let mut c = FeedCoverage::new(dir.path(), feed);
    assert_eq!(c.start(t0, earliest), later, "kept once moved");

    c.note(
        later + chrono::Duration::minutes(5),
        &[
            rec("old", "2026-11-01T23:00:00"),
            rec("new", "2026-11-02T00:01:00"),
        ],
    );
    c.note(
        later + chrono::Duration::days(8),
        &[rec("too-late", "2026-11-01T00:00:00")],
    );
    // A torn last line (the daemon died mid-append) is not counted.
    c.append(b"torn").unwrap();
    let p = read(dir.path(), feed).unwrap().unwrap();
    assert_eq!(p.from, later);
    assert!(!p.settled);
    c.listed(later + SETTLE - chrono::Duration::seconds(1));
    assert!(!read(dir.path(), feed).unwrap().unwrap().settled);
    c.listed(later + SETTLE);
    assert!(read(dir.path(), feed).unwrap().unwrap().settled);
    assert!(FeedCoverage::new(dir.path(), feed).settled, "kept");
    let mut set = IdSet::default();
    assert_eq!(p.early_ids(&mut set, 10).unwrap(), (1, true));
    assert!(set.contains_str("old") && !set.contains_str("new") && !set.contains_str("too-late"));
    assert!(read(dir.path(), "other/Audit.General").unwrap().is_none());
}

#[test]
fn the_early_list_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = FeedCoverage::new(dir.path(), "t/x");
    let t0 = t("2026-11-01T00:00:00Z");
    c.start(t0, t0);
    c.noted = MAX_EARLY - 1;
    c.note(
        t0,
        &[
            rec("a", "2026-10-31T00:00:00"),
            rec("b", "2026-10-31T00:00:00"),
        ],
    );
    assert!(c.overflowed);
    let p = read(dir.path(), "t/x").unwrap().unwrap();
    let mut set = IdSet::default();
    assert_eq!(p.early_ids(&mut set, 10).unwrap(), (1, false));
    assert_eq!(count_early(&c.early), (1, true));
}
