//! Reading Graph responses within bounds: bodies with a cap on their decoded size, and
//! `Retry-After` clamped to a sane range.
//!
//! Written as plain functions of a `reqwest::Response` and a `Duration`, so the Management
//! API client can share them when it gets the same caps.

use std::time::Duration;

/// The shortest wait after a throttle: Microsoft asks never to retry at once.
pub const MIN_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait a `Retry-After` may impose before asking again (a daily submission
/// quota can answer hours; asking every quarter of an hour costs nothing).
pub const MAX_RETRY_AFTER: Duration = crate::bounds::MAX_RETRY_AFTER;

/// `Retry-After` as the server sent it, clamped to [`MIN_RETRY_AFTER`, `MAX_RETRY_AFTER`].
pub fn clamp_retry_after(d: Duration) -> Duration {
    d.clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
}

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("response body larger than {cap} bytes")]
    TooLarge { cap: usize },
    #[error("{0}")]
    Transport(String),
}

/// The whole body, decoded (gzip), refused once it grows past `cap` bytes: memory follows
/// the cap, never what the server sends (`bounds::read_capped`, with Graph's errors).
pub async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<bytes::Bytes, BodyError> {
    crate::bounds::read_capped(resp, cap as u64, "Graph response")
        .await
        .map_err(|e| match e {
            crate::bounds::BodyError::TooLarge(_) => BodyError::TooLarge { cap },
            crate::bounds::BodyError::Transport(e) => {
                BodyError::Transport(crate::api::auth::without_url(&e))
            }
        })
}

#[cfg(test)]
mod tests;
