//! Log formats of the real binary: plain text with timestamps by default, no timestamp of our
//! own when stderr is the journal (`JOURNAL_STREAM` names stderr's device and inode, as
//! systemd sets it), JSON lines with `--log-format json`.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;

use crate::harness::{Agent, BIN, Env, sim_config};

/// Runs the agent with `args` and `journal` (set JOURNAL_STREAM to its stderr file) until it
/// logs that it started; returns that line.
fn started_line(env: &Env, name: &str, args: &[&str], journal: bool) -> String {
    let path = env.dir.path().join(name);
    let file = std::fs::File::create(&path).unwrap();
    let meta = file.metadata().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .args(["run", "--config"])
        .arg(&env.config)
        .env("RUST_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .env_remove("O365FWD_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(file);
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    let agent = Agent {
        child: cmd.spawn().unwrap(),
    };
    let t0 = Instant::now();
    let line = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains("o365fwd started")) {
            break l.to_string();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no start line:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    agent.stop();
    line
}

fn starts_with_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_json_and_journald_friendly_logs() {
    let env = Env::start(sim_config(1, &[ContentType::General]), "").await;

    let text = started_line(&env, "text.log", &[], false);
    assert!(starts_with_timestamp(&text), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI colours off a terminal: {text:?}"
    );

    let journal = started_line(&env, "journal.log", &[], true);
    assert!(
        !starts_with_timestamp(&journal),
        "journald stamps lines itself: {journal}"
    );
    assert!(journal.contains("INFO"), "{journal}");

    let json = started_line(&env, "json.log", &["--log-format", "json"], false);
    let v: serde_json::Value = serde_json::from_str(&json).expect("a JSON line");
    assert_eq!(v["level"], "INFO");
    assert!(
        v["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("o365fwd started")
    );
}
