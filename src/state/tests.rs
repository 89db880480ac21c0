use super::*;
use chrono::TimeZone;

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
}

fn ids(ids: &[&str]) -> SeenIds {
    let mut s = SeenIds::default();
    for id in ids {
        s.push(seen::bucket_of(t(0)), id);
    }
    s
}

fn entry(created: i64, status: ContentStatus) -> ContentEntry {
    ContentEntry {
        created: t(created),
        expiration: t(created + 7 * 24),
        uri: "https://x/audit/c".into(),
        status,
    }
}

#[tokio::test]
async fn commit_is_durable_and_readable_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_key("t1", "Audit.General");
    {
        let s = State::open(dir.path()).unwrap();
        let c = FeedCommit {
            content: vec![
                ("a".into(), entry(0, ContentStatus::Done { records: 3 })),
                ("b".into(), entry(1, ContentStatus::Partial { acked: 2 })),
            ],
            cursor: Some(Cursor { listed_until: t(2) }),
            seen: ids(&["r1", "r2"]),
            ..Default::default()
        };
        let off = SinkOffset {
            path: "/x".into(),
            length: 42,
            file: None,
        };
        s.commit(&[(&feed, c)], &[("file", off)], t(3))
            .await
            .unwrap();
    }
    let s = State::open(dir.path()).unwrap();
    assert_eq!(s.cursor(&feed).unwrap().unwrap().listed_until, t(2));
    assert_eq!(
        s.content(&feed, "b").unwrap().unwrap().status,
        ContentStatus::Partial { acked: 2 }
    );
    assert!(s.seen_anywhere(&feed, "r1") && s.seen_anywhere(&feed, "r2"));
    assert!(!s.seen_anywhere(&feed, "r3"));
    assert!(!s.seen_anywhere(&feed_key("t2", "Audit.General"), "r1"));
    assert_eq!(s.sink_offset("file").unwrap().unwrap().length, 42);
    assert_eq!(s.feeds().unwrap(), vec![feed.clone()]);
    let sum = s.summary(&feed).unwrap();
    assert_eq!(sum.content_done, 1);
    assert_eq!(sum.records_done, 3);
    assert_eq!(sum.in_progress, vec![("b".to_string(), 2)]);
    assert_eq!(sum.seen_ids, 2);
}

#[tokio::test]
async fn prune_drops_done_content_by_the_horizon_and_the_rest_once_expired() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "Audit.General");
    let failed = |created: i64| {
        let mut e = entry(
            created,
            ContentStatus::Failed {
                attempts: 1,
                error: "x".into(),
                first_failed: t(created),
                last_failed: t(created),
                too_large: None,
            },
        );
        e.expiration = t(created + 168);
        e
    };
    let c = FeedCommit {
        content: vec![
            (
                "old-done".into(),
                entry(0, ContentStatus::Done { records: 1 }),
            ),
            (
                "recent-done".into(),
                entry(150, ContentStatus::Done { records: 1 }),
            ),
            (
                "relistable-done".into(),
                entry(165, ContentStatus::Done { records: 1 }),
            ),
            ("failed-old".into(), failed(0)),
            ("failed-live".into(), failed(100)),
        ],
        ..Default::default()
    };
    s.commit(&[(&feed, c)], &[], t(0)).await.unwrap();
    // A seen-id chunk in the layout before time buckets, first seen at t(0).
    let mut legacy = prefix(b's', &feed);
    legacy.extend_from_slice(&(t(0).timestamp() as u64).to_be_bytes());
    legacy.extend_from_slice(&1u64.to_be_bytes());
    s.tree()
        .unwrap()
        .insert(legacy, &[1, 0, 3, b'a', b'b', b'c'][..])
        .unwrap();
    assert!(
        s.load_legacy_seen(&feed)
            .unwrap()
            .is_some_and(|l| l.contains(seen::Id::Other("abc")))
    );
    let rule = Prune {
        now: t(170),
        relist_from: t(160),
        done_before: t(149),
        legacy_horizon: chrono::Duration::hours(24),
    };
    let removed = s.prune(&feed, &rule).await.unwrap();
    assert_eq!(removed, 3, "old-done, failed-old and the legacy chunk");
    let left: Vec<String> = s
        .contents(&feed)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(left, vec!["failed-live", "recent-done", "relistable-done"]);
    assert!(
        s.failed_contents(&feed, 100)
            .unwrap()
            .iter()
            .all(|(id, _)| id == "failed-live")
    );
    assert!(s.load_legacy_seen(&feed).unwrap().is_none());
}

