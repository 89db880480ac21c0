//! One HTTP sink's way to its receiver, the same for every HTTP sink: one client, the
//! headers every request carries, and posting with retry. A transport failure and a
//! transient answer (408, 429, 5xx but 501) are logged, counted and waited out here; what
//! an answer means beyond that is the sink's own protocol.

use std::time::Duration;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};
use tokio_util::sync::CancellationToken;

use super::client::{Backoff, Halt, body, build_client, read_body, retry_after, unless_aborted};
use super::config::{BatchLimits, HttpCommon};
use crate::sink::SinkError;
use crate::telemetry::SinkMetrics;

/// Whether an answer is worth sending again after a wait: the receiver is busy, throttling
/// or failing for now. 501 (not implemented) will not change.
pub(crate) fn transient(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502..=599)
}

/// What a receiver answered.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// How long the receiver asks us to wait (`Retry-After`), clamped.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

pub(crate) struct Endpoint {
    /// The sink's name (logs).
    pub sink: String,
    /// Its counters and health.
    pub metrics: SinkMetrics,
    /// The receiver as log lines name it ("Splunk HEC").
    receiver: &'static str,
    /// The configured address, for log lines.
    address: String,
    pub client: reqwest::Client,
    /// Sent with every request (credentials, a channel), each value marked sensitive.
    headers: HeaderMap,
    pub http: HttpCommon,
}

impl Endpoint {
    /// Builds the sink's client (see [`build_client`]).
    pub fn new(
        sink: &str,
        receiver: &'static str,
        address: &url::Url,
        http: &HttpCommon,
        headers: HeaderMap,
    ) -> Result<Endpoint, SinkError> {
        Ok(Endpoint {
            sink: sink.to_string(),
            metrics: SinkMetrics::new(sink),
            receiver,
            address: address.to_string(),
            client: build_client(sink, http)?,
            headers,
            http: http.clone(),
        })
    }

    pub fn limits(&self) -> BatchLimits {
        self.http.batch
    }

    /// A fresh backoff for one group's retries.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.http.retry_max_backoff)
    }

    /// A request with the headers every request of this sink carries.
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .headers(self.headers.clone())
    }

    /// Sends a request and reads the answer, unless aborted first. A transport failure is
    /// the caller's to handle.
    pub async fn fetch(
        &self,
        req: reqwest::RequestBuilder,
        abort: &CancellationToken,
    ) -> Result<Result<Answer, reqwest::Error>, Halt> {
        let resp = match unless_aborted(req.send(), abort).await? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        // Bounded by the request timeout and a cap; a body cut short or too large reads as
        // empty.
        let body = unless_aborted(read_body(resp), abort)
            .await?
            .unwrap_or_default();
        Ok(Ok(Answer {
            status,
            headers,
            body,
        }))
    }

    /// Posts `raw` (gzipped when the sink compresses) until the receiver answers: a
    /// transport failure is logged, counted and waited out, and the same body sent again
    /// (polling stalls meanwhile). The answer may still be a transient one ([`transient`]).
    pub async fn post(
        &self,
        url: &str,
        content_type: &'static str,
        raw: Vec<u8>,
        backoff: &mut Backoff,
        abort: &CancellationToken,
    ) -> Result<Answer, Halt> {
        let compress = self.http.compression;
        let payload = bytes::Bytes::from(body(raw, compress));
        loop {
            let mut req = self
                .request(reqwest::Method::POST, url)
                .header(CONTENT_TYPE, content_type);
            if compress {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            match self.fetch(req.body(payload.clone()), abort).await? {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    tracing::warn!(sink = self.sink.as_str(), error = %crate::sink::tls::describe(&e), "{} request failed; retrying. Polling stalls meanwhile.", self.receiver);
                    self.metrics.retry("transport");
                    backoff.wait(None, abort).await?;
                }
            }
        }
    }

    /// Waits out a transient answer (its `Retry-After`, else the backoff), logged and
    /// counted; the caller sends again.
    pub async fn busy(
        &self,
        answer: &Answer,
        reason: &str,
        backoff: &mut Backoff,
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let hint = answer.retry_after();
        tracing::warn!(sink = %self.sink, status = answer.status, retry_after = ?hint, reason,
            "{} is busy or failing; retrying with backoff. Polling stalls meanwhile.", self.receiver);
        self.metrics.retry("busy");
        backoff.wait(hint, abort).await
    }

    /// The receiver refuses the sink's configuration: logged loudly; the sink stops
    /// acknowledging (see [`Halt::Stopped`]).
    pub fn stop(&self, reason: String) -> Halt {
        tracing::error!(sink = %self.sink, endpoint = %self.address, reason, "{} refuses our configuration.", self.receiver);
        Halt::Stopped(reason)
    }
}
