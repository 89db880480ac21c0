mod route;

use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::record::Record;
use crate::state::{ContentStatus, State};

fn rec(id: &str) -> Record {
    Record::from_json(&format!(r#"{{"Id":"{id}"}}"#), "c").unwrap()
}

fn batch(feed: &Arc<FeedShared>, cid: &str, ids: &[&str], status: ContentStatus) -> Batch {
    Batch {
        feed: feed.clone(),
        content_id: cid.into(),
        records: ids.iter().map(|i| rec(i)).collect(),
        ops: vec![CommitOp::Content {
            content_id: cid.into(),
            entry: ContentEntry {
                created: Utc::now(),
                expiration: Utc::now() + chrono::Duration::days(7),
                uri: String::new(),
                status,
            },
        }],
    }
}

/// Two sinks; the second acknowledges in its own time. Commits must follow submission
/// order and wait for both.
#[tokio::test]
async fn commits_in_order_only_after_every_sink_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let (tx_a, mut rx_a) = mpsc::channel::<SinkJob>(8);
    let (tx_b, mut rx_b) = mpsc::channel::<SinkJob>(8);
    let sinks = vec![
        SinkInput {
            name: "a".into(),
            tx: tx_a,
            filter: None,
        },
        SinkInput {
            name: "b".into(),
            tx: tx_b,
            filter: None,
        },
    ];
    let abort = CancellationToken::new();
    let (p, committer) = Pipeline::start(state.clone(), sinks, 8, abort.clone());
    let feed = Arc::new(FeedShared::new(crate::feed_id::FeedId::new(
        "t",
        "tid",
        crate::record::ContentType::General,
    )));
    p.submit(batch(
        &feed,
        "c1",
        &["r1", "r2"],
        ContentStatus::Partial { acked: 2 },
    ))
    .await
    .unwrap();
    p.submit(batch(
        &feed,
        "c1",
        &["r3"],
        ContentStatus::Done { records: 3 },
    ))
    .await
    .unwrap();
    // Sink a acknowledges both at once; sink b holds the first back.
    let a1 = rx_a.recv().await.unwrap();
    let a2 = rx_a.recv().await.unwrap();
    a1.ack.send(SinkAck::default()).unwrap();
    a2.ack.send(SinkAck::default()).unwrap();
    let b1 = rx_b.recv().await.unwrap();
    let b2 = rx_b.recv().await.unwrap();
    b2.ack
        .send(SinkAck {
            rejected: vec![(0, "mapping error".into())],
            offset: None,
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        state.content(&feed.id.key, "c1").unwrap().is_none(),
        "nothing committed while b holds batch 1"
    );
    b1.ack.send(SinkAck::default()).unwrap();
    p.close().await;
    let done = committer.await.unwrap();
    assert_eq!(done.batches, 2);
    assert_eq!(done.records, 3);
    assert!(!done.abandoned);
    assert_eq!(
        state.content(&feed.id.key, "c1").unwrap().unwrap().status,
        ContentStatus::Done { records: 3 }
    );
    for id in ["r1", "r2", "r3"] {
        assert!(state.seen_anywhere(&feed.id.key, id));
    }
    assert_eq!(feed.committed_batches(), 2);
    let rej = state.rejections(&feed.id.key).unwrap();
    assert_eq!(rej.len(), 1);
    assert_eq!(
        (rej[0].record_id.as_str(), rej[0].sink.as_str()),
        ("r3", "b")
    );
}

/// A submit that is cancelled while a sink queue is full sends nothing anywhere.
#[tokio::test]
async fn cancelled_submit_leaves_no_orphan_batch() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let (tx_a, mut rx_a) = mpsc::channel::<SinkJob>(1);
    let (tx_b, mut rx_b) = mpsc::channel::<SinkJob>(1);
    let sinks = vec![
        SinkInput {
            name: "a".into(),
            tx: tx_a,
            filter: None,
        },
        SinkInput {
            name: "b".into(),
            tx: tx_b,
            filter: None,
        },
    ];
    let (p, _committer) = Pipeline::start(state, sinks, 8, CancellationToken::new());
    let feed = Arc::new(FeedShared::new(crate::feed_id::FeedId::new(
        "t",
        "tid",
        crate::record::ContentType::General,
    )));
    p.submit(batch(
        &feed,
        "c1",
        &["r1"],
        ContentStatus::Partial { acked: 1 },
    ))
    .await
    .unwrap();
    // b's queue is full now; a's too. A second submit must wait, and when abandoned it
    // must not have reached a.
    let second = p.submit(batch(
        &feed,
        "c1",
        &["r2"],
        ContentStatus::Done { records: 2 },
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), second)
            .await
            .is_err()
    );
    let _ = rx_a.recv().await.unwrap();
    assert!(
        rx_a.try_recv().is_err(),
        "the abandoned batch never reached sink a"
    );
    let _ = rx_b.recv().await.unwrap();
    assert!(rx_b.try_recv().is_err());
}

fn cursor_batch(feed: &Arc<FeedShared>, minutes: i64) -> Batch {
    Batch {
        feed: feed.clone(),
        content_id: "".into(),
        records: vec![],
        ops: vec![CommitOp::Cursor(Cursor {
            listed_until: Utc::now() + chrono::Duration::minutes(minutes),
        })],
    }
}

/// Idle polls only move cursors: those commits are applied at once but share a later disk
/// write (the next real commit's, or one after `CURSOR_FLUSH`), and shutdown writes them.
#[tokio::test(start_paused = true)]
async fn cursor_only_commits_wait_for_a_shared_disk_write() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let abort = CancellationToken::new();
    let (p, committer) = Pipeline::start(state.clone(), vec![], 8, abort.clone());
    let feed = Arc::new(FeedShared::new(crate::feed_id::FeedId::new(
        "t",
        "tid",
        crate::record::ContentType::General,
    )));
    let before = state.flushes();
    for m in 1..=3 {
        p.submit(cursor_batch(&feed, m)).await.unwrap();
    }
    while feed.committed_batches() < 3 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        state.cursor(&feed.id.key).unwrap().is_some(),
        "applied at once"
    );
    assert_eq!(state.flushes(), before, "no disk write of their own");
    // A batch with records is written at once, and carries the cursors with it.
    p.submit(batch(
        &feed,
        "c1",
        &["r1"],
        ContentStatus::Done { records: 1 },
    ))
    .await
    .unwrap();
    while feed.committed_batches() < 4 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(state.flushes(), before + 1);
    // Another idle cursor: written by the timer at the latest.
    p.submit(cursor_batch(&feed, 10)).await.unwrap();
    while feed.committed_batches() < 5 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(state.flushes(), before + 1);
    tokio::time::sleep(committer::CURSOR_FLUSH + Duration::from_millis(10)).await;
    assert_eq!(state.flushes(), before + 2, "flushed by the timer");
    // And at shutdown, whatever is pending.
    p.submit(cursor_batch(&feed, 20)).await.unwrap();
    p.close().await;
    let done = committer.await.unwrap();
    assert_eq!((done.batches, done.abandoned), (6, false));
    assert_eq!(
        state.flushes(),
        before + 3,
        "written before the committer ends"
    );
    let cur = state.cursor(&feed.id.key).unwrap().unwrap().listed_until;
    drop(state);
    let reopened = State::open(dir.path()).unwrap();
    assert_eq!(
        reopened.cursor(&feed.id.key).unwrap().unwrap().listed_until,
        cur
    );
}
