//! Requests to the Management Activity API for one tenant, shared by all its feeds.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::auth::without_url;
use super::error::{parse_error_body, retry_after};
use super::tenant::TenantConfig;
use super::{ApiError, Budget, TokenSource, same_origin};
use crate::record::ContentType;
use crate::telemetry;

/// One entry of a content listing.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentInfo {
    #[serde(default)]
    pub content_type: String,
    pub content_id: String,
    pub content_uri: String,
    pub content_created: DateTime<Utc>,
    pub content_expiration: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub content_type: String,
    #[serde(default)]
    pub status: String,
}

/// Server errors and transport failures are retried this many times within one call.
const ATTEMPTS: u32 = 6;

pub struct TenantClient {
    pub name: String,
    http: reqwest::Client,
    api: Url,
    tenant_id: String,
    publisher_id: String,
    tokens: TokenSource,
    budget: Arc<Budget>,
    cancel: CancellationToken,
}

enum Method {
    Get,
    Post,
}

impl TenantClient {
    pub fn new(http: reqwest::Client, t: &TenantConfig, cancel: CancellationToken) -> TenantClient {
        TenantClient {
            name: t.name.clone(),
            tokens: TokenSource::new(http.clone(), t),
            http,
            api: t.api_url.clone(),
            tenant_id: t.tenant_id.clone(),
            publisher_id: t.publisher_id.clone(),
            budget: Arc::new(Budget::new(t.requests_per_minute)),
            cancel,
        }
    }

    fn feed_url(&self, rest: &str) -> Result<Url, ApiError> {
        let base = self.api.as_str().trim_end_matches('/');
        Url::parse(&format!(
            "{base}/api/v1.0/{}/activity/feed/{rest}",
            self.tenant_id
        ))
        .map_err(|e| ApiError::Invalid(e.to_string()))
    }

