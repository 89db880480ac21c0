//! The command line: bad configurations are clear errors with their own exit code, never a
//! panic; `check` never prints a secret.

use crate::harness::*;

const GOOD: &str = r#"
[agent]
state_dir = "state"
poll_interval = "60s"

[tenants.contoso]
tenant_id = "41463f53-8812-40f4-890f-865bf6e35190"
client_id = "a6099727-6b7b-482c-b509-1df309acc563"
client_secret = "s3cr3t-value-never-printed"
content_types = ["Audit.General"]

[sinks.archive]
type = "file"
path = "archive.ndjson"
format = "raw"
"#;

fn check(text: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    write(&p, text);
    run_cli(&["check", "--config", p.to_str().unwrap()])
}

#[test]
fn good_config_checks_and_hides_the_secret() {
    let (code, out, err) = check(GOOD);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("contoso") && out.contains("41463f53-8812-40f4-890f-865bf6e35190"),
        "{out}"
    );
    assert!(!out.contains("s3cr3t") && !err.contains("s3cr3t"));
}

#[test]
fn bad_config_matrix() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "syntax",
            GOOD.replace("[agent]", "[agent"),
            ":2:7: TOML syntax error",
        ),
        (
            "unknown key",
            GOOD.replace("poll_interval", "poll_intervall"),
            "poll_intervall",
        ),
        (
            "missing tenant_id",
            GOOD.replace("tenant_id = \"41463f53-8812-40f4-890f-865bf6e35190\"\n", ""),
            "tenant_id",
        ),
        (
            "bad duration",
            GOOD.replace("\"60s\"", "\"sixty\""),
            "poll_interval",
        ),
        (
            "bad cloud",
            GOOD.replace("content_types", "cloud = \"azure\"\ncontent_types"),
            "cloud",
        ),
        (
            "plain http",
            GOOD.replace(
                "content_types",
                "api_url = \"http://manage.example.com\"\ncontent_types",
            ),
            "api_url",
        ),
    ];
    for (name, text, needle) in cases {
        let (code, out, err) = check(&text);
        assert_eq!(
            code, 78,
            "{name}: config errors exit 78; stdout {out} stderr {err}"
        );
        assert!(
            err.contains(needle),
            "{name}: message names the problem: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{name}: no panic: {err}"
        );
        assert!(!err.contains("s3cr3t"), "{name}: no secret in errors");
    }
}

#[test]
fn missing_config_file_is_a_config_error() {
    let (code, _, err) = run_cli(&["check", "--config", "/nonexistent/o365fwd.toml"]);
    assert_eq!(code, 78);
    assert!(err.contains("/nonexistent/o365fwd.toml"), "{err}");
}

#[test]
fn usage_errors_exit_two() {
    let (code, _, _) = run_cli(&["frobnicate"]);
    assert_eq!(code, 2);
    let (code, out, _) = run_cli(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.contains("o365fwd"));
}

/// `simulate` prints a configuration that `check` accepts and `run` delivers from.
#[test]
fn simulate_prints_a_working_configuration() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut sim = Command::new(BIN)
        .args(["simulate", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut text = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("format = ") {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sim.toml");
    write(&p, &text);
    let (code, _, err) = run_cli(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}\n{text}");
    let mut agent = Command::new(BIN)
        .args(["run", "--config", p.to_str().unwrap()])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(agent.stdout.take().unwrap()).lines();
    let first = out.next().unwrap().unwrap();
    assert!(first.contains("tenant"), "a readable record line: {first}");
    let _ = agent.kill();
    let _ = sim.kill();
    let _ = agent.wait();
    let _ = sim.wait();
}
