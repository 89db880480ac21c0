//! `splunk_hec`: Splunk HTTP Event Collector, `/services/collector/event`.
//!
//! One JSON envelope per record (`time` from `CreationTime`, `host`, `source`, `sourcetype`,
//! `index`, `event`), concatenated in a batch. With `indexer_ack = true` a 200 only means
//! "received": the batch counts as delivered once `/services/collector/ack` says its
//! `ackId` is indexed, and is sent again when that does not happen within `ack_timeout`.
//! A partial failure (`invalid-event-number`) re-sends only the events after the bad one,
//! which is recorded as rejected; token and configuration errors stop the sink.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::client::{Answer, exchange, read_body};
use super::{Backoff, BatchLimits, Deliver, Halt, HttpCommon, Item};
use crate::config::{Secret, SecretOrigin};
use crate::format::{Encoder, Origin};
use crate::record::Record;
use crate::sink::SinkError;

/// The sourcetype of the Splunk Add-on for Microsoft Office 365 (raw records only).
pub const O365_SOURCETYPE: &str = "o365:management:activity";

/// `[sinks.NAME] type = "splunk_hec"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecConfig {
    /// Base URL (`https://splunk.example:8088`); the collector paths are appended.
    pub endpoint: Url,
    pub token: Secret,
    pub token_origin: SecretOrigin,
    pub indexer_ack: bool,
    pub ack_poll_interval: Duration,
    pub ack_timeout: Duration,
    pub index: Option<String>,
    pub source: Option<String>,
    pub host: Option<String>,
    pub sourcetype: String,
    pub http: HttpCommon,
}

/// Default batch limits: Vector's 1 MB, and a count that keeps ack lists short.
pub const LIMITS: BatchLimits = BatchLimits {
    max_events: 1000,
    max_bytes: 1_000_000,
    timeout: Duration::from_secs(1),
};

pub(crate) struct HecSink {
    name: String,
    cfg: HecConfig,
    client: reqwest::Client,
    encoder: Encoder,
    auth: HeaderValue,
    /// One channel per sink instance, sent on every request (required with ack).
    channel: HeaderValue,
    event_url: String,
    ack_url: String,
    health_url: String,
    /// `"host":…,"source":…,` — the per-sink part of every envelope, written once.
    meta: Vec<u8>,
}

