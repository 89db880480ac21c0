//! Subcommands. The only place that uses `anyhow`, and the only place that maps outcomes
//! to exit codes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

mod backfill;
mod filter_test;
mod generate;
mod import;
mod progress;
mod replay;
mod simulate;
mod state;
mod subscriptions;

/// Exit codes (sysexits where one fits).
pub mod exit {
    /// Everything went as asked.
    pub const OK: i32 = 0;
    /// A runtime failure (state, sinks, I/O).
    pub const FAILURE: i32 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// The configuration is invalid (EX_CONFIG).
    pub const CONFIG: i32 = 78;
}

#[derive(Parser, Debug)]
#[command(
    name = "o365fwd",
    version,
    about = "Forwards Office 365 / Dynamics 365 audit activity to your SIEM without losing a record."
)]
pub struct Cli {
    /// Log format on stderr: text (plain under journald, no ANSI colours unless a terminal)
    /// or json (one JSON object per line).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "O365FWD_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// Same as --log-format json (kept for existing scripts).
    #[arg(long, global = true, hide = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the agent in the foreground until SIGTERM or SIGINT.
    Run {
        #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
        config: PathBuf,
    },
    /// Validate a configuration and print a summary (secrets redacted).
    Check {
        #[arg(long, short, default_value = "/etc/o365fwd/config.toml")]
        config: PathBuf,
    },
    /// Run the real pipeline against the built-in simulator and print records.
    Demo {
        /// How long to run (Ctrl-C stops earlier).
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Output format: text, raw, ecs, cef or ocsf.
        #[arg(long, default_value = "text")]
        format: crate::format::Format,
    },
    /// Run the Management Activity API simulator alone.
    Simulate(Box<simulate::SimulateArgs>),
    /// Manage the Management API subscriptions of the configured tenants.
    Subscriptions {
        #[command(subcommand)]
        command: subscriptions::SubscriptionsCommand,
    },
    /// Deliver a past range of one feed again (within the API's 7 days), without moving the
    /// daemon's cursor.
    Replay(replay::ReplayArgs),
    /// Deliver an audit log export from Microsoft Purview (CSV or JSON) through a sink.
    Import(import::ImportArgs),
    /// Deliver audit history beyond the API's 7 days from the Microsoft Graph audit log
    /// search (needs AuditLogsQuery.Read.All), resumable, meeting the live feed.
    Backfill(Box<backfill::BackfillArgs>),
    /// Show which records a sink's filter admits, and why the others are dropped.
    FilterTest(filter_test::Args),
    /// Inspect the agent's state.
    State {
        #[command(subcommand)]
        command: state::StateCommand,
    },
    /// Shell completions and the man page, generated from this CLI (used by packaging).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: generate::Generate,
    },
}

