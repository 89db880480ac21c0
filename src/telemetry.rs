//! Logging setup, every metric, and the events that are both logged and counted, so that a
//! log line and its counter can never drift apart.
//!
//! Every metric family is declared once, typed, in [`metric`]. Counting goes through handles
//! ([`Counter`]) resolved once per feed ([`FeedMetrics`]), per sink ([`SinkMetrics`]) or per
//! (feed, sink) pair ([`FeedsAtSinks`]) and updated with one atomic add: the delivery path
//! takes no lock and builds no label text per record or batch. Events whose label is known
//! only when they happen (an API answer's status, a retry's kind, a file change) resolve
//! their series then; they happen per request or more rarely. Sink health is set by
//! explicit calls ([`SinkMetrics::error`], `retry`, `stopped`, `acked`).

mod counter;
pub mod exposition;
mod feed;
pub mod metric;
pub mod progress;
mod sink;

pub use counter::Counter;
pub use feed::{FeedAtSink, FeedMetrics, FeedsAtSinks, last_commits, last_polls};
pub use sink::{SinkHealth, SinkMetrics, reset_sink_health, sink_health};

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
    metric::URIS_REFUSED.with([tenant, what]).inc();
}

/// The API throttled a request.
pub fn throttled(tenant: &str, wait_secs: u64) {
    tracing::warn!(
        tenant,
        wait_secs,
        "The API throttled us; pausing this tenant's requests."
    );
    metric::API_THROTTLED.with([tenant]).inc();
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
    metric::ENRICH_RELOADS.with([result]).inc();
}

/// A Management API (or Graph) request was answered with `status`.
pub fn api_request(tenant: &str, kind: &str, status: &str) {
    metric::API_REQUESTS.with([tenant, kind, status]).inc();
}

/// A Management API request failed in a way that is retried.
pub fn api_retry(tenant: &str, kind: &str) {
    metric::API_RETRIES.with([tenant, kind]).inc();
}

/// A write of a feed's coverage files failed (the caller logs it).
pub fn coverage_write_failed() {
    metric::COVERAGE_WRITE_ERRORS.with([]).inc();
}

/// A commit to state failed and is retried (the caller logs it).
pub fn state_commit_failed() {
    metric::STATE_COMMIT_ERRORS.with([]).inc();
}

/// A task the agent cannot run without (a sink, the committer) died: the agent stops with
/// an error so the service manager restarts it.
pub fn task_failed(task: &str, why: &str) {
    tracing::error!(
        task,
        error = why,
        "TASK FAILED: nothing can be acknowledged or committed without it; stopping with an error so the service manager restarts the agent (unacknowledged work is redone)."
    );
    metric::TASK_FAILURES.with([task]).inc();
}