/// Starts the sink task.
pub fn start(
    name: &str,
    cfg: &HecConfig,
    encoder: Encoder,
    rx: tokio::sync::mpsc::Receiver<crate::pipeline::SinkJob>,
    abort: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, SinkError> {
    Ok(super::spawn(HecSink::new(name, cfg, encoder)?, rx, abort))
}

impl HecSink {
    pub fn new(name: &str, cfg: &HecConfig, encoder: Encoder) -> Result<HecSink, SinkError> {
        let client = super::build_client(name, &cfg.http)?;
        let mut auth =
            HeaderValue::from_str(&format!("Splunk {}", cfg.token.expose())).map_err(|_| {
                SinkError::Setup {
                    sink: name.to_string(),
                    message: "the HEC token contains characters not allowed in a header".into(),
                }
            })?;
        auth.set_sensitive(true);
        let channel = HeaderValue::from_str(&new_guid()).map_err(|_| SinkError::Setup {
            sink: name.to_string(),
            message: "cannot make a channel id".into(),
        })?;
        let mut meta = Vec::new();
        for (k, v) in [
            ("host", &cfg.host),
            ("source", &cfg.source),
            ("sourcetype", &Some(cfg.sourcetype.clone())),
            ("index", &cfg.index),
        ] {
            if let Some(v) = v {
                let _ = write!(meta, "\"{k}\":");
                super::json_str(&mut meta, v);
                meta.push(b',');
            }
        }
        Ok(HecSink {
            name: name.to_string(),
            client,
            encoder,
            auth,
            channel,
            event_url: super::join(&cfg.endpoint, "services/collector/event"),
            ack_url: super::join(&cfg.endpoint, "services/collector/ack"),
            health_url: super::join(&cfg.endpoint, "services/collector/health"),
            meta,
            cfg: cfg.clone(),
        })
    }

    fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header("X-Splunk-Request-Channel", self.channel.clone())
    }

    /// Sends `group` until every event is accepted (ids to wait for go to `waiting`) or
    /// refused (to `rejected`).
    async fn send_group(
        &self,
        items: &[Item],
        mut group: Vec<usize>,
        rejected: &mut Vec<(usize, String)>,
        waiting: &mut Vec<(u64, Vec<usize>)>,
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let mut backoff = Backoff::new(self.cfg.http.retry_max_backoff);
        // After a per-event error that does not say which event: one event per request.
        let mut single = false;
        while !group.is_empty() {
            let take = if single { 1 } else { group.len() };
            let mut raw = Vec::new();
            for &i in &group[..take] {
                raw.extend_from_slice(&items[i].data);
                raw.push(b'\n');
            }
            let compress = self.cfg.http.compression;
            let mut req = self
                .post(&self.event_url)
                .header(CONTENT_TYPE, "application/json");
            if compress {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            let Some(Answer {
                status,
                hint,
                body: text,
            }) = exchange(
                &self.name,
                "HEC",
                req.body(super::body(raw, compress)),
                &mut backoff,
                abort,
            )
            .await?
            else {
                continue;
            };
            let reply: Option<Reply> = serde_json::from_slice(&text).ok();
            match classify(status, reply.as_ref(), take) {
                Verdict::Accepted { ack_id } => {
                    backoff.reset();
                    let sent: Vec<usize> = group.drain(..take).collect();
                    if self.cfg.indexer_ack {
                        let Some(id) = ack_id else {
                            return Err(self.stop(
                                "indexer_ack = true but HEC answered without an ackId: enable indexer acknowledgement on the token, or set indexer_ack = false".into(),
                            ));
                        };
                        waiting.push((id, sent));
                    }
                }
                Verdict::Retry { taken, reason } => {
                    group.drain(..taken.min(take));
                    tracing::warn!(sink = %self.name, status, reason, "HEC is busy or failing; retrying with backoff. Polling stalls meanwhile.");
                    crate::telemetry::sink_retry(&self.name, "busy");
                    backoff.wait(hint, abort).await?;
                }
                Verdict::Reject { at, reason } => {
                    // Events before `at` were taken; `at` is refused for good.
                    let at = at.min(take - 1);
                    group.drain(..at);
                    rejected.push((group.remove(0), reason));
                }
                Verdict::RejectUnknown { reason } if take == 1 => {
                    rejected.push((group.remove(0), reason));
                }
                Verdict::RejectUnknown { .. } => single = true,
                Verdict::Stop(reason) => return Err(self.stop(reason)),
            }
        }
        Ok(())
    }

    fn stop(&self, reason: String) -> Halt {
        tracing::error!(sink = %self.name, endpoint = %self.cfg.endpoint, reason, "Splunk HEC refuses our configuration.");
        Halt::Stopped(reason)
    }

    /// Polls until every ack id is indexed; returns the items whose ids timed out.
    async fn await_acks(
        &self,
        mut waiting: Vec<(u64, Vec<usize>)>,
        abort: &CancellationToken,
    ) -> Result<Vec<usize>, Halt> {
        let deadline = crate::bounds::later(tokio::time::Instant::now(), self.cfg.ack_timeout);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.ack_poll_interval) => {}
                _ = abort.cancelled() => return Err(Halt::Aborted),
            }
            let ids: Vec<u64> = waiting.iter().map(|w| w.0).collect();
            match self.query_acks(&ids, abort).await? {
                Ok(acked) => {
                    waiting.retain(|(id, _)| !acked.get(&id.to_string()).copied().unwrap_or(false))
                }
                Err(e) => {
                    tracing::warn!(sink = %self.name, error = %e, "HEC ack query failed; polling again.");
                    crate::telemetry::sink_retry(&self.name, "ack_query");
                }
            }
            if waiting.is_empty() {
                return Ok(Vec::new());
            }
            if tokio::time::Instant::now() >= deadline {
                let mut again: Vec<usize> = waiting.iter().flat_map(|w| w.1.clone()).collect();
                again.sort_unstable();
                tracing::warn!(sink = %self.name, ack_ids = ?ids, events = again.len(), timeout = ?self.cfg.ack_timeout,
                    "Splunk did not confirm indexing in time; sending these events again (Splunk may then hold some twice).");
                crate::telemetry::count(
                    "o365fwd_hec_ack_timeouts_total",
                    &[("sink", &self.name)],
                    waiting.len() as u64,
                );
                return Ok(again);
            }
        }
    }

    /// One ack query: the `{"acks":{"id":bool}}` map, or a transient error message.
    async fn query_acks(
        &self,
        ids: &[u64],
        abort: &CancellationToken,
    ) -> Result<Result<HashMap<String, bool>, String>, Halt> {
        let body = serde_json::json!({ "acks": ids }).to_string();
        let req = self
            .post(&self.ack_url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let resp = match super::send(req, abort).await? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let status = resp.status().as_u16();
        let text = read_body(resp, abort).await?.unwrap_or_default();
        if status == 200 {
            #[derive(Deserialize)]
            struct Acks {
                acks: HashMap<String, bool>,
            }
            return Ok(serde_json::from_slice::<Acks>(&text)
                .map(|a| a.acks)
                .map_err(|e| format!("unreadable ack response: {e}")));
        }
        let reply: Option<Reply> = serde_json::from_slice(&text).ok();
        match classify(status, reply.as_ref(), 0) {
            Verdict::Stop(reason) => Err(self.stop(reason)),
            _ => Ok(Err(format!("ack query answered {status}"))),
        }
    }
}

