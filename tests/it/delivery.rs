//! Complete, exactly-once delivery through the real binary, including crashes.

use std::time::Duration;

use o365fwd::record::ContentType;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_tenants_and_content_types_exactly_once_with_repeats() {
    let mut sim = sim_config(
        2,
        &[
            ContentType::General,
            ContentType::AzureActiveDirectory,
            ContentType::SharePoint,
        ],
    );
    sim.duplicate_rate = 0.3;
    let env = Env::start(sim, "").await;
    let want = env.expected();
    assert!(
        want.len() > 300,
        "a meaningful amount of data: {}",
        want.len()
    );
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "not everything delivered; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    // The simulator repeated records across blobs and the agent dropped them.
    assert!(env.log().contains("o365fwd stopped"));
    let (code, out, _) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Audit.General") && out.contains("cursor: listed until"),
        "{out}"
    );
    // A restart finds nothing new to send.
    let agent = env.spawn();
    tokio::time::sleep(Duration::from_secs(3)).await;
    agent.stop();
    env.assert_exactly_once(&want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let mut sim = sim_config(2, &[ContentType::General, ContentType::Exchange]);
    sim.backlog = Duration::from_secs(20 * 3600);
    sim.blob_interval = Duration::from_secs(5 * 60);
    sim.records_per_blob = (20, 80);
    sim.duplicate_rate = 0.2;
    let env = Env::start(sim, "").await;
    let want = env.expected();
    assert!(
        want.len() > 10_000,
        "enough data to be mid-delivery when killed: {}",
        want.len()
    );
    let mut rng = fastrand::Rng::with_seed(42);
    let mut kills = 0;
    while kills < 12 {
        let mut agent = env.spawn();
        // Each kill lands at a random moment of a running agent, however loaded the
        // machine is: after its start line, not before it.
        assert!(
            env.wait_started(kills + 1, Duration::from_secs(60)).await,
            "start {} not logged; log:\n{}",
            kills + 1,
            tail(&env.log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(rng.u64(0..1000))).await;
        agent.sigkill();
        kills += 1;
        // The file must never hold a torn line or a duplicate after truncation on restart;
        // between runs it may hold a torn tail, which the next start truncates.
    }
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(120)).await,
        "not everything delivered after {kills} kills; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    assert_eq!(env.log().matches("o365fwd started").count(), 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero_quickly() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(24 * 3600);
    sim.blob_interval = Duration::from_secs(60);
    let env = Env::start(sim, "").await;
    let agent = env.spawn();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The state is locked while the agent runs; inspecting it says so plainly.
    let (code, _, err) = run_cli(&["state", "show", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("in use by another o365fwd process"), "{err}");
    // Without `[agent] listen` there is no agent to ask: the error says how to have one.
    assert!(err.contains("set [agent] listen"), "{err}");
    let t0 = std::time::Instant::now();
    agent.stop();
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    // Whatever was written was committed: a restart does not duplicate it.
    let before = env.delivered();
    assert!(before.values().all(|n| *n == 1));
    let want = env.expected();
    let agent = env.spawn();
    assert!(env.wait_for(&want, Duration::from_secs(90)).await);
    agent.stop();
    env.assert_exactly_once(&want);
}

/// A crash before the very first commit must not leave lines the next start cannot remove.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_before_the_first_commit_leaves_no_duplicate() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(20 * 3600);
    sim.blob_interval = Duration::from_secs(5 * 60);
    sim.records_per_blob = (20, 80);
    let env = Env::start(sim, "").await;
    // A pre-existing file that is not ours to truncate.
    std::fs::write(&env.out, b"{\"Id\":\"operator-line\"}\n").unwrap();
    let mut want = env.expected();
    for delay in [30u64, 60, 120, 250] {
        let mut agent = env.spawn();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        agent.sigkill();
    }
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    want.insert("operator-line".into());
    env.assert_exactly_once(&want);
}

/// The same property with most de-duplication answered from disk: a ten-minute window in
/// memory, repeats reaching back hours and late records (the simulator's tail is hours
/// old), and SIGKILLs in the middle of the catch-up. Nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_catch_up_with_repeats_answered_from_disk() {
    let mut sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    sim.backlog = Duration::from_secs(3 * 24 * 3600);
    sim.blob_interval = Duration::from_secs(15 * 60);
    sim.records_per_blob = (20, 40);
    sim.duplicate_rate = 0.4;
    sim.late_rate = 0.05;
    sim.late_by = Duration::from_secs(40 * 60);
    let env = Env::start(sim, "dedup_hot_window = \"10m\"\ndedup_hot_ids = 10000").await;
    // Late blobs must not become available halfway: the simulator's clock stands still.
    env.sim.set_speed(0.0);
    let want = env.expected();
    assert!(want.len() > 10_000, "a few days of data: {}", want.len());
    let mut rng = fastrand::Rng::with_seed(16);
    let mut kills = 0;
    // Kill only during the first half, so the last run still has repeats to find.
    while kills < 10 && read_ids_settled(&env.out).len() < want.len() / 2 {
        let mut agent = env.spawn();
        tokio::time::sleep(Duration::from_millis(rng.u64(200..1500))).await;
        agent.sigkill();
        kills += 1;
    }
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(120)).await,
        "not everything delivered after {kills} kills; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    let log = env.log();
    let stopped = log
        .lines()
        .rfind(|l| l.contains("o365fwd stopped"))
        .unwrap_or_default();
    let lookups: u64 = stopped
        .split("dedup_disk_lookups=")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(lookups > 0, "records were looked up on disk: {stopped}");
}
