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

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::config::HecConfig;
use super::{Deliver, Endpoint, Flush, Halt, Item, Refused, transient};
use crate::format::{Encoder, Origin};
use crate::record::Record;
use crate::sink::SinkError;

pub(crate) struct HecSink {
    /// Carries the token and this sink's channel on every request.
    ep: Endpoint,
    cfg: HecConfig,
    encoder: Encoder,
    auth: HeaderValue,
    event_url: String,
    ack_url: String,
    health_url: String,
    /// `"host":…,"source":…,` — the per-sink part of every envelope, written once.
    meta: Vec<u8>,
}

impl HecSink {
    /// Sends `group` until every event is accepted (ids to wait for go to `waiting`) or
    /// refused (to `rejected`).
    async fn send_group(
        &self,
        items: &[Item],
        mut group: Vec<usize>,
        rejected: &mut Refused,
        waiting: &mut Vec<(u64, Vec<usize>)>,
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let mut backoff = self.ep.backoff();
        // After a per-event error that does not say which event: one event per request.
        let mut single = false;
        while !group.is_empty() {
            let take = if single { 1 } else { group.len() };
            let mut raw = Vec::new();
            for &i in &group[..take] {
                raw.extend_from_slice(&items[i].data);
                raw.push(b'\n');
            }
            let a = (self.ep)
                .post(
                    &self.event_url,
                    "application/json",
                    raw,
                    &mut backoff,
                    abort,
                )
                .await?;
            let reply: Option<Reply> = serde_json::from_slice(&a.body).ok();
            match classify(a.status, reply.as_ref(), take) {
                Verdict::Accepted { ack_id } => {
                    backoff.reset();
                    let sent: Vec<usize> = group.drain(..take).collect();
                    if self.cfg.indexer_ack {
                        let Some(id) = ack_id else {
                            return Err(self.ep.stop(
                                "indexer_ack = true but HEC answered without an ackId: enable indexer acknowledgement on the token, or set indexer_ack = false".into(),
                            ));
                        };
                        waiting.push((id, sent));
                    }
                }
                Verdict::Retry { taken, reason } => {
                    group.drain(..taken.min(take));
                    self.ep.busy(&a, &reason, &mut backoff, abort).await?;
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
                Verdict::Stop(reason) => return Err(self.ep.stop(reason)),
            }
        }
        Ok(())
    }

    /// Polls until every ack id is indexed; returns the items whose ids timed out.
    async fn await_acks(
        &self,
        mut waiting: Vec<(u64, Vec<usize>)>,
        abort: &CancellationToken,
    ) -> Result<Vec<usize>, Halt> {
        let deadline = crate::bounds::later(tokio::time::Instant::now(), self.cfg.ack_timeout);
        loop {
            super::unless_aborted(tokio::time::sleep(self.cfg.ack_poll_interval), abort).await?;
            let ids: Vec<u64> = waiting.iter().map(|w| w.0).collect();
            match self.query_acks(&ids, abort).await? {
                Ok(acked) => {
                    waiting.retain(|(id, _)| !acked.get(&id.to_string()).copied().unwrap_or(false))
                }
                Err(e) => {
                    tracing::warn!(sink = %self.ep.sink, error = %e, "HEC ack query failed; polling again.");
                    self.ep.metrics.retry("ack_query");
                }
            }
            if waiting.is_empty() {
                return Ok(Vec::new());
            }
            if tokio::time::Instant::now() >= deadline {
                let mut again: Vec<usize> = waiting.iter().flat_map(|w| w.1.clone()).collect();
                again.sort_unstable();
                tracing::warn!(sink = %self.ep.sink, ack_ids = ?ids, events = again.len(), timeout = ?self.cfg.ack_timeout,
                    "Splunk did not confirm indexing in time; sending these events again (Splunk may then hold some twice).");
                self.ep.metrics.hec_ack_timeouts.add(waiting.len() as u64);
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
        let req = (self.ep)
            .request(reqwest::Method::POST, &self.ack_url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let (status, text) = match self.ep.fetch(req, abort).await? {
            Ok(a) => (a.status, a.body),
            Err(e) => return Ok(Err(e.to_string())),
        };
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
            Verdict::Stop(reason) => Err(self.ep.stop(reason)),
            _ => Ok(Err(format!("ack query answered {status}"))),
        }
    }
}

impl Deliver for HecSink {
    type Config = HecConfig;

    fn new(name: &str, cfg: &HecConfig, encoder: Encoder) -> Result<HecSink, SinkError> {
        let mut auth =
            HeaderValue::from_str(&format!("Splunk {}", cfg.token.expose())).map_err(|_| {
                SinkError::Setup {
                    sink: name.to_string(),
                    message: "the HEC token contains characters not allowed in a header".into(),
                }
            })?;
        auth.set_sensitive(true);
        // One channel per sink instance, sent on every request (required with ack).
        let channel = HeaderValue::from_str(&new_guid()).map_err(|_| SinkError::Setup {
            sink: name.to_string(),
            message: "cannot make a channel id".into(),
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth.clone());
        headers.insert("X-Splunk-Request-Channel", channel);
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
            ep: Endpoint::new(name, "Splunk HEC", &cfg.endpoint, &cfg.http, headers)?,
            encoder,
            auth,
            event_url: super::join(&cfg.endpoint, "services/collector/event"),
            ack_url: super::join(&cfg.endpoint, "services/collector/ack"),
            health_url: super::join(&cfg.endpoint, "services/collector/health"),
            meta,
            cfg: cfg.clone(),
        })
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
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
        // The token alone: the health endpoint takes no channel.
        let req = (self.ep.client)
            .get(&self.health_url)
            .header(AUTHORIZATION, self.auth.clone());
        match self.ep.fetch(req, abort).await? {
            Err(e) => {
                tracing::warn!(sink = %self.ep.sink, error = %crate::sink::tls::describe(&e), "Splunk HEC health check failed; delivery will retry.")
            }
            Ok(a) => {
                let status = a.status;
                let reply: Option<Reply> = serde_json::from_slice(&a.body).ok();
                match (status, reply.as_ref().and_then(|r| r.code)) {
                    (200, _) => tracing::info!(sink = %self.ep.sink, "Splunk HEC is healthy."),
                    // 21/22: invalid or disabled token on the health endpoint.
                    (400 | 401 | 403, code) => {
                        let text = reply.as_ref().and_then(|r| r.text.clone());
                        return Err(self.ep.stop(format!(
                            "health check refused the token: HTTP {status}, code {code:?} ({})",
                            text.unwrap_or_default()
                        )));
                    }
                    _ => {
                        tracing::warn!(sink = %self.ep.sink, status, "Splunk HEC reports itself unhealthy; delivery will retry.")
                    }
                }
            }
        }
        Ok(())
    }

    async fn deliver(&self, flush: &Flush, abort: &CancellationToken) -> Result<Refused, Halt> {
        let items = &flush.items;
        let mut groups = flush.groups.clone();
        let mut rejected = Vec::new();
        loop {
            let mut waiting = Vec::new();
            for group in groups {
                self.send_group(items, group, &mut rejected, &mut waiting, abort)
                    .await?;
            }
            if waiting.is_empty() {
                return Ok(rejected);
            }
            // What Splunk did not confirm in time goes again, in request-sized groups.
            let todo = self.await_acks(waiting, abort).await?;
            if todo.is_empty() {
                return Ok(rejected);
            }
            groups = super::chunks(items, &todo, &self.cfg.http.batch);
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
        s if transient(s) => Verdict::Retry {
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
