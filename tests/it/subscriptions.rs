//! `o365fwd subscriptions list|start|stop` against the simulator.

use o365fwd::record::ContentType;

use crate::harness::{Env, run_cli, sim_config};

/// Multi-threaded: the in-process simulator serves while the test waits for the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_start_stop() {
    let mut sim = sim_config(2, &[ContentType::General, ContentType::Exchange]);
    sim.subscriptions_enabled = false;
    let env = Env::start(sim, "").await;
    let config = env.config.to_str().unwrap();
    let cmd = |args: &[&str]| {
        let mut all = vec!["subscriptions"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", config]);
        run_cli(&all)
    };
    let (code, out, err) = cmd(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("absent").count(), 4, "{out}");

    let (code, out, err) = cmd(&["start", "--tenant", "t0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("started").count(), 2, "{out}");
    let (_, out, _) = cmd(&["list"]);
    let t0: Vec<&str> = out.lines().filter(|l| l.starts_with("t0 ")).collect();
    assert!(t0.iter().all(|l| l.ends_with("enabled")), "{out}");
    assert_eq!(out.matches("absent").count(), 2, "t1 untouched: {out}");

    let (code, out, err) = cmd(&["stop", "--tenant", "t0", "--content-type", "Audit.Exchange"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Audit.Exchange") && out.contains("stopped"),
        "{out}"
    );
    let (_, out, _) = cmd(&["list", "--tenant", "t0"]);
    assert!(
        out.lines()
            .any(|l| l.contains("Audit.Exchange") && l.ends_with("disabled")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("Audit.General") && l.ends_with("enabled")),
        "{out}"
    );

    let (code, _, err) = cmd(&["list", "--tenant", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no tenant \"nope\""), "{err}");
}
