//! No task dies quietly. A feed task that panics or ends on its own is restarted with
//! backoff, logged with the panic message and counted (`o365fwd_feed_restarts_total`);
//! `/health` reports it meanwhile. A sink or the committer that does is fatal: without it
//! nothing can be acknowledged or committed, so the agent stops with an error and the
//! service manager starts it again from what state committed.
//!
//! A feed is restarted only once nothing it submitted is still in flight: then its blob
//! claims can only be stale, and the record ids it had claimed but not yet submitted are
//! forgotten by reloading the seen ids from state (`Feed::run` does), so the new task
//! neither skips nor repeats anything.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use super::notify::{self, Beat};
use crate::feed::Feed;
use crate::pipeline::FeedShared;
use crate::telemetry;
use crate::telemetry::progress::Progress;

/// The panic message of a task that died (or what else ended it).
pub fn panic_message(e: JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let p = e.into_panic();
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    format!("panicked: {msg}")
}

/// Delay before the `n`th restart in a row: 1 s doubling to 5 minutes.
fn restart_delay(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(9)).min(Duration::from_secs(300))
}

/// A feed runs this long without failing and its next failure counts as the first again.
const STEADY: Duration = Duration::from_secs(300);

/// What the supervisor needs to run (and run again) one feed.
pub(super) struct FeedTask {
    pub make: Box<dyn Fn() -> Feed + Send + Sync>,
    pub shared: Arc<FeedShared>,
    pub progress: Arc<Progress>,
    pub beat: Arc<Beat>,
    pub every: Duration,
    pub first_delay: Duration,
    pub stop: CancellationToken,
}

/// Runs a feed until `stop`, restarting it whenever its task dies.
pub(super) async fn feed(t: FeedTask) {
    let mut failures = 0u32;
    let mut delay = t.first_delay;
    loop {
        let feed = (t.make)()
            .with_progress(t.progress.clone())
            .with_start_delay(delay);
        delay = Duration::ZERO;
        let started = Instant::now();
        let ran = tokio::spawn(notify::with_heartbeat(t.beat.clone(), t.every, feed.run())).await;
        let why = match ran {
            Ok(()) if t.stop.is_cancelled() => return,
            Ok(()) => "the feed task ended on its own".to_string(),
            Err(e) => panic_message(e),
        };
        t.beat.rest();
        if started.elapsed() > STEADY {
            failures = 0;
        }
        failures += 1;
        let wait = restart_delay(failures);
        t.shared.metrics.restarting(&why, wait);
        t.progress.set_down(Some(why));
        if !settle(&t, wait).await {
            return;
        }
        t.shared.forget_claims();
        t.progress.set_down(None);
    }
}

/// Waits out the restart delay and until nothing the dead task submitted is in flight.
/// False when stopping meanwhile.
async fn settle(t: &FeedTask, wait: Duration) -> bool {
    let drained = async {
        tokio::time::sleep(wait).await;
        while t.shared.in_flight() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        _ = drained => true,
        _ = t.stop.cancelled() => false,
    }
}

/// Set when a task the generation cannot do without (a sink, the committer) died.
#[derive(Clone, Default)]
pub(super) struct Fatal {
    raised: CancellationToken,
    /// The reason to report, and whether it is a panic: a sink's panic also ends the
    /// committer (its acknowledgement is gone), and the panic is the cause to name.
    reason: Arc<Mutex<Option<(bool, String)>>>,
}

impl Fatal {
    fn raise(&self, task: &str, why: &str, panicked: bool) {
        telemetry::task_failed(task, why);
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if r.as_ref().is_none_or(|(p, _)| panicked && !p) {
            *r = Some((panicked, format!("{task}: {why}")));
        }
        self.raised.cancel();
    }

    /// Resolves once a task died.
    pub(super) async fn wait(&self) {
        self.raised.cancelled().await;
    }

    /// Why: the first panic, else the first task that ended.
    pub(super) fn reason(&self) -> String {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }
}

/// Awaits a task that must live as long as the generation: its end before `stop` (a panic,
/// or returning) raises `fatal`. Returns the task's output, if it had one.
pub(super) fn watch<T: Send + 'static>(
    task: String,
    h: JoinHandle<T>,
    stop: CancellationToken,
    fatal: Fatal,
) -> JoinHandle<Option<T>> {
    tokio::spawn(async move {
        match h.await {
            Ok(v) => {
                if !stop.is_cancelled() {
                    fatal.raise(&task, "ended while the agent was running", false);
                }
                Some(v)
            }
            // A panic is a failure even while stopping (when it is often what stopped us).
            Err(e) => {
                fatal.raise(&task, &panic_message(e), true);
                None
            }
        }
    })
}

#[cfg(test)]
mod tests;
