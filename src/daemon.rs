//! Process lifecycle: open state, then run one *generation* (sinks, the pipeline and one
//! feed per (tenant, content type)) at a time. SIGTERM or SIGINT drains the generation and
//! stops; SIGHUP reloads: the new config is validated first (a bad one is refused and the
//! running generation goes on), then the running generation is drained exactly as at a
//! stop and a new one starts from what state committed. Reload therefore has the same
//! delivery guarantees as a clean restart, for every kind of change.

mod generation;
pub mod health;
pub mod memory;
pub mod notify;
pub mod report;
mod supervise;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::state::State;
use generation::Generation;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
    #[error("enrichment: {0}")]
    Enrich(String),
    #[error(transparent)]
    Client(#[from] crate::api::ClientError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("cannot listen on {addr} for /metrics and /health: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// A sink or the committer died: nothing could be acknowledged any more.
    #[error(
        "a task the agent cannot run without failed ({0}); exiting so the service manager restarts the agent"
    )]
    TaskFailed(String),
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub records: u64,
    pub batches: u64,
    /// The drain did not finish within the shutdown timeout; unacknowledged work will be
    /// redone on the next start.
    pub abandoned: bool,
    /// Configurations taken into use by SIGHUP.
    pub reloads: u64,
}

impl Outcome {
    fn add(&mut self, o: Outcome) {
        self.records += o.records;
        self.batches += o.batches;
        self.abandoned |= o.abandoned;
    }
}

/// Runs until `stop` is cancelled (by a signal, or by the caller, e.g. `demo`), without
/// reloads.
pub async fn run(cfg: Config, stop: CancellationToken) -> Result<Outcome, DaemonError> {
    run_with_reload(cfg, stop, Arc::new(Notify::new())).await
}

/// Like [`run`]; each notification of `reload` re-reads the config from `cfg.source`.
pub async fn run_with_reload(
    cfg: Config,
    stop: CancellationToken,
    reload: Arc<Notify>,
) -> Result<Outcome, DaemonError> {
    // Opening reads sled's log (recovery) and may flush: not on an async worker.
    let dir = cfg.agent.state_dir.clone();
    let state = match tokio::task::spawn_blocking(move || State::open(&dir)).await {
        Ok(opened) => opened?,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    memory::start_trimming();
    let mut cfg = cfg;
    let mut total = Outcome::default();
    let beats = notify::Heartbeats::default();
    let watchdog = notify::watchdog_period();
    let mut running = Generation::start(&cfg, &state, &stop, &beats).await?;
    let mut endpoint = health::Endpoint::start(&cfg, &state).await?;
    notify::ready();
    let served = CancellationToken::new();
    if let Some(period) = watchdog {
        notify::spawn_watchdog(period, beats.clone(), served.clone());
    }
    tracing::info!(
        tenants = cfg.tenants.len(),
        feeds = running.feeds(),
        sinks = cfg.sinks.len(),
        state_dir = %cfg.agent.state_dir.display(),
        "o365fwd started."
    );
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = reload.notified() => {}
            fatal = running.failed() => {
                notify::stopping();
                let grace = cfg.agent.shutdown_timeout.min(std::time::Duration::from_secs(10));
                total.add(running.drain(grace).await);
                served.cancel();
                endpoint.stop().await;
                finish(total);
                // Read after the drain: the task that died first may not be the first seen.
                return Err(DaemonError::TaskFailed(fatal.reason()));
            }
        }
        let Some(new) = load_for_reload(&cfg) else {
            continue;
        };
        notify::reloading();
        tracing::info!("Reloading: draining the running configuration.");
        total.add(running.drain(cfg.agent.shutdown_timeout).await);
        if stop.is_cancelled() {
            tracing::info!("Stopped while reloading; the new configuration was not started.");
            endpoint.stop().await;
            return Ok(finish(total));
        }
        crate::telemetry::reset_sink_health();
        match Generation::start(&new, &state, &stop, &beats).await {
            Ok(g) => {
                log_changes(&cfg, &new);
                running = g;
                cfg = new;
                total.reloads += 1;
            }
            Err(e) => {
                tracing::error!(error = %e, "RELOAD FAILED: the new configuration could not start; going back to the running one.");
                running = Generation::start(&cfg, &state, &stop, &beats).await?;
            }
        }
        endpoint.update(&cfg, &state).await;
        notify::ready();
        tracing::info!(
            tenants = cfg.tenants.len(),
            feeds = running.feeds(),
            sinks = cfg.sinks.len(),
            "Configuration in effect."
        );
    }
    notify::stopping();
    tracing::info!(
        timeout_secs = cfg.agent.shutdown_timeout.as_secs(),
        "Stopping: no new polls; draining what is in flight."
    );
    total.add(running.drain(cfg.agent.shutdown_timeout).await);
    // Writes and fsyncs the identity file: not on an async worker.
    let s = state.clone();
    let _ = tokio::task::spawn_blocking(move || s.mark(true)).await;
    served.cancel();
    endpoint.stop().await;
    Ok(finish(total))
}

