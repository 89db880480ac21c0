//! `/metrics` and `/health` of the real binary: delivered counters equal the simulator's
//! ground truth per tenant, content type and sink; the text is parsed by the Prometheus
//! project's own Python parser (prometheus-client on PyPI), not by our code; a sink pointed
//! at a closed port turns `/health` into a 503 whose JSON names it.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;
use serde_json::Value;

use super::support::{free_port, python, ready};
use crate::harness::{Env, read_ids, sim_config, tail};

/// One parsed sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
fams, samples = {}, []
for f in text_string_to_metric_families(sys.stdin.read()):
    fams[f.name] = f.type
    for s in f.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps({"families": fams, "samples": samples}))
"#;

fn parser_ready(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import prometheus_client.parser"])
        .status()
        .is_ok_and(|s| s.success());
    let missing = if ok {
        vec![]
    } else {
        vec!["prometheus-client (PyPI)".to_string()]
    };
    ready(test, &missing)
}

/// Parses the exposition with prometheus-client; panics on text it rejects.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut child = Command::new(python())
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus-client rejects /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fams = v["families"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| (k.clone(), t.as_str().unwrap().to_string()))
        .collect();
    let samples = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = s[1]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            (
                s[0].as_str().unwrap().to_string(),
                labels,
                s[2].as_f64().unwrap(),
            )
        })
        .collect();
    (fams, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("endpoint answers");
    (r.status().as_u16(), r.text().await.unwrap())
}

const CTS: [ContentType; 2] = [ContentType::AzureActiveDirectory, ContentType::Exchange];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_simulator_served_and_health_is_ok() {
    if !parser_ready("metrics_count_what_the_simulator_served_and_health_is_ok") {
        return;
    }
    let port = free_port();
    let env = Env::start(
        sim_config(2, &CTS),
        &format!("listen = \"127.0.0.1:{port}\""),
    )
    .await;
    let agent = env.spawn();
    let want = env.expected();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "not delivered; log:\n{}",
        tail(&env.log(), 30)
    );
    // Counters are bumped right after the commit that follows the write; let it land.
    let base = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    let (fams, samples) = loop {
        let (code, text) = get(&format!("{base}/metrics")).await;
        assert_eq!(code, 200);
        let (fams, samples) = parse(&text);
        let total: f64 = samples
            .iter()
            .filter(|s| s.0 == "o365fwd_records_delivered_total")
            .map(|s| s.2)
            .sum();
        if total as usize >= want.len() || t0.elapsed() > Duration::from_secs(20) {
            break (fams, samples);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    assert_eq!(
        fams.get("o365fwd_records_delivered").map(String::as_str),
        Some("counter")
    );
    assert_eq!(
        fams.get("o365fwd_seconds_since_last_poll")
            .map(String::as_str),
        Some("gauge")
    );

    // Ground truth per tenant and content type: ids and raw bytes in the output file.
    let lines = std::fs::read_to_string(&env.out).unwrap();
    let bytes_of: BTreeMap<String, usize> = lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["Id"].as_str().unwrap().to_string(), l.len())
        })
        .collect();
    assert_eq!(read_ids(&env.out).len(), want.len());
    for (i, t) in env.sim.config().tenants.iter().enumerate() {
        let tenant = format!("t{i}");
        for ct in CTS {
            let ids = env.sim.expected_ids(&t.tenant_id, ct);
            assert!(!ids.is_empty());
            let labels = [
                ("tenant", tenant.as_str()),
                ("content_type", ct.as_str()),
                ("sink", "archive"),
            ];
            let records = value(&samples, "o365fwd_records_delivered_total", &labels);
            assert_eq!(records, Some(ids.len() as f64), "records {tenant} {ct}");
            let bytes: usize = ids.iter().map(|id| bytes_of[id]).sum();
            let got = value(&samples, "o365fwd_bytes_delivered_total", &labels);
            assert_eq!(got, Some(bytes as f64), "bytes {tenant} {ct}");
            let feed = [("tenant", tenant.as_str()), ("content_type", ct.as_str())];
            let since_poll = value(&samples, "o365fwd_seconds_since_last_poll", &feed).unwrap();
            assert!(since_poll < 30.0, "{since_poll}");
            let since_commit = value(&samples, "o365fwd_seconds_since_last_commit", &feed).unwrap();
            assert!(since_commit < 60.0, "{since_commit}");
            assert_eq!(value(&samples, "o365fwd_feed_healthy", &feed), Some(1.0));
        }
    }
    let ok_requests: f64 = samples
        .iter()
        .filter(|s| {
            s.0 == "o365fwd_api_requests_total" && s.1.get("status").is_some_and(|c| c == "200")
        })
        .map(|s| s.2)
        .sum();
    assert!(ok_requests > 0.0, "API requests by status are counted");
    assert!(value(&samples, "o365fwd_state_size_bytes", &[]).unwrap() > 0.0);
    assert_eq!(
        value(&samples, "o365fwd_sink_healthy", &[("sink", "archive")]),
        Some(1.0)
    );

    let (code, body) = get(&format!("{base}/health")).await;
    assert_eq!(code, 200, "{body}");
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["sinks"]["archive"]["healthy"], true);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_deliver_makes_health_503_naming_it() {
    if !parser_ready("a_sink_that_cannot_deliver_makes_health_503_naming_it") {
        return;
    }
    let port = free_port();
    let closed = free_port();
    let env = Env::start_with_sinks(
        sim_config(1, &[ContentType::General]),
        &format!("listen = \"127.0.0.1:{port}\"\nunhealthy_after = \"1s\""),
        &format!(
            "[sinks.web]\ntype = \"http\"\nurl = \"http://127.0.0.1:{closed}/\"\nformat = \"raw\"\nbatch_timeout = \"50ms\"\nretry_max_backoff = \"200ms\"\n"
        ),
    )
    .await;
    let agent = env.spawn();
    let base = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    let body = loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await {
            let code = r.status().as_u16();
            let body = r.text().await.unwrap();
            if code == 503 {
                break body;
            }
            assert_eq!(code, 200, "{body}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "/health never became 503; log:\n{}",
            tail(&env.log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let h: Value = serde_json::from_str(&body).expect("the 503 body is JSON");
    assert_eq!(h["status"], "unhealthy");
    assert_eq!(h["sinks"]["web"]["healthy"], false);
    assert_eq!(h["sinks"]["archive"]["healthy"], true);
    let reasons: Vec<&str> = h["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("sink web:")),
        "{reasons:?}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("archive")),
        "{reasons:?}"
    );

    let (_, text) = get(&format!("{base}/metrics")).await;
    let (_, samples) = parse(&text);
    assert_eq!(
        value(&samples, "o365fwd_sink_healthy", &[("sink", "web")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "o365fwd_sink_healthy", &[("sink", "archive")]),
        Some(1.0)
    );
    // Nothing is committed while one sink cannot deliver.
    let delivered: f64 = samples
        .iter()
        .filter(|s| s.0 == "o365fwd_records_delivered_total")
        .map(|s| s.2)
        .sum();
    assert_eq!(delivered, 0.0);
    // The drain cannot finish either; the test does not wait for its timeout.
    drop(agent);
}
