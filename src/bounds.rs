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
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_clamped_and_never_overflows() {
        let now = Utc::now();
        let r = retry_after("7", now).unwrap();
        assert_eq!(r.wait, Duration::from_secs(7));
        assert_eq!(r.clamped_from, None);
        for huge in [
            "31536000",
            "10000000000000000000",
            "18446744073709551615",
            "99999999999999999999999999999",
        ] {
            let r = retry_after(huge, now).unwrap();
            assert_eq!(r.wait, MAX_RETRY_AFTER, "{huge}");
            assert_eq!(r.clamped_from.as_deref(), Some(huge));
            // The sum the client and the budget make with it.
            let _ = later(tokio::time::Instant::now(), r.wait);
        }
        let date = (now + chrono::Duration::seconds(90)).to_rfc2822();
        let r = retry_after(&date, now).unwrap();
        assert!(r.wait <= Duration::from_secs(90) && r.wait >= Duration::from_secs(89));
        let far = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert_eq!(retry_after(far, now).unwrap().wait, MAX_RETRY_AFTER);
        let past = "Thu, 01 Jan 1970 00:00:00 GMT";
        assert_eq!(retry_after(past, now).unwrap().wait, Duration::ZERO);
        for bad in ["", "soon", "-5", "1.5", "0x10"] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn token_lifetimes_are_clamped() {
        assert_eq!(token_lifetime(3599), (Duration::from_secs(3599), false));
        assert_eq!(token_lifetime(0), (Duration::from_secs(1), false));
        assert_eq!(token_lifetime(u64::MAX), (MAX_TOKEN_LIFETIME, true));
        assert_eq!(token_lifetime(86_401), (MAX_TOKEN_LIFETIME, true));
    }

    /// Serves each of `answers` (head, body) once on a local port; returns its URL.
    async fn serve(answers: Vec<(String, Vec<u8>)>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            for (head, body) in answers {
                let (mut s, _) = l.accept().await.unwrap();
                let mut req = [0u8; 4096];
                let _ = s.read(&mut req).await;
                // The peer may stop reading (over the cap): write errors are expected.
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
                let _ = s.shutdown().await;
            }
        });
        url
    }

    fn gzip(n: usize) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; n]).unwrap();
        gz.finish().unwrap()
    }

    /// The cap is on what the body decodes to: a small gzip body that inflates past it stops
    /// at the cap (its Content-Length is the compressed size), a declared length over the
    /// cap is refused unread, a body of unknown length stops at the cap, and a body at the
    /// cap is read whole.
    #[tokio::test]
    async fn bodies_are_capped_after_decoding() {
        let cap = 1 << 20;
        let bomb = gzip(64 << 20);
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        let exact = gzip(cap as usize);
        let answers = vec![
            (
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    bomb.len()
                ),
                bomb,
            ),
            (
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    cap + 1
                ),
                vec![b'x'; cap as usize + 1],
            ),
            (
                "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string(),
                vec![b'x'; 3 << 20],
            ),
            (
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    exact.len()
                ),
                exact,
            ),
        ];
        let url = serve(answers).await;
        let http = crate::api::http_client(Duration::from_secs(30)).unwrap();
        let get = || async { http.get(&url).send().await.unwrap() };
        let too_large = |r: Result<bytes::Bytes, BodyError>| match r {
            Err(BodyError::TooLarge(t)) => t,
            other => panic!("{other:?}"),
        };
        let t = too_large(read_capped(get().await, cap, "blob").await);
        assert_eq!(t.size, format!("more than {cap} bytes decoded"));
        assert_eq!(
            t.to_string(),
            format!("blob larger than {cap} bytes (more than {cap} bytes decoded)")
        );
        let t = too_large(read_capped(get().await, cap, "blob").await);
        assert_eq!(t.size, format!("{} bytes", cap + 1));
        let t = too_large(read_capped(get().await, cap, "list").await);
        assert_eq!(t.what, "list");
        let whole = read_capped(get().await, cap, "blob").await.unwrap();
        assert_eq!(whole.len() as u64, cap);
    }

    #[test]
    fn later_never_panics() {
        let t = std::time::Instant::now();
        assert_eq!(later(t, Duration::from_secs(5)), t + Duration::from_secs(5));
        assert_eq!(later(t, Duration::MAX), t + FAR);
        let t = tokio::time::Instant::now();
        assert_eq!(later(t, Duration::from_secs(u64::MAX)), t + FAR);
    }
}
