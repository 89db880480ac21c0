//! `o365fwd state show` while the agent runs: sled lets only the agent open the state, so the
//! command asks the agent's `[agent] listen` endpoint (`/state`) for the same report.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;

use crate::harness::{Env, run_cli, sim_config};

/// `state show --json`: records done per feed.
fn done_per_feed(json: &str) -> BTreeMap<String, u64> {
    let v: Vec<serde_json::Value> =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not a JSON report: {e}: {json}"));
    v.iter()
        .map(|f| {
            let feed = f["feed"].as_str().expect("feed").to_string();
            (feed, f["records_done"].as_u64().expect("records_done"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_show_reports_from_the_running_agent() {
    let sim = sim_config(1, &[ContentType::General, ContentType::Exchange]);
    let port = crate::service::support::free_port();
    // An unspecified address: `state show` reaches it on this host's loopback.
    let env = Env::start(sim, &format!("listen = \"0.0.0.0:{port}\"")).await;
    let config = env.config.to_str().unwrap().to_string();
    let want = env.expected();
    let agent = env.spawn();

    // Once the agent serves (it opened the state first), the report comes from it and
    // follows its progress until every record is committed.
    let url = format!("http://127.0.0.1:{port}/state");
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while http.get(&url).send().await.is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the agent never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut last;
    let running = loop {
        let (code, out, err) = run_cli(&["state", "show", "--json", "--config", &config]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("this report is from it"), "{err}");
        let done = done_per_feed(&out);
        if done.values().sum::<u64>() == want.len() as u64 {
            break done;
        }
        last = format!("{done:?} of {}", want.len());
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the agent's report never showed every record committed: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let tenant = &env.sim.config().tenants[0].tenant_id;
    let feeds: Vec<String> = running.keys().cloned().collect();
    assert_eq!(
        feeds,
        vec![
            format!("{tenant}/Audit.Exchange"),
            format!("{tenant}/Audit.General")
        ]
    );

    let (code, text, err) = run_cli(&["state", "show", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    let state_dir = env.dir.path().join("state");
    assert!(
        text.starts_with(&format!("state {} (", state_dir.display())),
        "{text}"
    );
    for f in &feeds {
        assert!(
            text.contains(&format!("feed {f}\n  cursor: listed until ")),
            "{text}"
        );
    }
    assert!(text.contains("sink archive: "), "{text}");

    // The endpoint itself: JSON by Accept, text by default, a clear refusal of the unknown.
    let r = http
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(done_per_feed(&r.text().await.unwrap()), running);
    let r = http.get(&url).send().await.unwrap();
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert!(r.text().await.unwrap().starts_with("state "));
    let r = http.get(format!("{url}?format=yaml")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expected json or text"));
    agent.stop();

    // Stopped, the CLI reads the state itself: the same report.
    let (code, out, err) = run_cli(&["state", "show", "--json", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("this report is from it"), "{err}");
    assert_eq!(done_per_feed(&out), running);
    let (code, local, err) = run_cli(&["state", "show", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    let shape = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("feed ") || l.starts_with("  done: "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(shape(&local), shape(&text));
}
