//! The simulator's clock: wall time that tests and benchmarks can shift or speed up.
//!
//! Everything time-dependent in the simulator (blob availability, expiry, token lifetime,
//! throttling windows, the 15-minute start rule) reads this clock, never `Utc::now()`, so a
//! test can jump hours ahead instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::lock;

#[derive(Debug)]
struct Base {
    wall: DateTime<Utc>,
    at: Instant,
    speed: f64,
}

#[derive(Debug)]
pub(crate) struct SimClock {
    base: Mutex<Base>,
}

impl SimClock {
    pub(crate) fn new(wall: DateTime<Utc>) -> SimClock {
        SimClock {
            base: Mutex::new(Base {
                wall,
                at: Instant::now(),
                speed: 1.0,
            }),
        }
    }

    fn now_of(b: &Base) -> DateTime<Utc> {
        let real = b.at.elapsed().as_secs_f64() * b.speed;
        let nanos = (real * 1e9).min(i64::MAX as f64) as i64;
        b.wall + chrono::Duration::nanoseconds(nanos)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        Self::now_of(&lock(&self.base))
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Jumps the clock forward.
    pub(crate) fn advance(&self, d: Duration) {
        let mut b = lock(&self.base);
        let now = Self::now_of(&b);
        b.wall = now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero());
        b.at = Instant::now();
    }

    /// Makes simulated time run `speed` times faster than real time (1.0 = real time).
    pub(crate) fn set_speed(&self, speed: f64) {
        let mut b = lock(&self.base);
        let now = Self::now_of(&b);
        b.wall = now;
        b.at = Instant::now();
        b.speed = if speed.is_finite() && speed >= 0.0 {
            speed
        } else {
            1.0
        };
    }
}

#[cfg(test)]
mod tests;
