//! A Splunk HTTP Event Collector: `/services/collector/event` (and `/services/collector`),
//! `/services/collector/ack`, `/services/collector/health`, following Splunk's documented
//! behaviour: `Authorization: Splunk <token>`, per-token indexer acknowledgement with
//! channels and per-channel increasing ackIds, the documented error codes (with
//! `invalid-event-number` for per-event errors, events before it being ingested), gzip
//! bodies. With ack, events become indexed `ack_delay` after they were received; an ack id
//! reads `true` once, then is forgotten.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Front, decode_body, lock};

#[derive(Debug, Clone, Default)]
pub struct Token {
    pub ack: bool,
    pub disabled: bool,
    /// Allowed indexes (`None`: any).
    pub indexes: Option<Vec<String>>,
}

#[derive(Default)]
struct Channel {
    next: u64,
    /// ackId -> (events, when indexed; None = lost, never indexed).
    pending: BTreeMap<u64, (Vec<Value>, Option<Instant>)>,
    /// Indexed ids not yet reported true.
    done: Vec<u64>,
}

/// Everything the receiver holds; tests read it and turn the knobs.
#[derive(Default)]
pub struct HecState {
    pub tokens: HashMap<String, Token>,
    channels: HashMap<String, Channel>,
    /// Indexed events (the envelopes), in indexing order.
    pub indexed: Vec<Value>,
    pub event_requests: u64,
    pub gzip_requests: u64,
    pub ack_queries: u64,
    /// Channels seen on event requests.
    pub channels_seen: Vec<String>,
    // ---- knobs ----
    /// Delay before answering any request.
    pub delay: Duration,
    /// The next N event requests answer 503 code 9 (nothing taken).
    pub busy: u32,
    /// The next N event requests answer 429 code 26.
    pub throttle: u32,
    /// The next event request fails at this event with code 6 (events before are taken).
    pub fail_event_at: Option<usize>,
    /// The next event request answers 503 code 9 at this event (events before are taken).
    pub busy_at: Option<usize>,
    /// Time from receipt to indexed, with ack.
    pub ack_delay: Duration,
    /// The next N acknowledged requests are lost by the indexer: never indexed, never acked.
    pub lose_next: u32,
}

pub struct Hec {
    pub front: Front,
    pub state: Arc<Mutex<HecState>>,
}

impl Hec {
    pub async fn start(tokens: &[(&str, Token)]) -> Hec {
        Self::start_tls(tokens, None).await
    }

