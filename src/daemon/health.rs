//! The optional HTTP endpoint (`[agent] listen`): `/metrics` in the Prometheus text format,
//! `/health` for load balancers and monitoring, and `/state`, the report of
//! `o365fwd state show` ([`super::report`]), which cannot open the state while the agent runs.
//!
//! Health rules (documented in the README): a feed is healthy when its last successful poll
//! (or the agent's start, before the first one) is within max(3 × poll_interval, 5 min), its
//! task is running (not waiting to be restarted after a panic) and it is not stuck (some
//! progress within `stall_timeout`, see `telemetry::progress`); a sink is healthy unless its
//! receiver stopped it or it has failed without a single acknowledgement for longer than
//! `[agent] unhealthy_after`.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Query, State as Ax};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::feed_id::FeedId;
use crate::state::State;
use crate::telemetry::exposition::{self, Gauges};
use crate::telemetry::metric as m;
use crate::telemetry::{self, SinkHealth, progress};

/// What the endpoint reports on; built once per (re)start of the daemon.
pub struct Observed {
    feeds: Vec<FeedId>,
    sinks: Vec<String>,
    poll_window: Duration,
    unhealthy_after: Duration,
    state: State,
    started: Instant,
    started_at: chrono::DateTime<Utc>,
    /// What `/state` reports on: this generation's configuration.
    config: Arc<Config>,
}

impl Observed {
    pub fn new(cfg: &Config, state: State) -> Observed {
        let feeds = cfg
            .tenants
            .values()
            .flat_map(|t| {
                t.content_types
                    .iter()
                    .map(|ct| FeedId::new(&t.name, &t.tenant_id, *ct))
            })
            .collect();
        Observed {
            feeds,
            sinks: cfg.sinks.keys().cloned().collect(),
            poll_window: poll_window(cfg.agent.poll_interval),
            unhealthy_after: cfg.agent.unhealthy_after,
            state,
            started: Instant::now(),
            started_at: Utc::now(),
            config: Arc::new(cfg.clone()),
        }
    }

    /// Seconds since `when` (or since start-up when there is none yet).
    fn age(&self, when: Option<&chrono::DateTime<Utc>>) -> f64 {
        let t = when.copied().unwrap_or(self.started_at);
        ((Utc::now() - t).num_milliseconds().max(0) as f64) / 1000.0
    }

    fn gauges(&self) -> Gauges {
        let polls = telemetry::last_polls();
        let commits = telemetry::last_commits();
        let troubles = progress::troubles();
        let mut g = Gauges::default();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        for f in &self.feeds {
            let labels = [f.tenant.as_str(), f.content_type.as_str()];
            let poll_age = self.age(polls.get(&f.key));
            g.set(&m::SECONDS_SINCE_LAST_POLL, labels, poll_age);
            let commit_age = self.age(commits.get(&f.key));
            g.set(&m::SECONDS_SINCE_LAST_COMMIT, labels, commit_age);
            let ok = poll_age <= self.poll_window.as_secs_f64() && !troubles.contains_key(&f.key);
            g.set(&m::FEED_HEALTHY, labels, flag(ok));
        }
        for s in &self.sinks {
            let ok = telemetry::sink_health(s, self.unhealthy_after) == SinkHealth::Healthy;
            g.set(&m::SINK_HEALTHY, [s], flag(ok));
        }
        let size = self.state.size_on_disk() as f64;
        g.set(&m::STATE_SIZE_BYTES, [], size);
        let failing = self.state.commits_failing().is_some();
        g.set(&m::STATE_COMMITS_FAILING, [], flag(failing));
        g.set(&m::UP_SECONDS, [], self.started.elapsed().as_secs() as f64);
        g
    }

    /// Every reason the agent is unhealthy (empty when healthy), and the details.
    pub fn health(&self) -> (Vec<String>, serde_json::Value) {
        let polls = telemetry::last_polls();
        let troubles = progress::troubles();
        let mut reasons = Vec::new();
        let mut feeds = serde_json::Map::new();
        for f in &self.feeds {
            let (tenant, ct) = (&f.tenant, f.content_type);
            let age = self.age(polls.get(&f.key));
            let ok = age <= self.poll_window.as_secs_f64();
            if !ok {
                reasons.push(format!(
                    "feed {tenant}/{ct}: no successful poll for {age:.0}s (limit {}s)",
                    self.poll_window.as_secs()
                ));
            }
            let mut detail = serde_json::json!({ "healthy": ok, "seconds_since_last_poll": age });
            if let Some(t) = troubles.get(&f.key) {
                reasons.push(format!("feed {tenant}/{ct}: {t}"));
                detail["healthy"] = false.into();
                detail["trouble"] = t.to_string().into();
            }
            feeds.insert(format!("{tenant}/{ct}"), detail);
        }
        let mut sinks = serde_json::Map::new();
        for s in &self.sinks {
            let v = match telemetry::sink_health(s, self.unhealthy_after) {
                SinkHealth::Healthy => serde_json::json!({ "healthy": true }),
                SinkHealth::Unhealthy(r) => {
                    reasons.push(format!("sink {s}: {r}"));
                    serde_json::json!({ "healthy": false, "reason": r })
                }
            };
            sinks.insert(s.clone(), v);
        }
        let state = match self.state.commits_failing() {
            None => serde_json::json!({ "healthy": true }),
            Some((since, error)) => {
                let r = format!(
                    "state {}: commits failing for {}s: {error}",
                    self.state.dir().display(),
                    since.as_secs()
                );
                reasons.push(r.clone());
                serde_json::json!({ "healthy": false, "reason": r })
            }
        };
        let details = serde_json::json!({
            "status": if reasons.is_empty() { "ok" } else { "unhealthy" },
            "reasons": reasons,
            "feeds": feeds,
            "sinks": sinks,
            "state": state,
        });
        (reasons, details)
    }
}

