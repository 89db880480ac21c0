//! systemd's notification protocol from the real binary: a datagram socket bound by the
//! test stands in for systemd's `NOTIFY_SOCKET`.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;

use crate::harness::{Agent, BIN, Env, sim_config, tail};

/// Every message received until `until` holds for the collected list or the time is up.
fn collect(
    sock: &UnixDatagram,
    within: Duration,
    until: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let mut got = Vec::new();
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < within && !until(&got) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_watchdog_and_stopping_reach_notify_socket() {
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;
    let path = env.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let log = std::fs::File::create(env.log_path()).unwrap();
    let child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&env.config)
        .env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let agent = Agent { child };

    let got = collect(&sock, Duration::from_secs(20), |g| {
        g.iter().any(|m| m.lines().any(|l| l == "READY=1"))
            && g.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3
    });
    let ready = got
        .iter()
        .position(|m| m.lines().any(|l| l == "READY=1"))
        .unwrap_or_else(|| panic!("no READY=1 in {got:?}; log:\n{}", tail(&env.log(), 20)));
    let pings: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, m)| *m == "WATCHDOG=1")
        .map(|(i, _)| i)
        .collect();
    assert!(
        pings.len() >= 3,
        "watchdog pings at half of 200 ms: {got:?}"
    );
    assert!(pings[0] > ready, "the watchdog starts after READY: {got:?}");

    // A reload says RELOADING=1 (with the monotonic time systemd asks for), then READY=1
    // once the new configuration runs; the watchdog goes on being fed across it.
    unsafe {
        libc::kill(agent.child.id() as i32, libc::SIGHUP);
    }
    let got = collect(&sock, Duration::from_secs(20), |g| {
        g.iter()
            .position(|m| m.lines().any(|l| l == "RELOADING=1"))
            .is_some_and(|r| g[r..].iter().any(|m| m.lines().any(|l| l == "READY=1")))
    });
    let reloading = got
        .iter()
        .position(|m| m.lines().any(|l| l == "RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1 after SIGHUP: {got:?}"));
    assert!(
        got[reloading].contains("MONOTONIC_USEC="),
        "RELOADING=1 carries MONOTONIC_USEC: {got:?}"
    );
    assert!(
        got[reloading..]
            .iter()
            .any(|m| m.lines().any(|l| l == "READY=1")),
        "READY=1 after the reload: {got:?}"
    );
    let got = collect(&sock, Duration::from_secs(5), |g| {
        g.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2
    });
    assert!(
        got.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2,
        "the watchdog is fed after a reload: {got:?}"
    );

    agent.sigterm();
    let got = collect(&sock, Duration::from_secs(10), |g| {
        g.iter().any(|m| m.lines().any(|l| l == "STOPPING=1"))
    });
    assert!(
        got.iter().any(|m| m.lines().any(|l| l == "STOPPING=1")),
        "no STOPPING=1 after SIGTERM: {got:?}"
    );
    let mut agent = agent;
    assert_eq!(agent.wait(Duration::from_secs(20)), Some(0));
}
