//! `o365fwd backfill` end to end: the real binary against the simulator's Graph audit
//! search (simulated query time compressed to a fraction of a second), killed with SIGKILL
//! and resumed, meeting a running daemon, with the service's faults switched on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use o365fwd::record::ContentType;
use o365fwd::sim::SimConfig;

use crate::harness::{BIN, Env, read_ids, read_ids_settled, run_cli, sim_config, tail};

mod kafka;
mod mapping;

/// `days` of history (plus the hours before now), with query times of a fraction of a
/// second and pages of 50 records.
pub(super) fn graph_sim(cts: &[ContentType], days: u64) -> SimConfig {
    let mut sim = sim_config(1, cts);
    sim.backlog = Duration::from_secs(days * 86_400 + 4 * 3600);
    sim.blob_interval = Duration::from_secs(4 * 3600);
    sim.records_per_blob = (2, 6);
    sim.graph.not_started_for = Duration::from_millis(30);
    sim.graph.running_for = Duration::from_millis(100);
    sim.graph.page_size = 50;
    sim
}

pub(super) fn now(env: &Env) -> DateTime<Utc> {
    env.sim.now().duration_trunc(TimeDelta::seconds(1)).unwrap()
}

pub(super) fn tenant(env: &Env) -> String {
    env.sim.config().tenants[0].tenant_id.clone()
}

/// The backfill arguments every test shares (`extra` last).
pub(super) fn args(
    env: &Env,
    from: &str,
    to: Option<&str>,
    output: &Path,
    extra: &[&str],
) -> Vec<String> {
    let mut a = vec![
        "backfill".to_string(),
        "--config".into(),
        env.config.display().to_string(),
        "--tenant".into(),
        "t0".into(),
        "--from".into(),
        from.into(),
        "--output".into(),
        output.display().to_string(),
        "--poll-interval".into(),
        "20ms".into(),
    ];
    if let Some(to) = to {
        a.extend(["--to".to_string(), to.to_string()]);
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

pub(super) fn spawn(args: &[String], log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("backfill starts")
}

/// Runs to the end off the async runtime (the simulator keeps serving); (code, stderr).
pub(super) async fn finish(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = run_cli(&a);
        (code, err)
    })
    .await
    .unwrap()
}

pub(super) async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) fn kill(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

pub(super) fn plan(env: &Env) -> serde_json::Value {
    let dir = env.dir.path().join("state/backfill");
    let job = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_json::from_slice(&std::fs::read(job.join("plan.json")).unwrap()).unwrap()
}

fn assert_once(got: &BTreeMap<String, usize>, want: &BTreeSet<String>, log: &str) {
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "delivered twice: {dups:?}");
    let ids: BTreeSet<String> = got.keys().cloned().collect();
    assert!(
        &ids == want,
        "missing {}, unexpected {}; log:\n{}",
        want.difference(&ids).count(),
        ids.difference(want).count(),
        tail(log, 30)
    );
}

/// 90 days into a file sink, killed three times (once queries are out, twice mid-delivery)
/// and resumed: every record of the range exactly once, and no query made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_days_exactly_once_into_a_file_through_sigkills() {
    let mut sim = graph_sim(&[ContentType::General, ContentType::SharePoint], 92);
    sim.graph.record_limit = 120; // 3-day slices hold more: they are split
    sim.graph.failures = 2;
    sim.graph.repeat_rate = 0.03;
    let env = Env::start(sim, "").await;
    let now = now(&env);
    let (from, to) = (now - TimeDelta::days(90), now - TimeDelta::hours(1));
    let want = env.sim.graph_expected_ids(&tenant(&env), from, to);
    assert!(want.len() > 2000, "{}", want.len());
    let out = env.dir.path().join("history.ndjson");
    let log = env.dir.path().join("backfill.log");
    let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
    let a = args(
        &env,
        &f,
        Some(&t),
        &out,
        &["--slice", "3d", "--concurrency", "6"],
    );

    let run = spawn(&a, &log);
    wait_until("queries", Duration::from_secs(30), || {
        env.sim.graph_stats().queries_created >= 4
    })
    .await;
    kill(run);
    for share in [0.3, 0.65] {
        let mut run = spawn(&a, &log);
        let n = (want.len() as f64 * share) as usize;
        wait_until("records", Duration::from_secs(60), || {
            read_ids_settled(&out).len() >= n
        })
        .await;
        if share < 0.5 {
            // SIGTERM: a clean stop that says it is incomplete (exit 1).
            unsafe { libc::kill(run.id() as i32, libc::SIGTERM) };
            let code = tokio::task::spawn_blocking(move || run.wait().unwrap().code())
                .await
                .unwrap();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(code, Some(1), "{}", tail(&text, 20));
            assert!(
                text.contains("run the same command again"),
                "{}",
                tail(&text, 5)
            );
        } else {
            kill(run);
        }
    }
    let (code, err) = finish(a.clone()).await;
    let all = format!("{}{err}", std::fs::read_to_string(&log).unwrap_or_default());
    assert_eq!(code, 0, "{}", tail(&all, 30));
    assert_once(&read_ids(&out), &want, &all);

    // Each slice's query made once, however the kills fell: the initial 30 slices, two
    // for each split, and one more for each query the service failed.
    let p = plan(&env);
    let slices = p["slices"].as_array().unwrap().len() as u32;
    let splits = slices - 30;
    assert!(splits > 0, "the record limit split slices");
    assert_eq!(env.sim.graph_stats().queries_created, 30 + 2 * splits + 2);
    assert!(p["finished"].is_string());

    // The same command again: nothing to do.
    let (code, err) = finish(a).await;
    assert_eq!(code, 0);
    assert!(err.contains("nothing to do"), "{err}");
}

