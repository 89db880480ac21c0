//! One sink's counters and health, resolved once when the sink starts.
//!
//! A sink is unhealthy when its receiver stopped it (a configuration error), or when it has
//! been failing (retries, connection errors) without a single acknowledgement for longer than
//! a grace period. Any acknowledgement makes it healthy again. Each is an explicit call:
//! [`SinkMetrics::error`], [`SinkMetrics::retry`], [`SinkMetrics::stopped`],
//! [`SinkMetrics::acked`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use super::counter::Counter;
use super::metric as m;

/// A sink's metrics; clones share them, as does every handle made for the same name.
#[derive(Clone, Debug)]
pub struct SinkMetrics(Arc<SinkCounters>);

#[derive(Debug)]
pub struct SinkCounters {
    name: String,
    health: Health,
    errors: Counter,
    stopped: Counter,
    syslog_truncated: Counter,
    syslog_resent: Counter,
    /// Records a receiver already had (Elasticsearch 409), counted as delivered.
    pub duplicates: Counter,
    pub hec_ack_timeouts: Counter,
    pub kafka_acked: Counter,
    pub kafka_resent: Counter,
    pub kafka_possible_duplicates: Counter,
    pub kafka_producer_rebuilds: Counter,
    pub split_merged: Counter,
    pub split_partial: Counter,
    pub split_rejected: Counter,
}

impl std::ops::Deref for SinkMetrics {
    type Target = SinkCounters;
    fn deref(&self) -> &SinkCounters {
        &self.0
    }
}

#[derive(Debug, Default)]
struct Health {
    stopped: Mutex<Option<String>>,
    /// Milliseconds since [`EPOCH`] plus one when the failures began; 0 while delivering.
    failing_since: AtomicU64,
    last_failure: Mutex<Option<String>>,
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
static SINKS: Mutex<BTreeMap<String, SinkMetrics>> = Mutex::new(BTreeMap::new());

fn sinks() -> std::sync::MutexGuard<'static, BTreeMap<String, SinkMetrics>> {
    SINKS.lock().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A sink as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkHealth {
    Healthy,
    /// The reason, for the operator.
    Unhealthy(String),
}

impl SinkMetrics {
    /// The metrics of the sink called `name` (made at its first use; later calls share them).
    pub fn new(name: &str) -> SinkMetrics {
        let mut all = sinks();
        if let Some(s) = all.get(name) {
            return s.clone();
        }
        let c = |f: &'static m::CounterFamily<1>| f.with([name]);
        let s = SinkMetrics(Arc::new(SinkCounters {
            name: name.to_string(),
            health: Health::default(),
            errors: c(&m::SINK_ERRORS),
            stopped: c(&m::SINK_STOPPED),
            syslog_truncated: c(&m::SYSLOG_TRUNCATED),
            syslog_resent: c(&m::SYSLOG_RESENT_RECORDS),
            duplicates: c(&m::SINK_DUPLICATES),
            hec_ack_timeouts: c(&m::HEC_ACK_TIMEOUTS),
            kafka_acked: c(&m::KAFKA_ACKED),
            kafka_resent: c(&m::KAFKA_RESENT),
            kafka_possible_duplicates: c(&m::KAFKA_POSSIBLE_DUPLICATES),
            kafka_producer_rebuilds: c(&m::KAFKA_PRODUCER_REBUILDS),
            split_merged: c(&m::SPLIT_MERGED),
            split_partial: c(&m::SPLIT_PARTIAL),
            split_rejected: c(&m::SPLIT_REJECTED),
        }));
        all.insert(name.to_string(), s.clone());
        s
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// A connection or write error; the sink retries.
    pub fn error(&self) {
        self.errors.inc();
        self.failing("connection or write error");
    }

    /// A request failed in a way that is retried (receiver down, busy, throttling);
    /// `kind` says which (a few fixed words).
    pub fn retry(&self, kind: &str) {
        m::SINK_RETRIES.with([&self.name, kind]).inc();
        self.failing(kind);
    }

    /// The receiver reported a configuration error (bad token, missing index, refused
    /// request): the sink stops acknowledging until it is reconfigured and restarted.
    pub fn stopped(&self, reason: &str) {
        tracing::error!(
            sink = self.name.as_str(),
            reason,
            "SINK STOPPED: its receiver refuses our configuration. Nothing more is acknowledged to it, so polling stalls and nothing is committed past this point; the data stays in the API for 7 days. Fix the configuration and restart."
        );
        self.stopped.inc();
        *lock(&self.health.stopped) = Some(reason.to_string());
    }

    /// The sink's records were acknowledged and committed: it is delivering.
    #[inline]
    pub fn acked(&self) {
        let f = &self.health.failing_since;
        if f.load(Ordering::Relaxed) != 0 {
            f.store(0, Ordering::Relaxed);
        }
    }

    /// A syslog message was longer than the sink's limit; its payload was cut, with a marker.
    pub fn syslog_truncated(&self, record_id: &str, original: usize, max: usize) {
        tracing::warn!(
            sink = self.name.as_str(),
            record_id,
            payload_bytes = original,
            max_message_size = max,
            "A record did not fit in one syslog message; it was sent truncated, with a marker."
        );
        self.syslog_truncated.inc();
    }

    /// Records sent again on a new syslog connection; the receiver may get them twice.
    pub fn syslog_resent(&self, records: usize) {
        tracing::warn!(
            sink = self.name.as_str(),
            records,
            "Re-sent records written before the syslog connection broke (at-least-once: the receiver may see them twice)."
        );
        self.syslog_resent.add(records as u64);
    }

    /// A change to a file sink's output file that the sink did not make (also logged).
    pub fn file_changed(&self, change: &str) {
        m::FILE_SINK_CHANGES.with([&self.name, change]).inc();
    }

    fn failing(&self, what: &str) {
        let since = EPOCH.elapsed().as_millis().min(u64::MAX as u128 - 1) as u64 + 1;
        let _ = self.health.failing_since.compare_exchange(
            0,
            since,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        *lock(&self.health.last_failure) = Some(what.to_string());
    }

    fn health(&self, grace: Duration) -> SinkHealth {
        if let Some(r) = lock(&self.health.stopped).as_ref() {
            return SinkHealth::Unhealthy(format!("stopped: {r}"));
        }
        let since = self.health.failing_since.load(Ordering::Relaxed);
        if since == 0 {
            return SinkHealth::Healthy;
        }
        let failing = EPOCH
            .elapsed()
            .saturating_sub(Duration::from_millis(since - 1));
        if failing <= grace {
            return SinkHealth::Healthy;
        }
        SinkHealth::Unhealthy(format!(
            "no acknowledgement for {}s; retrying ({})",
            failing.as_secs(),
            lock(&self.health.last_failure)
                .as_deref()
                .unwrap_or("failure")
        ))
    }

    fn reset(&self) {
        *lock(&self.health.stopped) = None;
        self.health.failing_since.store(0, Ordering::Relaxed);
        *lock(&self.health.last_failure) = None;
    }
}

/// The health of `sink`, failing for longer than `grace` counting as unhealthy.
pub fn sink_health(sink: &str, grace: Duration) -> SinkHealth {
    let s = sinks().get(sink).cloned();
    s.map_or(SinkHealth::Healthy, |s| s.health(grace))
}

/// Forgets every sink's health (after a reload restarts the sinks).
pub fn reset_sink_health() {
    let all: Vec<SinkMetrics> = sinks().values().cloned().collect();
    for s in all {
        s.reset();
    }
}

#[cfg(test)]
mod tests;
