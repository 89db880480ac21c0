//! SIGHUP reload while records flow: feeds and sinks added, removed and changed, a bad
//! config refused; every record reaches the sink that stays configured exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use o365fwd::record::ContentType;

use crate::harness::{Agent, Env, read_ids, read_ids_settled, sim_config, tail};

fn hup(agent: &Agent) {
    unsafe {
        libc::kill(agent.child.id() as i32, libc::SIGHUP);
    }
}

/// Ids the simulator listed in `[from, to)` over every tenant and content type.
fn expected_between(env: &Env, from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for t in &env.sim.config().tenants {
        for ct in &env.sim.config().content_types {
            all.extend(env.sim.expected_ids_between(&t.tenant_id, *ct, from, to));
        }
    }
    all
}

/// Waits until the agent log shows `needle` at least `n` times.
async fn wait_log(env: &Env, needle: &str, n: usize, timeout: Duration) -> bool {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < timeout {
        if env.log().matches(needle).count() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_delivers_every_record_exactly_once() {
    let mut sim = sim_config(2, &[ContentType::General, ContentType::Exchange]);
    sim.live = true;
    sim.backlog = Duration::from_secs(10 * 60);
    sim.blob_interval = Duration::from_secs(2);
    sim.records_per_blob = (2, 12);
    let port = crate::service::support::free_port();
    let env = Env::start(sim, &format!("listen = \"127.0.0.1:{port}\"")).await;
    let base = std::fs::read_to_string(&env.config).unwrap();
    let extra = env.dir.path().join("extra.ndjson");
    let extra_sink = format!(
        "[sinks.extra]\ntype = \"file\"\npath = \"{}\"\nformat = \"raw\"\n",
        extra.display()
    );
    let both = "content_types = [\"Audit.General\", \"Audit.Exchange\"]";
    // t1 without Audit.Exchange: that feed is added by the first reload.
    let v1 = replace_nth(&base, both, "content_types = [\"Audit.General\"]", 1);
    let v2 = format!("{base}{extra_sink}");
    let bad = format!("{base}{extra_sink}\n[agent.oops\n");
    // t0 without Audit.General (a feed removed, re-added later), `extra` removed, batches
    // smaller: every kind of change at once.
    let v4 = replace_nth(&base, both, "content_types = [\"Audit.Exchange\"]", 0)
        .replace("batch_size = 50", "batch_size = 7");
    let v5 = format!("{base}{extra_sink}");

    std::fs::write(&env.config, &v1).unwrap();
    let t0 = Utc::now() - chrono::Duration::hours(3);
    let agent = env.spawn();
    // SIGHUP before the handler is installed would end the process: wait for the start.
    assert!(env.wait_started(1, Duration::from_secs(60)).await);
    for (i, text) in [&v2, &bad, &v4, &v5].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        std::fs::write(&env.config, text).unwrap();
        hup(&agent);
        if i == 1 {
            assert!(
                wait_log(&env, "RELOAD REFUSED", 1, Duration::from_secs(10)).await,
                "a bad config is refused loudly: {}",
                tail(&env.log(), 20)
            );
        } else {
            let n = if i == 0 { 1 } else { i };
            assert!(
                wait_log(&env, "Configuration reloaded.", n, Duration::from_secs(20)).await,
                "reload {i} took effect: {}",
                tail(&env.log(), 20)
            );
            // The endpoint stays up across reloads and reports on the sinks now configured.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let metrics = scrape(port).await;
            let has_extra = metrics.contains("o365fwd_sink_healthy{sink=\"extra\"}");
            assert_eq!(
                has_extra,
                i != 2,
                "reload {i}: /metrics follows the sinks:\n{metrics}"
            );
        }
    }
    assert!(agent.child.id() > 0);
    let cut = Utc::now() - chrono::Duration::seconds(3);
    let want = expected_between(&env, t0, cut);
    assert!(want.len() > 1000, "enough records flowed: {}", want.len());
    let arrived = env.wait_for(&want, Duration::from_secs(60)).await;
    if !arrived {
        let got = read_ids_settled(&env.out);
        let mut per_feed = Vec::new();
        for t in &env.sim.config().tenants {
            for ct in &env.sim.config().content_types {
                let ids = env.sim.expected_ids_between(&t.tenant_id, *ct, t0, cut);
                let missing = ids.iter().filter(|id| !got.contains_key(*id)).count();
                per_feed.push(format!("{}/{ct}: {missing} of {}", t.tenant_id, ids.len()));
            }
        }
        panic!(
            "every record up to the cut arrives; missing per feed {per_feed:?}: {}",
            tail(&env.log(), 30)
        );
    }
    agent.stop();

    let got = env.delivered();
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "no duplicates across reloads: {dups:?}");
    let all = env.sim.expected_ids_between(
        &env.sim.config().tenants[0].tenant_id,
        ContentType::General,
        t0,
        Utc::now(),
    );
    assert!(!all.is_empty());
    let truth = expected_between(&env, t0, Utc::now() + chrono::Duration::hours(1));
    assert!(got.keys().all(|id| truth.contains(id)), "nothing invented");

    let extra_got = read_ids(&extra);
    assert!(!extra_got.is_empty(), "the added sink received records");
    assert!(
        extra_got.values().all(|n| *n == 1),
        "the sink added, removed and added again has no duplicates"
    );
    let log = env.log();
    assert_eq!(log.matches("Configuration reloaded.").count(), 3, "{log}");
    let at = format!("{}:", env.config.display());
    let names_line = log
        .match_indices(&at)
        .any(|(i, _)| log[i + at.len()..].starts_with(|c: char| c.is_ascii_digit()));
    assert!(
        names_line,
        "the refusal names the line and column: {}",
        tail(&log, 40)
    );
}

async fn scrape(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .unwrap()
}

/// Replaces the `n`th (0-based) occurrence of `from`.
fn replace_nth(text: &str, from: &str, to: &str, n: usize) -> String {
    let at = text
        .match_indices(from)
        .nth(n)
        .unwrap_or_else(|| panic!("{from:?} occurs {} times", text.matches(from).count()))
        .0;
    format!("{}{}{}", &text[..at], to, &text[at + from.len()..])
}

/// A config that parses but cannot start (here: a file sink whose directory is a regular
/// file) is rolled back: the running configuration starts again and delivery goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_that_cannot_start_keeps_the_old_config() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.live = true;
    sim.backlog = Duration::from_secs(5 * 60);
    sim.blob_interval = Duration::from_secs(1);
    let env = Env::start(sim, "").await;
    let base = std::fs::read_to_string(&env.config).unwrap();
    let t0 = Utc::now() - chrono::Duration::hours(1);
    let agent = env.spawn();
    assert!(env.wait_started(1, Duration::from_secs(60)).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let broken = format!(
        "{base}[sinks.nowhere]\ntype = \"file\"\npath = \"{}\"\n",
        env.config.join("out.ndjson").display()
    );
    std::fs::write(&env.config, broken).unwrap();
    hup(&agent);
    assert!(
        wait_log(&env, "RELOAD FAILED", 1, Duration::from_secs(20)).await,
        "{}",
        tail(&env.log(), 20)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cut = Utc::now() - chrono::Duration::seconds(3);
    let want = expected_between(&env, t0, cut);
    assert!(
        env.wait_for(&want, Duration::from_secs(40)).await,
        "delivery goes on with the old config: {}",
        tail(&env.log(), 20)
    );
    agent.stop();
    assert!(env.delivered().values().all(|n| *n == 1), "no duplicates");
    assert!(!env.log().contains("Configuration reloaded."));
}
