//! Whether each feed is making progress, for `/health` and the watchdog.
//!
//! A feed shows progress whenever something comes back to it: an API answer or failure, a
//! page read, a blob fetched, a batch accepted by the pipeline, a poll finished. Time spent
//! waiting for others is not held against it: behind a full pipeline (a slow sink, which
//! `/health` reports as the sink's fault), in a throttling pause (at most 15 minutes each,
//! see `bounds`), or asleep between polls. A feed that shows nothing for `stall_timeout`
//! otherwise is stuck (a hung request, a wait that never ends, a bug) and a restart is the
//! cure: `/health` says so and the watchdog is no longer fed.
//!
//! Feeds that panic are restarted by the supervisor; while one waits to restart, `/health`
//! reports it with the panic message.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One feed's progress. Cheap to update from the feed's hot paths.
#[derive(Debug)]
pub struct Progress {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last sign of progress.
    last: AtomicU64,
    /// Waits for others in progress (nested).
    waiting: AtomicU32,
    /// Why the feed is down, while the supervisor waits to restart it.
    down: Mutex<Option<String>>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            waiting: AtomicU32::new(0),
            down: Mutex::new(None),
        }
    }
}

impl Progress {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis().min(u64::MAX as u128) as u64
    }

    /// Something came back: the feed is not stuck.
    pub fn tick(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// Runs `fut`, a wait for someone else (pipeline, throttle, poll timer), without it
    /// counting as a stall.
    pub async fn waiting<F: std::future::Future>(&self, fut: F) -> F::Output {
        struct Guard<'a>(&'a Progress);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                self.0.waiting.fetch_sub(1, Ordering::Relaxed);
                self.0.tick();
            }
        }
        self.tick();
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _g = Guard(self);
        fut.await
    }

    /// How long the feed has shown no progress and waited for no one (zero while waiting).
    pub fn stalled_for(&self) -> Duration {
        if self.waiting.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let last = self.last.load(Ordering::Relaxed);
        Duration::from_millis(self.now().saturating_sub(last))
    }

    /// The feed's task died; `reason` holds the panic message until it runs again.
    pub fn set_down(&self, reason: Option<String>) {
        *self.down.lock().unwrap_or_else(|p| p.into_inner()) = reason;
        self.tick();
    }

    pub fn down(&self) -> Option<String> {
        self.down.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Registry {
    feeds: BTreeMap<String, Arc<Progress>>,
    limit: Duration,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    feeds: BTreeMap::new(),
    limit: Duration::from_secs(3600),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts watching the feeds of a new generation (the previous one's are forgotten).
pub fn watch(
    keys: impl IntoIterator<Item = String>,
    limit: Duration,
) -> BTreeMap<String, Arc<Progress>> {
    let feeds: BTreeMap<String, Arc<Progress>> = keys
        .into_iter()
        .map(|k| {
            let p = Arc::new(Progress::default());
            p.tick();
            (k, p)
        })
        .collect();
    let mut r = registry();
    r.feeds = feeds.clone();
    r.limit = limit;
    feeds
}

/// The default `stall_timeout`: a request and a token request may each take a whole
/// `request_timeout`, and a retry waits at most a minute in between.
pub fn default_stall_timeout(request_timeout: Duration) -> Duration {
    request_timeout
        .saturating_mul(2)
        .saturating_add(Duration::from_secs(120))
}

/// A feed as `/health` and the watchdog see it, if it is not well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// Its task died and waits to be restarted (the panic message).
    Down(String),
    /// No progress for this long (`.0`), beyond the limit (`.1`).
    Stalled(Duration, Duration),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Down(r) => write!(f, "its task failed and is being restarted ({r})"),
            Trouble::Stalled(d, limit) => write!(
                f,
                "no progress for {}s (stall_timeout {}s): stuck",
                d.as_secs(),
                limit.as_secs()
            ),
        }
    }
}

/// Every feed in trouble, by state key (what `/health` reports).
pub fn troubles() -> BTreeMap<String, Trouble> {
    let (feeds, limit) = {
        let r = registry();
        (r.feeds.clone(), r.limit)
    };
    let mut out = BTreeMap::new();
    for (k, p) in feeds {
        let stalled = p.stalled_for();
        if let Some(r) = p.down() {
            out.insert(k, Trouble::Down(r));
        } else if stalled > limit {
            out.insert(k, Trouble::Stalled(stalled, limit));
        }
    }
    out
}

/// The feeds without progress for longer than `stall_timeout`, down or not: what stops the
/// watchdog. (A feed restarted after one panic is not stuck; one that keeps failing is.)
pub fn stuck() -> BTreeMap<String, Trouble> {
    let (feeds, limit) = {
        let r = registry();
        (r.feeds.clone(), r.limit)
    };
    feeds
        .into_iter()
        .filter_map(|(k, p)| {
            let stalled = p.stalled_for();
            (stalled > limit).then_some((k, Trouble::Stalled(stalled, limit)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
