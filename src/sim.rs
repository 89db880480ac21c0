//! A faithful simulator of the Office 365 Management Activity API and its token endpoints.
//!
//! Integration tests, the benchmark and `o365fwd demo` run against it, so it reproduces what
//! the real service does to clients (reference `o365-management-api.md` §12): the v1/v2 token
//! flows and their errors, subscriptions and the 15-minute start rule, window validation,
//! `NextPageUri` paging, 7-day expiry, duplicates, late blobs, malformed bodies, throttling,
//! transient errors, and hostile URIs pointing at a second listener (the "evil host").
//!
//! Content is never stored: [`model`] derives every blob and record from the seed, so the same
//! config yields the same record ids on every run and millions of records cost no memory.
//! Time comes from a [`clock`] that tests can move forward ([`SimHandle::advance`]).
//!
//! Choices where the reference leaves room: a listing start may lie up to 7 d + 1 h in the past
//! (Beats saw that slack); window errors answer `AF20030`, except start ≥ end which answers
//! `AF20055`; `AF20050`/`AF20051` use 404, other `AF2xxxx` 400, `AF20010` 403; 503s carry an
//! IIS HTML page, not the JSON envelope; `NextPageUri` omits `PublisherIdentifier`.

mod api;
mod clock;
mod faults;
mod graph;
mod hostile;
mod model;
mod records;
mod rng;
mod sample;
mod server;
mod token;
mod window;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::record::ContentType;
pub use graph::{GraphSimConfig, GraphStats};
pub use hostile::{Hostile, bad_entries};
use model::Feed;
pub use sample::{Sample, sample};
use server::Shared;

/// One simulated tenant and the app registration allowed to read it.
#[derive(Clone)]
pub struct SimTenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for SimTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTenant")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"**REDACTED**")
            .finish()
    }
}

/// What the simulator serves and which faults it injects. Rates are fractions in `[0, 1]`.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub tenants: Vec<SimTenant>,
    pub content_types: Vec<ContentType>,
    /// Content exists from `start - backlog`; blobs older than `content_retention` are expired.
    pub backlog: Duration,
    /// Spacing of `contentCreated` between consecutive blobs of one feed (at least 1 ms).
    pub blob_interval: Duration,
    /// Records per blob, inclusive range, chosen deterministically per blob.
    pub records_per_blob: (usize, usize),
    /// Keep producing blobs as (simulated) time passes; `false` = fixed backlog only.
    pub live: bool,
    /// Entries per `/subscriptions/content` page.
    pub page_size: usize,
    /// `expires_in` of issued tokens; an expired token gets 401.
    pub token_lifetime: Duration,
    /// Per-tenant limit over a sliding minute; beyond it `AF429`.
    pub requests_per_minute: Option<u32>,
    /// HTTP status of `AF429` answers: 429 or 403 (Microsoft's own example uses 403).
    pub throttle_status: u16,
    /// Every Nth API request of a tenant is throttled.
    pub throttle_every: Option<u32>,
    /// `Retry-After` on throttles (`None` = header absent). Until it elapses, the tenant's
    /// further requests are throttled too.
    pub retry_after: Option<Duration>,
    /// Fraction of API requests answered 500 `AF50000` or 503.
    pub error_rate: f64,
    /// Fraction of blobs repeating 1–3 records (same `Id`, same JSON) of an earlier blob.
    pub duplicate_rate: f64,
    /// Fraction of blobs listed only `late_by` after their `contentCreated`.
    pub late_rate: f64,
    pub late_by: Duration,
    /// Fraction of blobs whose body is broken (truncated JSON or an HTML error page).
    pub malformed_rate: f64,
    /// A malformed blob serves valid JSON after this many fetches (`None` = never heals).
    pub malformed_heal_after: Option<u32>,
    /// The first `NextPageUri` of each feed points at the evil host (once).
    pub hostile_next_page: bool,
    /// Fraction of blobs whose `contentUri` points at the evil host (always, for that blob).
    pub hostile_content_uri_rate: f64,
    /// `false` = every subscription starts absent (`AF20022` until started).
    pub subscriptions_enabled: bool,
    /// How long a blob can be fetched after `contentCreated` (the service keeps 7 days).
    pub content_retention: Duration,
    /// Certificates (DER) registered on app registrations, by client id: client assertions
    /// of that app are verified against it (signature, thumbprint). An app without one
    /// refuses every assertion (AADSTS700027).
    pub certificates: std::collections::BTreeMap<String, Vec<u8>>,
    /// The Microsoft Graph audit log search (`backfill`), on the same listener.
    pub graph: GraphSimConfig,
    /// Hostile answers for the first tenant (all off by default; see [`Hostile`]).
    pub hostile: Hostile,
}

