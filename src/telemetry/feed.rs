//! One feed's counters, and its records' counters at each sink, resolved once; the events of
//! a feed that are both logged and counted; when each feed last polled and committed (what
//! `/health` and the per-feed gauges read).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::counter::Counter;
use super::metric as m;
use super::sink::SinkMetrics;
use crate::feed_id::FeedId;

/// A feed's counters and clocks.
#[derive(Debug)]
pub struct FeedMetrics {
    id: Arc<FeedId>,
    polls: Counter,
    poll_errors: Counter,
    repeated: Counter,
    disk_lookups: Counter,
    blobs_failed: Counter,
    blobs_too_large: Counter,
    listing_entries_skipped: Counter,
    restarts: Counter,
    gaps: Counter,
    clock: Arc<Clock>,
}

/// When a feed last polled and committed: nanoseconds since the Unix epoch, `NONE` before.
#[derive(Debug)]
struct Clock {
    polled: AtomicI64,
    committed: AtomicI64,
}

const NONE: i64 = i64::MIN;

/// By state key; kept across reloads, as the feeds' progress is.
static CLOCKS: Mutex<BTreeMap<String, Arc<Clock>>> = Mutex::new(BTreeMap::new());

fn clocks() -> std::sync::MutexGuard<'static, BTreeMap<String, Arc<Clock>>> {
    CLOCKS.lock().unwrap_or_else(|p| p.into_inner())
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(NONE)
}

fn read(
    all: &BTreeMap<String, Arc<Clock>>,
    f: fn(&Clock) -> &AtomicI64,
) -> BTreeMap<String, DateTime<Utc>> {
    all.iter()
        .filter_map(|(k, c)| match f(c).load(Ordering::Relaxed) {
            NONE => None,
            n => Some((k.clone(), DateTime::from_timestamp_nanos(n))),
        })
        .collect()
}

/// When each feed (state key) last finished a poll without error.
pub fn last_polls() -> BTreeMap<String, DateTime<Utc>> {
    read(&clocks(), |c| &c.polled)
}

/// When each feed (state key) last had a batch committed.
pub fn last_commits() -> BTreeMap<String, DateTime<Utc>> {
    read(&clocks(), |c| &c.committed)
}

impl FeedMetrics {
    pub fn new(id: Arc<FeedId>) -> FeedMetrics {
        let labels = [id.tenant.as_str(), id.content_type.as_str()];
        let clock = clocks()
            .entry(id.key.clone())
            .or_insert_with(|| {
                Arc::new(Clock {
                    polled: AtomicI64::new(NONE),
                    committed: AtomicI64::new(NONE),
                })
            })
            .clone();
        FeedMetrics {
            polls: m::POLLS.with(labels),
            poll_errors: m::POLL_ERRORS.with(labels),
            repeated: m::RECORDS_REPEATED.with(labels),
            disk_lookups: m::DEDUP_DISK_LOOKUPS.with(labels),
            blobs_failed: m::BLOBS_FAILED.with(labels),
            blobs_too_large: m::BLOBS_TOO_LARGE.with(labels),
            listing_entries_skipped: m::LISTING_ENTRIES_SKIPPED.with(labels),
            restarts: m::FEED_RESTARTS.with(labels),
            gaps: m::GAPS.with(labels),
            clock,
            id,
        }
    }

    pub fn id(&self) -> &FeedId {
        &self.id
    }

    /// A poll finished without error.
    pub fn polled(&self, at: DateTime<Utc>) {
        self.clock.polled.store(nanos(at), Ordering::Relaxed);
        self.polls.inc();
    }

    /// A poll failed (the caller logs why); the next poll retries.
    pub fn poll_failed(&self) {
        self.poll_errors.inc();
    }

    /// Records the API sent again, dropped as already delivered.
    pub fn repeated(&self, n: u64) {
        self.repeated.add(n);
    }

    /// Records older than the in-memory de-duplication window, looked up on disk.
    pub fn disk_lookups(&self, n: u64) {
        self.disk_lookups.add(n);
    }

    /// A batch of the feed was committed.
    pub fn committed(&self, at: DateTime<Utc>) {
        self.clock.committed.store(nanos(at), Ordering::Relaxed);
    }

    /// A blob could not be fetched or parsed after every attempt.
    pub fn blob_failed(&self, content_id: &str, attempts: u32, error: &str) {
        let f = &self.id;
        tracing::error!(tenant = %f.tenant, content_type = %f.content_type, content_id, attempts, error, "A content blob failed; it is recorded in state and retried on later polls until it expires.");
        self.blobs_failed.inc();
    }

