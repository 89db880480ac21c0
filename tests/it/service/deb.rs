//! The `.deb` installed on this machine with `dpkg`: the binary runs from its installed path,
//! the system user exists, the configuration is a conffile that an upgrade leaves alone, and
//! a purge removes everything. Needs root and dpkg (under CI: the CI runs as root on Debian).
//!
//! The package is laid out from `[package.metadata.deb]` in Cargo.toml (assets, conffiles,
//! maintainer scripts) with the binary under test, and built with `dpkg-deb`: the same
//! metadata cargo-deb reads in `packaging/build`, without compiling a release build or
//! cargo-deb in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{find, ready, run};
use crate::harness::BIN;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn manifest() -> toml::Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn sh(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{cmd:?} failed:\n{out}{err}");
    out
}

/// Builds the .deb into `dir` and returns its path.
fn build_deb(dir: &Path) -> PathBuf {
    let m = manifest();
    let pkg = &m["package"];
    let deb = &pkg["metadata"]["deb"];
    let version = pkg["version"].as_str().unwrap();
    let root = dir.join("root");
    let generated = dir.join("generated");
    std::fs::create_dir_all(&generated).unwrap();
    // What packaging/generate writes, from the binary under test.
    let gen_out = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "o365fwd {args:?}");
        out.stdout
    };
    let man = gen_out(&["generate", "man"]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &man).unwrap();
    std::fs::write(generated.join("o365fwd.1.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        generated.join("o365fwd.bash"),
        gen_out(&["generate", "completions", "bash"]),
    )
    .unwrap();
    std::fs::write(
        generated.join("_o365fwd"),
        gen_out(&["generate", "completions", "zsh"]),
    )
    .unwrap();
    std::fs::write(
        generated.join("o365fwd.fish"),
        gen_out(&["generate", "completions", "fish"]),
    )
    .unwrap();

    for a in deb["assets"].as_array().unwrap() {
        let [src, dest, mode] = [0, 1, 2].map(|i| a[i].as_str().unwrap());
        let src: PathBuf = if src == "target/release/o365fwd" {
            BIN.into()
        } else if let Some(name) = src.strip_prefix("packaging/generated/") {
            generated.join(name)
        } else {
            Path::new(ROOT).join(src)
        };
        let mut dest = root.join(dest);
        if a[1].as_str().unwrap().ends_with('/') {
            dest = dest.join(src.file_name().unwrap());
        }
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dest).unwrap_or_else(|e| panic!("asset {}: {e}", src.display()));
        if src == Path::new(BIN) && find("strip").is_some() {
            // As cargo-deb does; it also keeps a 200 MB debug binary from making the test slow.
            sh(Command::new("strip").arg("--strip-debug").arg(&dest));
        }
        let mode = u32::from_str_radix(mode, 8).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let control = root.join("DEBIAN");
    std::fs::create_dir_all(&control).unwrap();
    let arch = sh(Command::new("dpkg").arg("--print-architecture"));
    let depends = deb["depends"].as_str().unwrap().replace("$auto", "libc6");
    let desc = pkg["description"].as_str().unwrap();
    std::fs::write(
        control.join("control"),
        format!(
            "Package: o365fwd\nVersion: {version}\nArchitecture: {}\nMaintainer: {}\nDepends: {depends}\nSection: {}\nPriority: {}\nDescription: {desc}\n",
            arch.trim(),
            deb["maintainer"].as_str().unwrap(),
            deb["section"].as_str().unwrap(),
            deb["priority"].as_str().unwrap(),
        ),
    )
    .unwrap();
    let conffiles: Vec<&str> = deb["conf-files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    std::fs::write(control.join("conffiles"), conffiles.join("\n") + "\n").unwrap();
    let scripts = Path::new(ROOT).join(deb["maintainer-scripts"].as_str().unwrap());
    for s in ["postinst", "prerm", "postrm"] {
        std::fs::copy(scripts.join(s), control.join(s)).unwrap();
    }
    let out = dir.join(format!("o365fwd_{version}_{}.deb", arch.trim()));
    sh(Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group", "-Zgzip"])
        .arg(&root)
        .arg(&out));
    out
}

fn installed() -> bool {
    run(Command::new("dpkg-query").args(["-W", "-f=${Status}", "o365fwd"]))
        .1
        .contains("install ok installed")
}

#[test]
fn deb_installs_runs_keeps_its_conffile_and_purges_cleanly() {
    let test = "deb_installs_runs_keeps_its_conffile_and_purges_cleanly";
    let mut missing: Vec<String> = ["dpkg", "dpkg-deb", "dpkg-query", "adduser", "deluser"]
        .iter()
        .filter(|p| find(p).is_none())
        .map(|p| p.to_string())
        .collect();
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
