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
    let feed = Arc::new(FeedShared::new(
        "t",
        "tid",
        crate::record::ContentType::General,
    ));
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
        state.content(&feed.key, "c1").unwrap().is_none(),
        "nothing committed while b holds batch 1"
    );
    b1.ack.send(SinkAck::default()).unwrap();
    p.close().await;
    let done = committer.await.unwrap();
    assert_eq!(done.batches, 2);
    assert_eq!(done.records, 3);
    assert!(!done.abandoned);
    assert_eq!(
        state.content(&feed.key, "c1").unwrap().unwrap().status,
        ContentStatus::Done { records: 3 }
    );
    for id in ["r1", "r2", "r3"] {
        assert!(state.seen_anywhere(&feed.key, id));
    }
    assert_eq!(feed.committed_batches(), 2);
    let rej = state.rejections(&feed.key).unwrap();
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
    let feed = Arc::new(FeedShared::new(
        "t",
        "tid",
        crate::record::ContentType::General,
    ));
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