#[tokio::test]
async fn refuses_other_format_version_and_second_process() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(VERSION_KEY, b"99")
            .unwrap();
        db.flush().unwrap();
    }
    match State::open(dir.path()) {
        Err(e @ StateError::Version { .. }) => assert!(e.to_string().contains("format 99")),
        other => panic!("expected a version error, got {:?}", other.err()),
    }
    let dir2 = tempfile::tempdir().unwrap();
    let _held = State::open(dir2.path()).unwrap();
    // sled locks the directory per process; a second open in the same process shares the
    // lock, so the cross-process case is covered by the integration tests.
}

#[tokio::test]
async fn gaps_and_rejections_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "DLP.All");
    let c = FeedCommit {
        gaps: vec![Gap {
            from: t(0),
            to: t(48),
            reason: "agent offline longer than the API keeps content".into(),
            detected_at: t(200),
        }],
        rejections: vec![Rejection {
            record_id: "r9".into(),
            sink: "es".into(),
            reason: "mapper_parsing_exception".into(),
            content_id: "c1".into(),
            at: t(200),
        }],
        ..Default::default()
    };
    s.commit(&[(&feed, c)], &[], t(200)).await.unwrap();
    let text = s.summary(&feed).unwrap().to_string();
    assert!(text.contains("GAP: 2026-11-01T00:00:00+00:00"), "{text}");
    assert!(text.contains("REJECTED by sink es: record r9"), "{text}");
}

#[tokio::test]
async fn failed_index_follows_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "Audit.General");
    let failed = ContentStatus::Failed {
        attempts: 2,
        error: "broken".into(),
        first_failed: t(1),
        last_failed: t(1),
        too_large: None,
    };
    let c = FeedCommit {
        content: vec![
            ("x".into(), entry(0, failed)),
            ("y".into(), entry(0, ContentStatus::Done { records: 1 })),
        ],
        ..Default::default()
    };
    s.commit(&[(&feed, c)], &[], t(1)).await.unwrap();
    let f = s.failed_contents(&feed, 100).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, "x");
    let healed = FeedCommit {
        content: vec![("x".into(), entry(0, ContentStatus::Done { records: 4 }))],
        ..Default::default()
    };
    s.commit(&[(&feed, healed)], &[], t(2)).await.unwrap();
    assert!(s.failed_contents(&feed, 100).unwrap().is_empty());
}

