//! `o365fwd state show` and `o365fwd state reset`.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use super::exit;
use crate::config::Config;
use crate::daemon::report::{self, StateReport};
use crate::state::{State, StateError};

#[derive(clap::Subcommand, Debug)]
pub enum StateCommand {
    /// Cursors, content in progress, failures, gaps and rejected records, per feed. While the
    /// agent runs (it holds the state), the report comes from its `[agent] listen` endpoint.
    Show {
        #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget feeds' progress so they start again from their initial lookback (stop the
    /// agent first). On a damaged state directory, `--all` moves its files aside.
    Reset(ResetArgs),
}

#[derive(clap::Args, Debug)]
pub struct ResetArgs {
    #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
    config: PathBuf,
    /// A feed: TENANT/CONTENT_TYPE, or TENANT for all its content types (TENANT is the
    /// tenant's name in the config or its tenant id). Repeatable.
    #[arg(
        long = "feed",
        value_name = "TENANT[/CONTENT_TYPE]",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    feeds: Vec<String>,
    /// Every feed in state and in the configuration.
    #[arg(long)]
    all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
}

pub async fn run(cmd: StateCommand) -> anyhow::Result<i32> {
    match cmd {
        StateCommand::Show { config, json } => show(&Config::load(&config)?, json).await,
        StateCommand::Reset(a) => reset(&Config::load(&a.config)?, &a),
    }
}

/// Every feed of the configuration and of state, as state keys, sorted.
fn all_feeds(cfg: &Config, state: &State) -> anyhow::Result<Vec<String>> {
    Ok(report::all_feeds(cfg, state)?)
}

/// Prints the report from the state, or, while the agent holds the state, from the agent.
async fn show(cfg: &Config, json: bool) -> anyhow::Result<i32> {
    let state = match State::open(&cfg.agent.state_dir) {
        Ok(s) => s,
        Err(locked @ StateError::Locked { .. }) => return ask_agent(cfg, json, locked).await,
        Err(e) => return Err(e.into()),
    };
    let r = StateReport::build(cfg, &state)?;
    if json {
        println!("{}", r.json()?);
    } else {
        print!("{}", r.text());
    }
    Ok(exit::OK)
}

/// The same report from the running agent's `/state` (`[agent] listen`; an unspecified
/// address such as 0.0.0.0 is reached on this host's loopback).
async fn ask_agent(cfg: &Config, json: bool, locked: StateError) -> anyhow::Result<i32> {
    let Some(listen) = cfg.agent.listen else {
        bail!(
            "{locked}\n(`state show` asks a running agent through its /state endpoint: set [agent] listen in {} to use it)",
            cfg.source.display()
        );
    };
    let addr = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, listen.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, listen.port()))
        }
        _ => listen,
    };
    let format = if json { "json" } else { "text" };
    let url = format!("http://{addr}/state?format={format}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("cannot build an HTTP client")?;
    let unanswered = || format!("{locked}\nand the agent does not answer at {url}");
    let mut resp = client.get(&url).send().await.with_context(unanswered)?;
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.with_context(unanswered)? {
        if body.len() + chunk.len() > report::MAX_REPORT {
            bail!(
                "the agent's report at {url} is larger than {} MiB",
                report::MAX_REPORT >> 20
            );
        }
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&body);
    if !status.is_success() {
        bail!("the agent at {url} answered {status}: {}", body.trim_end());
    }
    eprintln!("(the agent holds the state: this report is from it, at {url})");
    if json {
        println!("{body}");
    } else {
        print!("{body}");
    }
    Ok(exit::OK)
}

/// The state keys a `--feed` argument names: `TENANT/CONTENT_TYPE` or `TENANT`, the tenant
/// by config name or tenant id; a tenant id no longer configured is matched in state.
fn resolve(cfg: &Config, known: &[String], arg: &str) -> anyhow::Result<Vec<String>> {
    let (tenant, ct) = match arg.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (arg, None),
    };
    let tenant_id = cfg
        .tenants
        .get(tenant)
        .map(|t| t.tenant_id.as_str())
        .unwrap_or(tenant);
    let found: Vec<String> = known
        .iter()
        .filter(|k| match k.split_once('/') {
            Some((t, c)) => {
                t.eq_ignore_ascii_case(tenant_id) && ct.is_none_or(|ct| c.eq_ignore_ascii_case(ct))
            }
            None => false,
        })
        .cloned()
        .collect();
    if found.is_empty() {
        bail!(
            "no feed {arg:?} in the configuration or in state (feeds: {})",
            known.join(", ")
        );
    }
    Ok(found)
}

