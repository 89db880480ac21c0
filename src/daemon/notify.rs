//! systemd's notification protocol (`sd_notify`) and the watchdog, without libsystemd.
//!
//! READY=1 is sent once state is open, sinks are started and feeds are spawned, so
//! `systemctl start` returns only for an agent that can work. The watchdog is fed only while
//! every feed task shows life: each feed runs inside [`with_heartbeat`], which beats from the
//! feed's own task. A feed waiting on a full pipeline (a stalled sink) still beats; a task
//! stuck on a blocked thread or a deadlocked runtime does not, and systemd restarts it.

use std::future::Future;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// tokio's clock (std's own outside a paused test runtime): the heartbeat test runs on
// virtual time, so a loaded machine cannot make a beat look late.
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

/// Sends one notification to `$NOTIFY_SOCKET`; does nothing when it is not set (not under
/// systemd, or not `Type=notify`). Errors are logged, never fatal: a missed notification
/// must not stop the agent from forwarding.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    match send(&path, state) {
        Ok(()) => {}
        // The receiver's queue is full: this one is dropped (the next comes soon).
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            tracing::debug!(error = %e, "The systemd notification socket is full.");
        }
        Err(e) => tracing::warn!(error = %e, "Cannot notify systemd."),
    }
}

fn send(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let sock = UnixDatagram::unbound()?;
    // Never block a runtime thread on a receiver that does not read: a full queue blocked
    // the watchdog's worker, and with it the runtime's I/O (`/health` stopped answering).
    sock.set_nonblocking(true)?;
    let bytes = path.as_bytes();
    // A leading '@' names a socket in Linux's abstract namespace.
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// The service is up.
pub fn ready() {
    notify("READY=1\nSTATUS=forwarding");
}

/// A configuration reload starts; call [`ready`] when it is done.
pub fn reloading() {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let usec = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000;
    notify(&format!(
        "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=reloading"
    ));
}

/// The service is shutting down (draining).
pub fn stopping() {
    notify("STOPPING=1\nSTATUS=draining");
}

/// The watchdog period systemd asks for (`WATCHDOG_USEC`, for this process).
pub fn watchdog_period() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Liveness of the feed tasks, read by the watchdog.
#[derive(Clone)]
pub struct Heartbeats {
    inner: Arc<Mutex<Vec<Arc<Beat>>>>,
    epoch: Instant,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats {
            inner: Arc::default(),
            epoch: Instant::now(),
        }
    }
}

/// One task's last beat (milliseconds since the epoch); `u64::MAX` once it has finished.
pub struct Beat {
    last: AtomicU64,
    epoch: Instant,
}

fn millis(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

impl Beat {
    fn beat(&self) {
        self.last.store(millis(self.epoch), Ordering::Relaxed);
    }

    /// The task is not running (its supervisor waits to restart it): nothing to beat. The
    /// watchdog then judges the feed by its progress (see `telemetry::progress`).
    pub fn rest(&self) {
        self.last.store(u64::MAX, Ordering::Relaxed);
    }
}

impl Heartbeats {
    /// Registers a task; it counts as alive now.
    pub fn register(&self) -> Arc<Beat> {
        let b = Arc::new(Beat {
            last: AtomicU64::new(millis(self.epoch)),
            epoch: self.epoch,
        });
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(b.clone());
        b
    }

    /// True when every running task beat within `within`.
    pub fn all_alive(&self, within: Duration) -> bool {
        let now = millis(self.epoch);
        let limit = within.as_millis() as u64;
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|b| b.last.load(Ordering::Relaxed))
            .all(|t| t == u64::MAX || now.saturating_sub(t) <= limit)
    }
}

/// Runs `fut`, beating every `every` from the same task, so the beat stops exactly when the
/// task cannot be polled any more.
pub async fn with_heartbeat<F: Future>(beat: Arc<Beat>, every: Duration, fut: F) -> F::Output {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fut = std::pin::pin!(fut);
    let out = loop {
        tokio::select! {
            out = &mut fut => break out,
            _ = tick.tick() => beat.beat(),
        }
    };
    beat.last.store(u64::MAX, Ordering::Relaxed);
    out
}

/// How often feed tasks beat: well inside the watchdog period, or every few seconds.
pub fn beat_interval(watchdog: Option<Duration>) -> Duration {
    match watchdog {
        Some(p) => (p / 4).clamp(Duration::from_millis(20), Duration::from_secs(5)),
        None => Duration::from_secs(5),
    }
}

/// Sends WATCHDOG=1 at half the period while every feed task is alive and no feed is stuck
/// (no progress for `stall_timeout`, whether it runs or keeps failing and being restarted);
/// otherwise stays silent (and says why once) so systemd restarts the agent.
pub fn spawn_watchdog(
    period: Duration,
    beats: Heartbeats,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period / 2);
        let mut silent = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => return,
            }
            let troubles = crate::telemetry::progress::stuck();
            if beats.all_alive(period) && troubles.is_empty() {
                notify("WATCHDOG=1");
                silent = false;
            } else if !silent {
                silent = true;
                if troubles.is_empty() {
                    tracing::error!(
                        watchdog_secs = period.as_secs_f64(),
                        "A feed task has shown no life for a whole watchdog period; not feeding the watchdog, so systemd restarts the agent."
                    );
                }
                for (feed, t) in &troubles {
                    tracing::error!(feed = %feed, trouble = %t,
                        "A feed is not making progress; not feeding the watchdog, so systemd restarts the agent.");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests;