/// A running daemon and a backfill up to where its live feed begins (the default `--to`):
/// together every record once, the ones the daemon delivered from before its start left
/// out (and counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meets_the_running_daemon_without_a_hole_or_a_double() {
    let mut sim = graph_sim(&[ContentType::General], 12);
    sim.blob_interval = Duration::from_secs(1800);
    let env = Env::start(sim, "initial_lookback = \"2d\"\n").await;
    let agent = env.spawn();
    let tid = tenant(&env);
    let coverage = env
        .dir
        .path()
        .join(format!("state/coverage/{tid}.Audit.General.json"));
    wait_until("coverage", Duration::from_secs(30), || coverage.exists()).await;
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&coverage).unwrap()).unwrap();
    let live_from: DateTime<Utc> = doc["from"].as_str().unwrap().parse().unwrap();
    let live = env.sim.expected_ids_between(
        &tid,
        ContentType::General,
        live_from,
        env.sim.now() + TimeDelta::hours(1),
    );
    assert!(live.len() > 50, "{}", live.len());
    assert!(
        env.wait_for(&live, Duration::from_secs(60)).await,
        "daemon did not deliver; log:\n{}",
        tail(&env.log(), 30)
    );
    let out = env.dir.path().join("history.ndjson");
    let from = "10d";
    let (code, err) = finish(args(&env, from, None, &out, &["--slice", "2d"])).await;
    agent.stop();
    assert_eq!(code, 0, "{err}");

    let (_, shown, _) = run_cli(&[
        "state",
        "show",
        "--config",
        &env.config.display().to_string(),
    ]);
    assert!(shown.contains("live feed begins"), "{shown}");
    let daemon = env.delivered();
    let history = read_ids(&out);
    let both: Vec<&String> = history.keys().filter(|k| daemon.contains_key(*k)).collect();
    assert!(
        both.is_empty(),
        "delivered by both: {:?}",
        &both[..both.len().min(5)]
    );
    // Together: every record from --from on, each once.
    let p = plan(&env);
    let start: DateTime<Utc> = p["from"].as_str().unwrap().parse().unwrap();
    let want = env
        .sim
        .graph_expected_ids(&tid, start, env.sim.now() + TimeDelta::hours(1));
    let mut union = daemon.clone();
    for (k, n) in &history {
        *union.entry(k.clone()).or_insert(0) += n;
    }
    assert_once(&union, &want, &err);
    let overlap: u64 = err
        .split(" already delivered by the live feed")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        overlap > 0,
        "the daemon delivered records from before its start: {err}"
    );
    let to: DateTime<Utc> = p["to"].as_str().unwrap().parse().unwrap();
    assert!(
        to >= live_from && to - live_from < TimeDelta::seconds(1),
        "--to defaults to the live feed's start ({live_from}), to the second: {to}"
    );
}

/// A live feed that has not yet listed a day past its start may still deliver records from
/// before it: the backfill's last day waits for that, and is left for the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_day_waits_for_the_live_feed_to_settle() {
    let sim = graph_sim(&[ContentType::General], 4);
    let env = Env::start(sim, "initial_lookback = \"1h\"\n").await;
    let agent = env.spawn();
    let coverage = env.dir.path().join(format!(
        "state/coverage/{}.Audit.General.json",
        tenant(&env)
    ));
    wait_until("coverage", Duration::from_secs(30), || coverage.exists()).await;
    let out = env.dir.path().join("history.ndjson");
    let extra = ["--slice", "12h", "--query-timeout", "1s"];
    let (code, err) = finish(args(&env, "3d", None, &out, &extra)).await;
    agent.stop();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("has not yet listed a day past its start"),
        "{err}"
    );
    assert!(err.contains("run the same command again"), "{err}");
    let p = plan(&env);
    let live: DateTime<Utc> = p["live_from"]["Audit.General"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let start: DateTime<Utc> = p["from"].as_str().unwrap().parse().unwrap();
    // Slices ending within a day of the live feed's start wait; those before are delivered.
    let held = p["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let t = |k: &str| s[k].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
            (t("from"), t("to"))
        })
        .filter(|(_, to)| *to > live - TimeDelta::days(1))
        .map(|(from, _)| from)
        .min()
        .unwrap();
    let want = env.sim.graph_expected_ids(&tenant(&env), start, held);
    let got: BTreeSet<String> = read_ids(&out).keys().cloned().collect();
    assert!(want.len() > 20, "{}", want.len());
    assert_eq!(got, want, "everything before the last day, nothing of it");
}

