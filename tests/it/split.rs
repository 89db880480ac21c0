//! `reassemble_split_records`: merged views of Dynamics 365 records split for size, on top
//! of every part delivered as itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use o365fwd::record::ContentType;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_views_come_in_addition_to_every_part() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.backlog = Duration::from_secs(8 * 3600);
    sim.blob_interval = Duration::from_secs(5 * 60);
    sim.duplicate_rate = 0.2;
    let merged_path =
        std::env::temp_dir().join(format!("o365fwd-merged-{}.ndjson", std::process::id()));
    let _ = std::fs::remove_file(&merged_path);
    let sinks = format!(
        "[sinks.merged]\ntype = \"file\"\npath = \"{}\"\nformat = \"raw\"\nreassemble_split_records = true\nsplit_horizon = \"1s\"\n",
        merged_path.display()
    );
    let env = Env::start_with_sinks(sim, "", &sinks).await;
    let want = env.expected();
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(90)).await,
        "{}",
        tail(&env.log(), 30)
    );
    tokio::time::sleep(Duration::from_secs(3)).await; // horizon passes; idle timer fires
    agent.stop();
    env.assert_exactly_once(&want);

    let text = std::fs::read_to_string(&merged_path).unwrap();
    let _ = std::fs::remove_file(&merged_path);
    let mut originals: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut merged = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("O365fwdParts").is_some() {
            merged.push(v);
        } else {
            let id = v["Id"].as_str().unwrap().to_string();
            assert!(
                originals.insert(id, v).is_none(),
                "every part delivered once"
            );
        }
    }
    let got: BTreeSet<String> = originals.keys().cloned().collect();
    assert_eq!(
        got, want,
        "the reassembling sink still gets every original record"
    );
    assert!(
        !merged.is_empty(),
        "the simulator splits RetrieveMultiple/ExportToExcel records"
    );
    let mut merged_ids = BTreeSet::new();
    for m in &merged {
        assert!(
            merged_ids.insert(m["Id"].as_str().unwrap().to_string()),
            "each merged view once"
        );
        let parts: Vec<&str> = m["O365fwdParts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(parts.len() >= 2, "{m}");
        let corr = m["CorrelationId"].as_str().unwrap();
        let mut union = Vec::new();
        for p in &parts {
            let part = originals
                .get(*p)
                .unwrap_or_else(|| panic!("part {p} was delivered"));
            assert_eq!(part["CorrelationId"].as_str(), Some(corr));
            if let Some(q) = part["QueryResults"].as_str() {
                union.extend(q.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            }
        }
        if let Some(q) = m["QueryResults"].as_str() {
            let merged_q: BTreeSet<&str> = q.split(',').filter(|s| !s.is_empty()).collect();
            let union: BTreeSet<&str> = union.iter().map(String::as_str).collect();
            assert_eq!(merged_q, union, "QueryResults of all parts, once each");
        }
    }
    assert!(
        merged
            .iter()
            .any(|m| m["O365fwdPartial"] == serde_json::Value::Bool(false)),
        "groups completed by the horizon are not marked partial"
    );
    // The plain archive sink has no merged views.
    assert!(env.delivered().keys().all(|id| !id.ends_with("+m")));
}
