//! The Microsoft Graph audit log search (Purview Audit Search API) of one tenant, for
//! `backfill`: create a query over a time range, read its status until it has run, page
//! through its records.
//!
//! Same rules as the Management API client: the token (scope `{cloud Graph host}/.default`)
//! goes only to the configured Graph host, and an `@odata.nextLink` elsewhere is refused and
//! counted; bodies are read with a cap; a throttle (429, or 503 with `Retry-After`) pauses
//! the tenant for the clamped `Retry-After`; transient failures are retried a bounded number
//! of times.

mod model;
mod record_types;
mod transport;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::error::parse_error_body;
use super::tenant::TenantConfig;
use super::{ApiError, Budget, TokenSource, backoff, same_origin};
use crate::telemetry;

pub use model::{AuditLogQuery, Item, Page, QuerySpec, QueryStatus, audit_record_text, parse_page};
pub use record_types::{GRAPH_RECORD_TYPES, graph_name_of, graph_record_type};
pub use transport::{BodyError, clamp_retry_after, read_capped};

/// What the app registration needs for `backfill`, said by `check`, `backfill --help` and
/// the errors of a refused query.
pub const PERMISSION_HELP: &str = "Microsoft Graph application permission AuditLogsQuery.Read.All \
(or per service: AuditLogsQuery-CRM.Read.All for Dynamics 365, AuditLogsQuery-Exchange.Read.All, \
AuditLogsQuery-SharePoint.Read.All, AuditLogsQuery-OneDrive.Read.All, AuditLogsQuery-Entra.Read.All, \
AuditLogsQuery-Endpoint.Read.All), granted with admin consent on the same app registration";

const QUERY_CAP: usize = 1 << 20;
const LIST_CAP: usize = 8 << 20;
/// A page of records: Graph pages hold hundreds of records of a few KB each.
const PAGE_CAP: usize = 64 << 20;
/// Transport failures and 5xx retried within one call.
const ATTEMPTS: u32 = 6;
/// Throttles waited out within one call before giving up on it.
const MAX_THROTTLES: u32 = 64;

/// Counters for the summary of a run.
#[derive(Debug, Default)]
pub struct GraphStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub retried: AtomicU64,
    pub refused_links: AtomicU64,
}

impl GraphStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

pub struct GraphClient {
    tenant: String,
    http: reqwest::Client,
    /// `https://graph.microsoft.com/v1.0/`: always ends with `/`.
    base: Url,
    tokens: TokenSource,
    budget: Budget,
    cancel: CancellationToken,
    pub stats: GraphStats,
}

enum Method {
    Get,
    Post(Vec<u8>),
}

impl GraphClient {
    pub fn new(http: reqwest::Client, t: &TenantConfig, cancel: CancellationToken) -> GraphClient {
        let scope = format!("{}/.default", t.cloud.graph_url());
        GraphClient {
            tenant: t.name.clone(),
            tokens: TokenSource::with_scope(http.clone(), t, scope),
            http,
            base: base_url(&t.graph_url),
            budget: Budget::new(t.requests_per_minute),
            cancel,
            stats: GraphStats::default(),
        }
    }

