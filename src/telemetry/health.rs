//! What `/health` and the per-feed gauges of `/metrics` read: when each feed last committed,
//! and whether each sink is delivering.
//!
//! A sink is unhealthy when its receiver stopped it (a configuration error), or when it has
//! been failing (retries, connection errors) without a single acknowledgement for longer than
//! a grace period. Any acknowledgement makes it healthy again.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

static LAST_COMMIT_BY_FEED: Mutex<BTreeMap<String, DateTime<Utc>>> = Mutex::new(BTreeMap::new());
static SINKS: Mutex<BTreeMap<String, SinkState>> = Mutex::new(BTreeMap::new());

#[derive(Debug, Clone, Default)]
struct SinkState {
    stopped: Option<String>,
    failing_since: Option<Instant>,
    last_failure: Option<String>,
}

/// A sink as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkHealth {
    Healthy,
    /// The reason, for the operator.
    Unhealthy(String),
}

/// A feed's batch was committed.
pub fn feed_committed(feed: &str, at: DateTime<Utc>) {
    LAST_COMMIT_BY_FEED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(feed.to_string(), at);
}

/// When each feed (state key) last had a batch committed.
pub fn last_commits() -> BTreeMap<String, DateTime<Utc>> {
    LAST_COMMIT_BY_FEED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

fn sinks() -> std::sync::MutexGuard<'static, BTreeMap<String, SinkState>> {
    SINKS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A sink acknowledged a batch.
pub fn sink_acked(sink: &str) {
    let mut s = sinks();
    let e = s.entry(sink.to_string()).or_default();
    e.failing_since = None;
    e.last_failure = None;
}

/// A sink request failed and is retried.
pub fn sink_failing(sink: &str, what: &str) {
    let mut s = sinks();
    let e = s.entry(sink.to_string()).or_default();
    e.failing_since.get_or_insert_with(Instant::now);
    e.last_failure = Some(what.to_string());
}

/// A sink's receiver refused its configuration; it acknowledges nothing more.
pub fn sink_down(sink: &str, reason: &str) {
    sinks().entry(sink.to_string()).or_default().stopped = Some(reason.to_string());
}

/// Forgets every sink's state (after a reload restarts the sinks).
pub fn reset_sink_health() {
    sinks().clear();
}

/// The health of `sink`, failing for longer than `grace` counting as unhealthy.
pub fn sink_health(sink: &str, grace: Duration) -> SinkHealth {
    let s = sinks();
    let Some(e) = s.get(sink) else {
        return SinkHealth::Healthy;
    };
    if let Some(r) = &e.stopped {
        return SinkHealth::Unhealthy(format!("stopped: {r}"));
    }
    match e.failing_since {
        Some(t) if t.elapsed() > grace => SinkHealth::Unhealthy(format!(
            "no acknowledgement for {}s; retrying ({})",
            t.elapsed().as_secs(),
            e.last_failure.as_deref().unwrap_or("failure")
        )),
        _ => SinkHealth::Healthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_beyond_grace_is_unhealthy_until_an_ack() {
        let s = "t_health_sink";
        assert_eq!(sink_health(s, Duration::ZERO), SinkHealth::Healthy);
        sink_failing(s, "transport");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(sink_health(s, Duration::from_secs(60)), SinkHealth::Healthy);
        let SinkHealth::Unhealthy(r) = sink_health(s, Duration::ZERO) else {
            panic!("a failing sink past its grace is unhealthy");
        };
        assert!(r.contains("transport"), "{r}");
        sink_acked(s);
        assert_eq!(sink_health(s, Duration::ZERO), SinkHealth::Healthy);
        sink_down(s, "401 bad token");
        sink_acked(s);
        assert_eq!(
            sink_health(s, Duration::from_secs(60)),
            SinkHealth::Unhealthy("stopped: 401 bad token".into())
        );
    }
}
