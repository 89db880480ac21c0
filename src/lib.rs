//! o365fwd copies Office 365 / Dynamics 365 audit activity from the Office 365 Management
//! Activity API into a SIEM without losing or silently dropping a record.
//!
//! ```text
//!  config.toml ─► daemon ─► one feed per (tenant, content type)
//!    feed:     list content (≤24 h windows, NextPageUri, overlap, 7-day clamp)
//!              ─► skip content ids already done        (state)
//!              ─► fetch blobs (bounded, per-tenant rate budget, retries)   (api)
//!              ─► parse records, drop repeated record ids                  (record)
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
//! - [`config`]: TOML schema, defaults, validation with line/column, secrets.
//! - [`api`]: the Management Activity API client: auth, listing, blobs, rate budget; and the
//!   Graph audit log search (`api::graph`).
//! - [`bounds`]: clamps on numbers from the network, checked deadlines, capped bodies.
//! - [`feed`]: the poll loop of one (tenant, content type).
//! - [`state`]: the sled store; the only writer of durable progress.
//! - [`record`]: the audit record model (one validating scan per blob indexes every record,
//!   `record::scan`), classification, Dynamics 365 specifics.
//! - [`format`]: raw, ECS, CEF, OCSF and text encodings of a record, and the optional enrichment
//!   (GeoIP/ASN, user agents) they write.
//! - [`filter`]: per-sink filters: which records a sink receives.
//! - [`sink`]: file, stdout (and the network sinks).
//! - [`pipeline`]: batches from feeds to sinks, acknowledgements to state, in order.
//! - [`daemon`]: process lifecycle: signals (stop, SIGHUP reload), start, drain, stop;
//!   sd_notify and the watchdog; the `/metrics` and `/health` endpoint.
//! - [`failpoint`]: panics on request, in debug builds, for the supervision tests.
//! - [`offline`]: one-off delivery for `replay`, `import` and `backfill`, outside the
//!   daemon's state.
//! - [`backfill`]: history beyond the API's 7 days, through the Graph audit log search;
//!   resumable, and meeting the live feed where it begins ([`coverage`]).
//! - [`coverage`]: where each live feed begins, published beside the daemon's state.
//! - [`telemetry`]: logging setup, the counters behind every loud event, their Prometheus
//!   exposition, and feed and sink health.
//! - [`sim`]: a faithful Management Activity API simulator for tests, benchmarks and `demo`.

pub mod api;
pub mod backfill;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod daemon;
pub mod failpoint;
pub mod feed;
pub mod filter;
pub mod format;
pub mod offline;
pub mod pipeline;
pub mod record;
pub mod sim;
pub mod sink;
pub mod state;
pub mod telemetry;