    /// A blob was larger than `max_blob_bytes` (besides [`FeedMetrics::blob_failed`], which
    /// logs it).
    pub fn blob_too_large(&self, content_id: &str, error: &str) {
        let f = &self.id;
        tracing::debug!(tenant = %f.tenant, content_type = %f.content_type, content_id, error, "A blob was over the size cap.");
        self.blobs_too_large.inc();
    }

    /// A listing entry could not be used; it was set aside (and recorded) and its
    /// neighbours went on.
    pub fn listing_entry_skipped(&self, content_id: &str, reason: &str) {
        let f = &self.id;
        tracing::error!(tenant = %f.tenant, content_type = %f.content_type, content_id, reason,
            "A content listing entry cannot be used; it is skipped and recorded in state as failed, and the rest of the listing goes on.");
        self.listing_entries_skipped.inc();
    }

    /// The feed's task died (a panic, or it ended on its own); the supervisor restarts it.
    pub fn restarting(&self, why: &str, wait: std::time::Duration) {
        let f = &self.id;
        tracing::error!(tenant = %f.tenant, content_type = %f.content_type, error = why, restart_in_ms = wait.as_millis() as u64,
            "FEED TASK FAILED: restarting it once nothing it submitted is in flight; it resumes from what state committed.");
        self.restarts.inc();
    }

    /// Data expired upstream before it was delivered.
    pub fn gap(&self, from: DateTime<Utc>, to: DateTime<Utc>, reason: &str) {
        let f = &self.id;
        tracing::error!(tenant = %f.tenant, content_type = %f.content_type, from = %from.to_rfc3339(), to = %to.to_rfc3339(), reason, "DATA GAP: audit content in this range can no longer be fetched from the API.");
        self.gaps.inc();
    }
}

/// One feed's records at one sink.
#[derive(Debug)]
pub struct FeedAtSink {
    delivered: Counter,
    bytes: Counter,
    rejected: Counter,
    /// Per filter reason (a fixed set of words), resolved at its first use.
    filtered: Vec<(&'static str, Counter)>,
    pub sink: SinkMetrics,
}

impl FeedAtSink {
    fn new(feed: &FeedId, sink: &str) -> FeedAtSink {
        let labels = [feed.tenant.as_str(), feed.content_type.as_str(), sink];
        FeedAtSink {
            delivered: m::RECORDS_DELIVERED.with(labels),
            bytes: m::BYTES_DELIVERED.with(labels),
            rejected: m::RECORDS_REJECTED.with(labels),
            filtered: Vec::new(),
            sink: SinkMetrics::new(sink),
        }
    }

    /// Records (and their bytes as the API sent them) acknowledged by the sink and committed.
    pub fn delivered(&self, records: u64, bytes: u64) {
        self.delivered.add(records);
        self.bytes.add(bytes);
    }

    /// The sink refused a record for good.
    pub fn rejected(&self, feed: &FeedId, id: &str, content_id: &str, reason: &str) {
        tracing::error!(tenant = %feed.tenant, content_type = %feed.content_type, sink = self.sink.name(), record_id = id, content_id, reason, "A sink rejected a record; it is recorded in state as rejected.");
        self.rejected.inc();
    }

    /// Records of a batch the sink's filter did not admit (counted per batch, per reason;
    /// not an error: they count as handled for the delivery contract).
    pub fn filtered(&mut self, feed: &FeedId, reason: &'static str, n: u64) {
        tracing::debug!(tenant = %feed.tenant, content_type = %feed.content_type, sink = self.sink.name(), reason, records = n, "Records filtered out for a sink.");
        if let Some((_, c)) = self.filtered.iter().find(|(r, _)| *r == reason) {
            return c.add(n);
        }
        let c = m::RECORDS_FILTERED.with([
            feed.tenant.as_str(),
            feed.content_type.as_str(),
            self.sink.name(),
            reason,
        ]);
        c.add(n);
        self.filtered.push((reason, c));
    }
}

/// The [`FeedAtSink`] of every (feed, sink) pair one task counts for, resolved at first
/// use; owned by that task, so counting takes no lock.
#[derive(Debug, Default)]
pub struct FeedsAtSinks(HashMap<String, HashMap<String, FeedAtSink>>);

impl FeedsAtSinks {
    pub fn get(&mut self, feed: &FeedId, sink: &str) -> &mut FeedAtSink {
        if !self.0.get(&feed.key).is_some_and(|s| s.contains_key(sink)) {
            self.0
                .entry(feed.key.clone())
                .or_default()
                .insert(sink.to_string(), FeedAtSink::new(feed, sink));
        }
        self.0
            .get_mut(&feed.key)
            .and_then(|s| s.get_mut(sink))
            .expect("inserted above")
    }
}