fn finish(total: Outcome) -> Outcome {
    tracing::info!(
        records = total.records,
        batches = total.batches,
        abandoned = total.abandoned,
        reloads = total.reloads,
        repeats_dropped = crate::telemetry::metric::RECORDS_REPEATED.sum(),
        dedup_disk_lookups = crate::telemetry::metric::DEDUP_DISK_LOOKUPS.sum(),
        "o365fwd stopped."
    );
    total
}

/// Reads and validates the config file again; `None` (logged) keeps the running one.
fn load_for_reload(cfg: &Config) -> Option<Config> {
    let new = match Config::load(&cfg.source) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(file = %cfg.source.display(), error = %e, "RELOAD REFUSED: the new configuration is invalid; the running configuration stays in effect.");
            return None;
        }
    };
    for w in &new.warnings {
        tracing::warn!(warning = %w, "Configuration warning.");
    }
    if new.agent.state_dir != cfg.agent.state_dir {
        tracing::error!(
            running = %cfg.agent.state_dir.display(),
            new = %new.agent.state_dir.display(),
            "RELOAD REFUSED: state_dir cannot change while running (restart the service); the running configuration stays in effect."
        );
        return None;
    }
    Some(new)
}

fn log_changes(old: &Config, new: &Config) {
    let diff = |a: Vec<&String>, b: Vec<&String>| -> Vec<String> {
        a.into_iter()
            .filter(|k| !b.contains(k))
            .map(|k| k.to_string())
            .collect()
    };
    let (ot, nt): (Vec<_>, Vec<_>) = (old.tenants.keys().collect(), new.tenants.keys().collect());
    let (os, ns): (Vec<_>, Vec<_>) = (old.sinks.keys().collect(), new.sinks.keys().collect());
    tracing::info!(
        tenants_added = ?diff(nt.clone(), ot.clone()),
        tenants_removed = ?diff(ot, nt),
        sinks_added = ?diff(ns.clone(), os.clone()),
        sinks_removed = ?diff(os, ns),
        "Configuration reloaded."
    );
}

/// Cancels `stop` on the first SIGTERM or SIGINT (a second one exits the process at once);
/// notifies `reload` on SIGHUP.
pub fn install_signals(stop: CancellationToken, reload: Arc<Notify>) -> Result<(), DaemonError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(DaemonError::Signals)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if sig == SIGHUP {
                    tracing::info!(signal = sig, "SIGHUP: reloading the configuration.");
                    reload.notify_one();
                    continue;
                }
                if stop.is_cancelled() {
                    tracing::warn!(signal = sig, "Second signal: exiting now.");
                    std::process::exit(130);
                }
                tracing::info!(signal = sig, "Signal received.");
                stop.cancel();
            }
        })
        .map_err(DaemonError::Signals)?;
    Ok(())
}
