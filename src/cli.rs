//! Subcommands. The only place that uses `anyhow`, and the only place that maps outcomes
//! to exit codes.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

mod backfill;
#[cfg(feature = "sim")]
mod demo;
mod filter_test;
mod generate;
mod import;
mod progress;
mod replay;
#[cfg(feature = "sim")]
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
    #[cfg(feature = "sim")]
    Demo {
        /// How long to run (Ctrl-C stops earlier).
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Output format: text, raw, ecs, cef or ocsf.
        #[arg(long, default_value = "text")]
        format: crate::format::Format,
    },
    /// Run the Management Activity API simulator alone.
    #[cfg(feature = "sim")]
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
        #[cfg(feature = "sim")]
        Command::Demo { duration, format } => demo::run(duration, format).await,
        Command::FilterTest(args) => filter_test::run(&Config::load(&args.config)?, &args),
        #[cfg(feature = "sim")]
        Command::Simulate(args) => simulate::run(*args).await,
        Command::Subscriptions { command } => subscriptions::run(command).await,
        Command::Replay(a) => replay::run(a).await,
        Command::Import(a) => import::run(a).await,
        Command::Backfill(a) => backfill::run(*a).await,
        Command::State { command } => state::run(command).await,
        Command::Generate { what } => generate::run(what),
    }
}
