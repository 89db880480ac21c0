//! Enrichment in the agent: what Elasticsearch's ingest pipeline would add, for every sink
//! (GeoIP and ASN of the client address from MaxMind-format databases, the parsed user
//! agent). Off by default; `[enrich]` in the config turns it on. The encoders write the
//! results as each format names them (ECS `source.geo`/`source.as`/`user_agent.*`, CEF
//! `slat`/`slong`, OCSF `src_endpoint.location`); `raw` stays raw.
//!
//! Databases are memory-mapped and reopened when their file changes (checked every
//! `watch_interval`) and on SIGHUP (a reload builds a new enricher); a database that fails
//! to reopen keeps the previous one in service, loudly.

pub mod geo;
pub mod ua;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use self::geo::Geo;
use self::geo::{Db, Kind};
pub use self::ua::UserAgent;

/// `[enrich]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichConfig {
    /// `geoip_city`: a City (or Country) database.
    pub city: Option<PathBuf>,
    /// `geoip_asn`: an ASN database.
    pub asn: Option<PathBuf>,
    /// `user_agent = true`: parse user agents.
    pub user_agent: bool,
    /// `watch_interval`: how often the database files are checked for a new version.
    pub watch_interval: Duration,
}

pub const DEFAULT_WATCH: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Dbs {
    city: Option<Arc<Db>>,
    asn: Option<Arc<Db>>,
}

/// The enrichment of one configuration generation, shared by its sinks' encoders.
pub struct Enricher {
    cfg: EnrichConfig,
    dbs: RwLock<Arc<Dbs>>,
    ua: Option<&'static ua::Parser>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher").field("cfg", &self.cfg).finish()
    }
}

impl Enricher {
    /// Opens every configured database and compiles the user-agent regexes; any problem is
    /// an error naming the file (what `check` reports).
    pub fn open(cfg: &EnrichConfig) -> Result<Enricher, String> {
        let dbs = Dbs {
            city: cfg
                .city
                .as_deref()
                .map(|p| Db::open(p, Kind::City).map(Arc::new))
                .transpose()?,
            asn: cfg
                .asn
                .as_deref()
                .map(|p| Db::open(p, Kind::Asn).map(Arc::new))
                .transpose()?,
        };
        let ua = cfg.user_agent.then(ua::parser).transpose()?;
        Ok(Enricher {
            cfg: cfg.clone(),
            dbs: RwLock::new(Arc::new(dbs)),
            ua,
        })
    }

    /// Calls `f` with what the databases know of `ip` (`None` without databases or when
    /// they know nothing).
    pub fn geo<R>(&self, ip: IpAddr, f: impl FnOnce(&Geo<'_>) -> R) -> Option<R> {
        let dbs = self.current();
        if dbs.city.is_none() && dbs.asn.is_none() {
            return None;
        }
        let mut g = Geo::default();
        if let Some(db) = &dbs.city {
            db.city(ip, &mut g);
        }
        if let Some(db) = &dbs.asn {
            db.asn(ip, &mut g);
        }
        (g.has_location() || g.as_number.is_some() || g.as_org.is_some()).then(|| f(&g))
    }

    pub fn user_agent(&self, text: &str) -> Option<Arc<UserAgent>> {
        self.ua.map(|p| p.parse(text))
    }

    fn current(&self) -> Arc<Dbs> {
        self.dbs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reopens the databases whose file changed since they were opened. A failure keeps
    /// the one in service (logged, counted) and is tried again at the next check.
    pub fn refresh(&self) {
        let old = self.current();
        let mut changed = false;
        let mut next = Dbs::default();
        for (slot, db, path, kind) in [
            (&mut next.city, &old.city, &self.cfg.city, Kind::City),
            (&mut next.asn, &old.asn, &self.cfg.asn, Kind::Asn),
        ] {
            let Some(path) = path else { continue };
            let same = db
                .as_ref()
                .is_some_and(|d| geo::stamp(path).is_ok_and(|s| s == d.stamp));
            if same {
                *slot = db.clone();
                continue;
            }
            match Db::open(path, kind) {
                Ok(d) => {
                    crate::telemetry::enrich_reloaded(path, None);
                    *slot = Some(Arc::new(d));
                    changed = true;
                }
                Err(e) => {
                    crate::telemetry::enrich_reloaded(path, Some(&e));
                    *slot = db.clone();
                }
            }
        }
        if !changed {
            return;
        }
        *self.dbs.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
    }

    /// Checks the database files every `watch_interval` until `stop`.
    pub fn watch(self: &Arc<Self>, stop: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        if self.cfg.city.is_none() && self.cfg.asn.is_none() {
            return None;
        }
        let me = self.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.cfg.watch_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let e = me.clone();
                // Opening maps a file and reads its metadata: keep it off the runtime.
                let _ = tokio::task::spawn_blocking(move || e.refresh()).await;
            }
        }))
    }
}

#[cfg(test)]
mod tests;
