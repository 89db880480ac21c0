//! The agent as a service: `/metrics` and `/health` against the simulator's ground truth,
//! systemd's notification protocol with a fake `NOTIFY_SOCKET`, the unit file checked by
//! `systemd-analyze`, the log formats, and the `.deb` installed and purged with `dpkg`.

mod deb;
mod logs;
mod metrics;
mod notify;
pub mod support;
mod unit;
