//! Soak: the simulator with faults on (throttling, 5xx, short-lived tokens, malformed blobs
//! that heal, duplicates, late blobs, live content), a syslog receiver that goes down
//! periodically, and the agent SIGKILLed and restarted at random moments. At the end nothing
//! is lost, the file sink holds every record exactly once, RSS stayed flat and state stayed
//! bounded.
//!
//! Short by default (CI). The long version: `SOAK_SECS=3600 cargo test --release --test it soak`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;
use tokio::io::AsyncReadExt;

use crate::harness::*;

fn soak_secs() -> u64 {
    std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

/// A TCP receiver that drains whatever it is sent and is "down" (its port closed) while
/// `up` is false.
async fn flaky_receiver(addr: SocketAddr, up: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        if !up.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let Ok(listener) = tokio::net::TcpListener::bind(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut conns = Vec::new();
        while up.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
            if let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_millis(100), listener.accept()).await
            {
                conns.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                }));
            }
        }
        // Down: close the port and every open connection.
        drop(listener);
        for c in conns {
            c.abort();
        }
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn max_of(xs: &[(f64, u64)], from: f64, to: f64) -> u64 {
    xs.iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, v)| *v)
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_faults_kills_and_a_flaky_sink_loses_and_duplicates_nothing() {
    let secs = soak_secs();
    let mut sim = sim_config(2, &[ContentType::General, ContentType::Exchange]);
    sim.live = true;
    sim.blob_interval = Duration::from_secs(2);
    sim.backlog = Duration::from_secs(5 * 60);
    sim.records_per_blob = (1, 10);
    sim.error_rate = 0.03;
    sim.throttle_every = Some(17);
    sim.retry_after = Some(Duration::from_secs(1));
    sim.token_lifetime = Duration::from_secs(7);
    sim.malformed_rate = 0.03;
    sim.malformed_heal_after = Some(2);
    sim.duplicate_rate = 0.05;
    sim.late_rate = 0.05;
    sim.late_by = Duration::from_secs(5);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let up = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = tokio::spawn(flaky_receiver(port, up.clone(), stop.clone()));
    let sinks = format!(
        "[sinks.siem]\ntype = \"syslog\"\naddress = \"{port}\"\ntransport = \"tcp\"\nformat = \"cef\"\n"
    );
    let env = Env::start_with_sinks(sim, "", &sinks).await;
    let state_dir = env.dir.path().join("state");

    let t0 = Instant::now();
    let deadline = Duration::from_secs(secs);
    let mut rng = fastrand::Rng::with_seed(0x50a4);
    let mut rss: Vec<(f64, u64)> = Vec::new();
    let mut state: Vec<(f64, u64)> = Vec::new();
    let (mut kills, mut outages) = (0, 0);
    let mut next_flip = Duration::from_secs(rng.u64(4..9));
    let mut agent = env.spawn();
    while t0.elapsed() < deadline {
        let life = Duration::from_millis(rng.u64(2500..7000));
        let born = Instant::now();
        while born.elapsed() < life && t0.elapsed() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let t = t0.elapsed().as_secs_f64();
            // The first second of a process is start-up, not steady state.
            if born.elapsed() > Duration::from_secs(1)
                && let Some(kb) = rss_kb(agent.child.id())
            {
                rss.push((t, kb));
            }
            state.push((t, dir_size(&state_dir)));
            if t0.elapsed() >= next_flip {
                let was_up = up.fetch_xor(true, Ordering::Relaxed);
                outages += usize::from(was_up);
                next_flip = t0.elapsed() + Duration::from_secs(rng.u64(2..6));
            }
        }
        if t0.elapsed() < deadline {
            agent.sigkill();
            kills += 1;
            agent = env.spawn();
        }
    }

    // Calm: sink up, no more kills; everything listed by now must arrive exactly once.
    up.store(true, Ordering::Relaxed);
    let cutoff = env.sim.now() - chrono::Duration::seconds(10);
    let mut want = BTreeSet::new();
    for t in &env.sim.config().tenants {
        for ct in &env.sim.config().content_types {
            want.extend(env.sim.expected_ids_between(
                &t.tenant_id,
                *ct,
                env.sim.now() - chrono::Duration::days(7),
                cutoff,
            ));
        }
    }
    assert!(want.len() > 100, "enough data: {}", want.len());
    let arrived = env.wait_for(&want, Duration::from_secs(180)).await;
    agent.stop();
    stop.store(true, Ordering::Relaxed);
    let _ = receiver.await;
    assert!(
        arrived,
        "lost records after {kills} kills and {outages} sink outages; log:\n{}",
        tail(&env.log(), 40)
    );
    let got = env.delivered();
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "duplicates in the file sink: {dups:?}");
    let all = env.expected();
    let unknown: Vec<_> = got.keys().filter(|id| !all.contains(*id)).take(5).collect();
    assert!(
        unknown.is_empty(),
        "records the simulator never served: {unknown:?}"
    );
    assert!(
        kills >= 3 && outages >= 2,
        "{kills} kills, {outages} outages"
    );

    // RSS flat: the last third's peak stays within 1.5x (+4 MB of allocator noise) of the
    // first third's, after the first 10 % as warm-up.
    // The sampled span, not the test's: on a loaded machine the delivery waited for after
    // the soak can take longer than the soak, leaving the last third without samples.
    let end = rss.last().map_or(0.0, |(t, _)| *t);
    let early = max_of(&rss, end * 0.1, end / 3.0);
    let late = max_of(&rss, end * 2.0 / 3.0, end);
    assert!(early > 0 && late > 0, "RSS sampled: {rss:?}");
    assert!(
        late as f64 <= early as f64 * 1.5 + 4096.0,
        "RSS grew: early peak {early} kB, late peak {late} kB"
    );
    // State bounded: well under what unpruned growth would reach, and not climbing.
    let st_early = max_of(&state, end * 0.1, end / 3.0);
    let st_late = max_of(&state, end * 2.0 / 3.0, end);
    assert!(st_late < 256 << 20, "state size {st_late} bytes");
    assert!(
        st_late as f64 <= st_early as f64 * 2.0 + (8 << 20) as f64,
        "state grew: {st_early} -> {st_late} bytes"
    );
    eprintln!(
        "soak: {secs}s, {kills} kills, {outages} sink outages, {} records exactly once, RSS peak {early} -> {late} kB, state {st_early} -> {st_late} bytes",
        got.len()
    );
}
