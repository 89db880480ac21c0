use super::*;
use crate::state::{FeedCommit, feed_key};

fn g(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

async fn commit(s: &State, feed: &str, bucket: u32, ids: &[String]) {
    let mut seen = SeenIds::default();
    for id in ids {
        seen.push(bucket, id);
    }
    let c = FeedCommit {
        seen,
        ..Default::default()
    };
    s.commit(&[(feed, c)], &[], chrono::Utc::now())
        .await
        .unwrap();
}

fn has(s: &State, feed: &str, bucket: u32, id: &str) -> bool {
    s.seen_contains(feed, bucket, Id::parse(id)).unwrap().found
}

#[tokio::test]
async fn lookups_find_exactly_what_was_committed_in_that_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "Audit.General");
    commit(&s, &feed, 10, &[g(1), g(2), "odd-id".into()]).await;
    commit(&s, &feed, 10, &[g(3)]).await;
    commit(&s, &feed, 11, &[g(4)]).await;
    assert!(has(&s, &feed, 10, &g(1)) && has(&s, &feed, 10, &g(3)) && has(&s, &feed, 10, "odd-id"));
    assert!(!has(&s, &feed, 10, &g(4)), "another bucket");
    assert!(
        !has(&s, &feed_key("t2", "Audit.General"), 10, &g(1)),
        "another feed"
    );
    assert_eq!(
        s.seen_contains(&feed, 10, Id::parse(&g(9)))
            .unwrap()
            .fresh_chunks,
        2
    );
    assert_eq!(s.newest_seen_bucket(&feed).unwrap(), Some(11));
    assert_eq!(s.count_seen(&feed).unwrap(), 5);

    s.compact_seen(&feed, 10, 0, Compact::All).unwrap();
    assert!(has(&s, &feed, 10, &g(1)) && has(&s, &feed, 10, &g(3)) && has(&s, &feed, 10, "odd-id"));
    assert!(!has(&s, &feed, 10, &g(5)));
    assert_eq!(s.count_seen(&feed).unwrap(), 5);
    let after = s.seen_contains(&feed, 10, Id::parse(&g(1))).unwrap();
    assert_eq!(
        after,
        Lookup {
            found: true,
            fresh_chunks: 0
        },
        "found in the compacted chunk"
    );

    let mut set = IdSet::default();
    s.seen_bucket_into(&feed, 10, &mut set).unwrap();
    assert_eq!(set.len(), 4);

    assert_eq!(
        s.prune_seen(&feed, 11).unwrap(),
        2,
        "bucket 10: one compacted chunk, one for the other id"
    );
    assert!(!has(&s, &feed, 10, &g(1)) && has(&s, &feed, 11, &g(4)));
}

#[tokio::test]
async fn compaction_of_a_big_bucket_keeps_every_id_and_later_commits() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "Exchange");
    let ids: Vec<String> = (0..(3 * CHUNK_GUIDS as u64 + 7))
        .map(|i| g(i * 7 + 1))
        .collect();
    for part in ids.chunks(1000) {
        commit(&s, &feed, 3, part).await;
    }
    s.compact_seen(&feed, 3, 0, Compact::All).unwrap();
    commit(&s, &feed, 3, &[g(2)]).await;
    for id in ids.iter().step_by(97).chain([&g(2)]) {
        assert!(has(&s, &feed, 3, id), "{id}");
    }
    assert!(!has(&s, &feed, 3, &g(3)));
    s.compact_seen(&feed, 3, 0, Compact::All).unwrap();
    assert!(has(&s, &feed, 3, &g(2)) && has(&s, &feed, 3, ids.last().unwrap()));
    assert_eq!(s.count_seen(&feed).unwrap(), ids.len() + 1);
}

#[tokio::test]
async fn folding_only_the_commit_chunks_leaves_compacted_ones_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let feed = feed_key("t1", "DLP.All");
    let ids: Vec<String> = (0..300).map(g).collect();
    commit(&s, &feed, 5, &ids).await;
    s.compact_seen(&feed, 5, 0, Compact::All).unwrap();
    for i in 0..20 {
        commit(&s, &feed, 5, &[g(1000 + i), format!("late-{i}")]).await;
    }
    s.compact_seen(&feed, 5, 30, Compact::Fresh).unwrap();
    assert_eq!(
        s.seen_contains(&feed, 5, Id::parse(&g(9999)))
            .unwrap()
            .fresh_chunks,
        20,
        "not past the threshold: nothing folded"
    );
    s.compact_seen(&feed, 5, 16, Compact::Fresh).unwrap();
    let l = s.seen_contains(&feed, 5, Id::parse(&g(9999))).unwrap();
    assert_eq!(
        l,
        Lookup {
            found: false,
            fresh_chunks: 1
        }
    );
    for id in ids.iter().chain([&g(1019), &"late-7".to_string()]) {
        assert!(has(&s, &feed, 5, id), "{id}");
    }
    assert_eq!(s.count_seen(&feed).unwrap(), 340);
}
