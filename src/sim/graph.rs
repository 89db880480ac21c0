//! The Microsoft Graph audit log search (Purview Audit Search API, `/security/auditLog/
//! queries` in v1.0 and beta), as Microsoft's Graph reference describes it:
//!
//! - `POST /queries` creates a query (`201`, status `notStarted`); `GET /queries` lists the
//!   tenant's queries; `GET /queries/{id}` reads one, its status moving `notStarted` →
//!   `running` → `succeeded` (or `failed`) as simulated time passes;
//! - `GET /queries/{id}/records` pages through the results with `@odata.nextLink`; each
//!   `auditLogRecord` carries the audit record in `auditData` (behind `@odata.type`);
//! - `approximateReturnedRecordCount`, `recordCountLimit`, `isRecordCountLimitExceeded`: a
//!   query over the limit still succeeds, with its results cut at the limit;
//! - 429 with `Retry-After` (requests before it has passed are throttled again), 401 for a
//!   token of another audience, 403 without the AuditLogsQuery permission.
//!
//! Records come from the same content model as the Management API (see [`store`]), with
//! history as long as the configured retention. Where the reference is silent: results are
//! served newest first; `/records` of an unfinished query answers 400; the time filters
//! are both required and the range half-open.

mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use chrono::DateTime;
use serde_json::{Value, json};

use super::lock;
use super::rng::hash;
use super::server::{Reply, Req, Shared};
pub(crate) use store::Scope;
use store::{Filters, Results};

/// The Graph audit search's behaviour in the simulator.
#[derive(Clone, Debug)]
pub struct GraphSimConfig {
    /// How long (simulated) a query stays `notStarted`, then `running`.
    pub not_started_for: Duration,
    pub running_for: Duration,
    /// Records per `/records` page.
    pub page_size: usize,
    /// `recordCountLimit`: a query finding more succeeds with this many.
    pub record_limit: u64,
    /// How far back records are kept (Audit Standard: 180 days).
    pub retention: Duration,
    /// The first N queries created end `failed`.
    pub failures: u32,
    /// Every Nth Graph request of a tenant is answered 429.
    pub throttle_every: Option<u32>,
    /// `Retry-After` of those answers; requests before it passes are throttled again.
    pub retry_after: Duration,
    /// The first `@odata.nextLink` served points at the evil host.
    pub hostile_next_link: bool,
    /// The first N `/records` pages are cut short (status 200, broken JSON).
    pub malformed_pages: u32,
    /// Fraction of a query's records served a second time, later in its results.
    pub repeat_rate: f64,
    /// The app registration has an AuditLogsQuery permission (else every call is 403).
    pub permitted: bool,
}

impl Default for GraphSimConfig {
    fn default() -> GraphSimConfig {
        GraphSimConfig {
            not_started_for: Duration::from_secs(2),
            running_for: Duration::from_secs(5),
            page_size: 150,
            record_limit: 1_000_000,
            retention: Duration::from_secs(180 * 24 * 3600),
            failures: 0,
            throttle_every: None,
            retry_after: Duration::from_secs(1),
            hostile_next_link: false,
            malformed_pages: 0,
            repeat_rate: 0.0,
            permitted: true,
        }
    }
}

/// What the simulator saw of clients, for tests.
#[derive(Clone, Debug, Default)]
pub struct GraphStats {
    pub queries_created: u32,
    pub throttled: u32,
    /// Requests that came while a `Retry-After` had not passed.
    pub too_early: u32,
    pub malformed_served: u32,
}

#[derive(Debug)]
struct Query {
    id: String,
    tenant: usize,
    name: String,
    filters: Filters,
    created_ms: i64,
    fails: bool,
    results: Option<Arc<Results>>,
}

#[derive(Debug, Default)]
pub(crate) struct GraphState {
    queries: Vec<Query>,
    calls: HashMap<usize, u64>,
    penalty_until: HashMap<usize, i64>,
    hostile_sent: bool,
    stats: GraphStats,
}

pub(crate) type State = Mutex<GraphState>;

