//! o365fwd copies Office 365 / Dynamics 365 audit activity from the Office 365 Management
//! Activity API into a SIEM without losing or silently dropping a record.
//!
//! ```text
//!  config.toml ─► daemon ─► one feed per (tenant, content type)
//!    feed:     list content (≤24 h windows, NextPageUri, overlap, 7-day clamp)
//!              ─► skip content ids already done                            (state)
//!              ─► fetch blobs (bounded, per-tenant rate budget, retries)   (api)
//!              ─► parse records                                            (record)
//!              ─► drop repeated record ids, by the record's own time       (state::dedup)
//!    pipeline: ─► fan out to every sink its filter admits                   (filter)
//!              ─► each sink encodes in its format                           (format, sink)
//!              ◄─ acknowledgements, in submission order
//!              ─► commit progress, seen ids and cursor in sled, durably    (state)
//! ```
//!
//! # The delivery contract
//! Progress is committed only after every sink acknowledged the records it covers, and
//! commits happen in the order batches were submitted, so what is committed is always a
//! prefix of what every sink received. The upstream API keeps content for seven days and is
//! the buffer: a slow sink stalls polling instead of growing memory. Whatever cannot be
//! delivered (expired content, unparseable blobs, refused URIs) is logged at error level,
//! counted, and recorded in state where `o365fwd state show` lists it.
//!
//! # Modules
//! - [`cli`]: subcommands; the only place that uses `anyhow`.
//! - [`config`]: reads the TOML file, reporting every problem with its line and column, and
//!   applies each component's own rules; holds `[agent]`.
//! - [`secret`]: secret values that never show, where each came from, reading them from a
//!   file or the environment.
//! - [`api`]: the Management Activity API client: a tenant's settings (`api::tenant`), auth,
//!   listing, blobs, rate budget; and the Graph audit log search (`api::graph`).
//! - [`bounds`]: clamps on numbers from the network, checked deadlines, capped bodies.
//! - [`feed`]: the poll loop of one (tenant, content type).
//! - [`feed_id`]: a feed's identity (tenant, content type, state key), as every stage names it.
//! - [`state`]: the sled store; the only writer of durable progress; `state::dedup` decides
//!   which records were delivered before, by the record's own time.
//! - [`record`]: the audit record model (one validating scan per blob indexes every record,
//!   `record::scan`), classification, Dynamics 365 specifics (split records).
//! - [`format`]: raw, ECS, CEF, OCSF and text encodings of a record, and the optional enrichment
//!   (GeoIP/ASN, user agents) they write.
//! - [`filter`]: per-sink filters: which records a sink receives.
//! - [`sink`]: where records go: file, stdout, syslog, Kafka and the HTTP sinks (Splunk HEC,
//!   Elasticsearch, webhook); each sink's settings in its own `config`.
//! - [`pipeline`]: batches from feeds to sinks, acknowledgements to state, in order.
//! - [`daemon`]: process lifecycle: signals (stop, SIGHUP reload), start, drain, stop;
//!   sd_notify and the watchdog; the `/metrics`, `/health` and `/state` endpoint.
//! - [`failpoint`]: panics on request, in debug builds, for the supervision tests.
//! - [`offline`]: one-off delivery for `replay`, `import` and `backfill`, outside the
//!   daemon's state.
//! - [`backfill`]: history beyond the API's 7 days, through the Graph audit log search;
//!   resumable, and meeting the live feed where it begins ([`coverage`]).
//! - [`coverage`]: where each live feed begins, published beside the daemon's state.
//! - [`telemetry`]: logging setup, the typed catalogue of every metric, the counters behind
//!   every loud event (resolved once per feed and sink, lock-free to update), their Prometheus
//!   exposition, and feed and sink health.
//! - `sim` (cargo feature `sim`, on by default): a faithful Management Activity API
//!   simulator for tests, benchmarks and `demo`; a packaged build may leave it out.

pub mod api;
pub mod backfill;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod daemon;
pub mod failpoint;
pub mod feed;
pub mod feed_id;
pub mod filter;
pub mod format;
pub mod offline;
pub mod pipeline;
pub mod record;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod sink;
pub mod state;
pub mod telemetry;
