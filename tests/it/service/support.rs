//! Shared by the service tests: a free port, and the external-tool rule (under CI a missing
//! tool fails the test; elsewhere too, unless `O365FWD_SKIP_EXTERNAL=1` prints SKIPPED).

use std::path::PathBuf;
use std::process::Command;

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// True when every requirement is met (see [`crate::harness::external_ready`]).
pub fn ready(test: &str, missing: &[String]) -> bool {
    crate::harness::external_ready(test, missing, ".ci/service.sh")
}

pub fn python() -> String {
    std::env::var("O365FWD_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a command, returning (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
