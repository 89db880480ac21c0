//! The `.deb` installed on this machine with `dpkg`: the binary runs from its installed path,
//! the system user exists, the configuration is a conffile that an upgrade leaves alone, and
//! a purge removes everything. Needs root, dpkg and cargo-deb (`.ci/service.sh` installs it;
//! the CI runs as root on Debian).
//!
//! The package is the release one, built by cargo-deb from `[package.metadata.deb]` exactly
//! as `packaging/build` does, around the binary under test instead of a release build.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{find, ready, run};
use crate::harness::BIN;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn sh(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{cmd:?} failed:\n{out}{err}");
    out
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo_deb_present() -> bool {
    Command::new(cargo())
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the .deb into `dir` with cargo-deb and returns its path.
fn build_deb(dir: &Path) -> PathBuf {
    // The man page and completions, as packaging/build makes them.
    sh(Command::new(Path::new(ROOT).join("packaging/generate")).arg(BIN));
    let bin_dir = Path::new(BIN).parent().unwrap();
    let profile = match bin_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        p => p,
    };
    sh(Command::new(cargo())
        .current_dir(ROOT)
        .env("CARGO_TARGET_DIR", bin_dir.parent().unwrap())
        .args([
            "deb",
            "--no-build",
            "--fast",
            "--profile",
            profile,
            "--output",
        ])
        .arg(dir));
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("cargo-deb wrote a .deb")
}

fn installed() -> bool {
    run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "o365fwd"]))
        .1
        .contains("install ok installed")
}

#[test]
fn deb_installs_runs_keeps_its_conffile_and_purges_cleanly() {
    let test = "deb_installs_runs_keeps_its_conffile_and_purges_cleanly";
    let mut missing: Vec<String> = ["dpkg", "dpkg-query", "adduser", "deluser"]
        .iter()
        .filter(|p| find(p).is_none())
        .map(|p| p.to_string())
        .collect();
    if !cargo_deb_present() {
        missing.push("cargo-deb (cargo install --locked cargo-deb)".into());
    }
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (dpkg -i)".into());
    }
    if !ready(test, &missing) {
        return;
    }
    assert!(
        !installed(),
        "an o365fwd package is already installed here; this test would replace it"
    );
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path());

    sh(Command::new("dpkg").arg("-i").arg(&deb));
    let cleanup = Purge;
    assert!(installed());

    let version = sh(Command::new("/usr/bin/o365fwd").arg("--version"));
    assert_eq!(
        version.trim(),
        format!("o365fwd {}", env!("CARGO_PKG_VERSION"))
    );
    // The shipped configuration is the example: valid once its secret is given.
    let (code, out, err) = run(Command::new("/usr/bin/o365fwd")
        .args(["check", "--config", "/etc/o365fwd/config.toml"])
        .env("O365FWD_CONTOSO_SECRET", "not-a-real-secret"));
    assert_eq!(code, 0, "check of the installed config:\n{out}{err}");
    assert!(out.contains("configuration OK"), "{out}");
    assert!(!out.contains("not-a-real-secret"));

    let user = sh(Command::new("getent").args(["passwd", "o365fwd"]));
    assert!(user.starts_with("o365fwd:"), "{user}");
    let conffiles = sh(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "o365fwd"]));
    assert!(
        conffiles.contains("/etc/o365fwd/config.toml"),
        "{conffiles}"
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/etc/o365fwd/config.toml").unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
    let group = sh(Command::new("stat").args(["-c", "%G", "/etc/o365fwd/config.toml"]));
    assert_eq!(group.trim(), "o365fwd");
    let cred = std::fs::metadata("/etc/o365fwd/credentials").unwrap();
    assert_eq!(cred.mode() & 0o777, 0o700);
    for f in [
        "/lib/systemd/system/o365fwd.service",
        "/usr/share/man/man1/o365fwd.1.gz",
        "/usr/share/bash-completion/completions/o365fwd",
    ] {
        assert!(Path::new(f).is_file(), "{f} not installed");
    }

    // An upgrade (the same package again) keeps the operator's edits.
    let mut edited = std::fs::read_to_string("/etc/o365fwd/config.toml").unwrap();
    edited.push_str("\n# edited by the operator\n");
    std::fs::write("/etc/o365fwd/config.toml", &edited).unwrap();
    sh(Command::new("dpkg")
        .args(["-i", "--force-confold"])
        .arg(&deb));
    assert_eq!(
        std::fs::read_to_string("/etc/o365fwd/config.toml").unwrap(),
        edited
    );

    drop(cleanup);
    assert!(!installed());
    assert!(!Path::new("/usr/bin/o365fwd").exists());
    assert!(
        !Path::new("/etc/o365fwd").exists(),
        "purge leaves /etc/o365fwd"
    );
    let (code, _, _) = run(Command::new("getent").args(["passwd", "o365fwd"]));
    assert_ne!(code, 0, "purge leaves the o365fwd user");
}

/// Purges the package even when an assertion fails, so the machine is left as found.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        if installed() {
            let (code, out, err) = run(Command::new("dpkg").args(["--purge", "o365fwd"]));
            assert!(
                code == 0 || std::thread::panicking(),
                "dpkg --purge failed:\n{out}{err}"
            );
        }
    }
}
