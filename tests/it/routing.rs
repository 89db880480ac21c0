//! Per-sink filters through the real binary: every record lands in exactly the sinks whose
//! filter admits it, once; a sink that admits nothing stalls neither the pipeline nor the
//! cursor; `filter-test` explains the decisions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;
use serde_json::Value;

use crate::harness::*;

/// One expected record: its feed and its JSON.
struct Truth {
    tenant: usize,
    ct: ContentType,
    v: Value,
}

fn truth(env: &Env) -> BTreeMap<String, Truth> {
    let mut all = BTreeMap::new();
    for (tenant, t) in env.sim.config().tenants.iter().enumerate() {
        for ct in &env.sim.config().content_types {
            for (id, json) in env.sim.expected_records(&t.tenant_id, *ct) {
                let v = serde_json::from_str(&json).expect("simulated records are JSON");
                all.insert(id, Truth { tenant, ct: *ct, v });
            }
        }
    }
    all
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The sinks under test, and each one's expectation written independently of the filter
/// code (plain string comparisons on the simulator's records).
type Expect = fn(&Truth) -> bool;
const SINKS: [(&str, &str, Expect); 5] = [
    (
        "crm",
        "include = { workload = [\"CRM\"] }\nexclude = { operation = [\"Retrieve\", \"RetrieveCurrent*\"] }\n",
        |t| {
            let op = s(&t.v, "Operation");
            s(&t.v, "Workload") == "CRM" && op != "Retrieve" && !op.starts_with("RetrieveCurrent")
        },
    ),
    (
        "crm_writes",
        "include = { crm_access = [\"Create\", \"Update\", \"Delete\"] }\n",
        |t| {
            s(&t.v, "Workload") == "CRM"
                && matches!(s(&t.v, "Message"), "Create" | "Update" | "Delete")
        },
    ),
    (
        "aad_t1",
        "include = { content_type = [\"Audit.AzureActiveDirectory\"], tenant = [\"t1\"] }\n",
        |t| t.ct == ContentType::AzureActiveDirectory && t.tenant == 1,
    ),
    (
        "mixed",
        "[[sinks.mixed.filter.include]]\nworkload = [\"MicrosoftTeams\", \"powerbi\"]\n\
         [[sinks.mixed.filter.include]]\ncontent_type = [\"Audit.Exchange\"]\n\
         [sinks.mixed.filter.exclude]\nuser_type = [\"DcAdmin\"]\n",
        |t| {
            (matches!(s(&t.v, "Workload"), "MicrosoftTeams" | "PowerBI")
                || t.ct == ContentType::Exchange)
                && t.v["UserType"].as_i64() != Some(3)
        },
    ),
    (
        "none",
        "include = { workload = [\"NoSuchWorkload\"] }\n",
        |_| false,
    ),
];

fn sink_table(name: &str, filter: &str, dir: &Path) -> String {
    let filter = if filter.starts_with("[[") || filter.starts_with("[sinks") {
        filter.to_string()
    } else {
        format!("[sinks.{name}.filter]\n{filter}")
    };
    format!(
        "[sinks.{name}]\ntype = \"file\"\nformat = \"raw\"\npath = \"{}\"\n{filter}",
        dir.join(format!("{name}.ndjson")).display()
    )
}

fn assert_exactly(path: &Path, want: &BTreeSet<String>, what: &str) {
    let got = read_ids(path);
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(3).collect();
    assert!(dups.is_empty(), "{what}: duplicates {dups:?}");
    let got: BTreeSet<String> = got.into_keys().collect();
    let missing: Vec<_> = want.difference(&got).take(3).collect();
    let extra: Vec<_> = got.difference(want).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} missing (e.g. {missing:?}), {} unexpected (e.g. {extra:?})",
        want.difference(&got).count(),
        got.difference(want).count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_matrix_every_record_exactly_in_the_sinks_that_admit_it() {
    let mut sim = sim_config(
        2,
        &[
            ContentType::General,
            ContentType::AzureActiveDirectory,
            ContentType::Exchange,
        ],
    );
    sim.duplicate_rate = 0.2;
    let dir = tempfile::tempdir().unwrap();
    let tables: String = SINKS
        .iter()
        .map(|(name, filter, _)| sink_table(name, filter, dir.path()))
        .collect();
    let port = crate::service::support::free_port();
    let listen = format!("listen = \"127.0.0.1:{port}\"");
    let env = Env::start_with_sinks(sim, &listen, &tables).await;
    let truth = truth(&env);
    let all: BTreeSet<String> = truth.keys().cloned().collect();
    assert_eq!(all, env.expected());
    let wants: Vec<BTreeSet<String>> = SINKS
        .iter()
        .map(|(_, _, admit)| {
            truth
                .iter()
                .filter(|(_, t)| admit(t))
                .map(|(id, _)| id.clone())
                .collect()
        })
        .collect();
    // Each sink gets a meaningful share, and no sink gets everything.
    for ((name, _, _), want) in SINKS.iter().zip(&wants) {
        if *name != "none" {
            assert!(
                want.len() > 10 && want.len() < all.len(),
                "{name}: {} of {}",
                want.len(),
                all.len()
            );
        }
    }

    let agent = env.spawn();
    let t0 = Instant::now();
    loop {
        let done = read_ids_settled(&env.out).len() >= all.len()
            && SINKS.iter().zip(&wants).all(|((name, _, _), want)| {
                read_ids_settled(&dir.path().join(format!("{name}.ndjson"))).len() >= want.len()
            });
        if done {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "not everything delivered; log:\n{}",
            tail(&env.log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nobody wonders where records went: per sink, delivered + filtered = every record.
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .unwrap();
    for ((name, _, _), want) in SINKS.iter().zip(&wants) {
        let delivered = sum_series(&metrics, "o365fwd_records_delivered_total", name);
        let filtered = sum_series(&metrics, "o365fwd_records_filtered_total", name);
        assert_eq!(delivered, want.len() as u64, "{name} delivered:\n{metrics}");
        assert_eq!(
            filtered,
            (all.len() - want.len()) as u64,
            "{name} filtered:\n{metrics}"
        );
    }
    agent.stop();
    env.assert_exactly_once(&all);
    for ((name, _, _), want) in SINKS.iter().zip(&wants) {
        assert_exactly(&dir.path().join(format!("{name}.ndjson")), want, name);
    }
    let none = dir.path().join("none.ndjson");
    assert_eq!(std::fs::metadata(&none).unwrap().len(), 0);
    // `check` describes what each sink receives.
    let (code, out, _) = run_cli(&["check", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("  archive: file"), "{out}");
    assert!(out.contains("    receives all records"), "{out}");
    assert!(
        out.contains(
            "    receives workload in [CRM]; not operation in [Retrieve, RetrieveCurrent*]"
        ),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_admits_nothing_does_not_stall_the_cursor() {
    let sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    let dir = tempfile::tempdir().unwrap();
    let env = Env::start_with_only_sinks(
        sim,
        "",
        &sink_table(
            "none",
            "include = { workload = [\"NoSuchWorkload\"] }\n",
            dir.path(),
        ),
    )
    .await;
    let want = env.expected().len();
    assert!(want > 50, "{want}");
    let t0 = Instant::now();
    // State is only readable while the agent is stopped: run it in short stretches.
    loop {
        let agent = env.spawn();
        tokio::time::sleep(Duration::from_secs(3)).await;
        agent.stop();
        let feeds = env.state_json();
        assert_eq!(feeds.len(), 2, "{feeds:?}");
        let seen: u64 = feeds.iter().map(|f| f["seen_ids"].as_u64().unwrap()).sum();
        let idle = feeds.iter().all(|f| {
            f["cursor"].is_string()
                && f["in_progress"].as_array().is_some_and(|a| a.is_empty())
                && f["failed"].as_array().is_some_and(|a| a.is_empty())
        });
        if seen as usize == want && idle {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the cursor does not move past filtered records: {seen} of {want} handled; state:\n{feeds:?}\nlog:\n{}",
            tail(&env.log(), 20)
        );
    }
    assert!(read_ids(&dir.path().join("none.ndjson")).is_empty());
}

#[test]
fn filter_test_explains_each_record() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    write(
        &config,
        &format!(
            "[agent]\nstate_dir = \"{}\"\n[tenants.contoso]\ntenant_id = \"41463f53-8812-40f4-890f-865bf6e35190\"\n\
             client_id = \"a6099727-6b7b-482c-b509-1df309acc563\"\nclient_secret = \"x\"\n\
             [sinks.splunk_crm]\ntype = \"stdout\"\n[sinks.splunk_crm.filter]\ninclude = {{ workload = [\"CRM\"] }}\n\
             exclude = {{ operation = [\"WhoAmI\", \"Retrieve*Metadata*\"], user_type = [\"System\"] }}\n",
            dir.path().join("state").display()
        ),
    );
    let records = dir.path().join("records.ndjson");
    write(
        &records,
        "{\"Id\":\"a\",\"RecordType\":21,\"Workload\":\"CRM\",\"Operation\":\"Update\",\"UserType\":0}\n\
         {\"Id\":\"b\",\"RecordType\":21,\"Workload\":\"CRM\",\"Operation\":\"WhoAmI\",\"UserType\":0}\n\
         \n\
         {\"Id\":\"c\",\"RecordType\":21,\"Workload\":\"CRM\",\"Operation\":\"Retrieve\",\"UserType\":4}\n\
         {\"Id\":\"d\",\"RecordType\":15,\"Workload\":\"AzureActiveDirectory\",\"Operation\":\"UserLoggedIn\"}\n",
    );
    let cfg = config.to_str().unwrap();
    let (code, out, err) = run_cli(&[
        "filter-test",
        "--config",
        cfg,
        "--sink",
        "splunk_crm",
        records.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "sink splunk_crm receives workload in [CRM]; not operation in [WhoAmI, Retrieve*Metadata*], not user_type in [System]",
            "PASS a Audit.General CRM Update",
            "DROP b Audit.General CRM WhoAmI (excluded: operation=WhoAmI matches operation in [WhoAmI, Retrieve*Metadata*])",
            "DROP c Audit.General CRM Retrieve (excluded: user_type=System (4) matches user_type in [System])",
            "DROP d Audit.AzureActiveDirectory AzureActiveDirectory UserLoggedIn (not included: workload=AzureActiveDirectory is not in [CRM])",
            "4 records: 1 pass, 3 dropped (excluded:operation 1, excluded:user_type 1, not_included:workload 1)",
        ]
    );
    // Without a file: a simulated sample, which has CRM records to pass and others to drop.
    let (code, out, err) = run_cli(&["filter-test", "--config", cfg, "--sink", "splunk_crm"]);
    assert_eq!(code, 0, "{err}");
    let pass = out.lines().filter(|l| l.starts_with("PASS ")).count();
    let drop = out.lines().filter(|l| l.starts_with("DROP ")).count();
    assert!(pass > 0 && drop > 0, "{out}");
    assert!(
        out.lines()
            .filter(|l| l.starts_with("PASS "))
            .all(|l| l.contains(" CRM ")),
        "{out}"
    );
    let summary = format!("{} records: {pass} pass, {drop} dropped (", pass + drop);
    assert!(out.lines().last().unwrap().starts_with(&summary), "{out}");
    // An unknown sink is an error naming the sinks there are.
    let (code, _, err) = run_cli(&["filter-test", "--config", cfg, "--sink", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("splunk_crm"), "{err}");
}

/// Sum of a counter family's series for one sink, from Prometheus text.
fn sum_series(metrics: &str, family: &str, sink: &str) -> u64 {
    let label = format!("sink=\"{sink}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(&label))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}
