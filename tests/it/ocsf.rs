//! `format = "ocsf"`: every record of the simulator's workloads, the golden fixtures and the
//! parity records, encoded as OCSF, validated against the published OCSF schema by a
//! third-party validator (`ocsf-json-schema` + `jsonschema`, from `.ci/validators.sh`).

use std::process::Command;
use std::time::Duration;

use o365fwd::format::ocsf::OCSF_VERSION;
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record, parse_blob};
use o365fwd::sim::{SimConfig, write_ndjson};
use serde_json::Value;

fn validator() -> bool {
    let ok = Command::new(crate::formats::python())
        .args(["-c", "import ocsf_json_schema, jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    crate::formats::validator_available(
        "python3 + ocsf-json-schema 1.2.0 + jsonschema 4.26.0 (PyPI)",
        ok,
    )
}

/// Runs the validator on NDJSON events; returns its summary (panics on violations).
pub(crate) fn validate(input: &str) -> Value {
    let mut cmd = Command::new(crate::formats::python());
    cmd.arg(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats/validators/ocsf_check.py"),
    )
    .arg(OCSF_VERSION);
    let out = crate::formats::run(cmd, input);
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ocsf_check: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(summary["errors"], serde_json::json!([]), "OCSF violations");
    assert!(out.status.success());
    summary
}

/// Every content type the simulator serves, a few hundred records.
fn simulator_records() -> Vec<(ContentType, Record)> {
    let cfg = SimConfig {
        records_per_blob: (30, 30),
        backlog: Duration::from_secs(3600),
        blob_interval: Duration::from_secs(600),
        ..SimConfig::default()
    };
    let mut nd = Vec::new();
    write_ndjson(&cfg, &mut nd).unwrap();
    let text = String::from_utf8(nd).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let body = format!("[{}]", lines.join(","));
    parse_blob("sim", body.as_bytes())
        .unwrap()
        .into_iter()
        .map(|r| (ContentType::General, r))
        .collect()
}

#[test]
fn every_record_validates_against_the_ocsf_schema() {
    if !validator() {
        return;
    }
    let mut input = String::new();
    let mut n = 0;
    let mut push = |rec: &Record, origin: &Origin<'_>, keep: bool| {
        let enc = Encoder::new(
            Format::Ocsf,
            FormatOptions {
                keep_original: keep,
                ..FormatOptions::default()
            },
        );
        let mut out = Vec::new();
        enc.encode(rec, origin, &mut out);
        input.push_str(std::str::from_utf8(&out).unwrap());
        input.push('\n');
        n += 1;
    };
    let sim_origin = Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::General,
    };
    let sim = simulator_records();
    assert!(sim.len() > 100);
    for (i, (_, r)) in sim.iter().enumerate() {
        push(r, &sim_origin, i % 2 == 0);
    }
    for f in crate::formats::fixtures() {
        for r in &f.records {
            push(r, &f.origin(), false);
        }
    }
    for c in crate::parity::cases() {
        let text = serde_json::to_string(&c["record"]).unwrap();
        let r = Record::from_json(&text, "parity").unwrap();
        push(&r, &sim_origin, true);
    }
    // Odd records too (numbers for strings, hostile text, missing fields).
    let mut rng = fastrand::Rng::with_seed(crate::formats::seed());
    for _ in 0..300 {
        let text = crate::formats::random_record(&mut rng);
        if let Ok(r) = Record::from_json(&text, "random") {
            push(&r, &sim_origin, false);
        }
    }
    let summary = validate(&input);
    assert_eq!(summary["docs"], n);
    let classes = summary["classes"].as_object().unwrap();
    for class in ["3002", "3001", "6006", "4009", "6003"] {
        assert!(classes.contains_key(class), "no {class} event: {classes:?}");
    }
}

/// The records the sink tests send: one of every simulator content type and shape.
fn sample(n: usize) -> Vec<Record> {
    simulator_records()
        .into_iter()
        .map(|(_, r)| r)
        .step_by(3)
        .take(n)
        .collect()
}

async fn deliver(toml: &str, recs: &[Record]) {
    let sink = crate::http::start_sink(toml).await;
    let mut rx = sink.submit(recs.to_vec()).await;
    let ack = crate::http::ack_within(&mut rx, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("not acknowledged: {toml}"));
    assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
    sink.close().await;
}

