//! A generic HTTP collector: accepts POSTs of NDJSON or a JSON array on any path, checks a
//! required header, and keeps the records. Knobs: 429 with `Retry-After`, 5xx, a fixed
//! permanent status, delay.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use super::{Front, decode_body, lock};

#[derive(Default)]
pub struct HookState {
    /// A header every request must carry (name, value), else 401.
    pub required: Option<(String, String)>,
    pub records: Vec<Value>,
    /// When each request arrived, and its content type.
    pub requests: Vec<(Instant, String)>,
    pub gzip_requests: u64,
    // ---- knobs ----
    pub delay: Duration,
    /// The next N requests answer 429 with `Retry-After: retry_after`.
    pub throttle: u32,
    pub retry_after: u64,
    /// The next N requests answer 503.
    pub fail: u32,
    /// Every request answers this status (a permanent refusal), while set.
    pub status: Option<u16>,
}

pub struct Hook {
    pub front: Front,
    pub state: Arc<Mutex<HookState>>,
}

impl Hook {
    pub async fn start() -> Hook {
        Self::start_tls(None).await
    }

    pub async fn start_tls(tls: Option<tokio_rustls::TlsAcceptor>) -> Hook {
        let state = Arc::new(Mutex::new(HookState::default()));
        let app = Router::new()
            .route("/{*path}", post(ingest))
            .with_state(state.clone());
        Hook {
            front: Front::serve(app, tls).await,
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/ingest", self.front.url())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut HookState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    pub fn ids(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in &lock(&self.state).records {
            if let Some(id) = r["Id"].as_str() {
                *out.entry(id.to_string()).or_insert(0) += 1;
            }
        }
        out
    }
}

async fn ingest(
    State(state): State<Arc<Mutex<HookState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let d = lock(&state).delay;
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
    let mut s = lock(&state);
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    s.requests.push((Instant::now(), ct.clone()));
    if let Some((name, value)) = &s.required {
        if headers.get(name.as_str()).and_then(|v| v.to_str().ok()) != Some(value.as_str()) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong credentials").into_response();
        }
    }
    if let Some(st) = s.status {
        return (StatusCode::from_u16(st).unwrap(), "refused").into_response();
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
        r.headers_mut()
            .insert("retry-after", s.retry_after.to_string().parse().unwrap());
        return r;
    }
    if s.fail > 0 {
        s.fail -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response();
    }
    let Some((body, gz)) = decode_body(&headers, &body) else {
        return (StatusCode::BAD_REQUEST, "bad gzip").into_response();
    };
    if gz {
        s.gzip_requests += 1;
    }
    let records: Result<Vec<Value>, String> = if ct.starts_with("application/x-ndjson") {
        if body.last() != Some(&b'\n') {
            return (StatusCode::BAD_REQUEST, "NDJSON must end with a newline").into_response();
        }
        body.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).map_err(|e| e.to_string()))
            .collect()
    } else if ct.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    } else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type",
        )
            .into_response();
    };
    match records {
        Ok(r) => {
            s.records.extend(r);
            (StatusCode::OK, "ok").into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}