    /// Adds `PublisherIdentifier` unless the URI carries it (in any letter case) already.
    fn with_publisher(&self, mut u: Url) -> Url {
        let has = u
            .query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("PublisherIdentifier"));
        if !has {
            u.query_pairs_mut()
                .append_pair("PublisherIdentifier", &self.publisher_id);
        }
        u
    }

    /// Refuses a server-supplied URI on any host but the configured API host.
    fn check_origin(
        &self,
        uri: &str,
        what: &'static str,
        content_id: Option<&str>,
    ) -> Result<Url, ApiError> {
        let u = Url::parse(uri).map_err(|e| ApiError::Invalid(format!("{what} {e}")))?;
        if !same_origin(&u, &self.api) {
            let host = format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0)
            );
            telemetry::hostile_uri(&self.name, what, &host, content_id);
            return Err(ApiError::HostileUri { what, host });
        }
        Ok(u)
    }

    /// Lists content available in `[start, end)` (≤ 24 h), following every `NextPageUri`.
    pub async fn list_content(
        &self,
        ct: ContentType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ContentInfo>, ApiError> {
        let mut url = self.feed_url("subscriptions/content")?;
        url.query_pairs_mut()
            .append_pair("contentType", ct.as_str())
            .append_pair("startTime", &start.format("%Y-%m-%dT%H:%M:%S").to_string())
            .append_pair("endTime", &end.format("%Y-%m-%dT%H:%M:%S").to_string());
        let mut out = Vec::new();
        let mut pages = 0u32;
        loop {
            let (body, headers) = self
                .call(Method::Get, self.with_publisher(url), "list")
                .await?;
            let page: Vec<ContentInfo> = serde_json::from_slice(&body)
                .map_err(|e| ApiError::Malformed(format!("content listing: {e}")))?;
            out.extend(page);
            pages += 1;
            let next = headers
                .iter()
                .find(|(k, _)| {
                    k.as_str().eq_ignore_ascii_case("NextPageUri")
                        || k.as_str().eq_ignore_ascii_case("NextPageUrl")
                })
                .and_then(|(_, v)| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty());
            match next {
                Some(n) => url = self.check_origin(n, "NextPageUri", None)?,
                None => break,
            }
            if pages > 100_000 {
                return Err(ApiError::Malformed("more than 100000 listing pages".into()));
            }
        }
        Ok(out)
    }

    /// Fetches one blob's body.
    pub async fn fetch_blob(&self, c: &ContentInfo) -> Result<bytes::Bytes, ApiError> {
        let u = self.check_origin(&c.content_uri, "contentUri", Some(&c.content_id))?;
        let (body, _) = self
            .call(Method::Get, self.with_publisher(u), "blob")
            .await?;
        Ok(body)
    }

    /// Starts a subscription; `AF20024` (already enabled) counts as success.
    pub async fn start_subscription(&self, ct: ContentType) -> Result<(), ApiError> {
        let mut url = self.feed_url("subscriptions/start")?;
        url.query_pairs_mut()
            .append_pair("contentType", ct.as_str());
        match self
            .call(Method::Post, self.with_publisher(url), "start")
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("AF20024") => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn stop_subscription(&self, ct: ContentType) -> Result<(), ApiError> {
        let mut url = self.feed_url("subscriptions/stop")?;
        url.query_pairs_mut()
            .append_pair("contentType", ct.as_str());
        self.call(Method::Post, self.with_publisher(url), "stop")
            .await
            .map(|_| ())
    }

    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, ApiError> {
        let url = self.feed_url("subscriptions/list")?;
        let (body, _) = self
            .call(Method::Get, self.with_publisher(url), "subscriptions")
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Malformed(format!("subscriptions: {e}")))
    }

    /// One API call with the retry policy: 401 → new token, once; AF429/429 → pause the
    /// whole tenant for `Retry-After` (or an exponential backoff) and retry; 5xx, 408 and
    /// transport errors → exponential backoff with jitter, up to [`ATTEMPTS`]; other errors
    /// go back to the caller.
    async fn call(
        &self,
        method: Method,
        url: Url,
        what: &'static str,
    ) -> Result<(bytes::Bytes, reqwest::header::HeaderMap), ApiError> {
        let mut failures = 0u32;
        let mut throttles = 0u32;
        let mut reauth = false;
        loop {
            if !self.budget.acquire(&self.cancel).await {
                return Err(ApiError::Cancelled);
            }
            let token = self.tokens.token().await?;
            let req = match method {
                Method::Get => self.http.get(url.clone()),
                Method::Post => self
                    .http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json; utf-8")
                    .body("{}"),
            };
            let sent = req.bearer_auth(token.expose()).send();
            let resp = tokio::select! {
                r = sent => r,
                _ = self.cancel.cancelled() => return Err(ApiError::Cancelled),
            };
            let (status, headers, body) = match resp {
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    match r.bytes().await {
                        Ok(b) => (status, headers, b),
                        Err(e) => {
                            failures += 1;
                            self.note_failure(what, &without_url(&e), failures).await?;
                            continue;
                        }
                    }
                }
                Err(e) => {
                    failures += 1;
                    self.note_failure(what, &without_url(&e), failures).await?;
                    continue;
                }
            };
            let code = status.as_u16();
            telemetry::count(
                "o365fwd_api_requests_total",
                &[
                    ("tenant", &self.name),
                    ("kind", what),
                    ("status", status.as_str()),
                ],
                1,
            );
            if status.is_success() {
                return Ok((body, headers));
            }
            let (af, message) = parse_error_body(&body);
            if code == 401 && !reauth {
                reauth = true;
                self.tokens.invalidate().await;
                continue;
            }
            // The 15-minute subscription-start rule also answers 429; that one is the caller's.
            let start_rule = message.contains("subscription start");
            if af == "AF429" || (code == 429 && !start_rule) {
                throttles += 1;
                let wait = retry_after(&headers).unwrap_or_else(|| backoff(throttles, 5, 300));
                telemetry::throttled(&self.name, wait.as_secs());
                self.budget.pause(wait);
                continue;
            }
            let transient = code >= 500
                || code == 408
                || matches!(af.as_str(), "AF50000" | "AF50005" | "AF50006");
            if transient {
                failures += 1;
                let last = format!("{code} {af} {message}");
                self.note_failure(what, &last, failures).await?;
                continue;
            }
            return Err(ApiError::Api {
                status: code,
                code: af,
                message,
            });
        }
    }

    /// Logs a transient failure and waits before the next attempt, or gives up.
    async fn note_failure(&self, what: &str, last: &str, failures: u32) -> Result<(), ApiError> {
        telemetry::count(
            "o365fwd_api_retries_total",
            &[("tenant", &self.name), ("kind", what)],
            1,
        );
        if failures >= ATTEMPTS {
            return Err(ApiError::Unavailable {
                attempts: failures,
                last: last.to_string(),
            });
        }
        let wait = backoff(failures, 1, 60);
        tracing::warn!(tenant = %self.name, request = what, attempt = failures, wait_ms = wait.as_millis() as u64, error = last, "API request failed; retrying.");
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = self.cancel.cancelled() => Err(ApiError::Cancelled),
        }
    }
}

/// Exponential backoff with full jitter between half and all of `base·2^(n-1)`, capped.
pub fn backoff(n: u32, base_secs: u64, cap_secs: u64) -> Duration {
    let exp = base_secs.saturating_mul(1u64 << n.saturating_sub(1).min(20));
    let ms = exp.min(cap_secs) * 1000;
    Duration::from_millis(ms / 2 + fastrand::u64(0..=ms / 2))
}
