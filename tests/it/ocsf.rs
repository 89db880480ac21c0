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
