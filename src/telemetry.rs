//! Logging setup, every metric, and the events that are both logged and counted, so that a
//! log line and its counter can never drift apart.
//!
//! Counters are kept in one process-wide table keyed by name and labels. Label values are
//! bounded: tenants, content types, sinks and status codes from the config and the API, never
//! record data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::pipeline::FeedShared;

pub mod exposition;
mod health;
pub mod progress;
pub use health::*;

static COUNTERS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
static LAST_COMMIT: Mutex<Option<DateTime<Utc>>> = Mutex::new(None);

fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = String::from(name);
    if !labels.is_empty() {
        s.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(s, "{k}=\"{v}\"");
        }
        s.push('}');
    }
    s
}

/// Adds `n` to a counter.
pub fn count(name: &str, labels: &[(&str, &str)], n: u64) {
    let key = series(name, labels);
    let mut c = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    *c.entry(key).or_insert(0) += n;
    drop(c);
    // Every sink failure, whoever counts it, feeds the sink health that /health reports.
    if name == "o365fwd_sink_errors_total" || name == "o365fwd_sink_retries_total" {
        if let Some((_, sink)) = labels.iter().find(|(k, _)| *k == "sink") {
            let kind = labels.iter().find(|(k, _)| *k == "kind").map(|(_, v)| *v);
            health::sink_failing(sink, kind.unwrap_or("connection or write error"));
        }
    }
}

/// Reads a counter (tests, summaries).
pub fn get(name: &str, labels: &[(&str, &str)]) -> u64 {
    let key = series(name, labels);
    let c = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    c.get(&key).copied().unwrap_or(0)
}

/// Sum of a counter over all label sets.
pub fn sum(name: &str) -> u64 {
    let c = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    c.iter()
        .filter(|(k, _)| k.as_str() == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| *v)
        .sum()
}

pub fn set_last_commit(t: DateTime<Utc>) {
    *LAST_COMMIT.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
}

pub fn last_commit() -> Option<DateTime<Utc>> {
    *LAST_COMMIT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every counter in the Prometheus text format.
pub fn render() -> String {
    let c = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    for (k, v) in c.iter() {
        let _ = writeln!(out, "{k} {v}");
    }
    out
}

/// Sets up `tracing` to stderr. `json` selects JSON lines; the level comes from `RUST_LOG`
/// (default `info`).
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    // Colours only on a terminal: journald and log files get plain text.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if json {
        b.json().try_init()
    } else if stderr_is_journal() {
        // journald stamps every line itself; a second timestamp is noise.
        b.compact().without_time().try_init()
    } else {
        b.compact().try_init()
    };
}

/// True when stderr is connected to journald: `JOURNAL_STREAM` (set by systemd) names the
/// device and inode of the stream, which must be stderr's (a child of a service inherits the
/// variable but may have another stderr).
fn stderr_is_journal() -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the stat buffer we own.
    if unsafe { libc::fstat(2, &mut st) } != 0 {
        return false;
    }
    dev.parse::<u64>().ok() == Some(st.st_dev as u64)
        && ino.parse::<u64>().ok() == Some(st.st_ino as u64)
}

// ---- Events that are both logged and counted -------------------------------------------

fn feed_labels(f: &FeedShared) -> [(&str, &str); 2] {
    [
        ("tenant", f.tenant.as_str()),
        ("content_type", f.content_type.as_str()),
    ]
}

/// A sink refused a record for good.
pub fn record_rejected(f: &FeedShared, sink: &str, id: &str, content_id: &str, reason: &str) {
    tracing::error!(tenant = %f.tenant, content_type = %f.content_type, sink, record_id = id, content_id, reason, "A sink rejected a record; it is recorded in state as rejected.");
    let [t, c] = feed_labels(f);
    count("o365fwd_records_rejected_total", &[t, c, ("sink", sink)], 1);
}

/// A blob could not be fetched or parsed after every attempt.
pub fn blob_failed(f: &FeedShared, content_id: &str, attempts: u32, error: &str) {
    tracing::error!(tenant = %f.tenant, content_type = %f.content_type, content_id, attempts, error, "A content blob failed; it is recorded in state and retried on later polls until it expires.");
    count("o365fwd_blobs_failed_total", &feed_labels(f), 1);
}

/// A blob was larger than `max_blob_bytes` (besides [`blob_failed`], which logs it).
pub fn blob_too_large(f: &FeedShared, content_id: &str, error: &str) {
    tracing::debug!(tenant = %f.tenant, content_type = %f.content_type, content_id, error, "A blob was over the size cap.");
    count("o365fwd_blobs_too_large_total", &feed_labels(f), 1);
}

/// A listing entry could not be used; it was set aside (and recorded) and its neighbours
/// went on.
pub fn listing_entry_skipped(f: &FeedShared, content_id: &str, reason: &str) {
    tracing::error!(tenant = %f.tenant, content_type = %f.content_type, content_id, reason,
        "A content listing entry cannot be used; it is skipped and recorded in state as failed, and the rest of the listing goes on.");
    count("o365fwd_listing_entries_skipped_total", &feed_labels(f), 1);
}

/// A feed task died (a panic, or it ended on its own); the supervisor restarts it.
pub fn feed_restarting(f: &FeedShared, why: &str, wait: std::time::Duration) {
    tracing::error!(tenant = %f.tenant, content_type = %f.content_type, error = why, restart_in_ms = wait.as_millis() as u64,
        "FEED TASK FAILED: restarting it once nothing it submitted is in flight; it resumes from what state committed.");
    count("o365fwd_feed_restarts_total", &feed_labels(f), 1);
}

