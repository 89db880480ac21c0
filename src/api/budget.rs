//! The per-tenant request budget shared by all feeds of a tenant: a paced rate (GCRA) with a
//! small burst, and a pause that a throttling response (`Retry-After`, AF429) imposes on
//! every request of the tenant.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bounds::later;

pub struct Budget {
    interval: Duration,
    tolerance: Duration,
    inner: Mutex<Inner>,
}

struct Inner {
    tat: Instant,
    paused_until: Instant,
}

impl Budget {
    /// `per_minute` requests a minute, with bursts of up to a second's worth.
    pub fn new(per_minute: u32) -> Budget {
        let per_minute = per_minute.max(1);
        let interval = Duration::from_secs(60) / per_minute;
        let burst = (per_minute / 60).max(1);
        let now = Instant::now();
        Budget {
            interval,
            tolerance: interval * burst,
            inner: Mutex::new(Inner {
                tat: now,
                paused_until: now,
            }),
        }
    }

    /// Waits for a request slot (and for any pause to end). False if cancelled.
    pub async fn acquire(&self, cancel: &CancellationToken) -> bool {
        loop {
            let slot = {
                let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let start = now.max(g.paused_until);
                let slot = start.max(g.tat.checked_sub(self.tolerance).unwrap_or(start));
                g.tat = later(g.tat.max(slot), self.interval);
                slot
            };
            if slot > Instant::now() {
                tokio::select! {
                    _ = tokio::time::sleep_until(slot) => {}
                    _ = cancel.cancelled() => return false,
                }
            }
            // A pause may have begun while we waited: honour it before sending.
            let paused = self
                .inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .paused_until;
            if paused <= Instant::now() {
                return !cancel.is_cancelled();
            }
        }
    }

    /// No request of this tenant goes out before `d` has passed (a checked sum: callers
    /// clamp `d`, and a `d` the clock cannot hold still cannot panic here).
    pub fn pause(&self, d: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let until = later(Instant::now(), d);
        if until > g.paused_until {
            g.paused_until = until;
        }
    }
}

#[cfg(test)]
mod tests;