impl Deliver for HecSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn limits(&self) -> BatchLimits {
        self.cfg.http.batch
    }
    fn concurrency(&self) -> usize {
        self.cfg.http.concurrency
    }

    fn encode(&self, rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(t) = rec.creation_time {
            let ms = t.timestamp_millis();
            let _ = write!(
                out,
                "\"time\":{}.{:03},",
                ms.div_euclid(1000),
                ms.rem_euclid(1000)
            );
        }
        out.extend_from_slice(&self.meta);
        out.extend_from_slice(b"\"event\":");
        let mut scratch = Vec::new();
        super::push_json_value(&self.encoder, rec, origin, &mut scratch, out);
        out.push(b'}');
    }

    async fn healthcheck(&self, abort: &CancellationToken) -> Result<(), Halt> {
        let req = self
            .client
            .get(&self.health_url)
            .header(AUTHORIZATION, self.auth.clone());
        match super::send(req, abort).await? {
            Err(e) => {
                tracing::warn!(sink = %self.name, error = %crate::sink::tls::describe(&e), "Splunk HEC health check failed; delivery will retry.")
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = read_body(resp, abort).await?.unwrap_or_default();
                let reply: Option<Reply> = serde_json::from_slice(&text).ok();
                match (status, reply.as_ref().and_then(|r| r.code)) {
                    (200, _) => tracing::info!(sink = %self.name, "Splunk HEC is healthy."),
                    // 21/22: invalid or disabled token on the health endpoint.
                    (400 | 401 | 403, code) => {
                        let text = reply.as_ref().and_then(|r| r.text.clone());
                        return Err(self.stop(format!(
                            "health check refused the token: HTTP {status}, code {code:?} ({})",
                            text.unwrap_or_default()
                        )));
                    }
                    _ => {
                        tracing::warn!(sink = %self.name, status, "Splunk HEC reports itself unhealthy; delivery will retry.")
                    }
                }
            }
        }
        Ok(())
    }

    async fn deliver(
        &self,
        items: &[Item],
        abort: &CancellationToken,
    ) -> Result<Vec<(usize, String)>, Halt> {
        let mut rejected = Vec::new();
        let mut todo: Vec<usize> = (0..items.len()).collect();
        loop {
            let mut waiting = Vec::new();
            for group in super::chunks(items, &todo, &self.cfg.http.batch) {
                self.send_group(items, group, &mut rejected, &mut waiting, abort)
                    .await?;
            }
            if waiting.is_empty() {
                return Ok(rejected);
            }
            todo = self.await_acks(waiting, abort).await?;
            if todo.is_empty() {
                return Ok(rejected);
            }
        }
    }
}

/// HEC's answer body: `{"text":…,"code":N[,"invalid-event-number":i][,"ackId":n]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Reply {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event: Option<usize>,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accepted {
        ack_id: Option<u64>,
    },
    /// Transient; the first `taken` events were accepted.
    Retry {
        taken: usize,
        reason: String,
    },
    /// Events before `at` accepted, event `at` refused for good, the rest to send again.
    Reject {
        at: usize,
        reason: String,
    },
    /// A per-event refusal that does not say which event.
    RejectUnknown {
        reason: String,
    },
    Stop(String),
}

/// Maps a HEC status and body to what to do, per Splunk's documented codes.
pub(crate) fn classify(status: u16, reply: Option<&Reply>, events: usize) -> Verdict {
    let code = reply.and_then(|r| r.code);
    let text = reply.and_then(|r| r.text.as_deref()).unwrap_or("");
    let invalid = reply.and_then(|r| r.invalid_event);
    let reason = format!(
        "HTTP {status}, HEC code {}, {text:?}",
        code.map_or("-".into(), |c| c.to_string())
    );
    match status {
        200..=299 => Verdict::Accepted {
            ack_id: reply.and_then(|r| r.ack_id),
        },
        // Invalid data format, event field required / blank, bad indexed fields.
        400 if matches!(code, Some(6 | 12 | 13 | 15)) => match invalid {
            Some(at) if at < events => Verdict::Reject { at, reason },
            _ => Verdict::RejectUnknown { reason },
        },
        408 | 429 | 500 | 502..=599 => Verdict::Retry {
            taken: invalid.unwrap_or(0).min(events),
            reason,
        },
        // 401/403 token errors, 400 codes 5, 7, 10, 11, 14, 16, 404, 413 and the rest.
        _ => Verdict::Stop(reason),
    }
}

/// A random UUIDv4, the form HEC requires for a channel.
fn new_guid() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests;
