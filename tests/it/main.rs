//! End-to-end tests: the real binary against the simulator and real receivers.

mod backfill;
mod cert;
mod cli;
mod delivery;
mod enrich;
mod faults;
mod formats;
mod harness;
mod host;
mod hostile;
mod http;
mod import;
mod kafka;
mod ocsf;
mod parity;
mod receivers;
mod reload;
mod replay;
mod routing;
mod service;
mod soak;
mod split;
mod state_show;
mod subscriptions;
mod syslog;