/// A task the agent cannot run without (a sink, the committer) died: the agent stops with
/// an error so the service manager restarts it.
pub fn task_failed(task: &str, why: &str) {
    tracing::error!(
        task,
        error = why,
        "TASK FAILED: nothing can be acknowledged or committed without it; stopping with an error so the service manager restarts the agent (unacknowledged work is redone)."
    );
    count("o365fwd_task_failures_total", &[("task", task)], 1);
}

/// Data expired upstream before it was delivered.
pub fn gap(f: &FeedShared, from: DateTime<Utc>, to: DateTime<Utc>, reason: &str) {
    tracing::error!(tenant = %f.tenant, content_type = %f.content_type, from = %from.to_rfc3339(), to = %to.to_rfc3339(), reason, "DATA GAP: audit content in this range can no longer be fetched from the API.");
    count("o365fwd_gaps_total", &feed_labels(f), 1);
}

/// A URI from the server pointed at another host; it was not followed.
pub fn hostile_uri(
    tenant: &str,
    what: &str,
    uri_host: &str,
    feed: Option<&str>,
    content_id: Option<&str>,
) {
    tracing::error!(
        tenant,
        what,
        host = uri_host,
        feed,
        content_id,
        "Refused a URI from the API that points at another host; the bearer token is only sent to the configured API host."
    );
    count(
        "o365fwd_uris_refused_total",
        &[("tenant", tenant), ("kind", what)],
        1,
    );
}

/// The API throttled a request.
pub fn throttled(tenant: &str, wait_secs: u64) {
    tracing::warn!(
        tenant,
        wait_secs,
        "The API throttled us; pausing this tenant's requests."
    );
    count("o365fwd_api_throttled_total", &[("tenant", tenant)], 1);
}

/// A GeoIP/ASN database file changed and was reopened, or could not be (the previous one
/// stays in use).
pub fn enrich_reloaded(path: &std::path::Path, error: Option<&str>) {
    match error {
        None => tracing::info!(path = %path.display(), "GeoIP database changed on disk; reopened."),
        Some(e) => {
            tracing::error!(path = %path.display(), error = e, "GeoIP database changed on disk but cannot be opened; the previous one stays in use.")
        }
    }
    let result = if error.is_some() { "error" } else { "ok" };
    count("o365fwd_enrich_reloads_total", &[("result", result)], 1);
}

/// A syslog message was longer than the sink's limit; its payload was cut, with a marker.
pub fn syslog_truncated(sink: &str, record_id: &str, original: usize, max: usize) {
    tracing::warn!(
        sink,
        record_id,
        payload_bytes = original,
        max_message_size = max,
        "A record did not fit in one syslog message; it was sent truncated, with a marker."
    );
    count("o365fwd_syslog_truncated_total", &[("sink", sink)], 1);
}

/// Records sent again on a new syslog connection; the receiver may get them twice.
pub fn syslog_resent(sink: &str, records: usize) {
    tracing::warn!(
        sink,
        records,
        "Re-sent records written before the syslog connection broke (at-least-once: the receiver may see them twice)."
    );
    count(
        "o365fwd_syslog_resent_records_total",
        &[("sink", sink)],
        records as u64,
    );
}

/// A sink's receiver reported a configuration error (bad token, missing index, refused
/// request): the sink stops acknowledging until it is reconfigured and restarted.
pub fn sink_stopped(sink: &str, reason: &str) {
    tracing::error!(
        sink,
        reason,
        "SINK STOPPED: its receiver refuses our configuration. Nothing more is acknowledged to it, so polling stalls and nothing is committed past this point; the data stays in the API for 7 days. Fix the configuration and restart."
    );
    count("o365fwd_sink_stopped_total", &[("sink", sink)], 1);
    health::sink_down(sink, reason);
}

/// A sink request failed in a way that is retried (receiver down, busy, throttling).
pub fn sink_retry(sink: &str, what: &str) {
    count(
        "o365fwd_sink_retries_total",
        &[("sink", sink), ("kind", what)],
        1,
    );
}

static LAST_POLL: Mutex<BTreeMap<String, DateTime<Utc>>> = Mutex::new(BTreeMap::new());

/// A feed finished a poll without error.
pub fn feed_polled(feed: &str, at: DateTime<Utc>) {
    LAST_POLL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(feed.to_string(), at);
}

/// When each feed last finished a poll without error.
pub fn last_polls() -> BTreeMap<String, DateTime<Utc>> {
    LAST_POLL.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Records of a batch a sink's filter did not admit (counted per batch, per reason; not
/// an error: they count as handled for the delivery contract).
pub fn records_filtered(f: &FeedShared, sink: &str, reason: &str, n: u64) {
    tracing::debug!(tenant = %f.tenant, content_type = %f.content_type, sink, reason, records = n, "Records filtered out for a sink.");
    let [t, c] = feed_labels(f);
    count(
        "o365fwd_records_filtered_total",
        &[t, c, ("sink", sink), ("reason", reason)],
        n,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        count("t_x_total", &[("a", "1")], 2);
        count("t_x_total", &[("a", "1")], 3);
        count("t_x_total", &[("a", "q\"")], 1);
        assert_eq!(get("t_x_total", &[("a", "1")]), 5);
        assert_eq!(sum("t_x_total"), 6);
        assert!(render().contains("t_x_total{a=\"q\\\"\"} 1"));
    }
}