/// Every event as NDJSON, checked to be OCSF for `ids`, then validated.
fn check(what: &str, events: Vec<Value>, recs: &[Record]) {
    let mut got: Vec<String> = events
        .iter()
        .map(|e| {
            e["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = recs.iter().map(|r| r.id().to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{what}: every record once, as OCSF");
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    let summary = validate(&input);
    assert_eq!(summary["docs"], recs.len(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsf_through_every_sink_type() {
    use crate::receivers::{es::Es, hec, webhook::Hook};
    if !validator() {
        return;
    }
    let recs = sample(40);
    assert_eq!(recs.len(), 40);
    let dir = tempfile::tempdir().unwrap();

    // file
    let path = dir.path().join("ocsf.ndjson");
    deliver(
        &format!(
            "[sinks.f]\ntype = \"file\"\npath = \"{}\"\nformat = \"ocsf\"\n",
            path.display()
        ),
        &recs,
    )
    .await;
    let text = std::fs::read_to_string(&path).unwrap();
    let events = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    check("file", events, &recs);

    // elasticsearch (an index: OCSF events have no @timestamp for a data stream)
    let es = Es::start(&[]).await;
    deliver(
        &format!(
            "[sinks.es]\ntype = \"elasticsearch\"\nendpoint = \"{}\"\nindex = \"o365-ocsf\"\nformat = \"ocsf\"\nbatch_timeout = \"10ms\"\n",
            es.url()
        ),
        &recs,
    )
    .await;
    check(
        "elasticsearch",
        es.docs("o365-ocsf").into_values().collect(),
        &recs,
    );

    // splunk_hec
    let token = "11111111-2222-3333-4444-555555555555";
    let h = hec::Hec::start(&[(token, hec::Token::default())]).await;
    deliver(
        &format!(
            "[sinks.hec]\ntype = \"splunk_hec\"\nendpoint = \"{}\"\ntoken = \"{token}\"\nformat = \"ocsf\"\nbatch_timeout = \"10ms\"\n",
            h.url()
        ),
        &recs,
    )
    .await;
    let events = h.with(|s| s.indexed.iter().map(|e| e["event"].clone()).collect());
    check("splunk_hec", events, &recs);

    // http (webhook)
    let hook = Hook::start().await;
    deliver(
        &format!(
            "[sinks.hook]\ntype = \"http\"\nurl = \"{}\"\nformat = \"ocsf\"\nbatch_timeout = \"10ms\"\n",
            hook.url()
        ),
        &recs,
    )
    .await;
    check("http", hook.with(|s| s.records.clone()), &recs);

    // syslog (TCP, LF framing): the MSG part of each RFC 5424 message
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink_lines = got.clone();
    let acceptor = tokio::spawn(async move {
        // Every connection (the sink may probe before it delivers).
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let lines_out = sink_lines.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(sock).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    lines_out.lock().unwrap().push(line);
                }
            });
        }
    });
    deliver(
        &format!(
            "[sinks.sys]\ntype = \"syslog\"\ntransport = \"tcp\"\naddress = \"{addr}\"\nframing = \"lf\"\nformat = \"ocsf\"\nmax_message_size = 65536\n"
        ),
        &recs,
    )
    .await;
    let t0 = std::time::Instant::now();
    while got.lock().unwrap().len() < recs.len() && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    acceptor.abort();
    let lines = got.lock().unwrap().clone();
    let events = lines
        .iter()
        .map(|l| serde_json::from_str(&l[l.find("] {").expect("SD then MSG") + 2..]).unwrap())
        .collect();
    check("syslog", events, &recs);

    // kafka (librdkafka's mock cluster; read back by a plain consumer)
    let cluster: rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext> =
        rdkafka::mocking::MockCluster::new(1).unwrap();
    cluster.create_topic("ocsf", 1, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    deliver(
        &format!(
            "[sinks.bus]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopic = \"ocsf\"\nformat = \"ocsf\"\n"
        ),
        &recs,
    )
    .await;
    let events = tokio::task::spawn_blocking(move || kafka_values(&brokers, 40))
        .await
        .unwrap();
    check("kafka", events, &recs);

    // stdout: the binary's demo prints through the stdout sink
    let out = Command::new(env!("CARGO_BIN_EXE_o365fwd"))
        .args(["demo", "--duration", "3s", "--format", "ocsf"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let n = text.lines().count();
    assert!(n > 20, "demo printed {n} events");
    let summary = validate(&text);
    assert_eq!(summary["docs"], n, "stdout");
}

fn kafka_values(brokers: &str, want: usize) -> Vec<Value> {
    use rdkafka::ClientConfig;
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "ocsf-check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["ocsf"]).unwrap();
    let t0 = std::time::Instant::now();
    let mut out = Vec::new();
    while out.len() < want && t0.elapsed() < Duration::from_secs(30) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(serde_json::from_slice(m.payload().unwrap_or_default()).unwrap());
        }
    }
    out
}
