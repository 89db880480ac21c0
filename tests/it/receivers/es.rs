//! An Elasticsearch node as far as `_bulk` goes: `GET /` with `X-Elastic-Product:
//! Elasticsearch` (on every answer, as the official clients check), `POST`/`PUT` `/_bulk`
//! and `/{target}/_bulk`, NDJSON that must end with a newline, `create` / `index` /
//! `delete`, 409 `version_conflict_engine_exception` for `create` on an existing `_id`,
//! per-item errors in a 200 with `errors: true`, data streams (`logs-*-*` and the like:
//! `create` only, `@timestamp` required), API key or basic auth, gzip bodies.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Front, decode_body, lock};

#[derive(Default)]
pub struct EsState {
    /// Accepted `Authorization` values (`ApiKey …`, `Basic …`); empty: no security.
    pub credentials: Vec<String>,
    /// index or data stream -> _id -> document.
    pub docs: BTreeMap<String, BTreeMap<String, Value>>,
    pub bulk_requests: u64,
    /// Items per bulk request, in order.
    pub items_per_request: Vec<usize>,
    pub gzip_requests: u64,
    pub methods: Vec<String>,
    /// _id -> the ingest pipeline its action named (`"pipeline"` in the action metadata).
    pub pipelines: BTreeMap<String, String>,
    seq: u64,
    // ---- knobs ----
    pub delay: Duration,
    /// The next N bulk requests answer HTTP 429.
    pub http_429: u32,
    /// The next N items answer 429 `es_rejected_execution_exception`.
    pub item_429: u32,
    /// Ids refused with 400 `document_parsing_exception`.
    pub poison: HashSet<String>,
}

pub struct Es {
    pub front: Front,
    pub state: Arc<Mutex<EsState>>,
}

impl Es {
    pub async fn start(credentials: &[&str]) -> Es {
        Self::start_tls(credentials, None).await
    }

    pub async fn start_tls(credentials: &[&str], tls: Option<tokio_rustls::TlsAcceptor>) -> Es {
        let state = Arc::new(Mutex::new(EsState {
            credentials: credentials.iter().map(|c| c.to_string()).collect(),
            ..EsState::default()
        }));
        let app = Router::new()
            .route("/", get(root))
            .route("/_bulk", post(bulk_root).put(bulk_root))
            .route("/{target}/_bulk", post(bulk_target).put(bulk_target))
            .with_state(state.clone());
        Es {
            front: Front::serve(app, tls).await,
            state,
        }
    }

    pub fn url(&self) -> String {
        self.front.url()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut EsState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// Documents in `target`.
    pub fn docs(&self, target: &str) -> BTreeMap<String, Value> {
        lock(&self.state)
            .docs
            .get(target)
            .cloned()
            .unwrap_or_default()
    }
}

fn respond(status: u16, body: Value) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    r.headers_mut()
        .insert("x-elastic-product", "Elasticsearch".parse().unwrap());
    r
}

fn error(status: u16, kind: &str, reason: &str) -> Response {
    let e = json!({ "type": kind, "reason": reason });
    respond(
        status,
        json!({ "error": { "root_cause": [e.clone()], "type": kind, "reason": reason }, "status": status }),
    )
}

fn authorized(s: &EsState, h: &HeaderMap) -> Result<(), Response> {
    if s.credentials.is_empty() {
        return Ok(());
    }
    let given = h.get("authorization").and_then(|v| v.to_str().ok());
    match given {
        Some(v) if s.credentials.iter().any(|c| c == v) => Ok(()),
        Some(_) => Err(error(
            401,
            "security_exception",
            "unable to authenticate with provided credentials",
        )),
        None => Err(error(
            401,
            "security_exception",
            "missing authentication credentials for REST request",
        )),
    }
}

async fn root(State(state): State<Arc<Mutex<EsState>>>, headers: HeaderMap) -> Response {
    let s = lock(&state);
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    respond(
        200,
        json!({
            "name": "receiver", "cluster_name": "o365fwd-test", "cluster_uuid": "t3st",
            "version": { "number": "8.15.0", "build_flavor": "default", "lucene_version": "9.11.1",
                         "minimum_wire_compatibility_version": "7.17.0",
                         "minimum_index_compatibility_version": "7.0.0" },
            "tagline": "You Know, for Search"
        }),
    )
}

async fn bulk_root(
    State(state): State<Arc<Mutex<EsState>>>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(state, None, method, headers, body).await
}

async fn bulk_target(
    State(state): State<Arc<Mutex<EsState>>>,
    Path(target): Path<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(state, Some(target), method, headers, body).await
}

/// Names the built-in index templates make data streams.
fn is_data_stream(name: &str) -> bool {
    ["logs-", "metrics-", "traces-", "synthetics-"]
        .iter()
        .any(|p| name.starts_with(p) && name.matches('-').count() >= 2)
}