pub(crate) fn stats(s: &Shared) -> GraphStats {
    lock(&s.graph).stats.clone()
}

/// Every distinct record id of `tenant_id` with its time in `from..to` (ms).
pub(crate) fn expected_ids(s: &Shared, tenant_id: &str, from_ms: i64, to_ms: i64) -> Vec<String> {
    let Some(tenant) = s.model.tenant_index(tenant_id) else {
        return vec![];
    };
    store::ids(&s.model, &scope(s, tenant), from_ms, to_ms)
}

fn scope(s: &Shared, tenant: usize) -> Scope<'_> {
    Scope {
        cts: &s.cfg.content_types,
        tenant,
        now_ms: s.clock.now_ms(),
        retention_ms: ms(s.cfg.graph.retention),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// `/{version}/security/auditLog/queries/{rest}`.
pub(crate) fn handle(s: &Shared, version: &str, rest: &[&str], r: &Req<'_>) -> Reply {
    let Some(tenant) = authenticate(s, r) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        )
        .with_header("www-authenticate", "Bearer".into());
    };
    if !s.cfg.graph.permitted {
        return error(
            403,
            "Forbidden",
            "Missing role permissions on the request. API requires one of 'AuditLogsQuery.Read.All, AuditLogsQuery-CRM.Read.All, AuditLogsQuery-Entra.Read.All, AuditLogsQuery-Exchange.Read.All, AuditLogsQuery-OneDrive.Read.All, AuditLogsQuery-SharePoint.Read.All, AuditLogsQuery-Endpoint.Read.All'.",
        );
    }
    if let Some(reply) = throttle(s, tenant) {
        return reply;
    }
    let get = *r.method == Method::GET;
    match rest {
        [] if *r.method == Method::POST => create(s, tenant, r),
        [] if get => list(s, tenant, version, r),
        [id] if get => read(s, tenant, id),
        [id, rec] if get && rec.eq_ignore_ascii_case("records") => {
            records(s, tenant, version, id, r)
        }
        _ => error(400, "BadRequest", "Resource not found for the segment."),
    }
}

/// The tenant of a valid Graph token.
fn authenticate(s: &Shared, r: &Req<'_>) -> Option<usize> {
    super::token::bearer(s, r, true)
}

fn throttle(s: &Shared, tenant: usize) -> Option<Reply> {
    let cfg = &s.cfg.graph;
    let now = s.clock.now_ms();
    let mut g = lock(&s.graph);
    let n = {
        let c = g.calls.entry(tenant).or_default();
        *c += 1;
        *c
    };
    let penalized = g.penalty_until.get(&tenant).is_some_and(|u| now < *u);
    let every = cfg
        .throttle_every
        .is_some_and(|k| k > 0 && n % u64::from(k) == 0);
    if !penalized && !every {
        return None;
    }
    if penalized {
        g.stats.too_early += 1;
    } else {
        g.penalty_until.insert(tenant, now + ms(cfg.retry_after));
    }
    g.stats.throttled += 1;
    let secs = cfg.retry_after.as_secs().max(1);
    let mut reply = error(
        429,
        "TooManyRequests",
        "Too many requests. Please retry after the time in the Retry-After header.",
    )
    .with_retry_after(Some(Duration::from_secs(secs)));
    reply.error_code = Some("TooManyRequests".into());
    Some(reply)
}