/// Parses the command line, runs, and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    crate::daemon::memory::tune_allocator();
    crate::telemetry::init_logging(cli.log_json || cli.log_format == LogFormat::Json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<crate::config::ConfigError>() {
                eprintln!("error: {c}");
                return exit::CONFIG;
            }
            eprintln!("error: {e:#}");
            exit::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<i32> {
    match cmd {
        Command::Run { config } => {
            let cfg = Config::load(&config)?;
            for w in &cfg.warnings {
                tracing::warn!(warning = %w, "Configuration warning.");
            }
            let stop = CancellationToken::new();
            let reload = std::sync::Arc::new(tokio::sync::Notify::new());
            crate::daemon::install_signals(stop.clone(), reload.clone())?;
            let out = crate::daemon::run_with_reload(cfg, stop, reload).await?;
            if out.abandoned {
                tracing::warn!(
                    "Stopped before everything in flight was acknowledged; it is sent again on the next start."
                );
            }
            Ok(exit::OK)
        }
        Command::Check { config } => {
            let cfg = Config::load(&config)?;
            for w in &cfg.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", cfg.summary());
            println!(
                "backfill (o365fwd backfill) reads the Graph audit log search: the app registration needs the {}",
                crate::api::graph::PERMISSION_HELP
            );
            println!("configuration OK");
            Ok(exit::OK)
        }
        Command::Demo { duration, format } => demo(duration, format).await,
        Command::FilterTest(args) => filter_test::run(&Config::load(&args.config)?, &args),
        Command::Simulate(args) => simulate::run(*args).await,
        Command::Subscriptions { command } => subscriptions::run(command).await,
        Command::Replay(a) => replay::run(a).await,
        Command::Import(a) => import::run(a).await,
        Command::Backfill(a) => backfill::run(*a).await,
        Command::State { command } => state::run(command),
        Command::Generate { what } => generate::run(what),
    }
}

/// `o365fwd demo`: the embedded simulator, the real pipeline, readable output.
async fn demo(duration: Duration, format: crate::format::Format) -> anyhow::Result<i32> {
    let sim_cfg = crate::sim::SimConfig::demo();
    let sim = crate::sim::SimHandle::start(sim_cfg.clone(), "127.0.0.1:0".parse()?)
        .await
        .context("cannot start the simulator")?;
    let dir = tempfile_dir()?;
    let cfg = demo_config(&sim, &sim_cfg, &dir, format);
    eprintln!(
        "o365fwd demo: simulator at {}, {} tenant(s); state in {}; running for {} (Ctrl-C stops)",
        sim.base_url(),
        sim_cfg.tenants.len(),
        dir.display(),
        humantime::format_duration(duration)
    );
    let stop = CancellationToken::new();
    // `demo` runs an embedded config: SIGHUP has nothing to re-read and is ignored.
    crate::daemon::install_signals(stop.clone(), std::sync::Arc::default())?;
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop.cancel();
        })
    };
    let started = std::time::Instant::now();
    let out = crate::daemon::run(cfg, stop).await?;
    timer.abort();
    let failed = crate::telemetry::sum("o365fwd_blobs_failed_total");
    let repeats = crate::telemetry::sum("o365fwd_records_repeated_total");
    eprintln!(
        "o365fwd demo: delivered {} records in {:.1}s ({} repeats dropped, {} blobs failed); state kept in {}",
        out.records,
        started.elapsed().as_secs_f64(),
        repeats,
        failed,
        dir.display()
    );
    sim.shutdown();
    Ok(exit::OK)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("o365fwd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn demo_config(
    sim: &crate::sim::SimHandle,
    sim_cfg: &crate::sim::SimConfig,
    dir: &std::path::Path,
    format: crate::format::Format,
) -> Config {
    use crate::config::*;
    let base: url::Url = sim.base_url().parse().expect("simulator URL");
    let mut tenants = std::collections::BTreeMap::new();
    for (i, t) in sim_cfg.tenants.iter().enumerate() {
        let name = format!("tenant{}", i + 1);
        tenants.insert(
            name.clone(),
            TenantConfig {
                name,
                tenant_id: t.tenant_id.clone(),
                client_id: t.client_id.clone(),
                client_secret: Secret::new(t.client_secret.clone()),
                cloud: Cloud::Commercial,
                content_types: sim_cfg.content_types.clone(),
                publisher_id: t.tenant_id.clone(),
                api_url: base.clone(),
                login_url: base.clone(),
                resource: Cloud::Commercial.api_url().to_string(),
                requests_per_minute: 2000,
                graph_url: base.clone(),
                secret_origin: SecretOrigin::Inline,
                certificate: None,
                proxy: None,
            },
        );
    }
    let mut sinks = std::collections::BTreeMap::new();
    sinks.insert(
        "console".to_string(),
        SinkConfig {
            name: "console".into(),
            format,
            format_options: Default::default(),
            reassemble: None,
            filter: None,
            kind: SinkKind::Stdout,
        },
    );
    Config {
        source: PathBuf::from("(demo)"),
        agent: AgentConfig {
            state_dir: dir.to_path_buf(),
            poll_interval: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        tenants,
        sinks,
        warnings: vec![],
        enrich: None,
    }
}