async fn bulk(
    state: Arc<Mutex<EsState>>,
    target: Option<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let d = lock(&state).delay;
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
    let mut s = lock(&state);
    if let Err(r) = authorized(&s, &headers) {
        return r;
    }
    s.bulk_requests += 1;
    s.methods.push(method.to_string());
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    let ok_ct = [
        "application/json",
        "application/x-ndjson",
        "application/vnd.elasticsearch+json",
        "application/vnd.elasticsearch+x-ndjson",
    ];
    if !ok_ct.contains(&mime) {
        return error(
            406,
            "media_type_header_exception",
            &format!("Content-Type header [{ct}] is not supported"),
        );
    }
    let Some((body, gz)) = decode_body(&headers, &body) else {
        return error(400, "parse_exception", "request body is not valid gzip");
    };
    if gz {
        s.gzip_requests += 1;
    }
    if s.http_429 > 0 {
        s.http_429 -= 1;
        return error(
            429,
            "es_rejected_execution_exception",
            "rejected execution of coordinating operation",
        );
    }
    if body.is_empty() {
        return error(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        );
    }
    if body.last() != Some(&b'\n') {
        return error(
            400,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        );
    }
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    let mut items = Vec::new();
    let mut errors = false;
    let mut i = 0;
    while i < lines.len() {
        let Ok(Value::Object(action)) = serde_json::from_slice::<Value>(lines[i]) else {
            return error(
                400,
                "illegal_argument_exception",
                &format!("Malformed action/metadata line [{}]", i + 1),
            );
        };
        let Some((op, meta)) = action.iter().next().map(|(k, v)| (k.clone(), v.clone())) else {
            return error(
                400,
                "illegal_argument_exception",
                "Malformed action/metadata line",
            );
        };
        i += 1;
        let has_source = op != "delete";
        let source = if has_source {
            let Some(l) = lines.get(i) else {
                return error(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: source is missing;",
                );
            };
            i += 1;
            Some(serde_json::from_slice::<Value>(l))
        } else {
            None
        };
        let index = meta
            .get("_index")
            .and_then(|v| v.as_str())
            .map(String::from)
            .or_else(|| target.clone());
        let Some(index) = index else {
            return error(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;",
            );
        };
        s.seq += 1;
        let id = meta
            .get("_id")
            .and_then(|v| v.as_str())
            .map(String::from)
            .unwrap_or_else(|| format!("auto-{}", s.seq));
        if let Some(p) = meta.get("pipeline").and_then(|v| v.as_str()) {
            s.pipelines.insert(id.clone(), p.to_string());
        }
        let (status, err): (u16, Option<(&str, String)>) = if s.item_429 > 0 {
            s.item_429 -= 1;
            (
                429,
                Some((
                    "es_rejected_execution_exception",
                    "rejected execution of primary operation".into(),
                )),
            )
        } else if s.poison.contains(&id) {
            (
                400,
                Some((
                    "document_parsing_exception",
                    "[1:42] failed to parse field [Operation]".into(),
                )),
            )
        } else {
            apply(&mut s, &op, &index, &id, source)
        };
        let mut r = json!({ "_index": index, "_id": id, "status": status });
        match err {
            Some((kind, reason)) => {
                errors = true;
                r["error"] = json!({ "type": kind, "reason": reason, "index": index });
            }
            None => {
                r["_version"] = json!(1);
                r["result"] = json!(if op == "delete" { "deleted" } else { "created" });
                r["_shards"] = json!({ "total": 2, "successful": 1, "failed": 0 });
                r["_seq_no"] = json!(s.seq);
                r["_primary_term"] = json!(1);
            }
        }
        items.push(json!({ op: r }));
    }
    s.items_per_request.push(items.len());
    respond(200, json!({ "took": 3, "errors": errors, "items": items }))
}

type Outcome = (u16, Option<(&'static str, String)>);

fn apply(
    s: &mut EsState,
    op: &str,
    index: &str,
    id: &str,
    source: Option<serde_json::Result<Value>>,
) -> Outcome {
    let ds = is_data_stream(index);
    let doc = match source {
        Some(Ok(v @ Value::Object(_))) => Some(v),
        Some(_) => {
            return (
                400,
                Some((
                    "document_parsing_exception",
                    "[1:1] failed to parse: not a JSON object".into(),
                )),
            );
        }
        None => None,
    };
    match op {
        "create" | "index" => {
            let doc = doc.unwrap_or_default();
            if ds && op != "create" {
                return (
                    400,
                    Some((
                        "illegal_argument_exception",
                        "only write ops with an op_type of create are allowed in data streams"
                            .to_string(),
                    )),
                );
            }
            if ds && doc.get("@timestamp").is_none() {
                return (400, Some(("document_parsing_exception", "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing".into())));
            }
            let docs = s.docs.entry(index.to_string()).or_default();
            if op == "create" && docs.contains_key(id) {
                return (
                    409,
                    Some((
                        "version_conflict_engine_exception",
                        format!(
                            "[{id}]: version conflict, document already exists (current version [1])"
                        ),
                    )),
                );
            }
            docs.insert(id.to_string(), doc);
            (201, None)
        }
        "delete" => match s.docs.get_mut(index).and_then(|d| d.remove(id)) {
            Some(_) => (200, None),
            None => (404, None),
        },
        _ => (
            400,
            Some((
                "illegal_argument_exception",
                format!(
                    "Malformed action/metadata line, expected one of [create, delete, index, update] but found [{op}]"
                ),
            )),
        ),
    }
}
