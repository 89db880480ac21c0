//! The TOML configuration file: reading it, and the whole it makes.
//!
//! Each component owns its settings, their defaults and the rules a value must pass
//! ([`crate::api::tenant`], [`crate::sink::config`] and each sink's `config`,
//! [`crate::secret`], [`crate::format::enrich`], [`crate::filter`]); this module only walks the
//! TOML, applies those rules and reports every problem at once with its key path and
//! line/column (`deny_unknown_fields` semantics, which serde cannot report in one pass). The
//! `[agent]` section is the process's own and lives here. What [`Config`] holds is fully
//! validated, with defaults applied and secrets resolved.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::tenant::TenantConfig;
use crate::sink::config::SinkConfig;

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration was read from (for messages).
    pub source: PathBuf,
    pub agent: AgentConfig,
    pub tenants: BTreeMap<String, TenantConfig>,
    pub sinks: BTreeMap<String, SinkConfig>,
    /// What was accepted but deserves attention (a secret file its group can read), each
    /// located like a problem: `FILE:LINE:COLUMN: key: message`.
    pub warnings: Vec<String>,
    /// `[enrich]`: GeoIP/ASN and user-agent enrichment (off when absent).
    pub enrich: Option<crate::format::enrich::EnrichConfig>,
}

/// `[agent]`; every key optional, each default below.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// sled database directory ([`STATE_DIR`]).
    pub state_dir: PathBuf,
    /// Time between listings of a feed ([`POLL_INTERVAL`]).
    pub poll_interval: Duration,
    /// How far behind the cursor every listing starts again, to catch content that is
    /// listed late ([`OVERLAP`]).
    pub overlap: Duration,
    /// How long record ids are remembered to drop the API's repeats ([`DEDUP_HORIZON`]).
    pub dedup_horizon: Duration,
    /// How much of the horizon is answered from memory ([`DEDUP_HOT_WINDOW`]).
    pub dedup_hot_window: Duration,
    /// Record ids held in memory per feed, at most ([`DEDUP_HOT_IDS`]).
    pub dedup_hot_ids: usize,
    /// How far back a feed starts on its first run ([`INITIAL_LOOKBACK`]).
    pub initial_lookback: Duration,
    /// Bound on the SIGTERM drain ([`SHUTDOWN_TIMEOUT`]).
    pub shutdown_timeout: Duration,
    /// Records per batch handed to the sinks ([`BATCH_SIZE`]).
    pub batch_size: usize,
    /// Batches submitted and not yet committed, over all feeds ([`MAX_IN_FLIGHT_BATCHES`]).
    pub max_in_flight_batches: usize,
    /// Blobs fetched concurrently per feed ([`FETCH_CONCURRENCY`]).
    pub fetch_concurrency: usize,
    /// Per-request timeout towards the API ([`REQUEST_TIMEOUT`]).
    pub request_timeout: Duration,
    /// Fetch attempts of a blob before it is recorded as failed (it is retried on later
    /// polls until it expires) ([`BLOB_ATTEMPTS`]).
    pub blob_attempts: u32,
    /// Address of the `/metrics`, `/health` and `/state` endpoint. None = off.
    pub listen: Option<SocketAddr>,
    /// How long a sink may fail without any acknowledgement before `/health` reports it
    /// ([`UNHEALTHY_AFTER`]).
    pub unhealthy_after: Duration,
    /// Largest blob read, decoded; a larger one is recorded as failed
    /// ([`crate::api::DEFAULT_MAX_BLOB_BYTES`]).
    pub max_blob_bytes: u64,
    /// How long a feed may make no progress at all (see `daemon::progress`) before
    /// `/health` reports it and the watchdog is no longer fed. `None` = derived from
    /// `poll_interval` and `request_timeout`.
    pub stall_timeout: Option<Duration>,
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// The API keeps content for seven days: looking or overlapping further finds nothing.
const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
/// Greater than zero.
const NONZERO: Duration = Duration::from_nanos(1);