fn create(s: &Shared, tenant: usize, r: &Req<'_>) -> Reply {
    let body: Value = match serde_json::from_slice(r.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return error(400, "BadRequest", "The request body is not a JSON object."),
    };
    let time = |k: &str| {
        body[k]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis())
    };
    let (Some(from_ms), Some(to_ms)) = (time("filterStartDateTime"), time("filterEndDateTime"))
    else {
        return error(
            400,
            "BadRequest",
            "filterStartDateTime and filterEndDateTime must be DateTimeOffset values.",
        );
    };
    if from_ms >= to_ms {
        return error(
            400,
            "BadRequest",
            "filterStartDateTime must be before filterEndDateTime.",
        );
    }
    let strings = |k: &str| -> Vec<String> {
        match &body[k] {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Value::String(v) => vec![v.clone()],
            _ => vec![],
        }
    };
    let record_types = strings("recordTypeFilters");
    if let Some(bad) = record_types.iter().find(|t| {
        !crate::api::graph::GRAPH_RECORD_TYPES
            .iter()
            .any(|g| g.eq_ignore_ascii_case(t))
    }) {
        return error(
            400,
            "BadRequest",
            &format!("The value '{bad}' is not valid for auditLogRecordType."),
        );
    }
    for unsupported in [
        "keywordFilter",
        "userPrincipalNameFilters",
        "ipAddressFilters",
        "objectIdFilters",
        "administrativeUnitIdFilters",
    ] {
        if !matches!(&body[unsupported], Value::Null) && body[unsupported] != json!([]) {
            return error(
                400,
                "BadRequest",
                &format!("{unsupported} is not simulated."),
            );
        }
    }
    let mut services = strings("serviceFilter");
    services.extend(strings("serviceFilters"));
    let now = s.clock.now_ms();
    let mut g = lock(&s.graph);
    let n = g.stats.queries_created;
    g.stats.queries_created += 1;
    let q = Query {
        id: super::rng::guid(hash(&[s.cfg.seed, tenant as u64, u64::from(n), 0x6A9])).to_string(),
        tenant,
        name: body["displayName"].as_str().unwrap_or("").to_string(),
        filters: Filters {
            from_ms,
            to_ms,
            record_types,
            services,
            operations: strings("operationFilters"),
        },
        created_ms: now,
        fails: n < s.cfg.graph.failures,
        results: None,
    };
    let reply = Reply::json(201, query_json(s, &q, "notStarted").to_string());
    g.queries.push(q);
    reply
}

fn status(s: &Shared, q: &Query) -> &'static str {
    let cfg = &s.cfg.graph;
    let age = s.clock.now_ms() - q.created_ms;
    if age < ms(cfg.not_started_for) {
        "notStarted"
    } else if age < ms(cfg.not_started_for).saturating_add(ms(cfg.running_for)) {
        "running"
    } else if q.fails {
        "failed"
    } else {
        "succeeded"
    }
}

/// The results, found when the query first reads as succeeded and kept.
fn results(s: &Shared, q: &mut Query) -> Arc<Results> {
    if let Some(r) = &q.results {
        return r.clone();
    }
    let cfg = &s.cfg.graph;
    let r = Arc::new(store::find(
        &s.model,
        &scope(s, q.tenant),
        &q.filters,
        cfg.record_limit,
        cfg.repeat_rate,
    ));
    q.results = Some(r.clone());
    r
}

fn query_json(s: &Shared, q: &Query, status: &str) -> Value {
    let t = |ms: i64| {
        DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    };
    let (count, exceeded) = match &q.results {
        Some(r) if status == "succeeded" => (r.found, r.exceeded),
        _ => (0, false),
    };
    json!({
        "@odata.type": "#microsoft.graph.security.auditLogQuery",
        "id": q.id,
        "displayName": q.name,
        "filterStartDateTime": t(q.filters.from_ms),
        "filterEndDateTime": t(q.filters.to_ms),
        "recordTypeFilters": q.filters.record_types,
        "keywordFilter": null,
        "serviceFilters": q.filters.services,
        "operationFilters": q.filters.operations,
        "userPrincipalNameFilters": [],
        "ipAddressFilters": [],
        "objectIdFilters": [],
        "administrativeUnitIdFilters": [],
        "status": status,
        "approximateReturnedRecordCount": count,
        "isRecordCountLimitExceeded": exceeded,
        "recordCountLimit": s.cfg.graph.record_limit,
    })
}

fn find<'a>(g: &'a mut GraphState, tenant: usize, id: &str) -> Option<&'a mut Query> {
    g.queries
        .iter_mut()
        .find(|q| q.tenant == tenant && q.id.eq_ignore_ascii_case(id))
}

