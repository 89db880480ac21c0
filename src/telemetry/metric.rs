//! Every metric the agent exports, as one typed catalogue: a family is a `static` with its
//! name, type, label names and help text, and the only way to count is through it, so a
//! metric cannot be used without being described here (and in the README's "Metrics and
//! health" table, which a test holds against this list).
//!
//! A family hands out [`Counter`] handles for one set of label values: resolve them once
//! (per feed, per sink) and update them lock-free. Label values are bounded: tenants,
//! content types, sinks, kinds and status codes from the config and the API, never record
//! data.

use super::counter::{self, Counter};

/// What `/metrics` prints about a family.
#[derive(Debug)]
pub struct Meta {
    pub name: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

/// A counter family with `N` labels.
#[derive(Debug)]
pub struct CounterFamily<const N: usize> {
    pub meta: Meta,
}

/// A gauge family with `N` labels: its values are computed when `/metrics` is read.
#[derive(Debug)]
pub struct GaugeFamily<const N: usize> {
    pub meta: Meta,
}

const fn counter<const N: usize>(
    name: &'static str,
    labels: &'static [&'static str; N],
    help: &'static str,
) -> CounterFamily<N> {
    CounterFamily {
        meta: Meta {
            name,
            kind: "counter",
            labels,
            help,
        },
    }
}

const fn gauge<const N: usize>(
    name: &'static str,
    labels: &'static [&'static str; N],
    help: &'static str,
) -> GaugeFamily<N> {
    GaugeFamily {
        meta: Meta {
            name,
            kind: "gauge",
            labels,
            help,
        },
    }
}

impl<const N: usize> CounterFamily<N> {
    /// The counter for these label values. Resolving takes the table's lock: do it once
    /// (per feed, per sink), not per record.
    pub fn with(&'static self, values: [&str; N]) -> Counter {
        counter::resolve(self.meta.name, self.meta.labels, &values)
    }

    /// Its value for these labels (0 before the first count).
    pub fn get(&'static self, values: [&str; N]) -> u64 {
        counter::read(self.meta.name, self.meta.labels, &values)
    }

    /// Its sum over every label set.
    pub fn sum(&'static self) -> u64 {
        counter::sum(self.meta.name)
    }
}

const NONE: &[&str; 0] = &[];
const FEED: &[&str; 2] = &["tenant", "content_type"];
const FEED_SINK: &[&str; 3] = &["tenant", "content_type", "sink"];
const SINK: &[&str; 1] = &["sink"];

/// Declares every family and [`FAMILIES`], their order on `/metrics`, from one list, so
/// no family can be left out of the exposition.
macro_rules! catalogue {
    ($($kind:ident $id:ident: $labels:expr, $name:literal, $help:literal;)*) => {
        $(
            #[doc = $help]
            pub static $id: catalogue!(@type $kind, $labels) = $kind($name, $labels, $help);
        )*
        /// Every family, in the order `/metrics` prints them.
        pub static FAMILIES: &[&Meta] = &[$(&$id.meta),*];
    };
    (@type counter, $labels:expr) => { CounterFamily<{ $labels.len() }> };
    (@type gauge, $labels:expr) => { GaugeFamily<{ $labels.len() }> };
}