    /// The API root requests go to (and the only origin the token is sent to).
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, rest: &str) -> Result<Url, ApiError> {
        self.base
            .join(rest)
            .map_err(|e| ApiError::Invalid(e.to_string()))
    }

    /// `POST /security/auditLog/queries`.
    pub async fn create_query(&self, spec: &QuerySpec) -> Result<AuditLogQuery, ApiError> {
        let body = serde_json::to_vec(spec).map_err(|e| ApiError::Invalid(e.to_string()))?;
        let url = self.url("security/auditLog/queries")?;
        let b = self
            .call(Method::Post(body), url, QUERY_CAP, "graph-create")
            .await?;
        serde_json::from_slice(&b).map_err(|e| ApiError::Malformed(format!("created query: {e}")))
    }

    /// `GET /security/auditLog/queries/{id}`; `None` when the service no longer has it.
    pub async fn get_query(&self, id: &str) -> Result<Option<AuditLogQuery>, ApiError> {
        let url = self.url(&format!("security/auditLog/queries/{}", encode(id)))?;
        match self.call(Method::Get, url, QUERY_CAP, "graph-query").await {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ApiError::Malformed(format!("query {id}: {e}"))),
            Err(ApiError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /security/auditLog/queries`, following `@odata.nextLink` for at most `max_pages`.
    pub async fn list_queries(&self, max_pages: u32) -> Result<Vec<AuditLogQuery>, ApiError> {
        #[derive(serde::Deserialize)]
        struct List {
            #[serde(default)]
            value: Vec<AuditLogQuery>,
            #[serde(rename = "@odata.nextLink", default)]
            next: Option<String>,
        }
        let mut url = self.url("security/auditLog/queries")?;
        let mut out = Vec::new();
        for _ in 0..max_pages.max(1) {
            let b = self.call(Method::Get, url, LIST_CAP, "graph-list").await?;
            let page: List = serde_json::from_slice(&b)
                .map_err(|e| ApiError::Malformed(format!("query list: {e}")))?;
            out.extend(page.value);
            match page.next {
                Some(n) => url = self.check_link(&n)?,
                None => break,
            }
        }
        Ok(out)
    }

    /// The first page of a query's records.
    pub fn records_url(&self, query_id: &str) -> Result<Url, ApiError> {
        self.url(&format!(
            "security/auditLog/queries/{}/records",
            encode(query_id)
        ))
    }

    /// One page of records. A body that is not a page is `ApiError::Malformed`.
    pub async fn records_page(&self, url: Url) -> Result<Page, ApiError> {
        let source = url.path().to_string();
        let b = self
            .call(Method::Get, url, PAGE_CAP, "graph-records")
            .await?;
        parse_page(&b, &source).map_err(ApiError::Malformed)
    }

    /// An `@odata.nextLink` from the service, if it points at the Graph host; refused (and
    /// counted) anywhere else, so the token never leaves that host.
    pub fn check_link(&self, link: &str) -> Result<Url, ApiError> {
        let u = Url::parse(link).map_err(|e| ApiError::Invalid(format!("@odata.nextLink: {e}")))?;
        if same_origin(&u, &self.base) {
            return Ok(u);
        }
        let host = format!(
            "{}:{}",
            u.host_str().unwrap_or("?"),
            u.port_or_known_default().unwrap_or(0)
        );
        self.stats.refused_links.fetch_add(1, Ordering::Relaxed);
        telemetry::hostile_uri(&self.tenant, "@odata.nextLink", &host, None, None);
        Err(ApiError::HostileUri {
            what: "@odata.nextLink",
            host,
        })
    }

    /// One call with the retry policy of the Management API client: 401 → new token, once;
    /// 429 (or 503 with `Retry-After`) → pause the tenant for the clamped `Retry-After` (or
    /// a backoff) and ask again; 5xx, 408 and transport errors → backoff, up to
    /// [`ATTEMPTS`]; anything else goes back to the caller.
    async fn call(
        &self,
        method: Method,
        url: Url,
        cap: usize,
        what: &'static str,
    ) -> Result<bytes::Bytes, ApiError> {
        let (mut failures, mut throttles, mut reauth) = (0u32, 0u32, false);
        loop {
            if !self.budget.acquire(&self.cancel).await {
                return Err(ApiError::Cancelled);
            }
            let token = self.tokens.token().await?;
            let req = match &method {
                Method::Get => self.http.get(url.clone()),
                Method::Post(body) => self
                    .http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone()),
            };
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = tokio::select! {
                r = req.bearer_auth(token.expose()).send() => r,
                _ = self.cancel.cancelled() => return Err(ApiError::Cancelled),
            };
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    failures += 1;
                    self.retry(what, &super::auth::without_url(&e), failures)
                        .await?;
                    continue;
                }
            };
            let status = resp.status();
            let code = status.as_u16();
            let headers = resp.headers().clone();
            telemetry::api_request(&self.tenant, what, status.as_str());
            let body_cap = if status.is_success() { cap } else { 64 << 10 };
            let body = match read_capped(resp, body_cap).await {
                Ok(b) => b,
                Err(BodyError::TooLarge { cap }) => {
                    return Err(ApiError::Malformed(format!(
                        "{what}: response larger than {cap} bytes"
                    )));
                }
                Err(BodyError::Transport(e)) => {
                    failures += 1;
                    self.retry(what, &e, failures).await?;
                    continue;
                }
            };
            if status.is_success() {
                return Ok(body);
            }
            let (err_code, message) = parse_error_body(&body);
            if code == 401 && !reauth {
                reauth = true;
                self.tokens.invalidate().await;
                continue;
            }
            let hinted = crate::bounds::retry_after_header(&headers, &self.tenant);
            if code == 429 || (code == 503 && hinted.is_some()) {
                throttles += 1;
                if throttles > MAX_THROTTLES {
                    return Err(ApiError::Unavailable {
                        attempts: throttles,
                        last: format!("{code} {err_code} {message}"),
                    });
                }
                let wait = hinted
                    .map(clamp_retry_after)
                    .unwrap_or_else(|| backoff(throttles, 5, 300));
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                telemetry::throttled(&self.tenant, wait.as_secs());
                self.budget.pause(wait);
                continue;
            }
            if code >= 500 || code == 408 {
                failures += 1;
                self.retry(what, &format!("{code} {err_code} {message}"), failures)
                    .await?;
                continue;
            }
            return Err(ApiError::Api {
                status: code,
                code: err_code,
                message,
            });
        }
    }

    async fn retry(&self, what: &str, last: &str, failures: u32) -> Result<(), ApiError> {
        self.stats.retried.fetch_add(1, Ordering::Relaxed);
        if failures >= ATTEMPTS {
            return Err(ApiError::Unavailable {
                attempts: failures,
                last: last.to_string(),
            });
        }
        let wait = backoff(failures, 1, 60).min(Duration::from_secs(60));
        tracing::warn!(tenant = %self.tenant, request = what, attempt = failures, error = last, "Graph request failed; retrying.");
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = self.cancel.cancelled() => Err(ApiError::Cancelled),
        }
    }
}

/// The configured Graph URL as a base to join onto: `/v1.0/` unless a path is given.
fn base_url(u: &Url) -> Url {
    let mut b = u.clone();
    let path = b.path().trim_end_matches('/').to_string();
    if path.is_empty() {
        b.set_path("/v1.0/");
    } else {
        b.set_path(&format!("{path}/"));
    }
    b
}

/// A query id as one path segment.
fn encode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests;
