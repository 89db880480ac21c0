//! `o365fwd replay`: a past sub-range delivered again, exactly the simulator's records for
//! that range, once each, without moving the daemon's cursor or touching its output file.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta};
use o365fwd::record::ContentType;

use crate::harness::{Env, read_ids, run_cli, sim_config, tail};

/// Multi-threaded: the in-process simulator must keep serving while the test waits for the
/// replay process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_redelivers_a_sub_range_without_moving_the_cursor() {
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;
    let want = env.expected();
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "daemon did not deliver the backlog; log:\n{}",
        tail(&env.log(), 30)
    );
    agent.stop();
    let config = env.config.to_str().unwrap();
    let state_before = run_cli(&["state", "show", "--config", config, "--json"]);
    assert_eq!(state_before.0, 0, "{}", state_before.2);
    assert!(
        state_before.1.contains("\"cursor\": \"20"),
        "{}",
        state_before.1
    );
    let daemon_out = std::fs::read(&env.out).unwrap();

    let tenant = env.sim.config().tenants[0].tenant_id.clone();
    let now = env.sim.now().duration_trunc(TimeDelta::seconds(1)).unwrap();
    let (from, to) = (now - TimeDelta::minutes(125), now - TimeDelta::minutes(55));
    let expected = env
        .sim
        .expected_ids_between(&tenant, ContentType::General, from, to);
    assert!(expected.len() > 10, "the range holds records");
    let replayed = env.dir.path().join("replay.ndjson");
    let (from_s, to_s) = (from.to_rfc3339(), to.to_rfc3339());
    let args = [
        "replay",
        "--config",
        config,
        "--tenant",
        "t0",
        "--content-type",
        "Audit.General",
        "--from",
        &from_s,
        "--to",
        &to_s,
        "--sink",
        "archive",
        "--output",
        replayed.to_str().unwrap(),
    ];
    let (code, _out, err) = run_cli(&args);
    assert_eq!(code, 0, "replay failed: {err}");
    let got = read_ids(&replayed);
    assert!(got.values().all(|n| *n == 1), "each record once");
    let ids: std::collections::BTreeSet<String> = got.keys().cloned().collect();
    assert_eq!(ids, expected, "exactly the range's records");
    assert!(
        err.contains(&format!("{} records delivered to archive", expected.len())),
        "summary: {err}"
    );

    let state_after = run_cli(&["state", "show", "--config", config, "--json"]);
    assert_eq!(
        state_after.1, state_before.1,
        "replay leaves the daemon's state alone"
    );
    assert_eq!(
        std::fs::read(&env.out).unwrap(),
        daemon_out,
        "daemon's file untouched"
    );

    // Again while the daemon runs (it holds the lock on its state directory).
    let agent = env.spawn();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let again = env.dir.path().join("replay-live.ndjson");
    let mut live = args.to_vec();
    live.pop();
    live.push(again.to_str().unwrap());
    let (code, _, err) = run_cli(&live);
    assert_eq!(code, 0, "replay beside a running daemon: {err}");
    let ids: std::collections::BTreeSet<String> = read_ids(&again).keys().cloned().collect();
    assert_eq!(ids, expected);
    agent.stop();
}

#[tokio::test]
async fn replay_refuses_bad_ranges_and_unsafe_outputs() {
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;
    let config = env.config.to_str().unwrap();
    let out = env.out.to_str().unwrap();
    let elsewhere = env.dir.path().join("x.ndjson");
    let elsewhere = elsewhere.to_str().unwrap();
    let base = [
        "replay",
        "--config",
        config,
        "--tenant",
        "t0",
        "--content-type",
        "Audit.General",
    ];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--from", "8days", "--to", "1h", "--output", elsewhere],
            "older than the 7 days",
        ),
        (
            &["--from", "2h", "--to", "3h", "--output", elsewhere],
            "--to must be after --from",
        ),
        (
            &[
                "--from",
                "2h",
                "--to",
                "2099-01-01T00:00:00Z",
                "--output",
                elsewhere,
            ],
            "in the future",
        ),
        (&["--from", "2h", "--to", "1h"], "--output"),
        (
            &["--from", "2h", "--to", "1h", "--output", out],
            "is the file of configured sink archive",
        ),
    ];
    for (extra, needle) in cases {
        let args: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        let (code, _, err) = run_cli(&args);
        assert_eq!(code, 2, "{extra:?} is a usage error: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    assert!(
        env.sim.requests().is_empty(),
        "nothing is asked of the API before the checks"
    );
}