catalogue! {
    counter RECORDS_DELIVERED: FEED_SINK,
        "o365fwd_records_delivered_total",
        "Records acknowledged by a sink and committed.";
    counter BYTES_DELIVERED: FEED_SINK,
        "o365fwd_bytes_delivered_total",
        "Bytes of audit records (JSON as the API sent them) acknowledged by a sink and committed.";
    counter RECORDS_FILTERED: &["tenant", "content_type", "sink", "reason"],
        "o365fwd_records_filtered_total",
        "Records a sink's filter did not admit (handled: the cursor moves past them); reason is not_included, not_included:FIELD or excluded:FIELD.";
    counter RECORDS_REJECTED: FEED_SINK,
        "o365fwd_records_rejected_total",
        "Records a sink refused for good (kept in state as rejected).";
    counter RECORDS_REPEATED: FEED,
        "o365fwd_records_repeated_total",
        "Records the API sent again that were dropped as already delivered.";
    counter DEDUP_DISK_LOOKUPS: FEED,
        "o365fwd_dedup_disk_lookups_total",
        "Records older than the in-memory de-duplication window, looked up on disk.";
    counter POLLS: FEED,
        "o365fwd_polls_total",
        "Polls that finished without error.";
    counter POLL_ERRORS: FEED,
        "o365fwd_poll_errors_total",
        "Polls that failed (the next poll retries).";
    counter API_REQUESTS: &["tenant", "kind", "status"],
        "o365fwd_api_requests_total",
        "Management API requests by kind and HTTP status.";
    counter API_RETRIES: &["tenant", "kind"],
        "o365fwd_api_retries_total",
        "Management API requests retried after a transient failure.";
    counter API_THROTTLED: &["tenant"],
        "o365fwd_api_throttled_total",
        "Management API throttling answers (the tenant pauses).";
    counter URIS_REFUSED: &["tenant", "kind"],
        "o365fwd_uris_refused_total",
        "URIs from the API refused because they point at another host.";
    counter COVERAGE_WRITE_ERRORS: NONE,
        "o365fwd_coverage_write_errors_total",
        "Failed writes of a feed's coverage files (where it begins, for backfill).";
    counter BLOBS_FAILED: FEED,
        "o365fwd_blobs_failed_total",
        "Content blobs that could not be fetched or parsed after every attempt.";
    counter BLOBS_TOO_LARGE: FEED,
        "o365fwd_blobs_too_large_total",
        "Content blobs larger than max_blob_bytes (recorded as failed; also in o365fwd_blobs_failed_total).";
    counter LISTING_ENTRIES_SKIPPED: FEED,
        "o365fwd_listing_entries_skipped_total",
        "Content listing entries that could not be used (no id, a bad date or URI); skipped and recorded as failed.";
    counter GAPS: FEED,
        "o365fwd_gaps_total",
        "Data gaps: content that expired upstream before it was delivered.";
    counter SINK_RETRIES: &["sink", "kind"],
        "o365fwd_sink_retries_total",
        "Sink requests retried (receiver down, busy, throttling).";
    counter SINK_ERRORS: SINK,
        "o365fwd_sink_errors_total",
        "Sink connection or write errors (the sink retries).";
    counter SINK_STOPPED: SINK,
        "o365fwd_sink_stopped_total",
        "Times a sink stopped because its receiver refused the configuration.";
    counter SINK_DUPLICATES: SINK,
        "o365fwd_sink_duplicates_total",
        "Records a receiver already had (Elasticsearch 409), counted as delivered.";
    counter HEC_ACK_TIMEOUTS: SINK,
        "o365fwd_hec_ack_timeouts_total",
        "Splunk HEC events whose indexer acknowledgement timed out (sent again).";
    counter KAFKA_ACKED: SINK,
        "o365fwd_kafka_acked_total",
        "Kafka messages acknowledged by the brokers.";
    counter KAFKA_RESENT: SINK,
        "o365fwd_kafka_resent_total",
        "Kafka messages sent again after a delivery failure.";
    counter KAFKA_POSSIBLE_DUPLICATES: SINK,
        "o365fwd_kafka_possible_duplicates_total",
        "Kafka messages re-sent that the broker may already have.";
    counter KAFKA_PRODUCER_REBUILDS: SINK,
        "o365fwd_kafka_producer_rebuilds_total",
        "Kafka producers rebuilt after a fatal error.";
    counter ENRICH_RELOADS: &["result"],
        "o365fwd_enrich_reloads_total",
        "GeoIP/ASN databases reopened after their file changed (result ok or error).";
    counter SYSLOG_TRUNCATED: SINK,
        "o365fwd_syslog_truncated_total",
        "Syslog messages cut to the sink's maximum size.";
    counter SYSLOG_RESENT_RECORDS: SINK,
        "o365fwd_syslog_resent_records_total",
        "Records re-sent on a new syslog connection.";
    counter SPLIT_MERGED: SINK,
        "o365fwd_split_merged_total",
        "Split records reassembled into one.";
    counter SPLIT_PARTIAL: SINK,
        "o365fwd_split_partial_total",
        "Split records forwarded incomplete.";
    counter SPLIT_REJECTED: SINK,
        "o365fwd_split_rejected_total",
        "Reassembled records a sink refused.";
    counter FEED_RESTARTS: FEED,
        "o365fwd_feed_restarts_total",
        "Feed tasks restarted after a panic or an unexpected end.";
    counter TASK_FAILURES: &["task"],
        "o365fwd_task_failures_total",
        "Sink or committer tasks that died (the agent then exits with an error to be restarted).";
    counter STATE_COMMIT_ERRORS: NONE,
        "o365fwd_state_commit_errors_total",
        "Failed attempts to commit progress to state (retried).";
    counter FILE_SINK_CHANGES: &["sink", "change"],
        "o365fwd_file_sink_changes_total",
        "Changes to a file sink's file it did not make: rotated (replaced), truncated (shrank), written by another (grew), or found with bytes it cannot vouch for (unverified: appended after, never cut).";
    gauge STATE_COMMITS_FAILING: NONE,
        "o365fwd_state_commits_failing",
        "1 while commits to state fail (delivery stalls until they work again), else 0.";
    gauge SECONDS_SINCE_LAST_POLL: FEED,
        "o365fwd_seconds_since_last_poll",
        "Seconds since the feed last finished a poll without error (since start-up if it has not yet).";
    gauge SECONDS_SINCE_LAST_COMMIT: FEED,
        "o365fwd_seconds_since_last_commit",
        "Seconds since the feed last had a batch committed (since start-up if it has not yet).";
    gauge FEED_HEALTHY: FEED,
        "o365fwd_feed_healthy",
        "1 when the feed passes the /health rule (polled recently, running, not stuck), else 0.";
    gauge SINK_HEALTHY: SINK,
        "o365fwd_sink_healthy",
        "1 when the sink is delivering, else 0.";
    gauge STATE_SIZE_BYTES: NONE,
        "o365fwd_state_size_bytes",
        "Size of the state store on disk.";
    gauge UP_SECONDS: NONE,
        "o365fwd_up_seconds",
        "Seconds since the agent started.";
}

#[cfg(test)]
mod tests;
