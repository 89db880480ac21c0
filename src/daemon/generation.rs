//! One generation of the running agent: the sinks, pipeline and feeds built from one
//! config. It ends by draining: no new polls, sinks finish what they hold, the committer
//! commits what every sink acknowledged, bounded by the shutdown timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::supervise::{self, Fatal, FeedTask, watch};
use super::{DaemonError, Outcome};
use crate::api::{TenantClient, http_client, tenant_http};
use crate::config::Config;
use crate::feed::Feed;
use crate::feed_id::FeedId;
use crate::pipeline::{Committed, FeedShared, Pipeline};
use crate::sink;
use crate::state::State;
use crate::telemetry::progress;

pub(super) struct Generation {
    /// Ends this generation's polling (a child of the process-wide stop).
    stop: CancellationToken,
    /// Ends delivery attempts at a hard stop.
    abort: CancellationToken,
    pipeline: Pipeline,
    committer: JoinHandle<Option<Committed>>,
    sinks: Vec<JoinHandle<Option<()>>>,
    feeds: JoinSet<()>,
    /// Raised when a sink or the committer dies.
    fatal: Fatal,
    state: State,
}

impl Generation {
    pub(super) async fn start(
        cfg: &Config,
        state: &State,
        process_stop: &CancellationToken,
        beats: &super::notify::Heartbeats,
    ) -> Result<Generation, DaemonError> {
        use super::notify;
        let stop = process_stop.child_token();
        let abort = CancellationToken::new();
        let fatal = Fatal::default();
        let feed_ids: Vec<_> = cfg
            .tenants
            .values()
            .flat_map(|t| {
                t.content_types
                    .iter()
                    .map(|ct| FeedId::new(&t.name, &t.tenant_id, *ct))
            })
            .collect();
        // Every tenant's client first: one that cannot be built stops the start before any
        // sink or feed runs.
        let shared = http_client(cfg.agent.request_timeout)?;
        let clients = cfg
            .tenants
            .values()
            .map(|t| tenant_http(&shared, t, cfg.agent.request_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        let enricher = cfg
            .enrich
            .as_ref()
            .map(|c| crate::format::enrich::Enricher::open(c).map(Arc::new))
            .transpose()
            .map_err(DaemonError::Enrich)?;
        if let Some(e) = &enricher {
            // Ends with the generation; a reload (SIGHUP) opens the databases anew.
            e.watch(stop.clone());
        }
        let sink_cfgs = sink::with_enrichment(cfg.sinks.values(), enricher.as_ref());
        let (inputs, sinks) = sink::start_all(&sink_cfgs, state, &feed_ids, &abort).await?;
        let sinks = sinks
            .into_iter()
            .zip(&sink_cfgs)
            .map(|(h, c)| watch(format!("sink {}", c.name), h, stop.clone(), fatal.clone()))
            .collect();
        let (pipeline, committer) = Pipeline::start(
            state.clone(),
            inputs,
            cfg.agent.max_in_flight_batches,
            abort.clone(),
        );
        let committer = watch("committer".into(), committer, stop.clone(), fatal.clone());
        let stall = cfg
            .agent
            .stall_timeout
            .unwrap_or_else(|| progress::default_stall_timeout(cfg.agent.request_timeout));
        let mut progress = progress::watch(feed_ids.iter().map(|f| f.key.clone()), stall);
        let mut feeds = JoinSet::new();
        let mut started = 0;
        let every = notify::beat_interval(notify::watchdog_period());
        for (t, http) in cfg.tenants.values().zip(clients) {
            let client = Arc::new(
                TenantClient::new(http, t, stop.clone())
                    .with_max_blob_bytes(cfg.agent.max_blob_bytes),
            );
            for ct in &t.content_types {
                let shared = Arc::new(FeedShared::new(FeedId::new(&t.name, &t.tenant_id, *ct)));
                let make = {
                    let (shared, client, state, pipeline, agent, stop) = (
                        shared.clone(),
                        client.clone(),
                        state.clone(),
                        pipeline.clone(),
                        cfg.agent.clone(),
                        stop.clone(),
                    );
                    move || {
                        Feed::new(
                            shared.clone(),
                            client.clone(),
                            state.clone(),
                            pipeline.clone(),
                            agent.clone(),
                            stop.clone(),
                        )
                    }
                };
                feeds.spawn(supervise::feed(FeedTask {
                    make: Box::new(make),
                    progress: progress.remove(&shared.id.key).unwrap_or_default(),
                    shared,
                    beat: beats.register(),
                    every,
                    first_delay: crate::feed::stagger(started, cfg.agent.poll_interval),
                    stop: stop.clone(),
                }));
                started += 1;
            }
        }
        Ok(Generation {
            stop,
            abort,
            pipeline,
            committer,
            sinks,
            feeds,
            fatal,
            state: state.clone(),
        })
    }

    /// Resolves when a sink or the committer died.
    pub(super) async fn failed(&self) -> Fatal {
        self.fatal.wait().await;
        self.fatal.clone()
    }

    pub(super) fn feeds(&self) -> usize {
        self.feeds.len()
    }

    /// Stops polling and waits (up to `timeout`) until everything submitted is committed;
    /// what is not by then is abandoned and redone by the next generation or start.
    pub(super) async fn drain(mut self, timeout: Duration) -> Outcome {
        self.stop.cancel();
        let deadline = crate::bounds::later(tokio::time::Instant::now(), timeout);
        while self.feeds.join_next().await.is_some() {}
        self.pipeline.close().await;
        drop(self.pipeline);
        let mut committer = self.committer;
        // A committer that died (watched: `None`) committed nothing more: abandoned.
        let died = || Committed {
            abandoned: true,
            ..Committed::default()
        };
        let committed = tokio::select! {
            r = &mut committer => Some(r.ok().flatten().unwrap_or_else(died)),
            _ = tokio::time::sleep_until(deadline) => None,
            _ = self.abort.cancelled() => None,
            _ = commits_failing(&self.state) => {
                tracing::warn!("Commits to state are failing: not waiting for them during the drain.");
                None
            }
        };
        let committed = match committed {
            Some(c) => c,
            None => {
                tracing::warn!(
                    "The drain did not finish in time; abandoning unacknowledged work (it is redone on the next start)."
                );
                self.abort.cancel();
                let mut c = tokio::time::timeout(Duration::from_secs(5), committer)
                    .await
                    .ok()
                    .and_then(|r| r.ok().flatten())
                    .unwrap_or_default();
                c.abandoned = true;
                c
            }
        };
        self.abort.cancel();
        for s in self.sinks {
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
        Outcome {
            records: committed.records,
            batches: committed.batches,
            abandoned: committed.abandoned,
            reloads: 0,
        }
    }
}

/// Resolves once commits to state fail: a drain then cannot finish, and waiting for its
/// timeout would only delay the stop (what is not committed is redone at the next start).
async fn commits_failing(state: &State) {
    while state.commits_failing().is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