    pub async fn start_tls(
        tokens: &[(&str, Token)],
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Hec {
        let state = Arc::new(Mutex::new(HecState {
            tokens: tokens
                .iter()
                .map(|(t, c)| (t.to_string(), c.clone()))
                .collect(),
            ..HecState::default()
        }));
        let app = Router::new()
            .route("/services/collector/event", post(event))
            .route("/services/collector/event/1.0", post(event))
            .route("/services/collector", post(event))
            .route("/services/collector/ack", post(ack))
            .route("/services/collector/health", get(health))
            .route("/services/collector/health/1.0", get(health))
            .with_state(state.clone());
        Hec {
            front: Front::serve(app, tls).await,
            state,
        }
    }

    pub fn url(&self) -> String {
        self.front.url()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut HecState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// Indexed record ids (`event.Id`) with their counts.
    pub fn ids(&self) -> BTreeMap<String, usize> {
        let mut s = lock(&self.state);
        tick(&mut s);
        let mut out = BTreeMap::new();
        for e in &s.indexed {
            if let Some(id) = e["event"]["Id"].as_str() {
                *out.entry(id.to_string()).or_insert(0) += 1;
            }
        }
        out
    }
}

fn reply(status: u16, text: &str, code: i64, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({ "text": text, "code": code });
    if let Some((k, v)) = extra {
        body[k] = v;
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// Moves events whose indexing time has come to `indexed`.
fn tick(s: &mut HecState) {
    let now = Instant::now();
    let mut indexed = Vec::new();
    for ch in s.channels.values_mut() {
        let ready: Vec<u64> = ch
            .pending
            .iter()
            .filter(|(_, (_, at))| at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            if let Some((events, _)) = ch.pending.remove(&id) {
                indexed.extend(events);
                ch.done.push(id);
            }
        }
    }
    s.indexed.extend(indexed);
}

/// Checks the token; `Err` is the documented answer.
fn auth(s: &HecState, h: &HeaderMap) -> Result<Token, Response> {
    let Some(v) = h.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(reply(401, "Token is required", 2, None));
    };
    let Some(tok) = v.strip_prefix("Splunk ") else {
        return Err(reply(401, "Invalid authorization", 3, None));
    };
    match s.tokens.get(tok.trim()) {
        None => Err(reply(403, "Invalid token", 4, None)),
        Some(t) if t.disabled => Err(reply(403, "Token disabled", 1, None)),
        Some(t) => Ok(t.clone()),
    }
}

fn is_guid(s: &str) -> bool {
    let g: Vec<&str> = s.split('-').collect();
    g.len() == 5
        && g.iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The channel from the header or the `channel` query parameter.
fn channel(
    h: &HeaderMap,
    q: &HashMap<String, String>,
    required: bool,
) -> Result<Option<String>, Response> {
    let c = h
        .get("x-splunk-request-channel")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .or_else(|| q.get("channel").cloned());
    match c {
        None if required => Err(reply(400, "Data channel is missing", 10, None)),
        Some(c) if !is_guid(&c) => Err(reply(400, "Invalid data channel", 11, None)),
        c => Ok(c),
    }
}

async fn delay(state: &Mutex<HecState>) {
    let d = lock(state).delay;
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

async fn event(
    State(state): State<Arc<Mutex<HecState>>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut s = lock(&state);
    tick(&mut s);
    s.event_requests += 1;
    let token = match auth(&s, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let ch = match channel(&headers, &q, token.ack) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(c) = &ch {
        s.channels_seen.push(c.clone());
    }
    let Some((body, gz)) = decode_body(&headers, &body) else {
        return reply(
            400,
            "Invalid data format",
            6,
            Some(("invalid-event-number", json!(0))),
        );
    };
    if gz {
        s.gzip_requests += 1;
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return reply(
            429,
            "HEC queue is at capacity. Please try again later.",
            26,
            None,
        );
    }
    if s.busy > 0 {
        s.busy -= 1;
        return reply(
            503,
            "Server is busy",
            9,
            Some(("invalid-event-number", json!(0))),
        );
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return reply(400, "No data", 5, None);
    }
    let fail_at = s.fail_event_at.take();
    let busy_at = s.busy_at.take();
    let mut taken = Vec::new();
    let mut error = None;
    for (i, item) in serde_json::Deserializer::from_slice(&body)
        .into_iter::<Value>()
        .enumerate()
    {
        let bad = |text: &str, code: i64| Some((400, text.to_string(), code, i));
        let v = match item {
            Ok(v) if v.is_object() => v,
            _ => {
                error = bad("Invalid data format", 6);
                break;
            }
        };
        if fail_at == Some(i) {
            error = bad("Invalid data format", 6);
            break;
        }
        if busy_at == Some(i) {
            error = Some((503, "Server is busy".into(), 9, i));
            break;
        }
        match v.get("event") {
            None => {
                error = bad("Event field is required", 12);
                break;
            }
            Some(Value::String(e)) if e.is_empty() => {
                error = bad("Event field cannot be blank", 13);
                break;
            }
            Some(Value::Null) => {
                error = bad("Event field cannot be blank", 13);
                break;
            }
            _ => {}
        }
        if let Some(f) = v.get("fields") {
            let flat = f.as_object().is_some_and(|o| {
                o.values().all(|x| {
                    x.is_string()
                        || x.as_array()
                            .is_some_and(|a| a.iter().all(|y| y.is_string()))
                })
            });
            if !flat {
                error = bad("Error in handling indexed fields", 15);
                break;
            }
        }
        if let (Some(allowed), Some(ix)) = (&token.indexes, v.get("index").and_then(|x| x.as_str()))
        {
            if !allowed.iter().any(|a| a == ix) {
                error = bad("Incorrect index", 7);
                break;
            }
        }
        taken.push(v);
    }
    if let Some((status, text, code, at)) = error {
        // Events before the bad one are ingested, without an ackId.
        s.indexed.extend(taken);
        return reply(
            status,
            &text,
            code,
            Some(("invalid-event-number", json!(at))),
        );
    }
    if !token.ack {
        s.indexed.extend(taken);
        return reply(200, "Success", 0, None);
    }
    let lost = s.lose_next > 0;
    if lost {
        s.lose_next -= 1;
    }
    let at = (!lost).then(|| Instant::now() + s.ack_delay);
    let c = s.channels.entry(ch.unwrap_or_default()).or_default();
    let id = c.next;
    c.next += 1;
    c.pending.insert(id, (taken, at));
    reply(200, "Success", 0, Some(("ackId", json!(id))))
}

async fn ack(
    State(state): State<Arc<Mutex<HecState>>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut s = lock(&state);
    tick(&mut s);
    s.ack_queries += 1;
    let token = match auth(&s, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !token.ack {
        return reply(400, "ACK is disabled", 14, None);
    }
    let ch = match channel(&headers, &q, true) {
        Ok(c) => c.unwrap_or_default(),
        Err(r) => return r,
    };
    let Some((body, _)) = decode_body(&headers, &body) else {
        return reply(400, "Invalid data format", 6, None);
    };
    let Some(ids) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("acks").cloned())
        .and_then(|a| serde_json::from_value::<Vec<u64>>(a).ok())
    else {
        return reply(400, "Invalid data format", 6, None);
    };
    let c = s.channels.entry(ch).or_default();
    let mut out = serde_json::Map::new();
    for id in ids {
        let done = c.done.iter().position(|d| *d == id);
        if let Some(p) = done {
            c.done.remove(p);
        }
        out.insert(id.to_string(), json!(done.is_some()));
    }
    (StatusCode::OK, axum::Json(json!({ "acks": out }))).into_response()
}

async fn health(State(state): State<Arc<Mutex<HecState>>>, headers: HeaderMap) -> Response {
    let s = lock(&state);
    if headers.contains_key("authorization") {
        match auth(&s, &headers) {
            Ok(_) => {}
            Err(r) if r.status() == StatusCode::FORBIDDEN => {
                let disabled = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Splunk "))
                    .and_then(|t| s.tokens.get(t))
                    .is_some_and(|t| t.disabled);
                return if disabled {
                    reply(400, "Token disabled", 22, None)
                } else {
                    reply(400, "Invalid token", 21, None)
                };
            }
            Err(r) => return r,
        }
    }
    if s.busy > 0 {
        return reply(503, "HEC is unhealthy, queues are full", 18, None);
    }
    reply(200, "HEC is healthy", 17, None)
}
