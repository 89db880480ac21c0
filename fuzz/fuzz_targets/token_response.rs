//! Numbers from the network that time is computed with: a token answer (`expires_in` as a
//! number or a string, of any size) and a `Retry-After` value. Never a panic; the lifetime
//! is within [1 s, 24 h], the pause at most 15 minutes, and the deadlines the agent computes
//! from them are checked sums.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use o365fwd::bounds::{MAX_RETRY_AFTER, MAX_TOKEN_LIFETIME, later, retry_after};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, lifetime, _)) = o365fwd::api::parse_token(data) {
        assert!(lifetime >= Duration::from_secs(1) && lifetime <= MAX_TOKEN_LIFETIME);
        let _ = later(std::time::Instant::now(), lifetime);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(r) = retry_after(text, chrono::Utc::now()) {
            assert!(r.wait <= MAX_RETRY_AFTER);
            let _ = later(std::time::Instant::now(), r.wait);
        }
    }
});
