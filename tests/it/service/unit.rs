//! The shipped unit file, checked by systemd's own tools: `systemd-analyze verify` accepts it
//! and `systemd-analyze security` rates it OK or better.

use std::path::Path;
use std::process::Command;

use super::support::{find, ready, run};
use crate::harness::BIN;

const UNIT: &str = include_str!("../../../systemd/o365fwd.service");

/// The unit with `/usr/bin/o365fwd` pointing at the binary under test (verify checks that
/// every Exec* program exists), in a directory of its own.
fn unit_copy(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("o365fwd.service");
    std::fs::write(&p, UNIT.replace("/usr/bin/o365fwd", BIN)).unwrap();
    p
}

fn analyze_ready(test: &str) -> bool {
    let missing = if find("systemd-analyze").is_some() {
        vec![]
    } else {
        vec!["systemd-analyze (Debian package systemd)".to_string()]
    };
    ready(test, &missing)
}

#[test]
fn unit_declares_what_the_issue_asks() {
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/bin/o365fwd check --config /etc/o365fwd/config.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=o365fwd",
        "StateDirectory=o365fwd",
        "LogsDirectory=o365fwd",
        "ConfigurationDirectory=o365fwd",
        "LoadCredential=",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
    ] {
        assert!(UNIT.contains(line), "the unit lacks {line:?}");
    }
    // The stop timeout outlasts the default drain (30 s) plus the sinks' final 10 s.
    let stop: u64 = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse().ok())
        .expect("TimeoutStopSec in seconds");
    let drain = o365fwd::config::AgentConfig::default()
        .shutdown_timeout
        .as_secs();
    assert!(stop > drain + 10, "TimeoutStopSec={stop}s, drain {drain}s");
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    if !analyze_ready("systemd_analyze_verify_accepts_the_unit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let (code, out, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit));
    assert_eq!(code, 0, "verify failed:\n{out}{err}");
    assert!(
        !err.contains("o365fwd.service:"),
        "verify warns about the unit:\n{err}"
    );
}

#[test]
fn systemd_analyze_security_rates_the_unit_ok_or_better() {
    if !analyze_ready("systemd_analyze_security_rates_the_unit_ok_or_better") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path());
    let (code, out, err) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit));
    assert_eq!(code, 0, "security failed:\n{out}{err}");
    let last = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall rating in:\n{out}"));
    let words: Vec<&str> = last.split_whitespace().collect();
    let i = words.iter().position(|w| w.contains(':')).unwrap();
    let score: f64 = words[i + 1].parse().unwrap();
    let rating = words[i + 2];
    assert!(
        matches!(rating, "OK" | "SAFE" | "PERFECT") && score <= 2.0,
        "exposure {score} {rating}:\n{out}"
    );
}
