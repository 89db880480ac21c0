//! `elasticsearch`: the `_bulk` API with `create` and `_id` = the record id.
//!
//! `create` with a deterministic id makes a re-send after a crash harmless: the document is
//! already there and the item answers 409, which counts as delivered. A 200 can still carry
//! failed items: per-item 429 and 5xx are sent again (only those), other per-item errors are
//! refused for good (recorded as rejected), and security or missing-index errors stop the
//! sink.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::config::{EsAuth, EsConfig};
use super::es_integration::{self};
use super::{Deliver, Endpoint, Flush, Halt, Item, Refused, transient};
use crate::format::{Encoder, Origin};
use crate::record::Record;
use crate::sink::SinkError;

pub(crate) struct EsSink {
    ep: Endpoint,
    cfg: EsConfig,
    encoder: Encoder,
    bulk_url: String,
    /// `{"create":{"_index":"…","_id":` — the fixed start of every action line.
    action: Vec<u8>,
    /// `}}` or `,"pipeline":"…"}}`, then the newline: the fixed end of every action line.
    action_end: Vec<u8>,
}

impl EsSink {
    /// Sends one group until each item is delivered or refused; splits it on 413.
    async fn send_group(
        &self,
        items: &[Item],
        mut group: Vec<usize>,
        queue: &mut VecDeque<Vec<usize>>,
        rejected: &mut Refused,
        abort: &CancellationToken,
    ) -> Result<(), Halt> {
        let mut backoff = self.ep.backoff();
        loop {
            let mut raw = Vec::new();
            for &i in &group {
                raw.extend_from_slice(&items[i].data);
            }
            let a = (self.ep)
                .post(
                    &self.bulk_url,
                    "application/x-ndjson",
                    raw,
                    &mut backoff,
                    abort,
                )
                .await?;
            match a.status {
                200..=299 => {}
                413 if group.len() > 1 => {
                    let back = group.split_off(group.len() / 2);
                    queue.push_front(back);
                    queue.push_front(group);
                    return Ok(());
                }
                413 => {
                    rejected.push((
                        group[0],
                        "larger than the receiver accepts (HTTP 413)".into(),
                    ));
                    return Ok(());
                }
                s if transient(s) => {
                    self.ep
                        .busy(&a, &error_text(&a.body), &mut backoff, abort)
                        .await?;
                    continue;
                }
                s => {
                    return Err(self
                        .ep
                        .stop(format!("_bulk answered HTTP {s}: {}", error_text(&a.body))));
                }
            }
            let reply: Bulk = match serde_json::from_slice(&a.body) {
                Ok(r) => r,
                Err(e) => {
                    // Re-sending is harmless: `create` with the same ids.
                    tracing::warn!(sink = %self.ep.sink, error = %e, "Unreadable _bulk response; sending the batch again.");
                    self.ep.metrics.retry("bad_response");
                    backoff.wait(None, abort).await?;
                    continue;
                }
            };
            if reply.items.len() != group.len() {
                tracing::warn!(sink = %self.ep.sink, sent = group.len(), answered = reply.items.len(), "The _bulk response does not answer every item; sending the batch again.");
                self.ep.metrics.retry("bad_response");
                backoff.wait(None, abort).await?;
                continue;
            }
            let mut again = Vec::new();
            for (&i, item) in group.iter().zip(&reply.items) {
                let Some(r) = item.values().next() else {
                    again.push(i);
                    continue;
                };
                match r.status {
                    200..=299 => {}
                    409 => self.ep.metrics.duplicates.inc(),
                    429 | 500..=599 => again.push(i),
                    401 | 403 | 404 => {
                        return Err(self.ep.stop(format!(
                            "a document was refused with {}: {}",
                            r.status,
                            r.reason()
                        )));
                    }
                    s => rejected.push((i, format!("Elasticsearch {s} {}", r.reason()))),
                }
            }
            if again.is_empty() {
                return Ok(());
            }
            tracing::warn!(sink = %self.ep.sink, items = again.len(), "Elasticsearch rejected some items for now (429/5xx); sending only those again.");
            self.ep.metrics.retry("items");
            group = again;
            backoff.wait(None, abort).await?;
        }
    }
}

impl Deliver for EsSink {
    type Config = EsConfig;