/// Default `state_dir`.
pub const STATE_DIR: &str = "/var/lib/o365fwd";
/// Default `poll_interval`: new content is listed within minutes of the activity anyway.
pub const POLL_INTERVAL: Duration = Duration::from_secs(60);
pub const POLL_INTERVAL_RANGE: RangeInclusive<Duration> = NONZERO..=DAY;
/// Default `overlap`: content can be listed up to about an hour late.
pub const OVERLAP: Duration = HOUR;
pub const OVERLAP_RANGE: RangeInclusive<Duration> = Duration::ZERO..=WEEK;
/// Default `dedup_horizon`: the API repeats records within a day.
pub const DEDUP_HORIZON: Duration = DAY;
pub const DEDUP_HORIZON_RANGE: RangeInclusive<Duration> = Duration::ZERO..=WEEK;
/// Default `dedup_hot_window`: the newest part of the horizon, where nearly every repeat falls,
/// is answered from memory; older record times are looked up on disk.
pub const DEDUP_HOT_WINDOW: Duration = Duration::from_secs(2 * 3600);
pub const DEDUP_HOT_WINDOW_RANGE: RangeInclusive<Duration> = Duration::ZERO..=WEEK;
/// Default `dedup_hot_ids`: the cap on one feed's ids in memory, whatever its volume.
pub const DEDUP_HOT_IDS: usize = 1_000_000;
pub const DEDUP_HOT_IDS_RANGE: RangeInclusive<i64> = 10_000..=100_000_000;
/// Default `initial_lookback`: all the API keeps.
pub const INITIAL_LOOKBACK: Duration = WEEK;
pub const INITIAL_LOOKBACK_RANGE: RangeInclusive<Duration> = NONZERO..=WEEK;
/// Default `shutdown_timeout`: inside systemd's default stop timeout (90 s).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
pub const SHUTDOWN_TIMEOUT_RANGE: RangeInclusive<Duration> = NONZERO..=HOUR;
/// Default `batch_size`.
pub const BATCH_SIZE: usize = 500;
pub const BATCH_SIZE_RANGE: RangeInclusive<i64> = 1..=100_000;
/// Default `max_in_flight_batches`.
pub const MAX_IN_FLIGHT_BATCHES: usize = 16;
pub const MAX_IN_FLIGHT_BATCHES_RANGE: RangeInclusive<i64> = 1..=10_000;
/// Default `fetch_concurrency`.
pub const FETCH_CONCURRENCY: usize = 4;
pub const FETCH_CONCURRENCY_RANGE: RangeInclusive<i64> = 1..=256;
/// Default `request_timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
pub const REQUEST_TIMEOUT_RANGE: RangeInclusive<Duration> = NONZERO..=HOUR;
/// Default `blob_attempts`.
pub const BLOB_ATTEMPTS: u32 = 5;
pub const BLOB_ATTEMPTS_RANGE: RangeInclusive<i64> = 1..=1000;
/// Default `unhealthy_after`.
pub const UNHEALTHY_AFTER: Duration = Duration::from_secs(60);
pub const UNHEALTHY_AFTER_RANGE: RangeInclusive<Duration> = NONZERO..=DAY;
/// Allowed `max_blob_bytes`: 1 MiB to 4 GiB.
pub const MAX_BLOB_BYTES_RANGE: RangeInclusive<i64> = 1 << 20..=4 << 30;
/// Allowed `stall_timeout` (derived from `poll_interval` and `request_timeout` when unset).
pub const STALL_TIMEOUT_RANGE: RangeInclusive<Duration> = Duration::from_secs(1)..=DAY;

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            state_dir: PathBuf::from(STATE_DIR),
            poll_interval: POLL_INTERVAL,
            overlap: OVERLAP,
            dedup_horizon: DEDUP_HORIZON,
            dedup_hot_window: DEDUP_HOT_WINDOW,
            dedup_hot_ids: DEDUP_HOT_IDS,
            initial_lookback: INITIAL_LOOKBACK,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            batch_size: BATCH_SIZE,
            max_in_flight_batches: MAX_IN_FLIGHT_BATCHES,
            fetch_concurrency: FETCH_CONCURRENCY,
            request_timeout: REQUEST_TIMEOUT,
            blob_attempts: BLOB_ATTEMPTS,
            listen: None,
            unhealthy_after: UNHEALTHY_AFTER,
            max_blob_bytes: crate::api::DEFAULT_MAX_BLOB_BYTES,
            stall_timeout: None,
        }
    }
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `tenants.contoso.cloud` (empty for syntax errors).
    pub key: String,
    /// 1-based line and column of the offending value, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The file the problems are in.
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{} problem{} in {}:",
            n,
            if n == 1 { "" } else { "s" },
            self.file.display()
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", p.located(&self.file))?;
        }
        Ok(())
    }
}

impl Problem {
    /// `FILE:LINE:COLUMN: key: message`, as printed.
    pub fn located(&self, file: &Path) -> String {
        let mut s = file.display().to_string();
        if let (Some(l), Some(c)) = (self.line, self.column) {
            s.push_str(&format!(":{l}:{c}"));
        }
        if self.key.is_empty() {
            s.push_str(&format!(": {}", self.message));
        } else {
            s.push_str(&format!(": {}: {}", self.key, self.message));
        }
        s
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            problems: vec![Problem {
                key: String::new(),
                line: None,
                column: None,
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates configuration text; `source` is only used in messages.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        parse::parse(text, source)
    }

    /// A summary safe to print: every secret redacted.
    pub fn summary(&self) -> String {
        parse::summary(self)
    }
}

mod parse;
