//! Bounds on what the network sends: every number from a peer (Retry-After, a token's
//! lifetime) is clamped here before use, every deadline is a checked sum, and every body is
//! read with a cap on its decoded size. A hostile or broken peer can then slow the agent
//! down, never crash it, park it for a year or make it grow without limit.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest pause a `Retry-After` can impose: longer waits are clamped (and logged).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);
/// The longest a token is kept, whatever `expires_in` says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A deadline further away than this is treated as this far (no clock overflows with it).
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// A `Retry-After` value as the peer sent it and as it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter {
    pub wait: Duration,
    /// The value received, when it asked for more than [`MAX_RETRY_AFTER`].
    pub clamped_from: Option<String>,
}

/// Reads a `Retry-After` value: delta seconds (any number of digits) or an HTTP date. A
/// value that is neither gives `None` (the caller backs off on its own).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<RetryAfter> {
    let v = value.trim();
    let wait = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than u64 holds is still "very long", not garbage.
        Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = DateTime::parse_from_rfc2822(v).ok()?;
        at.with_timezone(&Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(if wait > MAX_RETRY_AFTER {
        RetryAfter {
            wait: MAX_RETRY_AFTER,
            clamped_from: Some(v.chars().take(64).collect()),
        }
    } else {
        RetryAfter {
            wait,
            clamped_from: None,
        }
    })
}

/// The `Retry-After` header of a response, clamped (see [`retry_after`]); logs a warning
/// naming `peer` and the value received when it was clamped.
pub fn retry_after_header(h: &reqwest::header::HeaderMap, peer: &str) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let r = retry_after(v, Utc::now())?;
    if let Some(asked) = &r.clamped_from {
        tracing::warn!(
            peer,
            retry_after = %asked,
            wait_secs = r.wait.as_secs(),
            "Retry-After asks for a longer pause than 15 minutes; waiting 15 minutes instead."
        );
    }
    Some(r.wait)
}

/// A token lifetime (`expires_in`, in seconds) as it is used: at least a second, at most
/// [`MAX_TOKEN_LIFETIME`]; the flag says it was clamped from above.
pub fn token_lifetime(secs: u64) -> (Duration, bool) {
    let d = Duration::from_secs(secs.max(1));
    if d > MAX_TOKEN_LIFETIME {
        (MAX_TOKEN_LIFETIME, true)
    } else {
        (d, false)
    }
}

/// Instants that can be moved forward without overflowing.
pub trait Later: Copy {
    fn checked_later(self, d: Duration) -> Option<Self>;
}

impl Later for std::time::Instant {
    fn checked_later(self, d: Duration) -> Option<Self> {
        self.checked_add(d)
    }
}

impl Later for tokio::time::Instant {
    fn checked_later(self, d: Duration) -> Option<Self> {
        self.checked_add(d)
    }
}

/// `t + d`, checked: a `d` beyond a year counts as a year, and a sum the clock cannot hold
/// stays at `t + FAR` or, failing that, `t` (never a panic).
pub fn later<T: Later>(t: T, d: Duration) -> T {
    t.checked_later(d.min(FAR))
        .or_else(|| t.checked_later(FAR))
        .unwrap_or(t)
}

/// A body larger than its cap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} larger than {limit} bytes ({size})")]
pub struct TooLarge {
    pub what: &'static str,
    pub limit: u64,
    /// What is known of the size: `N bytes` when the peer declared it, else `more than N
    /// bytes decoded` (reading stops at the cap).
    pub size: String,
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads a body chunk by chunk (decoded: gzip is undone as it streams), stopping as soon as
/// it exceeds `limit` bytes. A declared `Content-Length` over the cap is refused unread.
pub async fn read_capped(
    mut resp: reqwest::Response,
    limit: u64,
    what: &'static str,
) -> Result<bytes::Bytes, BodyError> {
    // reqwest drops Content-Length when it decodes, so this is the real size when present.
    if let Some(n) = resp.content_length().filter(|n| *n > limit) {
        return Err(TooLarge {
            what,
            limit,
            size: format!("{n} bytes"),
        }
        .into());
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    // A declared length (at most the cap, checked above) is allocated once; a body of
    // unknown length grows as it comes.
    let declared = resp.content_length().map_or(0, |n| n as usize);
    let mut buf = bytes::BytesMut::with_capacity(declared.min(cap));
    while let Some(chunk) = resp.chunk().await? {
        if buf.len().saturating_add(chunk.len()) > cap {
            return Err(TooLarge {
                what,
                limit,
                size: format!("more than {limit} bytes decoded"),
            }
            .into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads at most `limit` bytes of a body that only informs a message (an error answer):
/// the rest is dropped, never an error.
pub async fn read_prefix(mut resp: reqwest::Response, limit: usize) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = limit.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= limit {
            break;
        }
    }
    buf.freeze()
}

#[cfg(test)]
mod tests;
