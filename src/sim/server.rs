//! HTTP plumbing: the shared state, the two listeners, routing, replies and the request log.
//!
//! Routing is done by hand over the decoded path segments rather than with axum's router,
//! because the real service matches paths case-insensitively, accepts both `/api/v1.0/` and
//! `/api/v1/`, and content ids contain `$`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::clock::SimClock;
use super::faults::Load;
use super::hostile::HostileState;
use super::model::{Feed, Model};
use super::{RequestLog, SimConfig, api, lock, token};
use crate::record::ContentType;

/// Request-log entries kept (oldest dropped first).
const LOG_CAP: usize = 500_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubStatus {
    Enabled,
    Disabled,
}

#[derive(Debug, Default)]
pub(crate) struct Sub {
    pub status: Option<SubStatus>,
    pub webhook: Option<serde_json::Value>,
    pub last_start_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub tenant: usize,
    pub expires_ms: i64,
    /// Issued for Microsoft Graph (scope `https://graph.microsoft.com/.default`): good for
    /// the audit search only, as the Management API's tokens are good for it only.
    pub graph: bool,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub model: Model,
    pub clock: SimClock,
    pub base_url: String,
    pub evil_url: String,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub subs: Mutex<HashMap<(usize, ContentType), Sub>>,
    pub load: Vec<Mutex<Load>>,
    pub fetches: Mutex<HashMap<(usize, ContentType, u64), u32>>,
    pub hostile_page_sent: Mutex<HashSet<(usize, ContentType)>>,
    pub log: Mutex<VecDeque<RequestLog>>,
    pub evil_log: Mutex<VecDeque<RequestLog>>,
    pub graph: super::graph::State,
    pub hostile: HostileState,
}

impl Shared {
    pub(crate) fn new(
        cfg: SimConfig,
        start: DateTime<Utc>,
        base_url: String,
        evil_url: String,
    ) -> Shared {
        let model = Model::new(&cfg, start.timestamp_millis());
        let mut subs = HashMap::new();
        if cfg.subscriptions_enabled {
            for t in 0..cfg.tenants.len() {
                for ct in &cfg.content_types {
                    subs.insert(
                        (t, *ct),
                        Sub {
                            status: Some(SubStatus::Enabled),
                            ..Sub::default()
                        },
                    );
                }
            }
        }
        Shared {
            load: cfg.tenants.iter().map(|_| Mutex::default()).collect(),
            model,
            clock: SimClock::new(start),
            base_url,
            evil_url,
            tokens: Mutex::default(),
            subs: Mutex::new(subs),
            fetches: Mutex::default(),
            hostile_page_sent: Mutex::default(),
            log: Mutex::default(),
            evil_log: Mutex::default(),
            graph: Mutex::default(),
            hostile: HostileState::default(),
            cfg,
        }
    }

    /// Whether a correct client can ever obtain this blob's records.
    pub(crate) fn reachable(&self, f: &Feed, i: u64) -> bool {
        !self.model.is_hostile(f, i)
            && !self.is_bomb(f.tenant, i)
            && (self.model.malformed(f, i).is_none() || self.cfg.malformed_heal_after.is_some())
    }

    pub(crate) fn fetch_count(&self, tenant_id: &str, content_id: &str) -> u32 {
        let Some(t) = self.model.tenant_index(tenant_id) else {
            return 0;
        };
        match self.model.parse_content_id(t, content_id) {
            Ok((f, i)) => lock(&self.fetches).get(&(t, f.ct, i)).copied().unwrap_or(0),
            Err(_) => 0,
        }
    }
}

pub(crate) fn spawn(
    shared: Arc<Shared>,
    api: tokio::net::TcpListener,
    evil: tokio::net::TcpListener,
    cancel: CancellationToken,
) {
    let app = Router::new().fallback(serve_api).with_state(shared.clone());
    let evil_app = Router::new().fallback(serve_evil).with_state(shared);
    for (listener, app) in [(api, app), (evil, evil_app)] {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "simulator listener stopped");
            }
        });
    }
}

/// Query parameters; names are matched case-insensitively, as the service does.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(query: &str) -> Params {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler sees of the request.
pub(crate) struct Req<'a> {
    pub method: &'a Method,
    pub params: &'a Params,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Req<'_> {
    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response plus what the request log records about it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub error_code: Option<String>,
    pub retry_after: Option<Duration>,
    /// A hostile knob's way of sending (boxed: replies are passed by value everywhere).
    pub unusual: Option<Box<Unusual>>,
}

/// How a hostile knob sends a reply.
#[derive(Debug)]
pub(crate) enum Unusual {
    /// This binary body instead of `body`.
    Bytes(bytes::Bytes),
    /// `body`'s length declared, the connection cut after this many bytes of it.
    CutAfter(usize),
}

