//! Process lifecycle: open state, start sinks, the pipeline and one feed per (tenant,
//! content type); on SIGTERM or SIGINT stop polling, let sinks drain and the committer
//! commit, bounded by the shutdown timeout; a second signal stops at once.

pub mod health;
pub mod notify;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{TenantClient, http_client};
use crate::config::Config;
use crate::feed::Feed;
use crate::pipeline::{FeedShared, Pipeline};
use crate::sink;
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("cannot listen on {addr} for /metrics and /health: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub records: u64,
    pub batches: u64,
    /// The drain did not finish within the shutdown timeout; unacknowledged work will be
    /// redone on the next start.
    pub abandoned: bool,
}

/// Runs until `stop` is cancelled (by a signal, or by the caller, e.g. `demo`).
pub async fn run(cfg: Config, stop: CancellationToken) -> Result<Outcome, DaemonError> {
    let state = State::open(&cfg.agent.state_dir)?;
    let abort = CancellationToken::new();
    let mut sinks = Vec::new();
    let mut inputs = Vec::new();
    let feeds: Vec<_> = cfg
        .tenants
        .values()
        .flat_map(|t| {
            t.content_types
                .iter()
                .map(|ct| (t.name.clone(), t.tenant_id.clone(), *ct))
        })
        .collect();
    for s in cfg.sinks.values() {
        let running = sink::start(s, &state, &feeds, abort.clone())?;
        inputs.push(running.input);
        sinks.push(running.done);
    }
    let (pipeline, committer) = Pipeline::start(
        state.clone(),
        inputs,
        cfg.agent.max_in_flight_batches,
        abort.clone(),
    );
    let served = CancellationToken::new();
    if let Some(addr) = cfg.agent.listen {
        let observed = health::Observed::new(&cfg, state.clone());
        health::serve(addr, observed, served.clone())
            .await
            .map_err(|source| DaemonError::Listen { addr, source })?;
    }
    let watchdog = notify::watchdog_period();
    let beats = notify::Heartbeats::default();
    let http = http_client(cfg.agent.request_timeout);
    let mut feeds = JoinSet::new();
    for t in cfg.tenants.values() {
        let client = Arc::new(TenantClient::new(http.clone(), t, stop.clone()));
        for ct in &t.content_types {
            let shared = Arc::new(FeedShared::new(&t.name, &t.tenant_id, *ct));
            let feed = Feed::new(
                shared,
                client.clone(),
                state.clone(),
                pipeline.clone(),
                cfg.agent.clone(),
                stop.clone(),
            );
            let beat = beats.register();
            let every = notify::beat_interval(watchdog);
            feeds.spawn(notify::with_heartbeat(beat, every, feed.run()));
        }
    }
    tracing::info!(
        tenants = cfg.tenants.len(),
        feeds = feeds.len(),
        sinks = cfg.sinks.len(),
        state_dir = %cfg.agent.state_dir.display(),
        "o365fwd started."
    );
    notify::ready();
    if let Some(period) = watchdog {
        notify::spawn_watchdog(period, beats, served.clone());
    }

    stop.cancelled().await;
    notify::stopping();
    tracing::info!(
        timeout_secs = cfg.agent.shutdown_timeout.as_secs(),
        "Stopping: no new polls; draining what is in flight."
    );
    let deadline = tokio::time::Instant::now() + cfg.agent.shutdown_timeout;
    while feeds.join_next().await.is_some() {}
    pipeline.close().await;
    drop(pipeline);
    let mut committer = committer;
    let committed = tokio::select! {
        r = &mut committer => r.ok(),
        _ = tokio::time::sleep_until(deadline) => None,
        _ = abort.cancelled() => None,
    };
    let committed = match committed {
        Some(c) => c,
        None => {
            tracing::warn!(
                "The drain did not finish in time; abandoning unacknowledged work (it is redone on the next start)."
            );
            abort.cancel();
            let mut c = tokio::time::timeout(Duration::from_secs(5), committer)
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default();
            c.abandoned = true;
            c
        }
    };
    abort.cancel();
    for s in sinks {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    served.cancel();
    tracing::info!(
        records = committed.records,
        batches = committed.batches,
        abandoned = committed.abandoned,
        "o365fwd stopped."
    );
    Ok(Outcome {
        records: committed.records,
        batches: committed.batches,
        abandoned: committed.abandoned,
    })
}

/// Cancels `stop` on the first SIGTERM or SIGINT; a second one exits the process at once.
pub fn install_signals(stop: CancellationToken) -> Result<(), DaemonError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).map_err(DaemonError::Signals)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
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