/// The configured name of a feed's tenant, for messages.
fn shown(cfg: &Config, feed: &str) -> String {
    let (id, ct) = feed.split_once('/').unwrap_or((feed, ""));
    match cfg.tenants.values().find(|t| t.tenant_id == id) {
        Some(t) => format!("{}/{ct} ({feed})", t.name),
        None => feed.to_string(),
    }
}

fn reset(cfg: &Config, a: &ResetArgs) -> anyhow::Result<i32> {
    let dir = &cfg.agent.state_dir;
    let since = chrono::Utc::now()
        - chrono::Duration::from_std(cfg.agent.initial_lookback).unwrap_or_default();
    let again = format!(
        "content created since {} (initial_lookback {}) that the API still holds is fetched and delivered again to every sink: \
         Kafka, Elasticsearch and Splunk HEC receive those records under the same ids (Elasticsearch keeps one copy of each); \
         syslog, webhook and file sinks receive them a second time (file sinks append after what they hold and never cut it)",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        humantime::format_duration(cfg.agent.initial_lookback)
    );
    let state = match State::open(dir) {
        Ok(s) => s,
        Err(e @ StateError::Damaged { .. }) => {
            if !a.all {
                bail!("{e}\n(a damaged state can only be reset whole: use --all)");
            }
            println!("{e}\n");
            println!(
                "Reset moves the damaged files into a new directory inside {} and the next start begins a new state: {again}.",
                dir.display()
            );
            confirm(a.yes)?;
            let aside = crate::state::reset_damaged(dir).with_context(|| {
                format!("cannot move the damaged state in {} aside", dir.display())
            })?;
            println!("Moved the damaged state to {}.", aside.display());
            return Ok(exit::OK);
        }
        Err(e) => return Err(e.into()),
    };
    let known = all_feeds(cfg, &state)?;
    let mut feeds = Vec::new();
    if a.all {
        feeds = known.clone();
    } else {
        for arg in &a.feeds {
            for f in resolve(cfg, &known, arg)? {
                if !feeds.contains(&f) {
                    feeds.push(f);
                }
            }
        }
    }
    println!("state {}: reset {} feed(s)", dir.display(), feeds.len());
    for f in &feeds {
        let s = state.summary(f)?;
        let cursor = s.cursor.map_or("never listed".to_string(), |c| {
            format!("listed until {}", c.to_rfc3339())
        });
        println!(
            "  {}: {cursor}, {} blobs ({} records) done",
            shown(cfg, f),
            s.content_done,
            s.records_done
        );
    }
    println!("After the reset, for each of these feeds, {again}.");
    confirm(a.yes)?;
    for f in &feeds {
        let r = state.reset_feed(f)?;
        println!("reset {} ({} entries removed)", shown(cfg, f), r.removed);
    }
    drop(state);
    give_back(dir);
    Ok(exit::OK)
}

/// Asks on the terminal unless `yes`; refuses without a terminal to ask on.
fn confirm(yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("not confirmed: run again with --yes (no terminal to ask on)");
    }
    print!("Proceed? [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if !matches!(line.trim(), "y" | "Y" | "yes" | "YES") {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

/// Run as root (sudo) on the service's directory, sled may have created files the service
/// user cannot write: they are given to the directory's owner.
fn give_back(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let Ok(owner) = std::fs::metadata(dir) else {
        return;
    };
    let mut paths = vec![];
    for sub in [dir.to_path_buf(), dir.join("blobs")] {
        if let Ok(rd) = std::fs::read_dir(&sub) {
            paths.extend(rd.flatten().map(|e| e.path()));
        }
    }
    for p in paths {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.uid() != owner.uid() || m.gid() != owner.gid() {
            let _ = std::os::unix::fs::lchown(&p, Some(owner.uid()), Some(owner.gid()));
        }
    }
}
