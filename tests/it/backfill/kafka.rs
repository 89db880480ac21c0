//! `backfill` into Kafka (tansu, read back by confluent-kafka), killed and resumed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::TimeDelta;
use o365fwd::record::ContentType;

use super::{args, finish, graph_sim, kill, now, spawn, tenant, wait_until};
use crate::harness::{Env, tail};
use crate::kafka::{Tansu, consume, kafka_sink, tansu};

/// The same 90 days into Kafka (tansu, read back by confluent-kafka), killed twice: every
/// record, keyed by its Id; copies only of what was in flight at a kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_days_into_kafka_through_sigkills() {
    let Some(bin) = tansu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let broker = Tansu::start(bin, dir.path().join("tansu.log"));
    broker.create_topic("history");
    let sim = graph_sim(&[ContentType::General], 92);
    let sinks = kafka_sink(&broker.brokers(), "history", "");
    let env = Env::start_with_only_sinks(sim, "max_in_flight_batches = 4\n", &sinks).await;
    let now = now(&env);
    let (from, to) = (now - TimeDelta::days(90), now - TimeDelta::hours(1));
    let want = env.sim.graph_expected_ids(&tenant(&env), from, to);
    assert!(want.len() > 1000, "{}", want.len());
    let log = env.dir.path().join("backfill.log");
    let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
    let mut a = args(&env, &f, Some(&t), Path::new("unused"), &["--slice", "2d"]);
    let at = a.iter().position(|x| x == "--output").unwrap();
    a.drain(at..at + 2);
    for records in [want.len() / 4, want.len() / 2] {
        let run = spawn(&a, &log);
        // Progress is visible in the job's log of delivered slices.
        wait_until("delivery", Duration::from_secs(60), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            delivered_in_log(&text) >= records
        })
        .await;
        kill(run);
    }
    let (code, err) = finish(a).await;
    assert_eq!(code, 0, "{}", tail(&err, 20));
    let brokers = broker.brokers();
    let n = want.len();
    let seen = tokio::task::spawn_blocking(move || {
        consume(&brokers, n, Duration::from_secs(60), &["history"])
    })
    .await
    .unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in &seen {
        assert_eq!(s.key, s.id, "keyed by the record Id");
        *counts.entry(s.id.clone()).or_insert(0) += 1;
    }
    let got: BTreeSet<String> = counts.keys().cloned().collect();
    assert_eq!(got, want, "every record of the range, nothing else");
    // At most the batches in flight at each of the two kills (about 4 + 1 of 50 records).
    let copies: usize = counts.values().map(|n| n - 1).sum();
    assert!(copies <= 2 * 5 * 50, "{copies} copies");
}

/// Records handed to the sinks so far, from the `records=N` of the log's delivered slices.
fn delivered_in_log(text: &str) -> usize {
    text.lines()
        .filter(|l| l.contains("Slice delivered"))
        .filter_map(|l| l.split("records=").nth(1))
        .filter_map(|n| n.split_whitespace().next()?.parse::<usize>().ok())
        .sum()
}
