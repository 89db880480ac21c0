//! End-to-end tests: the real binary against the simulator and real receivers.

mod cert;
mod cli;
mod delivery;
mod faults;
mod formats;
mod harness;
mod hostile;
mod http;
mod import;
mod kafka;
mod receivers;
mod reload;
mod replay;
mod routing;
mod service;
mod soak;
mod split;
mod subscriptions;
mod syslog;