/// How recently a feed must have polled: max(3 × poll_interval, 5 min).
pub fn poll_window(poll_interval: Duration) -> Duration {
    (poll_interval * 3).max(Duration::from_secs(300))
}

async fn metrics(Ax(view): Ax<View>) -> impl IntoResponse {
    let o = current(&view);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exposition::render(&o.gauges()),
    )
}

async fn health(Ax(view): Ax<View>) -> impl IntoResponse {
    let o = current(&view);
    let (reasons, details) = o.health();
    let code = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(details))
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

/// `/state`: text unless `?format=json` (or, without `format`, an `Accept` naming JSON).
/// The report reads sled synchronously, so it is built on a blocking thread.
async fn state_report(
    Ax(view): Ax<View>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Response {
    let json = match q.format.as_deref() {
        Some("json") => true,
        Some("text") => false,
        Some(other) => {
            let msg = format!("unknown format {other:?} (expected json or text)\n");
            return (StatusCode::BAD_REQUEST, msg).into_response();
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json")),
    };
    let o = current(&view);
    let built = tokio::task::spawn_blocking(move || {
        let r =
            super::report::StateReport::build(&o.config, &o.state).map_err(|e| e.to_string())?;
        Ok::<_, String>(if json {
            r.json().map_err(|e| e.to_string())?
        } else {
            r.text()
        })
    })
    .await;
    let body = match built {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => {
            let msg = format!("the report failed: {e}\n");
            return (StatusCode::INTERNAL_SERVER_ERROR, msg).into_response();
        }
    };
    let kind = if json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// What the endpoint reports on; a reload swaps it without closing the listener.
type View = Arc<RwLock<Arc<Observed>>>;

fn current(view: &View) -> Arc<Observed> {
    view.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The endpoint of a running agent (serving nothing when `[agent] listen` is unset).
pub struct Endpoint {
    view: View,
    server: Option<(SocketAddr, CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl Endpoint {
    /// Binds `[agent] listen`, if set: a taken port fails the start.
    pub async fn start(cfg: &Config, state: &State) -> Result<Endpoint, super::DaemonError> {
        let view = Arc::new(RwLock::new(Arc::new(Observed::new(cfg, state.clone()))));
        let mut e = Endpoint { view, server: None };
        if let Some(addr) = cfg.agent.listen {
            let stop = CancellationToken::new();
            let h = serve(addr, e.view.clone(), stop.clone())
                .await
                .map_err(|source| super::DaemonError::Listen { addr, source })?;
            e.server = Some((addr, stop, h));
        }
        Ok(e)
    }

    /// After a reload: report on the new feeds and sinks, and move to the new address if
    /// `listen` changed (a failure to bind is logged; the agent goes on without it).
    pub async fn update(&mut self, cfg: &Config, state: &State) {
        let mut o = Observed::new(cfg, state.clone());
        o.started = current(&self.view).started;
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(o);
        if self.server.as_ref().map(|s| s.0) == cfg.agent.listen {
            return;
        }
        self.stop().await;
        if let Some(addr) = cfg.agent.listen {
            let stop = CancellationToken::new();
            match serve(addr, self.view.clone(), stop.clone()).await {
                Ok(h) => self.server = Some((addr, stop, h)),
                Err(e) => tracing::error!(
                    address = %addr,
                    error = %e,
                    "Cannot listen on the new address; /metrics and /health are off until the next reload or restart."
                ),
            }
        }
    }

    pub async fn stop(&mut self) {
        if let Some((_, stop, h)) = self.server.take() {
            stop.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }
}

/// Binds `addr` and serves until `stop`.
async fn serve(
    addr: SocketAddr,
    view: View,
    stop: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .route("/health", axum::routing::get(health))
        .route("/state", axum::routing::get(state_report))
        .with_state(view);
    tracing::info!(address = %listener.local_addr()?, "Serving /metrics, /health and /state.");
    Ok(tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "The metrics and health endpoint failed.");
        }
    }))
}

#[cfg(test)]
mod tests;
