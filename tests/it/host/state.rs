//! A damaged state directory (what a power loss or a bad disk leaves): the agent exits 1
//! with a message naming the directory, what is damaged and what to do, never a sled panic;
//! `state reset --all` moves it aside; the file sink then appends and never cuts what it
//! delivered under the lost state.

use std::path::Path;
use std::time::Duration;

use o365fwd::record::ContentType;

use crate::harness::{Agent, BIN, Env, read_ids, run_cli, sim_config, tail};

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Damage done to sled's log file, as a power loss or a failing disk leaves it.
fn damage(db: &Path, how: &str) {
    use std::io::{Seek, SeekFrom, Write};
    let bytes = std::fs::read(db).unwrap();
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    match how {
        // The tail of the log lost: sled silently recovers an earlier point.
        "truncated" => f.set_len(bytes.len() as u64 / 2).unwrap(),
        // The whole file lost: sled silently starts over, empty.
        "emptied" => f.set_len(0).unwrap(),
        // One segment overwritten by another: sled's recovery asserts (a panic).
        "segment overwritten" => {
            f.seek(SeekFrom::Start(512 * 1024)).unwrap();
            f.write_all(&bytes[..bytes.len().min(512 * 1024)]).unwrap();
        }
        other => panic!("{other}"),
    }
    f.sync_all().unwrap();
}

/// Waits (up to 60 s) until every id of `ids` is in the output twice.
async fn each_twice(env: &Env, ids: &std::collections::BTreeSet<String>) -> bool {
    super::until(Duration::from_secs(60), || {
        let got = crate::harness::read_ids_settled(&env.out);
        ids.iter().all(|id| got.get(id) == Some(&2))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_state_is_a_clear_error_and_reset_never_cuts_the_file() {
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;
    let want = env.expected();
    let agent = env.spawn();
    assert!(
        env.wait_for(&want, Duration::from_secs(60)).await,
        "{}",
        tail(&env.log(), 20)
    );
    agent.stop();
    env.assert_exactly_once(&want);
    let delivered = std::fs::read(&env.out).unwrap();
    let state = env.dir.path().join("state");
    let good = env.dir.path().join("state.good");
    copy_dir(&state, &good);
    let config = env.config.to_str().unwrap();

    for how in ["truncated", "emptied", "segment overwritten"] {
        copy_dir(&good, &state);
        damage(&state.join("db"), how);
        let log = env.dir.path().join("damaged.log");
        let child = std::process::Command::new(BIN)
            .args(["run", "--config", config])
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // Before the fix, a rolled-back or emptied store was opened silently: the agent
        // ran on (and cut the file back), so it must exit by itself here.
        let code = Agent { child }.wait(Duration::from_secs(30));
        let err = std::fs::read_to_string(&log).unwrap();
        assert_eq!(code, Some(1), "{how}: exits 1\n{err}");
        for part in [
            format!("the state directory {} is damaged", state.display()),
            "state reset --all".to_string(),
        ] {
            assert!(err.contains(&part), "{how}: {part:?} in\n{err}");
        }
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{how}: sled's panic stays off the terminal\n{err}"
        );
        assert_eq!(
            std::fs::read(&env.out).unwrap(),
            delivered,
            "{how}: the output is untouched"
        );
    }

    // Without --yes and without a terminal, nothing is changed.
    let (code, _, err) = run_cli(&["state", "reset", "--all", "--config", config]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--yes"), "{err}");
    let (code, out, err) = run_cli(&["state", "reset", "--all", "--yes", "--config", config]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Moved the damaged state to"), "{out}");
    assert!(out.contains("fetched and delivered again"), "{out}");
    let aside: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged files are kept aside");

    // A new state fetches everything again; the file keeps what it held and appends.
    let agent = env.spawn();
    let twice = each_twice(&env, &want).await;
    agent.stop();
    assert!(
        twice,
        "every record again, appended; log:\n{}",
        tail(&env.log(), 20)
    );
    let now = std::fs::read(&env.out).unwrap();
    assert!(
        now.starts_with(&delivered),
        "nothing delivered before was cut"
    );
    assert_eq!(read_ids(&env.out).len(), want.len());
    assert!(
        env.log().contains("cannot vouch for"),
        "{}",
        tail(&env.log(), 20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_reset_of_one_feed_says_what_is_fetched_again_and_does_it() {
    let env = Env::start(
        sim_config(1, &[ContentType::General, ContentType::Exchange]),
        "",
    )
    .await;
    let want = env.expected();
    let agent = env.spawn();
    assert!(env.wait_for(&want, Duration::from_secs(60)).await);
    let config = env.config.to_str().unwrap();
    let reset = [
        "state",
        "reset",
        "--feed",
        "t0/Audit.General",
        "--yes",
        "--config",
        config,
    ];
    // The agent holds the state: reset refuses.
    let (code, _, err) = run_cli(&reset);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("in use by another o365fwd process"), "{err}");
    agent.stop();
    let (code, out, err) = run_cli(&reset);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("reset 1 feed(s)"), "{out}");
    assert!(out.contains("t0/Audit.General"), "{out}");
    assert!(out.contains("fetched and delivered again"), "{out}");
    let general: std::collections::BTreeSet<String> = env
        .sim
        .expected_ids(&env.sim.config().tenants[0].tenant_id, ContentType::General);
    let agent = env.spawn();
    let done = each_twice(&env, &general).await;
    agent.stop();
    assert!(
        done,
        "the reset feed is delivered again: {}",
        tail(&env.log(), 20)
    );
    for (id, n) in read_ids(&env.out) {
        let expect = if general.contains(&id) { 2 } else { 1 };
        assert_eq!(n, expect, "{id}: only the reset feed is fetched again");
    }
}