impl Default for SimConfig {
    /// Sane and fault-free: one tenant, all five content types, one hour of backlog.
    fn default() -> SimConfig {
        SimConfig {
            seed: 1,
            tenants: vec![SimTenant {
                tenant_id: "41463f53-8812-40f4-890f-865bf6e35190".into(),
                client_id: "a6099727-6b7b-482c-b509-1df309acc563".into(),
                client_secret: "sim-secret-0".into(),
            }],
            content_types: ContentType::ALL.to_vec(),
            backlog: Duration::from_secs(3600),
            blob_interval: Duration::from_secs(60),
            records_per_blob: (1, 20),
            live: false,
            page_size: 100,
            token_lifetime: Duration::from_secs(3599),
            requests_per_minute: None,
            throttle_status: 429,
            throttle_every: None,
            retry_after: None,
            error_rate: 0.0,
            duplicate_rate: 0.0,
            late_rate: 0.0,
            late_by: Duration::from_secs(0),
            malformed_rate: 0.0,
            malformed_heal_after: None,
            hostile_next_page: false,
            hostile_content_uri_rate: 0.0,
            subscriptions_enabled: true,
            content_retention: Duration::from_secs(7 * 24 * 3600),
            certificates: Default::default(),
            graph: GraphSimConfig::default(),
            hostile: Hostile::default(),
        }
    }
}

impl SimConfig {
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> SimConfig {
        <SimConfig as Default>::default()
    }

    /// Live content for `o365fwd demo`: three tenants, a few records per second in total,
    /// with the everyday imperfections (duplicates, late blobs) switched on.
    pub fn demo() -> SimConfig {
        let tenants = [
            "41463f53-8812-40f4-890f-865bf6e35190",
            "f28ab78a-d401-4060-8012-736e373933eb",
            "0d4a2c1e-7b3f-4e5a-9c8d-2f1e0a9b8c7d",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| SimTenant {
            tenant_id: (*t).into(),
            client_id: format!("a6099727-6b7b-482c-b509-1df309acc56{i}"),
            client_secret: format!("sim-secret-{i}"),
        })
        .collect();
        SimConfig {
            tenants,
            backlog: Duration::from_secs(2 * 3600),
            blob_interval: Duration::from_secs(30),
            records_per_blob: (1, 8),
            live: true,
            page_size: 50,
            duplicate_rate: 0.05,
            late_rate: 0.05,
            late_by: Duration::from_secs(300),
            ..SimConfig::default()
        }
    }
}

/// One request a listener served.
#[derive(Clone, Debug)]
pub struct RequestLog {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub tenant: Option<String>,
    pub had_authorization: bool,
    pub status: u16,
    /// `Retry-After` sent in this response.
    pub retry_after: Option<Duration>,
    /// `AF…` (or `AADSTS…` for token errors) code sent, if any.
    pub error_code: Option<String>,
    /// The `PublisherIdentifier` query parameter (any case), if present.
    pub publisher_identifier: Option<String>,
}

