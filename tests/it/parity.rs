//! Elastic parity: one representative record per workload (`tests/fixtures/elastic/`)
//! against the document Elastic's own `o365` ingest pipeline would produce, written by hand
//! from the pipeline's rules. Every field Elastic sets must be in ours with the same value;
//! every field we add must be one of our documented additions; every deliberate difference
//! is named in the fixture with its reason (and in docs/mapping.md).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, Record};
use serde_json::Value;

/// What we add to every document or to some workloads, on purpose (docs/mapping.md).
const OUR_ADDITIONS: &[&str] = &[
    "event.dataset",
    "event.module",
    "cloud.",
    "o365fwd.",
    "o365.dynamics.",
    // The parts of url.original, when it parses.
    "url.full",
    "url.scheme",
    "url.domain",
    "url.port",
    "url.path",
    "url.query",
    "url.fragment",
];

pub(crate) fn cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/elastic/parity.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn encode(record: &Value) -> Value {
    let text = serde_json::to_string(record).unwrap();
    let rec = Record::from_json(&text, "content-1").unwrap();
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "c0ffee00-0000-4000-8000-000000000001",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    Encoder::new(Format::Ecs, FormatOptions::default()).encode(&rec, &origin, &mut out);
    serde_json::from_slice(&out).unwrap()
}

/// Leaves by dotted path; arrays of objects are walked element by element (`[i]`).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// Under `o365.audit` Elastic turns some numbers into strings (RecordType, UserType, …);
/// we keep the record's JSON types on purpose, so compare the text of scalars there.
fn same(path: &str, ours: &Value, elastic: &Value) -> bool {
    if ours == elastic {
        return true;
    }
    if !path.starts_with("o365.audit.") {
        return false;
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (ours, elastic) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(path, x, y))
        }
        _ => text(ours).is_some() && text(ours) == text(elastic),
    }
}

#[test]
fn every_workload_matches_elastic_pipeline() {
    let cases = cases();
    assert!(cases.len() >= 12, "one case per workload");
    let mut problems = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let deliberate: Vec<&str> = c["deliberate"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let covered = |p: &str| {
            deliberate.iter().any(|d| {
                p == *d || p.starts_with(&format!("{d}.")) || p.starts_with(&format!("{d}["))
            })
        };
        let mut ours = BTreeMap::new();
        flatten("", &encode(&c["record"]), &mut ours);
        let mut elastic = BTreeMap::new();
        flatten("", &c["elastic"], &mut elastic);
        for (path, want) in &elastic {
            if covered(path) {
                continue;
            }
            match ours.get(path) {
                None => problems.push(format!("{name}: missing {path} = {want}")),
                Some(got) if !same(path, got, want) => {
                    problems.push(format!("{name}: {path} = {got}, Elastic: {want}"))
                }
                Some(_) => {}
            }
        }
        for (path, got) in &ours {
            if elastic.contains_key(path) || covered(path) {
                continue;
            }
            if !OUR_ADDITIONS.iter().any(|a| path.starts_with(a)) {
                problems.push(format!("{name}: extra {path} = {got}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn parity_documents_match_official_ecs_definitions() {
    let dir_v = std::env::var("O365FWD_VALIDATORS_DIR")
        .unwrap_or_else(|_| "/opt/o365fwd-validators".into());
    let flat = Path::new(&dir_v).join("node_modules/@elastic/ecs/build/commonjs/ecs_flat.js");
    let has_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !crate::formats::validator_available(
        "node + @elastic/ecs 9.4.0 (npm)",
        has_node && flat.is_file(),
    ) {
        return;
    }
    let cases = cases();
    let input: String = cases
        .iter()
        .map(|c| format!("{}\n", encode(&c["record"])))
        .collect();
    ecs_check(&input, cases.len());
}

/// Runs the official ECS definitions check on NDJSON documents (panics on violations).
pub(crate) fn ecs_check(input: &str, docs: usize) {
    let dir_v = std::env::var("O365FWD_VALIDATORS_DIR")
        .unwrap_or_else(|_| "/opt/o365fwd-validators".into());
    let mut cmd = Command::new("node");
    cmd.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats/validators/ecs_check.js"),
    )
    .arg(&dir_v);
    let out = crate::formats::run(cmd, input);
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ecs_check: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(summary["errors"], serde_json::json!([]), "ECS violations");
    assert_eq!(summary["docs"], docs);
}
