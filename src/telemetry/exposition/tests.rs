use super::super::metric::{self as m, Meta};
use super::*;

fn listed() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

/// Every `"o365fwd_…_total"` metric name in the source and the tests is in the catalogue.
#[test]
fn every_metric_in_the_source_is_catalogued() {
    let mut names = std::collections::BTreeSet::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("src"), root.join("tests")];
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
    let listed = listed();
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !listed.contains(&n.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
}

/// The catalogue and the README's "Metrics and health" table say the same: names, types
/// and labels, each family once.
#[test]
fn the_readme_table_mirrors_the_catalogue() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix("`o365fwd_")?.strip_suffix('`')?;
            Some((
                format!("o365fwd_{name}"),
                cells.get(2)?.to_string(),
                cells.get(3)?.to_string(),
            ))
        })
        .collect();
    for f in FAMILIES {
        let labels = if f.labels.is_empty() {
            "—".to_string()
        } else {
            f.labels.join(", ")
        };
        let want = (f.name.to_string(), f.kind.to_string(), labels);
        assert!(rows.contains(&want), "README lacks the row {want:?}");
    }
    assert_eq!(rows.len(), FAMILIES.len(), "README rows: {rows:?}");
    let mut names = listed();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), FAMILIES.len(), "a family is declared twice");
    let sane = |f: &&Meta| {
        f.name.starts_with("o365fwd_")
            && (f.kind == "counter") == f.name.ends_with("_total")
            && !f.help.is_empty()
    };
    assert!(FAMILIES.iter().all(sane));
}

#[test]
fn renders_help_type_and_gauges() {
    m::GAPS.with(["t_expo", "Audit.General"]).add(2);
    let mut gauges = Gauges::default();
    gauges.set(&m::STATE_SIZE_BYTES, [], 4096.0);
    let text = render(&gauges);
    assert!(text.contains("# TYPE o365fwd_gaps_total counter\n"));
    assert!(
        text.contains("o365fwd_gaps_total{tenant=\"t_expo\",content_type=\"Audit.General\"} 2\n")
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

/// The exposition of a fixed set of events, byte for byte as the agent printed it before
/// the typed catalogue (`tests/fixtures/metrics/exposition.txt`, written by the previous
/// implementation): every HELP and TYPE line, and the samples these events make.
#[test]
fn exposition_is_byte_for_byte_the_same() {
    use super::super::{FeedMetrics, FeedsAtSinks, SinkMetrics};
    use crate::feed_id::FeedId;
    use crate::record::ContentType;
    let id = std::sync::Arc::new(FeedId::new("t_golden", "tid-golden", ContentType::General));
    let feed = FeedMetrics::new(id.clone());
    let mut pairs = FeedsAtSinks::default();
    pairs.get(&id, "golden_b").delivered(5, 1000);
    pairs.get(&id, "golden_a").delivered(3, 3000);
    let a = pairs.get(&id, "golden_a");
    a.filtered(&id, "not_included:workload", 7);
    a.filtered(&id, "excluded:operation", 2);
    a.rejected(&id, "id-1", "c-1", "refused");
    feed.repeated(4);
    feed.disk_lookups(2);
    feed.polled(chrono::Utc::now());
    feed.poll_failed();
    crate::telemetry::api_request("t_golden", "fetch", "200");
    crate::telemetry::api_request("t_golden", "list", "503");
    crate::telemetry::api_retry("t_golden", "list");
    crate::telemetry::throttled("t_golden", 3);
    crate::telemetry::hostile_uri("t_golden", "NextPageUri", "evil:443", None, None);
    feed.blob_failed("c-2", 3, "bad");
    feed.gap(chrono::Utc::now(), chrono::Utc::now(), "expired");
    let (a, b) = (SinkMetrics::new("golden_a"), SinkMetrics::new("golden_b"));
    a.retry("busy");
    b.error();
    b.error();
    SinkMetrics::new("golden_c").stopped("401");
    a.duplicates.inc();
    a.hec_ack_timeouts.inc();
    let k = SinkMetrics::new("golden_k");
    k.kafka_acked.add(9);
    k.kafka_resent.inc();
    k.kafka_possible_duplicates.inc();
    k.kafka_producer_rebuilds.inc();
    let s = SinkMetrics::new("golden_s");
    s.syslog_truncated("id-3", 9000, 8192);
    s.syslog_resent(6);
    a.split_merged.add(2);
    a.split_partial.inc();
    a.split_rejected.inc();
    SinkMetrics::new("golden_f").file_changed("grew");
    SinkMetrics::new("golden_\"q\\").error();
    let mut g = Gauges::default();
    let labels = ["t_golden", "Audit.General"];
    g.set(&m::SECONDS_SINCE_LAST_POLL, labels, 12.5);
    g.set(&m::SECONDS_SINCE_LAST_COMMIT, labels, 30.0);
    g.set(&m::FEED_HEALTHY, labels, 1.0);
    g.set(&m::SINK_HEALTHY, ["golden_b"], 0.0);
    g.set(&m::SINK_HEALTHY, ["golden_a"], 1.0);
    let text = render(&g);
    let got: String = text
        .lines()
        .filter(|l| l.starts_with('#') || l.contains("golden"))
        .map(|l| format!("{l}\n"))
        .collect();
    let want = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metrics/exposition.txt"
    ));
    assert_eq!(got, want);
}
