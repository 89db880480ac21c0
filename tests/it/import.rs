//! `o365fwd import`: Purview audit exports (CSV with an AuditData column, JSON) delivered
//! through a sink, deduplicated by record id, a malformed line reported with its number.

use std::collections::BTreeSet;
use std::path::PathBuf;

use o365fwd::record::ContentType;

use crate::harness::{Env, read_ids, run_cli, sim_config};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
        .display()
        .to_string()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const ALL: [&str; 5] = [
    "imp-0001-aad",
    "imp-0002-exo",
    "imp-0003-crm",
    "imp-0004-spo",
    "imp-0005-dlp",
];

#[tokio::test]
async fn csv_export_with_a_malformed_line() {
    // Tenant 1's id is the fixtures' OrganizationId.
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;
    let out = env.dir.path().join("imported.ndjson");
    let file = fixture("purview-export.csv");
    let (code, _, err) = run_cli(&[
        "import",
        "--config",
        env.config.to_str().unwrap(),
        "--sink",
        "archive",
        "--output",
        out.to_str().unwrap(),
        &file,
    ]);
    assert_eq!(code, 1, "a failed line makes the exit code 1: {err}");
    assert!(
        err.contains("line 5: malformed CSV row"),
        "line number reported: {err}"
    );
    let got = read_ids(&out);
    assert!(got.values().all(|n| *n == 1), "duplicates dropped: {got:?}");
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&ALL),
        "the rest imported"
    );
    assert!(
        err.contains(
            "5 records delivered to archive, 1 duplicates skipped, 6 records read, 1 lines failed"
        ),
        "summary: {err}"
    );
    assert!(env.sim.requests().is_empty(), "import never calls the API");
}

#[tokio::test]
async fn json_export_in_ecs_with_content_types_inferred() {
    let env = Env::start_with_sinks(
        sim_config(1, &[ContentType::General]),
        "",
        "[sinks.ecs]\ntype = \"file\"\npath = \"ecs.ndjson\"\nformat = \"ecs\"\n",
    )
    .await;
    let out = env.dir.path().join("imported-ecs.ndjson");
    let (code, _, err) = run_cli(&[
        "import",
        "--config",
        env.config.to_str().unwrap(),
        "--sink",
        "ecs",
        "--output",
        out.to_str().unwrap(),
        &fixture("purview-export.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 5, "one document per distinct record:\n{text}");
    let dlp = docs
        .iter()
        .find(|d| text_of(d).contains("imp-0005-dlp"))
        .unwrap();
    assert!(
        text_of(dlp).contains("DLP.All"),
        "DLP record type → DLP.All: {dlp}"
    );
    let crm = docs
        .iter()
        .find(|d| text_of(d).contains("imp-0003-crm"))
        .unwrap();
    assert!(text_of(crm).contains("Audit.General"), "{crm}");
    assert!(err.contains("1 duplicates skipped"), "{err}");
}

fn text_of(v: &serde_json::Value) -> String {
    v.to_string()
}

#[tokio::test]
async fn import_requires_a_known_tenant_or_tenant_flag() {
    let env = Env::start(sim_config(2, &[ContentType::General]), "").await;
    let out = env.dir.path().join("t1.ndjson");
    // Route everything to the second tenant: its OrganizationId no longer matters.
    let (code, _, err) = run_cli(&[
        "import",
        "--config",
        env.config.to_str().unwrap(),
        "--sink",
        "archive",
        "--tenant",
        "t1",
        "--output",
        out.to_str().unwrap(),
        &fixture("purview-export.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_ids(&out).len(), 5);
    let (code, _, err) = run_cli(&[
        "import",
        "--config",
        env.config.to_str().unwrap(),
        "--sink",
        "nope",
        "--output",
        out.to_str().unwrap(),
        &fixture("purview-export.json"),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown sink \"nope\""), "{err}");
}
