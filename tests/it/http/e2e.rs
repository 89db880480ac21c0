//! The real binary against the simulator, delivering to the HTTP receivers, killed with
//! SIGKILL at random moments: Elasticsearch ends with every id exactly once, HEC with
//! indexer ack loses nothing, a bad token stalls everything until it is fixed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;

use crate::harness::*;
use crate::receivers::es::Es;
use crate::receivers::hec::{Hec, Token};
use crate::receivers::webhook::Hook;

const TOKEN: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

/// A backlog big enough to be mid-delivery when killed.
fn sim() -> o365fwd::sim::SimConfig {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    sim.backlog = Duration::from_secs(12 * 3600);
    sim.blob_interval = Duration::from_secs(5 * 60);
    sim.records_per_blob = (20, 60);
    sim.duplicate_rate = 0.1;
    sim
}

async fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Kills the agent `kills` times at random moments while it delivers.
async fn kill_repeatedly(env: &Env, kills: u32, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..kills {
        let mut agent = env.spawn();
        tokio::time::sleep(Duration::from_millis(rng.u64(300..1500))).await;
        agent.sigkill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_has_every_id_exactly_once_after_sigkills() {
    let es = Es::start(&[]).await;
    let sinks = format!(
        "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nformat = \"ecs\"\nbatch_timeout = \"100ms\"\nretry_max_backoff = \"500ms\"\n",
        es.url()
    );
    let env = Env::start_with_sinks(sim(), "", &sinks).await;
    let want = env.expected();
    assert!(want.len() > 3000, "{}", want.len());
    kill_repeatedly(&env, 8, 7).await;
    let agent = env.spawn();
    let stream = "logs-o365.audit-default";
    let done = wait_until(Duration::from_secs(120), || {
        es.docs(stream).len() >= want.len()
    })
    .await;
    assert!(
        done,
        "only {} of {} documents; log:\n{}",
        es.docs(stream).len(),
        want.len(),
        tail(&env.log(), 30)
    );
    // Let the last commits land, then stop cleanly.
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    agent.stop();
    let got: BTreeSet<String> = es.docs(stream).keys().cloned().collect();
    assert_eq!(
        got, want,
        "every id exactly once (a data stream keeps one document per _id)"
    );
    // Documents are ECS with the timestamp the data stream requires.
    let doc = es.docs(stream).into_values().next().unwrap();
    assert!(
        doc["@timestamp"].is_string() && doc["event"]["id"].is_string(),
        "{doc}"
    );
    // The file sink beside it stayed exactly-once through the same kills.
    env.assert_exactly_once(&want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hec_with_indexer_ack_loses_nothing_after_sigkills() {
    let hec = Hec::start(&[(
        TOKEN,
        Token {
            ack: true,
            ..Token::default()
        },
    )])
    .await;
    hec.with(|s| {
        s.ack_delay = Duration::from_millis(300);
        s.lose_next = 2;
    });
    let sinks = format!(
        "[sinks.splunk]\ntype = \"splunk_hec\"\nendpoint = \"{}\"\ntoken = \"{TOKEN}\"\nindexer_ack = true\n\
         ack_poll_interval = \"100ms\"\nack_timeout = \"2s\"\nbatch_timeout = \"100ms\"\nretry_max_backoff = \"500ms\"\n",
        hec.url()
    );
    let env = Env::start_with_sinks(sim(), "", &sinks).await;
    let want = env.expected();
    kill_repeatedly(&env, 8, 11).await;
    let agent = env.spawn();
    let done = wait_until(Duration::from_secs(120), || {
        let got = hec.ids();
        want.iter().all(|id| got.contains_key(id))
    })
    .await;
    let got = hec.ids();
    let missing = want.iter().filter(|id| !got.contains_key(*id)).count();
    assert!(
        done,
        "{missing} of {} ids never indexed; log:\n{}",
        want.len(),
        tail(&env.log(), 30)
    );
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    agent.stop();
    let extra: Vec<_> = hec
        .ids()
        .into_keys()
        .filter(|id| !want.contains(id))
        .take(3)
        .collect();
    assert!(extra.is_empty(), "unexpected ids {extra:?}");
    // A slow first commit (indexer ack) must not cost the file sink its exactly-once.
    env.assert_exactly_once(&want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hec_token_stalls_everything_until_fixed() {
    let hec = Hec::start(&[(TOKEN, Token::default())]).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("hec.token");
    crate::harness::write_private(&token_file, b"wrong-token\n");
    let sinks = format!(
        "[sinks.splunk]\ntype = \"splunk_hec\"\nendpoint = \"{}\"\ntoken_file = \"{}\"\nbatch_timeout = \"100ms\"\n",
        hec.url(),
        token_file.display()
    );
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(4 * 3600);
    let env = Env::start_with_sinks(sim, "", &sinks).await;
    let want = env.expected();
    let mut agent = env.spawn();
    assert!(
        wait_until(Duration::from_secs(20), || env
            .log()
            .contains("SINK STOPPED"))
        .await,
        "{}",
        env.log()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(hec.ids().is_empty());
    // A stopped sink does not block shutdown: SIGTERM drains what it can, abandons the rest
    // after shutdown_timeout (10 s here), and exits.
    let t0 = Instant::now();
    agent.sigterm();
    let code = agent.wait(Duration::from_secs(30));
    assert!(t0.elapsed() < Duration::from_secs(25), "{:?}", t0.elapsed());
    assert!(
        env.log().contains("abandoned=true"),
        "{}",
        tail(&env.log(), 10)
    );
    assert!(code.is_some(), "exited by itself");
    // Nothing was committed: a file sink restart truncates whatever it had written.
    let (code, out, _) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("done: 0 blobs, 0 records"),
        "nothing committed past the stopped sink:\n{out}"
    );
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let agent = env.spawn();
    let done = wait_until(Duration::from_secs(90), || hec.ids().len() >= want.len()).await;
    assert!(
        done,
        "{} of {}; log:\n{}",
        hec.ids().len(),
        want.len(),
        tail(&env.log(), 30)
    );
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    agent.stop();
    let got = hec.ids();
    assert!(got.values().all(|n| *n == 1) && got.keys().cloned().collect::<BTreeSet<_>>() == want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_receives_everything_once() {
    let hook = Hook::start().await;
    let sinks = format!(
        "[sinks.hook]\ntype = \"http\"\nurl = \"{}\"\nformat = \"raw\"\nbatch_timeout = \"100ms\"\n",
        hook.url()
    );
    let mut sim = sim_config(2, &[ContentType::General]);
    sim.backlog = Duration::from_secs(4 * 3600);
    let env = Env::start_with_sinks(sim, "", &sinks).await;
    let want = env.expected();
    hook.with(|s| s.fail = 3);
    let agent = env.spawn();
    assert!(wait_until(Duration::from_secs(90), || hook.ids().len() >= want.len()).await);
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    agent.stop();
    let got = hook.ids();
    assert!(got.values().all(|n| *n == 1), "duplicates without a crash");
    assert_eq!(got.into_keys().collect::<BTreeSet<_>>(), want);
}
