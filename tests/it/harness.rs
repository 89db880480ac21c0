//! The end-to-end harness: an in-process simulator, a config file pointing at it, and the
//! real `o365fwd` binary run as a child process writing to a file sink.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use o365fwd::record::ContentType;
use o365fwd::sim::{SimConfig, SimHandle, SimTenant};

pub const BIN: &str = env!("CARGO_BIN_EXE_o365fwd");

/// Deterministic GUID-looking tenant ids for tests.
pub fn tenant(n: u32) -> SimTenant {
    SimTenant {
        tenant_id: format!("{n:08x}-1111-4222-8333-444455556666"),
        client_id: format!("{n:08x}-aaaa-4bbb-8ccc-ddddeeeeffff"),
        client_secret: format!("secret-{n}-do-not-log"),
    }
}

/// A small, fault-free simulator config: a few hours of backlog.
pub fn sim_config(tenants: u32, cts: &[ContentType]) -> SimConfig {
    SimConfig {
        seed: 7,
        tenants: (1..=tenants).map(tenant).collect(),
        content_types: cts.to_vec(),
        backlog: Duration::from_secs(3 * 3600),
        blob_interval: Duration::from_secs(10 * 60),
        records_per_blob: (5, 30),
        live: false,
        page_size: 50,
        duplicate_rate: 0.0,
        late_rate: 0.0,
        malformed_rate: 0.0,
        error_rate: 0.0,
        requests_per_minute: None,
        throttle_every: None,
        hostile_next_page: false,
        hostile_content_uri_rate: 0.0,
        subscriptions_enabled: true,
        ..SimConfig::default()
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub config: PathBuf,
    pub out: PathBuf,
}

impl Env {
    pub async fn start(sim_cfg: SimConfig, agent_extra: &str) -> Env {
        Env::build(sim_cfg, agent_extra, Some("")).await
    }

    /// Like [`Env::start`], with more sinks (TOML `[sinks.NAME]` tables) besides the file
    /// sink `archive`.
    pub async fn start_with_sinks(sim_cfg: SimConfig, agent_extra: &str, sinks: &str) -> Env {
        Env::build(sim_cfg, agent_extra, Some(sinks)).await
    }

    /// Like [`Env::start`] with only the given sinks (no `archive`; `out` stays unused
    /// unless those tables write to it).
    pub async fn start_with_only_sinks(sim_cfg: SimConfig, agent_extra: &str, sinks: &str) -> Env {
        Env::build(sim_cfg, agent_extra, None)
            .await
            .with_sinks_only(sinks)
    }

    async fn build(sim_cfg: SimConfig, agent_extra: &str, extra_sinks: Option<&str>) -> Env {
        let sim = SimHandle::start(sim_cfg, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.ndjson");
        let config = dir.path().join("config.toml");
        let mut text = format!(
            "[agent]\nstate_dir = \"{}\"\npoll_interval = \"300ms\"\nshutdown_timeout = \"10s\"\nbatch_size = 50\n{agent_extra}\n",
            dir.path().join("state").display()
        );
        for (i, t) in sim.config().tenants.iter().enumerate() {
            let cts: Vec<String> = sim
                .config()
                .content_types
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect();
            text.push_str(&format!(
                "[tenants.t{i}]\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\ncontent_types = [{}]\napi_url = \"{}\"\nlogin_url = \"{}\"\ngraph_url = \"{}\"\n",
                t.tenant_id,
                t.client_id,
                t.client_secret,
                cts.join(", "),
                sim.base_url(),
                sim.base_url(),
                sim.base_url()
            ));
        }
        if let Some(extra) = extra_sinks {
            text.push_str(&format!(
                "[sinks.archive]\ntype = \"file\"\npath = \"{}\"\nformat = \"raw\"\n",
                out.display()
            ));
            text.push_str(extra);
        }
        std::fs::write(&config, text).unwrap();
        Env {
            dir,
            sim,
            config,
            out,
        }
    }

    fn with_sinks_only(self, sinks: &str) -> Env {
        let mut text = std::fs::read_to_string(&self.config).unwrap();
        text.push_str(sinks);
        std::fs::write(&self.config, text).unwrap();
        self
    }

    /// Starts the agent; its stderr goes to `agent.log` in the temp dir.
    pub fn spawn(&self) -> Agent {
        self.spawn_env(&[])
    }

    /// Starts the agent with more environment variables.
    pub fn spawn_env(&self, vars: &[(&str, &str)]) -> Agent {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("agent starts");
        Agent { child }
    }

    /// Waits until the log says the agent started `n` times in all (a kill before that
    /// would test nothing, and a count of start lines would be off).
    pub async fn wait_started(&self, n: usize, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if self.log().matches("o365fwd started").count() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("agent.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `o365fwd state show --json` (the agent must be stopped): one object per feed.
    pub fn state_json(&self) -> Vec<serde_json::Value> {
        let (code, out, err) = run_cli(&[
            "state",
            "show",
            "--json",
            "--config",
            self.config.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("state show --json: {e}: {out}"))
    }

    /// Every record id the simulator can serve now, over all tenants and content types.
    pub fn expected(&self) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for t in &self.sim.config().tenants {
            for ct in &self.sim.config().content_types {
                all.extend(self.sim.expected_ids(&t.tenant_id, *ct));
            }
        }
        all
    }

    /// Ids in the output file, with how often each appears; panics on a torn or bad line.
    pub fn delivered(&self) -> BTreeMap<String, usize> {
        read_ids(&self.out)
    }

    /// Waits until the output holds at least every id in `want` (or the timeout passes).
    pub async fn wait_for(&self, want: &BTreeSet<String>, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            let got = read_ids_settled(&self.out);
            if want.iter().all(|id| got.contains_key(id)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// Asserts the output holds exactly `want`, each once.
    pub fn assert_exactly_once(&self, want: &BTreeSet<String>) {
        let got = self.delivered();
        let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).take(5).collect();
        assert!(dups.is_empty(), "duplicates delivered: {dups:?}");
        let missing: Vec<_> = want
            .iter()
            .filter(|id| !got.contains_key(*id))
            .take(5)
            .collect();
        let extra: Vec<_> = got
            .keys()
            .filter(|id| !want.contains(*id))
            .take(5)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {} (e.g. {missing:?}), unexpected {} (e.g. {extra:?}); log:\n{}",
            want.iter().filter(|id| !got.contains_key(*id)).count(),
            got.keys().filter(|id| !want.contains(*id)).count(),
            tail(&self.log(), 40)
        );
    }
}

/// Ids in an NDJSON output with how often each appears, for a file nothing writes to any
/// more: panics on a torn last line or a bad line.
pub fn read_ids(path: &Path) -> BTreeMap<String, usize> {
    let Ok(bytes) = std::fs::read(path) else {
        return BTreeMap::new();
    };
    if !bytes.is_empty() {
        assert_eq!(bytes.last(), Some(&b'\n'), "output ends with a torn line");
    }
    ids_of_lines(&bytes)
}

/// [`read_ids`] while the agent may be appending: a read can see an append half done, so
/// an unterminated last line is left for the next look (every complete line must still be
/// a good record).
pub fn read_ids_settled(path: &Path) -> BTreeMap<String, usize> {
    let Ok(mut bytes) = std::fs::read(path) else {
        return BTreeMap::new();
    };
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(complete);
    ids_of_lines(&bytes)
}

fn ids_of_lines(bytes: &[u8]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "line {} is not JSON ({e}): {}",
                i + 1,
                String::from_utf8_lossy(line)
            )
        });
        let id = v["Id"]
            .as_str()
            .unwrap_or_else(|| panic!("line {} has no Id", i + 1));
        *out.entry(id.to_string()).or_insert(0) += 1;
    }
    out
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub struct Agent {
    pub child: Child,
}

impl Agent {
    /// The agent's peak resident memory so far (`VmHWM`), in kB.
    pub fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the agent is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    pub fn sigterm(&self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit; returns its exit code (None if killed by a signal).
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            if t0.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("agent did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then asserts a clean exit 0.
    pub fn stop(mut self) {
        self.sigterm();
        assert_eq!(
            self.wait(Duration::from_secs(20)),
            Some(0),
            "agent exits 0 on SIGTERM"
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a command to completion, returning (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a file only its owner can read: o365fwd refuses a secret file others can read.
pub fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

pub fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The one rule for tests that need a component this project does not build (rsyslog,
/// tansu, a validator…): with nothing `missing` the test goes on; otherwise it fails, under
/// CI always, elsewhere unless `O365FWD_SKIP_EXTERNAL=1`, which says SKIPPED loudly and
/// returns false.
pub fn external_ready(test: &str, missing: &[String], install: &str) -> bool {
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: missing {} (install with {install})",
        missing.join(", ")
    );
    if under_ci() {
        panic!("{msg}; under CI every external component is required");
    }
    if std::env::var("O365FWD_SKIP_EXTERNAL").is_ok_and(|v| v == "1") {
        eprintln!("\n!!! SKIPPED (O365FWD_SKIP_EXTERNAL=1): {msg}\n");
        return false;
    }
    panic!("{msg} (set O365FWD_SKIP_EXTERNAL=1 to skip outside CI)");
}

/// True under CI: a test that needs an external component then fails when it is missing,
/// never skips. Any value of `CI` but empty, `false` or `0` counts.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}
