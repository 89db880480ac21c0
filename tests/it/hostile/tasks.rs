//! No half-alive process: a feed task that panics is restarted (and nothing is lost or sent
//! twice), a dead sink or committer ends the process with an error, and a feed that makes
//! no progress turns `/health` and the watchdog against the agent.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use o365fwd::record::ContentType;

use super::{counter, eventually, free_port, get, lines_with};
use crate::harness::{Env, sim_config, tail, tenant};

const GENERAL: ContentType = ContentType::General;

/// A panic in a feed task (injected where it hurts most: record ids claimed, their batch
/// not yet submitted) left the feed dead in a live process. Now the supervisor logs it with
/// the panic message, counts it, restarts the feed once nothing of it is in flight, and
/// every record arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_feed_is_restarted_and_loses_nothing() {
    let sim = sim_config(1, &[GENERAL, ContentType::Exchange]);
    let port = free_port();
    let env = Env::start(sim, &format!("listen = \"127.0.0.1:{port}\"")).await;
    let want = env.expected();
    // No backtrace: resolving one reads the debug binary's symbols (hundreds of MB).
    let agent = env.spawn_env(&[("O365FWD_TEST_PANIC", "feed"), ("RUST_BACKTRACE", "0")]);
    super::await_delivery(&env, &want).await;
    let restarts = eventually(Duration::from_secs(10), || async {
        counter(port, "o365fwd_feed_restarts_total", "").await == 2
    })
    .await;
    assert!(restarts, "one restart per feed:\n{}", tail(&env.log(), 30));
    let log = env.log();
    let failed = lines_with(&log, &["FEED TASK FAILED", "injected failure at feed/"]);
    assert_eq!(failed.len(), 2, "{}", tail(&log, 30));
    // Both feeds poll again: /health is ok.
    super::await_healthy(port).await;
    assert!(agent.peak_rss_kb() < super::PEAK_KB);
    agent.stop();
    env.assert_exactly_once(&want);
}

/// A sink or the committer that died left a process that acknowledged nothing more. Now
/// the agent exits 1 with the task and the panic message in the log (systemd restarts it),
/// and the next start delivers everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_sink_or_committer_ends_the_process_with_an_error() {
    let sim = sim_config(1, &[GENERAL]);
    let env = Env::start_with_sinks(sim, "", "[sinks.console]\ntype = \"stdout\"\n").await;
    let want = env.expected();
    for (point, task, exit) in [
        (
            "sink",
            "task=\"sink console\"",
            "failed (sink console: panicked: injected failure",
        ),
        (
            "committer",
            "task=\"committer\"",
            "failed (committer: panicked: injected failure",
        ),
    ] {
        let mut agent = env.spawn_env(&[("O365FWD_TEST_PANIC", point), ("RUST_BACKTRACE", "0")]);
        assert_eq!(
            agent.wait(Duration::from_secs(60)),
            Some(1),
            "{point}: exit 1; log:\n{}",
            tail(&env.log(), 30)
        );
        let log = env.log();
        let named = lines_with(&log, &["TASK FAILED", task, "injected failure"]);
        assert_eq!(named.len(), 1, "{point}:\n{}", tail(&log, 30));
        // The exit names the task that died first, not one that ended because of it.
        assert_eq!(log.matches(exit).count(), 1, "{point}:\n{}", tail(&log, 30));
    }
    let agent = env.spawn();
    super::await_delivery(&env, &want).await;
    agent.stop();
    env.assert_exactly_once(&want);
}

/// The notify socket read all along by a thread of its own: what came, and when.
struct Notices(std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>);

impl Notices {
    fn listen(sock: UnixDatagram) -> Notices {
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                g.lock().unwrap().push((std::time::Instant::now(), m));
            }
        });
        Notices(got)
    }

    /// Watchdog pings received after `since`.
    fn pings_since(&self, since: std::time::Instant) -> usize {
        let g = self.0.lock().unwrap();
        g.iter()
            .filter(|(t, m)| *t > since && m == "WATCHDOG=1")
            .count()
    }
}

/// A listing that never answers (request_timeout is long) left the feed stuck, `/health`
/// ok and the watchdog fed. Now, past `stall_timeout` without progress, `/health` names the
/// feed and the watchdog is no longer fed; once the answer comes, both recover, and the
/// other tenant is delivered all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_feed_fails_health_and_starves_the_watchdog() {
    let sim = sim_config(2, &[GENERAL]);
    let port = free_port();
    let env = Env::start(
        sim,
        &format!(
            "listen = \"127.0.0.1:{port}\"\nstall_timeout = \"3s\"\nrequest_timeout = \"10m\""
        ),
    )
    .await;
    env.sim.set_hang_listings(true);
    let path = env.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let agent = env.spawn_env(&[
        ("NOTIFY_SOCKET", path.to_str().unwrap()),
        ("WATCHDOG_USEC", "200000"),
    ]);
    let notices = Notices::listen(sock);
    let other = env.sim.expected_ids(&tenant(2).tenant_id, GENERAL);
    super::await_delivery(&env, &other).await;
    let reason = "feed t0/Audit.General: no progress";
    let unhealthy = eventually(Duration::from_secs(30), || async {
        let (code, body) = get(port, "/health").await;
        code == 503 && body.contains(reason)
    })
    .await;
    assert!(unhealthy, "{}", get(port, "/health").await.1);
    // Silence from the watchdog while the feed is stuck (what was on its way aside).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let since = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        notices.pings_since(since),
        0,
        "the watchdog is not fed while a feed is stuck"
    );
    assert!(!lines_with(&env.log(), &["not making progress", "Audit.General"]).is_empty());
    // The answer comes: the feed moves again, and so do /health and the watchdog.
    env.sim.set_hang_listings(false);
    let want = env.expected();
    super::await_delivery(&env, &want).await;
    super::await_healthy(port).await;
    let since = std::time::Instant::now();
    assert!(
        eventually(Duration::from_secs(30), || async {
            notices.pings_since(since) > 0
        })
        .await,
        "the watchdog is fed again"
    );
    assert!(agent.peak_rss_kb() < super::PEAK_KB);
    agent.stop();
    env.assert_exactly_once(&want);
}