/// The service's faults: a failed query made again, throttling waited out (no request
/// before Retry-After), a nextLink to another host refused (the token never goes there), a
/// malformed page asked for again; everything delivered, everything reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_survived_and_reported() {
    let mut sim = graph_sim(&[ContentType::General], 6);
    sim.blob_interval = Duration::from_secs(3600); // two pages a day: a nextLink to follow
    sim.graph.failures = 1;
    sim.graph.throttle_every = Some(9);
    sim.graph.hostile_next_link = true;
    sim.graph.malformed_pages = 1;
    let env = Env::start(sim, "").await;
    let now = now(&env);
    let (from, to) = (now - TimeDelta::days(4), now - TimeDelta::hours(2));
    let want = env.sim.graph_expected_ids(&tenant(&env), from, to);
    let out = env.dir.path().join("history.ndjson");
    let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
    let (code, err) = finish(args(&env, &f, Some(&t), &out, &["--slice", "1d"])).await;
    assert_eq!(code, 0, "{err}");
    assert_once(&read_ids(&out), &want, &err);
    let st = env.sim.graph_stats();
    assert_eq!(
        st.queries_created,
        4 + 1,
        "four slices (the last one short), one failed"
    );
    assert!(st.throttled >= 2, "{st:?}");
    assert_eq!(st.too_early, 0, "every Retry-After honoured: {st:?}");
    assert_eq!(st.malformed_served, 1);
    // The link was refused, not followed: the other host heard nothing, least of all a token.
    let evil = env.sim.evil_requests();
    assert!(
        evil.iter().all(|r| !r.had_authorization),
        "a bearer token went to the other host"
    );
    assert!(evil.is_empty(), "{evil:?}");
    assert!(
        env.sim
            .requests()
            .iter()
            .filter(|r| r.path.contains("/security/auditLog/"))
            .all(|r| r.had_authorization),
        "every request to the Graph host carried the token"
    );
    for needle in [
        "1 failed by the service",
        "1 malformed pages",
        "1 links refused",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!err.contains(" 0 throttled"), "{err}");
}

/// Bad arguments are refused before anything is asked of the service; an app without the
/// permission gets told which one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_bad_arguments_and_names_the_missing_permission() {
    let mut sim = graph_sim(&[ContentType::General], 2);
    sim.graph.permitted = false;
    let env = Env::start(sim, "").await;
    let out = env.dir.path().join("h.ndjson");
    let o = out.display().to_string();
    let cases: [(Vec<String>, &str); 5] = [
        (args(&env, "3d", None, &out, &[]), "no live feed"),
        (args(&env, "1d", Some("3d"), &out, &[]), "must be after"),
        (
            args(&env, "1d", Some("1h"), &out, &["--record-type", "4242"]),
            "no known name",
        ),
        (
            args(
                &env,
                "1d",
                Some("1h"),
                &out,
                &["--record-type", "21", "--content-type", "Audit.General"],
            ),
            "cannot be used with",
        ),
        (
            {
                let mut a = args(&env, "1d", Some("1h"), &out, &[]);
                a.retain(|x| x != "--output" && *x != o);
                a
            },
            "--output",
        ),
    ];
    for (a, needle) in cases {
        let (code, err) = finish(a.clone()).await;
        assert_eq!(code, 2, "{a:?}: {err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        env.sim.requests().is_empty(),
        "nothing asked before the checks"
    );

    let (code, err) = finish(args(&env, "1d", Some("1h"), &out, &[])).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("AuditLogsQuery.Read.All") && err.contains("403"),
        "{err}"
    );

    // `check` and the help say which permission backfill needs.
    let config = env.config.display().to_string();
    let (code, out, _) = run_cli(&["check", "--config", &config]);
    assert_eq!(code, 0);
    assert!(
        out.contains("AuditLogsQuery.Read.All") && out.contains("AuditLogsQuery-CRM.Read.All"),
        "{out}"
    );
    let (_, help, _) = run_cli(&["backfill", "--help"]);
    assert!(help.contains("AuditLogsQuery.Read.All"), "{help}");
}
