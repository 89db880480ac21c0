//! HTTP sinks against faithful in-process receivers (`receivers/`): first the sink alone,
//! fed batches directly as the pipeline would, under every fault; then the real binary
//! against the simulator with SIGKILLs (`e2e`); and real third-party clients pointed at the
//! receivers to keep them honest (`real_clients`).

mod e2e;
mod es;
mod hec;
mod real_clients;
mod tls;
mod webhook;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use o365fwd::config::Config;
use o365fwd::pipeline::{Batch, FeedShared, SinkAck, SinkJob};
use o365fwd::record::{ContentType, Record, parse_blob};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub(crate) const GUID: &str = "0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b";

/// One sink started from its TOML, fed directly.
pub struct SinkUnderTest {
    pub name: String,
    tx: tokio::sync::mpsc::Sender<SinkJob>,
    done: tokio::task::JoinHandle<()>,
    abort: CancellationToken,
    feed: Arc<FeedShared>,
    _dir: tempfile::TempDir,
}

/// Starts the sink described by `sink_toml` (one `[sinks.NAME]` table).
pub async fn start_sink(sink_toml: &str) -> SinkUnderTest {
    let text = format!(
        "[tenants.t]\ntenant_id = \"{GUID}\"\nclient_id = \"{GUID}\"\nclient_secret = \"x\"\n{sink_toml}"
    );
    let cfg =
        Config::parse(&text, Path::new("/tmp/o365fwd-test.toml")).unwrap_or_else(|e| panic!("{e}"));
    let s = cfg.sinks.values().next().expect("one sink");
    let dir = tempfile::tempdir().unwrap();
    let state = o365fwd::state::State::open(dir.path()).unwrap();
    let abort = CancellationToken::new();
    let running = o365fwd::sink::start(s, &state, &[], abort.clone())
        .await
        .unwrap();
    SinkUnderTest {
        name: s.name.clone(),
        tx: running.input.tx,
        done: running.done,
        abort,
        feed: Arc::new(FeedShared::new(o365fwd::feed_id::FeedId::new(
            "t",
            GUID,
            ContentType::General,
        ))),
        _dir: dir,
    }
}

impl SinkUnderTest {
    pub async fn submit(&self, records: Vec<Record>) -> oneshot::Receiver<SinkAck> {
        let (ack, rx) = oneshot::channel();
        let batch = Batch {
            feed: self.feed.clone(),
            content_id: "content-1".into(),
            records,
            ops: Vec::new(),
        };
        self.tx
            .send(SinkJob::all(Arc::new(batch), ack))
            .await
            .expect("sink is running");
        rx
    }

    /// Hard stop; the task must end promptly even while retrying or stopped.
    pub async fn abort(self) {
        self.abort.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.done)
            .await
            .expect("sink task ends on abort")
            .unwrap();
    }

    /// Closes the input; the sink drains and ends.
    pub async fn close(self) {
        drop(self.tx);
        tokio::time::timeout(Duration::from_secs(30), self.done)
            .await
            .expect("sink task drains and ends")
            .unwrap();
    }

    pub fn stopped(&self) -> u64 {
        o365fwd::telemetry::metric::SINK_STOPPED.get([&self.name])
    }
}

/// `n` records with ids `{prefix}-{i}` (a real-looking audit record each).
pub fn records(prefix: &str, n: usize) -> Vec<Record> {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"Id":"{prefix}-{i}","CreationTime":"2024-06-10T06:13:{:02}","Operation":"UserLoggedIn","Workload":"AzureActiveDirectory","RecordType":15,"UserId":"alice@contoso.com","ResultStatus":"Success","ClientIP":"203.0.113.7"}}"#,
                i % 60
            )
        })
        .collect();
    parse_blob("content-1", format!("[{}]", items.join(",")).as_bytes()).unwrap()
}

pub async fn ack_within(rx: &mut oneshot::Receiver<SinkAck>, d: Duration) -> Option<SinkAck> {
    tokio::time::timeout(d, rx).await.ok().and_then(|r| r.ok())
}

/// Asserts `got` holds exactly the ids in `want`, each once.
pub fn assert_once(got: &std::collections::BTreeMap<String, usize>, want: &[String]) {
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    let missing: Vec<_> = want
        .iter()
        .filter(|id| !got.contains_key(*id))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "missing (e.g.) {missing:?}");
    assert_eq!(got.len(), want.len(), "unexpected extra ids");
}

pub fn ids(recs: &[Record]) -> Vec<String> {
    recs.iter().map(|r| r.id().to_string()).collect()
}
