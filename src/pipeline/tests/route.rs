//! Filtered sinks: only admitted records reach a sink, with their batch indices; a sink
//! that admits nothing is neither sent the batch nor waited for; drops are counted.

use std::time::Duration;

use chrono::Utc;

use super::super::*;
use crate::filter::{Condition, Field, Filter, Rule, Value};
use crate::record::Record;
use crate::state::{ContentStatus, State};
use crate::telemetry::metric as m;

fn include_workload(w: &str) -> Arc<Filter> {
    let mut c = Condition::new(Field::Workload);
    c.push(Value::Str(w)).unwrap();
    Arc::new(Filter {
        include: vec![Rule {
            conditions: vec![c],
        }],
        exclude: vec![],
    })
}

fn rec(id: &str, workload: &str) -> Record {
    Record::from_json(&format!(r#"{{"Id":"{id}","Workload":"{workload}"}}"#), "c").unwrap()
}

#[tokio::test]
async fn filtered_sinks_get_admitted_records_and_never_stall_commits() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(dir.path()).unwrap();
    let (tx_a, mut rx_a) = mpsc::channel::<SinkJob>(8);
    let (tx_b, mut rx_b) = mpsc::channel::<SinkJob>(8);
    let (tx_c, mut rx_c) = mpsc::channel::<SinkJob>(8);
    let sinks = vec![
        SinkInput {
            name: "all".into(),
            tx: tx_a,
            filter: None,
        },
        SinkInput {
            name: "crm".into(),
            tx: tx_b,
            filter: Some(include_workload("crm")),
        },
        SinkInput {
            name: "none".into(),
            tx: tx_c,
            filter: Some(include_workload("NoSuchWorkload")),
        },
    ];
    let (p, committer) = Pipeline::start(state.clone(), sinks, 8, CancellationToken::new());
    // A tenant name of its own keeps these counters apart from other tests'.
    let feed = Arc::new(FeedShared::new(crate::feed_id::FeedId::new(
        "route-t",
        "tid",
        crate::record::ContentType::General,
    )));
    let ids = ["r1", "r2", "r3"];
    p.submit(Batch {
        feed: feed.clone(),
        content_id: "c1".into(),
        records: vec![
            rec("r1", "CRM"),
            rec("r2", "AzureActiveDirectory"),
            rec("r3", "CRM"),
        ],
        ops: vec![CommitOp::Content {
            content_id: "c1".into(),
            entry: crate::state::ContentEntry {
                created: Utc::now(),
                expiration: Utc::now() + chrono::Duration::days(7),
                uri: String::new(),
                status: ContentStatus::Done { records: 3 },
            },
        }],
    })
    .await
    .unwrap();

    let a = rx_a.recv().await.unwrap();
    assert!(a.admitted.is_none());
    assert_eq!(a.records().map(|(i, _)| i).collect::<Vec<_>>(), [0, 1, 2]);
    let b = rx_b.recv().await.unwrap();
    let got: Vec<(usize, &str)> = b.records().map(|(i, r)| (i, r.id())).collect();
    assert_eq!(got, [(0, "r1"), (2, "r3")], "batch indices are kept");
    assert_eq!(b.len(), 2);
    assert!(
        rx_c.try_recv().is_err(),
        "a sink that admits nothing gets no job"
    );

    a.ack.send(SinkAck::default()).unwrap();
    b.ack
        .send(SinkAck {
            rejected: vec![(2, "refused".into())],
            offset: None,
        })
        .unwrap();
    // Committed without any word from `none`.
    let t0 = std::time::Instant::now();
    while state.content(&feed.id.key, "c1").unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "commit waits for a sink it skipped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.close().await;
    let done = committer.await.unwrap();
    assert_eq!((done.batches, done.records), (1, 3));
    let rej = state.rejections(&feed.id.key).unwrap();
    assert_eq!(rej.len(), 1);
    assert_eq!(
        (rej[0].record_id.as_str(), rej[0].sink.as_str()),
        ("r3", "crm")
    );
    assert!(
        ids.iter().all(|id| state.seen_anywhere(&feed.id.key, id)),
        "filtered records count as handled"
    );

    let filtered =
        |sink, reason| m::RECORDS_FILTERED.get(["route-t", "Audit.General", sink, reason]);
    assert_eq!(filtered("crm", "not_included:workload"), 1);
    assert_eq!(filtered("none", "not_included:workload"), 3);
    let delivered = |sink| m::RECORDS_DELIVERED.get(["route-t", "Audit.General", sink]);
    assert_eq!(
        (delivered("all"), delivered("crm"), delivered("none")),
        (3, 2, 0)
    );
}
