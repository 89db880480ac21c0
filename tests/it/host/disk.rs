//! The state's disk fills up: commits fail, `/health` says so, the error names the state
//! directory and the OS error, delivery stalls; once space returns, commits resume in the
//! same process, and the file sink holds every record exactly once. A stop during the
//! failure does not wait out the drain timeout.
//!
//! The state lives on a small tmpfs mounted for the test: that needs root (CI runs as
//! root). Without the privilege the test fails under CI and unless
//! `O365FWD_SKIP_EXTERNAL=1` elsewhere, like any missing component.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;

use crate::harness::{Env, external_ready, sim_config, tail};

/// A tmpfs mounted at a path, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Keeps the filesystem of a directory full (whatever else frees space there) until
/// dropped, then removes its file.
struct Filler {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Filler {
    fn start(dir: &Path) -> Filler {
        let path = dir.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let full = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, full) = (stop.clone(), full.clone());
            std::thread::spawn(move || {
                let chunk = vec![0x55u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    match f.write(&chunk) {
                        Ok(_) => continue,
                        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                            while f.write(&[0x55]).is_ok_and(|n| n > 0) {}
                            full.store(true, Ordering::Relaxed);
                        }
                        Err(e) => panic!("filling: {e}"),
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        while !full.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Filler {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Live content keeps arriving: every id of `want` delivered once, nothing delivered
/// twice, nothing the simulator never served.
fn assert_once(env: &Env, want: &std::collections::BTreeSet<String>) {
    let got = env.delivered();
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    let missing = want.iter().filter(|id| !got.contains_key(*id)).count();
    assert_eq!(missing, 0, "missing; log:\n{}", tail(&env.log(), 30));
    let served = env.expected();
    assert!(got.keys().all(|id| served.contains(id)), "only served ids");
}

async fn health(port: u16) -> (u16, serde_json::Value) {
    match reqwest::get(format!("http://127.0.0.1:{port}/health")).await {
        Ok(r) => {
            let code = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (code, serde_json::from_str(&text).unwrap_or_default())
        }
        Err(_) => (0, serde_json::Value::Null),
    }
}

/// An agent whose state is on a fresh 4 MiB tmpfs, with live content arriving every
/// second (so commits keep needing new space once the disk is full: sled first uses the
/// room left in its own file), `/health` on `port`; `None` when the mount is not possible
/// and the rule for missing components lets the test go.
async fn start(test: &str) -> Option<(Env, Tmpfs, u16)> {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.live = true;
    sim.backlog = Duration::from_secs(60);
    sim.blob_interval = Duration::from_secs(1);
    let port = crate::service::support::free_port();
    let env = Env::start(sim, &format!("listen = \"127.0.0.1:{port}\"")).await;
    match Tmpfs::mount(&env.dir.path().join("state"), "4m") {
        Ok(m) => Some((env, m, port)),
        Err(e) => {
            let missing = [format!("mounting a tmpfs (root): {e}")];
            assert!(!external_ready(test, &missing, "running the tests as root"));
            None
        }
    }
}

/// Fills the state's disk and waits until commits fail for good: `/health` is 503 naming
/// the state, and delivery has stalled (the file sink runs ahead of commits by at most the
/// in-flight bound, then waits). Returns the filler and `/health`'s answer.
async fn fill_until_stalled(env: &Env, port: u16) -> (Filler, serde_json::Value) {
    let filler = Filler::start(&env.dir.path().join("state"));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        let (code, h) = health(port).await;
        if code == 503 && h["state"]["healthy"] == false {
            let before = std::fs::metadata(&env.out).unwrap().len();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (code, _) = health(port).await;
            if code == 503 && std::fs::metadata(&env.out).unwrap().len() == before {
                return (filler, h);
            }
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("no stall reported; log:\n{}", tail(&env.log(), 30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stalls_delivery_reports_it_and_heals_without_a_restart() {
    let test = "a_full_disk_stalls_delivery_reports_it_and_heals_without_a_restart";
    let Some((env, _mount, port)) = start(test).await else {
        return;
    };
    let state = env.dir.path().join("state");
    let agent = env.spawn();
    let pid = agent.child.id();
    let want = env.expected();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "{}",
        tail(&env.log(), 20)
    );
    assert_eq!(health(port).await.0, 200);

    let (filler, h) = fill_until_stalled(&env, port).await;
    let reason = h["state"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("commits failing"), "{h}");
    let log = env.log();
    let line = log
        .lines()
        .find(|l| l.contains("Cannot commit progress to state"))
        .unwrap_or_else(|| panic!("{}", tail(&log, 30)));
    assert!(line.contains(&state.display().to_string()), "{line}");
    assert!(line.contains("No space left on device"), "{line}");
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("o365fwd_state_commits_failing 1"),
        "{metrics}"
    );

    // Space returns: the same process commits again and delivers the rest, once.
    drop(filler);
    let want = env.expected();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "{}",
        tail(&env.log(), 30)
    );
    assert!(
        env.log().contains("Commits to state work again"),
        "{}",
        tail(&env.log(), 30)
    );
    let mut ok = false;
    for _ in 0..100 {
        if health(port).await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "/health is ok again: {}", health(port).await.1);
    assert_eq!(env.log().matches("o365fwd started").count(), 1);
    assert_eq!(agent.child.id(), pid);
    agent.stop();
    assert_once(&env, &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_the_disk_is_full_does_not_wait_out_the_drain_timeout() {
    let test = "a_stop_while_the_disk_is_full_does_not_wait_out_the_drain_timeout";
    let Some((env, _mount, port)) = start(test).await else {
        return;
    };
    let mut agent = env.spawn();
    let want = env.expected();
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    let (filler, _) = fill_until_stalled(&env, port).await;
    // The drain timeout is 10 s (the harness's shutdown_timeout).
    let t0 = Instant::now();
    agent.sigterm();
    assert_eq!(agent.wait(Duration::from_secs(30)), Some(0));
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "stopped in {:?}; log:\n{}",
        t0.elapsed(),
        tail(&env.log(), 20)
    );
    assert!(env.log().contains("Commits to state are failing"));
    // What was not committed is delivered again at the next start, once.
    drop(filler);
    let agent = env.spawn();
    let want = env.expected();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    assert_once(&env, &want);
}
