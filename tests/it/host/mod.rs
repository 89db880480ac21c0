//! A failing host and safe configuration: a damaged state directory, a full disk under the
//! state, a file sink's output rotated under the agent, `check`'s rules for Kafka in clear,
//! secret files and URLs, and TLS to receivers with a self-signed (pinned) certificate.

mod check;
mod disk;
mod rotation;
mod state;
mod tls;

use std::time::{Duration, Instant};

/// Polls `f` every 100 ms until it is true or `timeout` passes.
pub async fn until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f()
}
