//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` per family,
//! then its samples. Every metric the agent exports is in [`FAMILIES`], which the README's
//! "Metrics and health" table mirrors; a unit test checks that every name used in the source
//! is listed here.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One metric family: name, type, label names, help text.
pub struct Family {
    pub name: &'static str,
    pub kind: &'static str,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

const fn c(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Family {
    Family {
        name,
        kind: "counter",
        labels,
        help,
    }
}

const fn g(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Family {
    Family {
        name,
        kind: "gauge",
        labels,
        help,
    }
}

const FEED: &[&str] = &["tenant", "content_type"];
const FEED_SINK: &[&str] = &["tenant", "content_type", "sink"];
const SINK: &[&str] = &["sink"];

/// Every family, in the order `/metrics` prints them.
pub const FAMILIES: &[Family] = &[
    c(
        "o365fwd_records_delivered_total",
        FEED_SINK,
        "Records acknowledged by a sink and committed.",
    ),
    c(
        "o365fwd_bytes_delivered_total",
        FEED_SINK,
        "Bytes of audit records (JSON as the API sent them) acknowledged by a sink and committed.",
    ),
    c(
        "o365fwd_records_filtered_total",
        &["tenant", "content_type", "sink", "reason"],
        "Records a sink's filter did not admit (handled: the cursor moves past them); reason is not_included, not_included:FIELD or excluded:FIELD.",
    ),
    c(
        "o365fwd_records_rejected_total",
        FEED_SINK,
        "Records a sink refused for good (kept in state as rejected).",
    ),
    c(
        "o365fwd_records_repeated_total",
        FEED,
        "Records the API sent again that were dropped as already delivered.",
    ),
    c(
        "o365fwd_polls_total",
        FEED,
        "Polls that finished without error.",
    ),
    c(
        "o365fwd_poll_errors_total",
        FEED,
        "Polls that failed (the next poll retries).",
    ),
    c(
        "o365fwd_api_requests_total",
        &["tenant", "kind", "status"],
        "Management API requests by kind and HTTP status.",
    ),
    c(
        "o365fwd_api_retries_total",
        &["tenant", "kind"],
        "Management API requests retried after a transient failure.",
    ),
    c(
        "o365fwd_api_throttled_total",
        &["tenant"],
        "Management API throttling answers (the tenant pauses).",
    ),
    c(
        "o365fwd_uris_refused_total",
        &["tenant", "kind"],
        "URIs from the API refused because they point at another host.",
    ),
    c(
        "o365fwd_coverage_write_errors_total",
        &[],
        "Failed writes of a feed's coverage files (where it begins, for backfill).",
    ),
    c(
        "o365fwd_blobs_failed_total",
        FEED,
        "Content blobs that could not be fetched or parsed after every attempt.",
    ),
    c(
        "o365fwd_blobs_too_large_total",
        FEED,
        "Content blobs larger than max_blob_bytes (recorded as failed; also in o365fwd_blobs_failed_total).",
    ),
    c(
        "o365fwd_listing_entries_skipped_total",
        FEED,
        "Content listing entries that could not be used (no id, a bad date or URI); skipped and recorded as failed.",
    ),
    c(
        "o365fwd_gaps_total",
        FEED,
        "Data gaps: content that expired upstream before it was delivered.",
    ),
    c(
        "o365fwd_sink_retries_total",
        &["sink", "kind"],
        "Sink requests retried (receiver down, busy, throttling).",
    ),
    c(
        "o365fwd_sink_errors_total",
        SINK,
        "Sink connection or write errors (the sink retries).",
    ),
    c(
        "o365fwd_sink_stopped_total",
        SINK,
        "Times a sink stopped because its receiver refused the configuration.",
    ),
    c(
        "o365fwd_sink_duplicates_total",
        SINK,
        "Records a receiver already had (Elasticsearch 409), counted as delivered.",
    ),
    c(
        "o365fwd_hec_ack_timeouts_total",
        SINK,
        "Splunk HEC events whose indexer acknowledgement timed out (sent again).",
    ),
    c(
        "o365fwd_kafka_acked_total",
        SINK,
        "Kafka messages acknowledged by the brokers.",
    ),
    c(
        "o365fwd_kafka_resent_total",
        SINK,
        "Kafka messages sent again after a delivery failure.",
    ),
    c(
        "o365fwd_kafka_possible_duplicates_total",
        SINK,
        "Kafka messages re-sent that the broker may already have.",
    ),
    c(
        "o365fwd_kafka_producer_rebuilds_total",
        SINK,
        "Kafka producers rebuilt after a fatal error.",
    ),
    c(
        "o365fwd_enrich_reloads_total",
        &["result"],
        "GeoIP/ASN databases reopened after their file changed (result ok or error).",
    ),
    c(
        "o365fwd_syslog_truncated_total",
        SINK,
        "Syslog messages cut to the sink's maximum size.",
    ),
    c(
        "o365fwd_syslog_resent_records_total",
        SINK,
        "Records re-sent on a new syslog connection.",
    ),
    c(
        "o365fwd_split_merged_total",
        SINK,
        "Split records reassembled into one.",
    ),
    c(
        "o365fwd_split_partial_total",
        SINK,
        "Split records forwarded incomplete.",
    ),
    c(
        "o365fwd_split_rejected_total",
        SINK,
        "Reassembled records a sink refused.",
    ),
    c(
        "o365fwd_feed_restarts_total",
        FEED,
        "Feed tasks restarted after a panic or an unexpected end.",
    ),
    c(
        "o365fwd_task_failures_total",
        &["task"],
        "Sink or committer tasks that died (the agent then exits with an error to be restarted).",
    ),
    c(
        "o365fwd_state_commit_errors_total",
        &[],
        "Failed attempts to commit progress to state (retried).",
    ),
    c(
        "o365fwd_file_sink_changes_total",
        &["sink", "change"],
        "Changes to a file sink's file it did not make: rotated (replaced), truncated (shrank), written by another (grew), or found with bytes it cannot vouch for (unverified: appended after, never cut).",
    ),
    g(
        "o365fwd_state_commits_failing",
        &[],
        "1 while commits to state fail (delivery stalls until they work again), else 0.",
    ),
    g(
        "o365fwd_seconds_since_last_poll",
        FEED,
        "Seconds since the feed last finished a poll without error (since start-up if it has not yet).",
    ),
    g(
        "o365fwd_seconds_since_last_commit",
        FEED,
        "Seconds since the feed last had a batch committed (since start-up if it has not yet).",
    ),
    g(
        "o365fwd_feed_healthy",
        FEED,
        "1 when the feed passes the /health rule (polled recently, running, not stuck), else 0.",
    ),
    g(
        "o365fwd_sink_healthy",
        SINK,
        "1 when the sink is delivering, else 0.",
    ),
    g(
        "o365fwd_state_size_bytes",
        &[],
        "Size of the state store on disk.",
    ),
    g(
        "o365fwd_up_seconds",
        &[],
        "Seconds since the agent started.",
    ),
];

/// Formats one series name with labels (escaped as the format requires).
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    super::series(name, labels)
}

/// Counters from the process-wide table plus the `gauges` computed at scrape time (family
/// name to samples), each family with its HELP and TYPE.
pub fn render(gauges: &BTreeMap<&str, Vec<(String, f64)>>) -> String {
    let counters = super::COUNTERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut by_family: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in &counters {
        let fam = k.split('{').next().unwrap_or(k);
        by_family
            .entry(fam)
            .or_default()
            .push((k.clone(), v.to_string()));
    }
    for (fam, samples) in gauges {
        by_family
            .entry(fam)
            .or_default()
            .extend(samples.iter().map(|(s, v)| (s.clone(), fmt_f64(*v))));
    }
    let mut out = String::new();
    let mut print = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (s, v) in samples {
            let _ = writeln!(out, "{s} {v}");
        }
    };
    for f in FAMILIES {
        let samples = by_family.remove(f.name).unwrap_or_default();
        // Counters with no sample yet are still announced, so dashboards see the family.
        print(f.name, f.kind, f.help, &samples);
    }
    // Anything not in the catalog (it should not happen; a test guards it) is still shown.
    for (fam, samples) in by_family {
        print(fam, "untyped", "Undocumented metric.", &samples);
    }
    out
}

fn fmt_f64(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `"o365fwd_…"` metric name in the source is in the catalog, with sane labels.
    #[test]
    fn every_metric_in_the_source_is_documented() {
        let mut names = std::collections::BTreeSet::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for part in text.split("\"o365fwd_").skip(1) {
                        let name: String = part
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if part[name.len()..].starts_with('"') && name.ends_with("_total") {
                            names.insert(format!("o365fwd_{name}"));
                        }
                    }
                }
            }
        }
        assert!(names.len() > 20, "found only {names:?}");
        let listed: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        let missing: Vec<_> = names
            .iter()
            .filter(|n| !listed.contains(&n.as_str()))
            .collect();
        assert!(missing.is_empty(), "not in FAMILIES: {missing:?}");
    }

    #[test]
    fn renders_help_type_and_gauges() {
        super::super::count(
            "o365fwd_gaps_total",
            &[("tenant", "t_expo"), ("content_type", "Audit.General")],
            2,
        );
        let mut gauges = BTreeMap::new();
        gauges.insert(
            "o365fwd_state_size_bytes",
            vec![(series("o365fwd_state_size_bytes", &[]), 4096.0)],
        );
        let text = render(&gauges);
        assert!(text.contains("# TYPE o365fwd_gaps_total counter\n"));
        assert!(
            text.contains(
                "o365fwd_gaps_total{tenant=\"t_expo\",content_type=\"Audit.General\"} 2\n"
            )
        );
        assert!(
            text.contains("# TYPE o365fwd_state_size_bytes gauge\no365fwd_state_size_bytes 4096\n")
        );
        // Exactly one HELP and TYPE per family.
        for f in FAMILIES {
            assert_eq!(
                text.matches(&format!("# TYPE {} ", f.name)).count(),
                1,
                "{}",
                f.name
            );
        }
    }
}