pub(crate) const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            content_type: JSON,
            headers: Vec::new(),
            error_code: None,
            retry_after: None,
            unusual: None,
        }
    }

    /// The API error envelope `{"error":{"code":…,"message":…}}`.
    pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        Reply {
            error_code: Some(code.to_string()),
            ..Reply::json(status, body)
        }
    }

    /// The ASP.NET-style `{"Message":…}` body of routing and authorization failures.
    pub(crate) fn message(status: u16, message: &str) -> Reply {
        Reply::json(
            status,
            serde_json::json!({ "Message": message }).to_string(),
        )
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn with_retry_after(mut self, d: Option<Duration>) -> Reply {
        if let Some(d) = d {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            self.headers.push(("retry-after", secs.max(1).to_string()));
            self.retry_after = Some(Duration::from_secs(secs.max(1)));
        }
        self
    }

    fn into_response(self) -> Response {
        let len = self.body.len();
        let cut = matches!(self.unusual.as_deref(), Some(Unusual::CutAfter(_)));
        let body = match self.unusual.map(|u| *u) {
            Some(Unusual::Bytes(b)) => Body::from(b),
            Some(Unusual::CutAfter(n)) => {
                // Half the body, then an error: hyper drops the connection mid-body.
                let head = bytes::Bytes::from(self.body).slice(..n.min(len));
                let parts: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                    Ok(head),
                    Err(std::io::Error::other("connection cut (hostile knob)")),
                ];
                Body::from_stream(futures_util::stream::iter(parts))
            }
            None => Body::from(self.body),
        };
        let mut resp = Response::new(body);
        if cut {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        h.insert(header::EXPIRES, HeaderValue::from_static("-1"));
        h.insert(
            header::SERVER,
            HeaderValue::from_static("Microsoft-IIS/10.0"),
        );
        h.insert("x-aspnet-version", HeaderValue::from_static("4.0.30319"));
        h.insert("x-powered-by", HeaderValue::from_static("ASP.NET"));
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.append(name, v);
            }
        }
        resp
    }
}

struct Incoming {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn read(req: Request) -> Incoming {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    Incoming {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    }
}

fn log_entry(
    s: &Shared,
    inc: &Incoming,
    params: &Params,
    tenant: Option<String>,
    r: &Reply,
) -> RequestLog {
    RequestLog {
        at: s.clock.now(),
        method: inc.method.to_string(),
        path: inc.path.clone(),
        query: inc.query.clone(),
        tenant,
        had_authorization: inc.headers.contains_key(header::AUTHORIZATION),
        status: r.status,
        retry_after: r.retry_after,
        error_code: r.error_code.clone(),
        publisher_identifier: params.get("PublisherIdentifier").map(str::to_string),
    }
}

fn push_log(log: &Mutex<VecDeque<RequestLog>>, entry: RequestLog) {
    let mut log = lock(log);
    if log.len() >= LOG_CAP {
        log.pop_front();
    }
    log.push_back(entry);
}

async fn serve_api(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let inc = read(req).await;
    s.maybe_hang(&inc.path).await;
    let params = Params::parse(&inc.query);
    let segs: Vec<String> = inc
        .path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(percent_decode)
        .collect();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let r = Req {
        method: &inc.method,
        params: &params,
        headers: &inc.headers,
        body: &inc.body,
    };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let (tenant, reply) = match seg.as_slice() {
        [t, o, tok] if is(o, "oauth2") && is(tok, "token") => {
            (Some(*t), token::handle(&s, t, token::Version::V1, &r))
        }
        [t, o, v, tok] if is(o, "oauth2") && is(v, "v2.0") && is(tok, "token") => {
            (Some(*t), token::handle(&s, t, token::Version::V2, &r))
        }
        [a, v, t, act, feed, rest @ ..]
            if is(a, "api")
                && (is(v, "v1.0") || is(v, "v1"))
                && is(act, "activity")
                && is(feed, "feed") =>
        {
            (Some(*t), api::handle(&s, t, rest, &r))
        }
        [v, sec, log, q, rest @ ..]
            if (is(v, "v1.0") || is(v, "beta"))
                && is(sec, "security")
                && is(log, "auditLog")
                && is(q, "queries") =>
        {
            (None, super::graph::handle(&s, v, rest, &r))
        }
        _ => (None, not_found(&s, &inc.path)),
    };
    let entry = log_entry(&s, &inc, &params, tenant.map(str::to_string), &reply);
    tracing::debug!(
        method = %entry.method,
        path = %entry.path,
        status = entry.status,
        code = entry.error_code.as_deref().unwrap_or(""),
        "sim request"
    );
    push_log(&s.log, entry);
    reply.into_response()
}

pub(crate) fn not_found(s: &Shared, path: &str) -> Reply {
    Reply::message(
        404,
        &format!(
            "No HTTP resource was found that matches the request URI '{}{path}'.",
            s.base_url
        ),
    )
}

/// The evil host logs and answers an empty listing; it must never see a bearer token.
async fn serve_evil(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let inc = read(req).await;
    let params = Params::parse(&inc.query);
    let reply = Reply::json(200, "[]".into());
    let entry = log_entry(&s, &inc, &params, None, &reply);
    tracing::warn!(
        path = %entry.path,
        had_authorization = entry.had_authorization,
        "evil host contacted"
    );
    push_log(&s.evil_log, entry);
    reply.into_response()
}

/// Decodes `%XX` escapes in a path segment (clients may encode the `$` of content ids).
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