fn one_commit(n: i64) -> FeedCommit {
    FeedCommit {
        content: vec![(
            format!("c{n}"),
            entry(n, ContentStatus::Done { records: 1 }),
        )],
        cursor: Some(Cursor { listed_until: t(n) }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_store_that_lost_durable_progress_is_damaged_not_new() {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_key("t1", "Audit.General");
    let id = {
        let s = State::open(dir.path()).unwrap();
        for n in 0..3 {
            s.commit(&[(&feed, one_commit(n))], &[], t(n))
                .await
                .unwrap();
        }
        s.mark(true);
        s.id().to_string()
    };
    // Reopened as it was: the same state, its id kept.
    assert_eq!(State::open(dir.path()).unwrap().id(), id);
    // The identity file says more commits were durable than the store holds: it went back.
    open::write_identity(dir.path(), &id, 9).unwrap();
    match State::open(dir.path()) {
        Err(e @ StateError::Damaged { .. }) => {
            let m = e.to_string();
            assert!(m.contains("3 commits where 9 were durable"), "{m}");
            assert!(m.contains("state reset --all"), "{m}");
        }
        other => panic!("expected damage, got {:?}", other.err()),
    }
    // The log gone (sled's other files kept, or not): never a silent new state.
    open::write_identity(dir.path(), &id, 3).unwrap();
    std::fs::remove_file(dir.path().join("db")).unwrap();
    for lost in ["log", "log and snapshots"] {
        if lost != "log" {
            for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if e.file_name().to_string_lossy().starts_with("snap.") {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
            std::fs::remove_file(dir.path().join("db")).unwrap();
        }
        match State::open(dir.path()) {
            Err(e @ StateError::Damaged { .. }) => {
                assert!(e.to_string().contains("db"), "{lost}: {e}")
            }
            other => panic!("{lost}: expected damage, got {:?}", other.err()),
        }
    }
    // Moved aside, the directory starts a new state with another id.
    let aside = reset_damaged(dir.path()).unwrap();
    assert!(aside.join(open::IDENTITY_FILE).exists());
    let s = State::open(dir.path()).unwrap();
    assert_ne!(s.id(), id);
    assert!(s.cursor(&feed).unwrap().is_none());
}

#[tokio::test]
async fn reopen_keeps_what_is_durable_and_commits_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let feed = feed_key("t1", "Audit.General");
    let s = State::open(dir.path()).unwrap();
    let reader = s.clone();
    s.commit(&[(&feed, one_commit(1))], &[], t(1))
        .await
        .unwrap();
    s.reopen().unwrap();
    assert_eq!(reader.cursor(&feed).unwrap().unwrap().listed_until, t(1));
    s.commit(&[(&feed, one_commit(2))], &[], t(2))
        .await
        .unwrap();
    assert_eq!(reader.cursor(&feed).unwrap().unwrap().listed_until, t(2));
    assert!(s.commits_failing().is_none());
}

#[tokio::test]
async fn reset_removes_a_feeds_progress_and_keeps_history_and_file_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let (a, b) = (
        feed_key("t1", "Audit.General"),
        feed_key("t1", "Audit.Exchange"),
    );
    let mut c = one_commit(1);
    let ids: Vec<String> = (0..600)
        .map(|i| format!("00000000-0000-4000-8000-{i:012x}"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        c.seen.push(10 + (i % 3) as u32, id);
    }
    c.seen.push(10, "r1");
    let mut other = one_commit(1);
    other.seen.push(10, &ids[0]);
    c.gaps = vec![Gap {
        from: t(0),
        to: t(1),
        reason: "expired".into(),
        detected_at: t(1),
    }];
    let off = SinkOffset {
        path: "/o".into(),
        length: 7,
        file: None,
    };
    s.commit(&[(&a, c), (&b, other)], &[("file", off.clone())], t(1))
        .await
        .unwrap();
    // One bucket compacted, a legacy chunk: every form of seen id goes.
    s.compact_seen(&a, 11, 0, crate::state::Compact::All)
        .unwrap();
    let mut legacy = prefix(b's', &a);
    legacy.extend_from_slice(&1u64.to_be_bytes());
    legacy.extend_from_slice(&1u64.to_be_bytes());
    s.tree()
        .unwrap()
        .insert(legacy, &[1, 0, 3, b'a', b'b', b'c'][..])
        .unwrap();
    let chunks = || s.tree().unwrap().scan_prefix([b'~']).count();
    let before = chunks();
    assert!(before > 3, "{before} chunks");
    let r = s.reset_feed(&a).unwrap();
    assert_eq!((r.blobs_done, r.records_done), (1, 1));
    assert_eq!(r.listed_until, Some(t(1)));
    assert!(s.cursor(&a).unwrap().is_none());
    assert!(s.contents(&a).unwrap().is_empty());
    assert_eq!(s.count_seen(&a).unwrap(), 0);
    assert!(!s.seen_anywhere(&a, "r1") && !s.seen_anywhere(&a, &ids[1]));
    assert!(s.load_legacy_seen(&a).unwrap().is_none());
    assert_eq!(chunks(), 1, "only the other feed's chunk is left");
    assert!(s.seen_anywhere(&b, &ids[0]), "other feeds' ids kept");
    assert_eq!(s.gaps(&a).unwrap().len(), 1, "history kept");
    assert!(s.cursor(&b).unwrap().is_some(), "other feeds untouched");
    assert_eq!(s.sink_offset("file").unwrap(), Some(off));
}
