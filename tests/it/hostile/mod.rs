//! A hostile upstream and failing tasks (issue 15): the simulator's hostile knobs (numbers
//! that overflow clocks, bodies that inflate without end, listings of any length, entries
//! that are not entries, connections cut mid-body, requests that never end) and injected
//! panics. Each test asserts no panic, the neighbours delivered exactly once, the agent's
//! peak memory bounded (VmHWM from /proc), the failing content named in the log and state.

mod api;
mod listing;
mod tasks;

use std::time::{Duration, Instant};

use crate::harness::{Agent, Env, tail};

/// Peak RSS no test here may exceed (kB). The debug agent peaks near 45 MB on these small
/// backlogs; the hostile inputs below took it past 120 MB before they were bounded.
pub const PEAK_KB: u64 = 80 * 1024;

pub fn free_port() -> u16 {
    crate::service::support::free_port()
}

/// `GET http://127.0.0.1:PORT/PATH`: status and body (0 when nothing answers).
pub async fn get(port: u16, path: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    match client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// The sum of a counter's samples in `/metrics` whose series text contains `filter`.
pub async fn counter(port: u16, name: &str, filter: &str) -> u64 {
    let (_, text) = get(port, "/metrics").await;
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Waits (up to two minutes) until the output holds every id of `want`.
pub async fn await_delivery(env: &Env, want: &std::collections::BTreeSet<String>) {
    assert!(
        env.wait_for(want, Duration::from_secs(120)).await,
        "not everything delivered; log:\n{}",
        tail(&env.log(), 30)
    );
}

/// Waits (up to 30 s) until `/health` answers 200.
pub async fn await_healthy(port: u16) {
    let ok = eventually(Duration::from_secs(30), || async {
        get(port, "/health").await.0 == 200
    })
    .await;
    assert!(ok, "{}", get(port, "/health").await.1);
}

/// Polls `f` until it holds or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// No panic in the agent's log, the peak memory bounded, then a clean stop.
pub fn finish(env: &Env, agent: Agent) {
    let peak = agent.peak_rss_kb();
    agent.stop();
    let log = env.log();
    assert!(!log.contains("panicked"), "a panic:\n{}", tail(&log, 40));
    assert!(
        peak < PEAK_KB,
        "peak RSS {peak} kB over {PEAK_KB} kB; log:\n{}",
        tail(&log, 20)
    );
}

/// Log lines that contain every one of `needles`.
pub fn lines_with<'a>(log: &'a str, needles: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect()
}