/// A running simulator. Dropping it (or [`SimHandle::shutdown`]) stops both listeners.
pub struct SimHandle {
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl SimHandle {
    /// Starts the API/login listener on `listen` and the evil host on another port of the
    /// same address.
    pub async fn start(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
        let api = tokio::net::TcpListener::bind(listen).await?;
        let evil = tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), 0)).await?;
        let url = |a: SocketAddr| {
            let ip = if a.ip().is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                a.ip()
            };
            format!("http://{}", SocketAddr::new(ip, a.port()))
        };
        let shared = Arc::new(Shared::new(
            cfg,
            Utc::now(),
            url(api.local_addr()?),
            url(evil.local_addr()?),
        ));
        let cancel = CancellationToken::new();
        server::spawn(shared.clone(), api, evil, cancel.clone());
        tracing::info!(
            base_url = %shared.base_url,
            evil_base_url = %shared.evil_url,
            tenants = shared.cfg.tenants.len(),
            "simulator listening"
        );
        Ok(SimHandle { shared, cancel })
    }

    /// `http://127.0.0.1:PORT`: both the API root host and the login authority.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The "other host" that hostile URIs point at.
    pub fn evil_base_url(&self) -> String {
        self.shared.evil_url.clone()
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.cfg
    }

    /// The simulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves simulated time forward (late blobs appear, tokens expire, live blobs accrue).
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    /// While on, listing requests of the first tenant are held without an answer.
    pub fn set_hang_listings(&self, on: bool) {
        self.shared.set_hang_listings(on);
    }

    /// The content id of blob `index` of (tenant, ct), as listed.
    pub fn content_id_at(&self, tenant_id: &str, ct: ContentType, index: u64) -> Option<String> {
        let m = &self.shared.model;
        let f = m.tenant_index(tenant_id).and_then(|t| m.feed(t, ct))?;
        Some(m.content_id(&f, index))
    }

    /// Runs simulated time `speed` times faster than real time.
    pub fn set_speed(&self, speed: f64) {
        self.shared.clock.set_speed(speed);
    }

    /// Ground truth: every distinct record `Id` in blobs of (tenant, ct) that are listed now
    /// and not expired, leaving out blobs a correct client cannot obtain (hostile
    /// `contentUri`, malformed without healing; see [`SimHandle::unreachable_content_ids`]).
    pub fn expected_ids(&self, tenant_id: &str, ct: ContentType) -> BTreeSet<String> {
        self.expected_ids_ms(tenant_id, ct, i64::MIN / 4, i64::MAX / 4)
    }

    /// Same, restricted to blobs with `contentCreated` in `[from, to)`.
    pub fn expected_ids_between(
        &self,
        tenant_id: &str,
        ct: ContentType,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BTreeSet<String> {
        self.expected_ids_ms(
            tenant_id,
            ct,
            from.timestamp_millis(),
            to.timestamp_millis(),
        )
    }

    fn expected_ids_ms(
        &self,
        tenant: &str,
        ct: ContentType,
        from: i64,
        to: i64,
    ) -> BTreeSet<String> {
        let s = &self.shared;
        let mut ids = BTreeSet::new();
        self.for_listed(tenant, ct, from, to, |f, i| {
            if s.reachable(f, i) {
                ids.extend(s.model.blob_ids(f, i));
            }
        });
        ids
    }

    /// Ground truth with content: the JSON text of every record counted by
    /// [`SimHandle::expected_ids`], keyed by `Id`, so a test can apply its own
    /// expectation (routing, filtering) to what should be delivered.
    pub fn expected_records(&self, tenant_id: &str, ct: ContentType) -> BTreeMap<String, String> {
        let s = &self.shared;
        let mut out = BTreeMap::new();
        self.for_listed(tenant_id, ct, i64::MIN / 4, i64::MAX / 4, |f, i| {
            if !s.reachable(f, i) {
                return;
            }
            for r in s.model.layout(f, i) {
                out.entry(s.model.record_id(f, &r)).or_insert_with(|| {
                    let mut json = String::new();
                    s.model.render_record(f, &r, &mut json);
                    json
                });
            }
        });
        out
    }

    /// Content ids listed now that a correct client can never fetch: hostile `contentUri`s
    /// (it must refuse them) and malformed blobs that never heal. It must report them loudly.
    pub fn unreachable_content_ids(&self, tenant_id: &str, ct: ContentType) -> BTreeSet<String> {
        let s = &self.shared;
        let mut ids = BTreeSet::new();
        self.for_listed(tenant_id, ct, i64::MIN / 4, i64::MAX / 4, |f, i| {
            if !s.reachable(f, i) {
                ids.insert(s.model.content_id(f, i));
            }
        });
        ids
    }

    /// Every content id listed now for (tenant, ct), oldest first.
    pub fn listed_content_ids(&self, tenant_id: &str, ct: ContentType) -> Vec<String> {
        let mut ids = Vec::new();
        self.for_listed(tenant_id, ct, i64::MIN / 4, i64::MAX / 4, |f, i| {
            ids.push(self.shared.model.content_id(f, i));
        });
        ids
    }

    /// How many times a blob was fetched (any outcome after the id was resolved).
    pub fn fetch_count(&self, tenant_id: &str, content_id: &str) -> u32 {
        self.shared.fetch_count(tenant_id, content_id)
    }

    fn for_listed(
        &self,
        tenant: &str,
        ct: ContentType,
        from: i64,
        to: i64,
        mut each: impl FnMut(&Feed, u64),
    ) {
        let m = &self.shared.model;
        let Some(f) = m.tenant_index(tenant).and_then(|t| m.feed(t, ct)) else {
            return;
        };
        let now = self.shared.clock.now_ms();
        for i in m.window(&f, from, to, now) {
            if m.is_available(&f, i, now) {
                each(&f, i);
            }
        }
    }

    /// Every request the API and login listener served, in arrival order (the oldest are
    /// dropped beyond a few hundred thousand, to bound a long demo's memory).
    pub fn requests(&self) -> Vec<RequestLog> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// Ground truth of the Graph audit search: every distinct record id of the tenant whose
    /// activity time lies in `[from, to)` and that is still retained, whatever blob it came
    /// in (the same ids the Management API serves for blobs of that time).
    pub fn graph_expected_ids(
        &self,
        tenant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BTreeSet<String> {
        graph::expected_ids(
            &self.shared,
            tenant_id,
            from.timestamp_millis(),
            to.timestamp_millis(),
        )
        .into_iter()
        .collect()
    }

    /// What the Graph audit search saw of its clients.
    pub fn graph_stats(&self) -> GraphStats {
        graph::stats(&self.shared)
    }

    /// Every request the evil host received.
    pub fn evil_requests(&self) -> Vec<RequestLog> {
        lock(&self.shared.evil_log).iter().cloned().collect()
    }

    pub fn shutdown(self) {}
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Writes the records of every unexpired blob of the current backlog as NDJSON, in blob
/// order and as served (duplicates included), for the benchmark's peers. Returns the number
/// of records written.
pub fn write_ndjson(cfg: &SimConfig, w: &mut impl std::io::Write) -> std::io::Result<u64> {
    let now = Utc::now().timestamp_millis();
    ndjson(&model::Model::new(cfg, now), cfg, now, Some(w))
}

impl SimHandle {
    /// [`write_ndjson`] for exactly what this simulator serves now (same start time), so a
    /// benchmark's peers read the very records the agent fetches.
    pub fn write_ndjson(&self, w: &mut impl std::io::Write) -> std::io::Result<u64> {
        let s = &self.shared;
        ndjson(&s.model, &s.cfg, s.clock.now_ms(), Some(w))
    }

    /// How many records (duplicates included) the listed, unexpired blobs hold now.
    pub fn served_records(&self) -> u64 {
        let s = &self.shared;
        ndjson::<std::io::Sink>(&s.model, &s.cfg, s.clock.now_ms(), None).unwrap_or(0)
    }
}

fn ndjson<W: std::io::Write>(
    m: &model::Model,
    cfg: &SimConfig,
    now: i64,
    mut w: Option<&mut W>,
) -> std::io::Result<u64> {
    let mut written = 0u64;
    let mut line = String::with_capacity(4096);
    for tenant in 0..m.tenants.len() {
        for ct in &cfg.content_types {
            let Some(f) = m.feed(tenant, *ct) else {
                continue;
            };
            for i in m.window(&f, i64::MIN / 4, now, now) {
                if !m.is_available(&f, i, now) || cfg.hostile.is_bomb(tenant, i) {
                    continue;
                }
                let layout = m.layout(&f, i);
                let Some(w) = w.as_mut() else {
                    written += layout.len() as u64;
                    continue;
                };
                for r in layout {
                    line.clear();
                    m.render_record(&f, &r, &mut line);
                    line.push('\n');
                    w.write_all(line.as_bytes())?;
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

/// Runs the simulator in the foreground until Ctrl-C (`o365fwd simulate --listen ADDR`).
pub async fn run_standalone(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<()> {
    let handle = SimHandle::start(cfg, listen).await?;
    for t in &handle.config().tenants {
        tracing::info!(
            tenant_id = %t.tenant_id,
            client_id = %t.client_id,
            "simulated tenant (client secret is in the simulator config)"
        );
    }
    tokio::signal::ctrl_c().await?;
    tracing::info!("simulator stopping");
    handle.shutdown();
    Ok(())
}

/// Locks a mutex, recovering from poisoning: the simulator's state stays usable even if a
/// handler panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
