//! Per-tenant throttling (`AF429`) and transient server errors (500 `AF50000`, 503).
//!
//! Throttling follows the current per-tenant model (reference §5): a sliding one-minute
//! window and/or every Nth request. While a `Retry-After` handed to a tenant has not elapsed,
//! its further requests are throttled again, which is how the service punishes clients that
//! do not wait. Error injection hashes the tenant's request number, so a given request
//! sequence always fails at the same places.

use std::collections::VecDeque;
use std::time::Duration;

use super::lock;
use super::rng::{chance, hash};
use super::server::{Reply, Shared};

const P_ERROR: u64 = 0xE77;
const P_ERROR_KIND: u64 = 0xE78;
const WINDOW_MS: i64 = 60_000;

#[derive(Debug, Default)]
pub(crate) struct Load {
    requests: u64,
    admitted: VecDeque<i64>,
    penalty_until_ms: Option<i64>,
}

/// `None` when the request may proceed; otherwise the throttle or error reply.
pub(crate) fn admit(s: &Shared, tenant: usize, method: &str, publisher: &str) -> Option<Reply> {
    let cfg = &s.cfg;
    let now = s.clock.now_ms();
    let n = {
        let mut l = lock(s.load.get(tenant)?);
        l.requests += 1;
        let n = l.requests;
        if let Some(until) = l.penalty_until_ms.filter(|u| now < *u) {
            let left = Duration::from_millis((until - now) as u64);
            return Some(throttled(
                cfg.throttle_status,
                method,
                publisher,
                Some(left),
            ));
        }
        while l.admitted.front().is_some_and(|t| *t <= now - WINDOW_MS) {
            l.admitted.pop_front();
        }
        let every = cfg
            .throttle_every
            .is_some_and(|k| k > 0 && n % u64::from(k) == 0);
        let over = cfg
            .requests_per_minute
            .is_some_and(|rpm| l.admitted.len() >= rpm as usize);
        if every || over {
            if let Some(ra) = cfg.retry_after {
                l.penalty_until_ms = Some(now + ra.as_millis() as i64);
            }
            return Some(throttled(
                cfg.throttle_status,
                method,
                publisher,
                cfg.retry_after,
            ));
        }
        l.admitted.push_back(now);
        n
    };
    let h = hash(&[cfg.seed, tenant as u64, n, P_ERROR]);
    if chance(h, cfg.error_rate) {
        return Some(if hash(&[h, P_ERROR_KIND]) & 1 == 0 {
            Reply::error(
                500,
                "AF50000",
                "An internal server error occurred. Retry the request.",
            )
        } else {
            unavailable()
        });
    }
    None
}

fn throttled(status: u16, method: &str, publisher: &str, retry_after: Option<Duration>) -> Reply {
    Reply::error(
        status,
        "AF429",
        &format!("Too many requests. Method={method}, PublisherId={publisher}"),
    )
    .with_retry_after(retry_after)
}

/// A front-end 503: IIS HTML, not the API's JSON envelope.
fn unavailable() -> Reply {
    Reply {
        content_type: "text/html",
        ..Reply::json(
            503,
            "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h2>Service Unavailable</h2><hr/><p>HTTP Error 503. The service is unavailable.</p></body></html>".into(),
        )
    }
}