    fn new(name: &str, cfg: &EsConfig, encoder: Encoder) -> Result<EsSink, SinkError> {
        let mut headers = HeaderMap::new();
        let auth = match &cfg.auth {
            EsAuth::None => None,
            EsAuth::ApiKey { key, .. } => Some(format!("ApiKey {}", key.expose())),
            EsAuth::Basic {
                username, password, ..
            } => Some(format!(
                "Basic {}",
                BASE64.encode(format!("{username}:{}", password.expose()))
            )),
        };
        if let Some(auth) = auth {
            let mut h = HeaderValue::from_str(&auth).map_err(|_| SinkError::Setup {
                sink: name.to_string(),
                message: "the API key contains characters not allowed in a header".into(),
            })?;
            h.set_sensitive(true);
            headers.insert(AUTHORIZATION, h);
        }
        let mut action = b"{\"create\":{\"_index\":".to_vec();
        super::json_str(&mut action, cfg.target.name());
        action.extend_from_slice(b",\"_id\":");
        let mut action_end = Vec::new();
        if let Some(p) = &cfg.pipeline {
            action_end.extend_from_slice(b",\"pipeline\":");
            super::json_str(&mut action_end, p);
        }
        action_end.extend_from_slice(b"}}\n");
        Ok(EsSink {
            ep: Endpoint::new(name, "Elasticsearch", &cfg.endpoint, &cfg.http, headers)?,
            encoder,
            bulk_url: super::join(&cfg.endpoint, "_bulk"),
            action,
            action_end,
            cfg: cfg.clone(),
        })
    }

    fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn encode(&self, rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.action);
        super::json_str(out, rec.id());
        out.extend_from_slice(&self.action_end);
        if let Some(it) = &self.cfg.integration {
            let keep = self.encoder.options.keep_original;
            es_integration::encode(rec, origin, it, keep, out);
            out.push(b'\n');
            return;
        }
        let mut doc = Vec::new();
        self.encoder.encode(rec, origin, &mut doc);
        super::push_one_line(out, &doc);
        out.push(b'\n');
    }

    async fn healthcheck(&self, abort: &CancellationToken) -> Result<(), Halt> {
        let req = self
            .ep
            .request(reqwest::Method::GET, self.cfg.endpoint.as_str());
        match self.ep.fetch(req, abort).await? {
            Err(e) => {
                tracing::warn!(sink = %self.ep.sink, error = %crate::sink::tls::describe(&e), "Elasticsearch is not reachable; delivery will retry.")
            }
            Ok(a) => {
                let (status, text) = (a.status, &a.body);
                match status {
                    200 if !a.headers.contains_key("x-elastic-product") => {
                        tracing::info!(sink = %self.ep.sink,
                        "The endpoint does not say it is Elasticsearch (no X-Elastic-Product header; OpenSearch does not send one).")
                    }
                    200 => tracing::info!(sink = %self.ep.sink, "Elasticsearch is reachable."),
                    401 | 403 => {
                        return Err(self.ep.stop(format!(
                            "the credentials are refused: HTTP {status}: {}",
                            error_text(text)
                        )));
                    }
                    _ => {
                        tracing::warn!(sink = %self.ep.sink, status, "Elasticsearch answered the health check with an error; delivery will retry.")
                    }
                }
            }
        }
        Ok(())
    }

    async fn deliver(&self, flush: &Flush, abort: &CancellationToken) -> Result<Refused, Halt> {
        // A group the receiver finds too large (413) is split and its halves go first.
        let mut queue: VecDeque<Vec<usize>> = flush.groups.iter().cloned().collect();
        let mut rejected = Vec::new();
        while let Some(group) = queue.pop_front() {
            self.send_group(&flush.items, group, &mut queue, &mut rejected, abort)
                .await?;
        }
        Ok(rejected)
    }
}

#[derive(Debug, Deserialize)]
struct Bulk {
    #[serde(default)]
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(Debug, Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl BulkItem {
    fn reason(&self) -> String {
        match &self.error {
            Some(e) => {
                let t = e.get("type").and_then(|v| v.as_str()).unwrap_or("error");
                let r = e.get("reason").and_then(|v| v.as_str()).unwrap_or("");
                truncate(format!("{t}: {r}"))
            }
            None => "no error detail".into(),
        }
    }
}

/// `type: reason` of an Elasticsearch error body, or its start.
fn error_text(body: &[u8]) -> String {
    let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let e = v.as_ref().and_then(|v| v.get("error"));
    let s = match e {
        Some(e) if e.is_object() => format!(
            "{}: {}",
            e.get("type").and_then(|x| x.as_str()).unwrap_or("error"),
            e.get("reason").and_then(|x| x.as_str()).unwrap_or("")
        ),
        Some(e) => e.to_string(),
        None => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
    };
    truncate(s)
}

fn truncate(mut s: String) -> String {
    if s.len() > 500 {
        let mut cut = 500;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests;
