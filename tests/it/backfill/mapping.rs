//! Records from the Graph audit search map as the live feed maps the same records.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use o365fwd::record::ContentType;

use super::{args, finish, graph_sim, now, tenant};
use crate::harness::{Env, read_ids_settled, tail};

/// Dynamics 365 records from the Graph audit search map exactly as the live feed maps the
/// same records, in every format: the record in `auditData` is the one the Management API
/// serves, byte for byte once Graph's annotation is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamics_records_map_as_the_live_feed_maps_them() {
    let mut sim = graph_sim(&[ContentType::General], 0);
    sim.blob_interval = Duration::from_secs(300);
    let env = Env::start_with_only_sinks(sim, "", "").await;
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    for f in ["raw", "ecs", "cef"] {
        let path = env.dir.path().join(format!("live.{f}"));
        text.push_str(&format!(
            "[sinks.{f}]\ntype = \"file\"\npath = \"{}\"\nformat = \"{f}\"\n",
            path.display()
        ));
    }
    std::fs::write(&env.config, text).unwrap();
    let tid = tenant(&env);
    let all = env.sim.expected_ids(&tid, ContentType::General);
    let agent = env.spawn();
    let live_raw = env.dir.path().join("live.raw");
    let t0 = Instant::now();
    while read_ids_settled(&live_raw).len() < all.len() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{}",
            tail(&env.log(), 20)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    agent.stop();
    let (from, to) = ("2h", (now(&env) + TimeDelta::seconds(1)).to_rfc3339());
    let mut compared = 0;
    for f in ["raw", "ecs", "cef"] {
        let out = env.dir.path().join(format!("history.{f}"));
        let (code, err) = finish(args(&env, from, Some(&to), &out, &["--sink", f])).await;
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("delivered again inside the live feed's range"),
            "{err}"
        );
        let live = lines_by_id(&env.dir.path().join(format!("live.{f}")), f);
        let history = lines_by_id(&out, f);
        assert!(history.len() > 20, "{f}: {}", history.len());
        for (id, line) in &history {
            let mine = live
                .get(id)
                .unwrap_or_else(|| panic!("{f}: {id} not in the live output"));
            assert_eq!(line, mine, "{f}: record {id} maps differently");
            compared += 1;
        }
    }
    let crm = std::fs::read_to_string(env.dir.path().join("history.raw"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"RecordType\":21"))
        .count();
    assert!(
        crm > 20 && compared > 60,
        "{crm} Dynamics records, {compared} lines compared"
    );
}

/// Output lines by record id: raw and ECS are JSON (`Id`, `event.id`), CEF carries the id
/// as `externalId=`.
fn lines_by_id(path: &Path, format: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let id = match format {
                "cef" => l
                    .split("externalId=")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap_or_default()
                    .to_string(),
                _ => {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["Id"]
                        .as_str()
                        .or(v["event"]["id"].as_str())
                        .unwrap_or_default()
                        .to_string()
                }
            };
            (id, l.to_string())
        })
        .collect()
}
