//! End-to-end tests: the real binary against the simulator and real receivers.

mod cli;
mod delivery;
mod faults;
mod formats;
mod harness;
mod http;
mod kafka;
mod receivers;
mod soak;
mod split;
mod syslog;