fn not_found(id: &str) -> Reply {
    error(
        404,
        "NotFound",
        &format!("The audit log query {id} was not found."),
    )
}

fn read(s: &Shared, tenant: usize, id: &str) -> Reply {
    let mut g = lock(&s.graph);
    let Some(q) = find(&mut g, tenant, id) else {
        return not_found(id);
    };
    let st = status(s, q);
    if st == "succeeded" {
        results(s, q);
    }
    Reply::json(200, query_json(s, q, st).to_string())
}

fn list(s: &Shared, tenant: usize, version: &str, r: &Req<'_>) -> Reply {
    const PAGE: usize = 100;
    let g = lock(&s.graph);
    let mine: Vec<&Query> = g.queries.iter().filter(|q| q.tenant == tenant).collect();
    let skip = r
        .params
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let value: Vec<Value> = mine
        .iter()
        .skip(skip)
        .take(PAGE)
        .map(|q| query_json(s, q, status(s, q)))
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/{version}/$metadata#security/auditLog/queries", s.base_url),
        "value": value,
    });
    if skip + PAGE < mine.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}/{version}/security/auditLog/queries?$skiptoken={}",
            s.base_url,
            skip + PAGE
        ));
    }
    Reply::json(200, body.to_string())
}

fn records(s: &Shared, tenant: usize, version: &str, id: &str, r: &Req<'_>) -> Reply {
    let mut g = lock(&s.graph);
    let Some(q) = find(&mut g, tenant, id) else {
        return not_found(id);
    };
    if status(s, q) != "succeeded" {
        return error(400, "BadRequest", "The audit log query has not succeeded.");
    }
    let res = results(s, q);
    let qid = q.id.clone();
    let offset = match r.params.get("$skiptoken") {
        None => 0,
        Some(tok) => match parse_token(&qid, tok) {
            Some(o) => o,
            None => return error(400, "BadRequest", &format!("Invalid skip token: {tok}.")),
        },
    };
    let end = offset
        .saturating_add(s.cfg.graph.page_size.max(1))
        .min(res.hits.len());
    let mut body = format!(
        "{{\"@odata.context\":\"{}/{version}/$metadata#security/auditLog/queries('{qid}')/records\",\"value\":[",
        s.base_url
    );
    for (n, h) in res
        .hits
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if n > 0 {
            body.push(',');
        }
        store::render_item(&s.model, h, &mut body);
    }
    body.push(']');
    let malformed = g.stats.malformed_served < s.cfg.graph.malformed_pages;
    if end < res.hits.len() {
        // A hostile link in a page that is then cut short would never be seen.
        let hostile = s.cfg.graph.hostile_next_link && !g.hostile_sent && !malformed;
        g.hostile_sent |= hostile;
        let host = if hostile { &s.evil_url } else { &s.base_url };
        let link = format!(
            "{host}/{version}/security/auditLog/queries/{qid}/records?$skiptoken={}",
            token(&qid, end)
        );
        body.push_str(&format!(",\"@odata.nextLink\":{}", json!(link)));
    }
    body.push('}');
    if malformed {
        g.stats.malformed_served += 1;
        let mut cut = body.len() * 2 / 3;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    Reply::json(200, body)
}

/// An opaque-looking skip token bound to its query.
fn token(query: &str, offset: usize) -> String {
    let check = hash(&[super::rng::hash_str(query), offset as u64]) % 1_000_000_007;
    format!("{:x}x{:x}", offset, check)
}

fn parse_token(query: &str, tok: &str) -> Option<usize> {
    let (o, _) = tok.split_once('x')?;
    let offset = usize::from_str_radix(o, 16).ok()?;
    (token(query, offset) == tok).then_some(offset)
}

/// Graph's error envelope.
fn error(status: u16, code: &str, message: &str) -> Reply {
    let body = json!({"error": {"code": code, "message": message, "innerError": {
        "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        "request-id": super::rng::guid(fastrand::u64(..)),
    }}});
    Reply {
        error_code: Some(code.to_string()),
        ..Reply::json(status, body.to_string())
    }
}

#[cfg(test)]
mod tests;
