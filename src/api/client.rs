//! Requests to the Management Activity API for one tenant, shared by all its feeds.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::auth::without_url;
use super::content::ContentInfo;
use super::error::parse_error_body;
use super::tenant::TenantConfig;
use super::{ApiError, Budget, TokenSource, same_origin};
use crate::bounds;
use crate::record::ContentType;
use crate::telemetry;
use crate::telemetry::progress::Progress;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub content_type: String,
    #[serde(default)]
    pub status: String,
}

/// Server errors and transport failures are retried this many times within one call.
const ATTEMPTS: u32 = 6;
/// Default cap on a blob's decoded size (`[agent] max_blob_bytes`).
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 64 << 20;
/// Cap on the small JSON answers (subscriptions, start/stop).
const MAX_SMALL_BODY: u64 = 1 << 20;
/// What is read of an error answer: enough for the API's error envelope.
const MAX_ERROR_BODY: usize = 64 << 10;

/// One request as the retry loop and its log lines see it: what it is, the cap on its
/// body, and the feed and content it concerns (so every line about a failing blob names it).
pub(super) struct Call {
    what: &'static str,
    limit: u64,
    feed: Option<String>,
    content_id: Option<String>,
    /// The feed's progress: every answer shows some; a throttle pause is a wait.
    progress: Option<Arc<Progress>>,
}

impl Call {
    pub(super) fn new(what: &'static str, limit: u64) -> Call {
        Call {
            what,
            limit,
            feed: None,
            content_id: None,
            progress: None,
        }
    }

    pub(super) fn observed(mut self, p: Option<Arc<Progress>>) -> Call {
        self.progress = p;
        self
    }

    pub(super) fn for_feed(mut self, feed: &str) -> Call {
        self.feed = Some(feed.to_string());
        self
    }

    fn tick(&self) {
        if let Some(p) = &self.progress {
            p.tick();
        }
    }
}

pub struct TenantClient {
    pub name: String,
    http: reqwest::Client,
    api: Url,
    tenant_id: String,
    publisher_id: String,
    tokens: TokenSource,
    budget: Arc<Budget>,
    cancel: CancellationToken,
    max_blob_bytes: u64,
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
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
        }
    }

    /// Caps the decoded size of blobs (`[agent] max_blob_bytes`).
    pub fn with_max_blob_bytes(mut self, limit: u64) -> TenantClient {
        self.max_blob_bytes = limit.max(1);
        self
    }

    pub fn max_blob_bytes(&self) -> u64 {
        self.max_blob_bytes
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub(super) fn feed_url(&self, rest: &str) -> Result<Url, ApiError> {
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
    pub(super) fn check_origin(
        &self,
        uri: &str,
        what: &'static str,
        feed: &str,
        content_id: Option<&str>,
    ) -> Result<Url, ApiError> {
        let u = Url::parse(uri).map_err(|e| ApiError::Invalid(format!("{what} {e}")))?;
        if !same_origin(&u, &self.api) {
            let host = format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port_or_known_default().unwrap_or(0)
            );
            telemetry::hostile_uri(&self.name, what, &host, Some(feed), content_id);
            return Err(ApiError::HostileUri { what, host });
        }
        Ok(u)
    }

    /// Fetches one blob's body, at most `max_blob_bytes` of it decoded.
    pub async fn fetch_blob(
        &self,
        ct: ContentType,
        c: &ContentInfo,
        progress: Option<&Arc<Progress>>,
    ) -> Result<bytes::Bytes, ApiError> {
        let feed = crate::state::feed_key(&self.tenant_id, ct.as_str());
        let u = self.check_origin(&c.content_uri, "contentUri", &feed, Some(&c.content_id))?;
        let call = Call {
            feed: Some(feed),
            content_id: Some(c.content_id.clone()),
            ..Call::new("blob", self.max_blob_bytes).observed(progress.cloned())
        };
        let (body, _) = self.call_get(u, &call).await?;
        Ok(body)
    }

    /// A GET with the retry policy (for the listing pager).
    pub(super) async fn call_get(
        &self,
        url: Url,
        call: &Call,
    ) -> Result<(bytes::Bytes, reqwest::header::HeaderMap), ApiError> {
        self.call(Method::Get, self.with_publisher(url), call).await
    }

    /// Starts a subscription; `AF20024` (already enabled) counts as success.
    pub async fn start_subscription(&self, ct: ContentType) -> Result<(), ApiError> {
        let mut url = self.feed_url("subscriptions/start")?;
        url.query_pairs_mut()
            .append_pair("contentType", ct.as_str());
        match self
            .call(
                Method::Post,
                self.with_publisher(url),
                &Call::new("start", MAX_SMALL_BODY),
            )
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
        self.call(
            Method::Post,
            self.with_publisher(url),
            &Call::new("stop", MAX_SMALL_BODY),
        )
        .await
        .map(|_| ())
    }

    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, ApiError> {
        let url = self.feed_url("subscriptions/list")?;
        let call = Call::new("subscriptions", MAX_SMALL_BODY);
        let (body, _) = self.call_get(url, &call).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Malformed(format!("subscriptions: {e}")))
    }

    /// One API call with the retry policy: 401 → new token, once; AF429/429 → pause the
    /// whole tenant for `Retry-After` (clamped to 15 minutes; or an exponential backoff) and
    /// retry; 5xx, 408 and transport errors → exponential backoff with jitter, up to
    /// [`ATTEMPTS`]; a body over `call.limit` and other errors go back to the caller.
    async fn call(
        &self,
        method: Method,
        url: Url,
        call: &Call,
    ) -> Result<(bytes::Bytes, reqwest::header::HeaderMap), ApiError> {
        let what = call.what;
        let mut failures = 0u32;
        let mut throttles = 0u32;
        let mut reauth = false;
        loop {
            let slot = self.budget.acquire(&self.cancel);
            let acquired = match &call.progress {
                Some(p) => p.waiting(slot).await,
                None => slot.await,
            };
            if !acquired {
                return Err(ApiError::Cancelled);
            }
            let token = self.tokens.token().await;
            call.tick();
            let token = token?;
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
            call.tick();
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    failures += 1;
                    self.note_failure(call, &without_url(&e), failures).await?;
                    continue;
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let read = async {
                if status.is_success() {
                    bounds::read_capped(resp, call.limit, what).await
                } else {
                    Ok(bounds::read_prefix(resp, MAX_ERROR_BODY).await)
                }
            };
            let body = tokio::select! {
                r = read => r,
                _ = self.cancel.cancelled() => return Err(ApiError::Cancelled),
            };
            call.tick();
            let body = match body {
                Ok(b) => b,
                Err(bounds::BodyError::TooLarge(t)) => return Err(ApiError::TooLarge(t)),
                Err(bounds::BodyError::Transport(e)) => {
                    failures += 1;
                    self.note_failure(call, &without_url(&e), failures).await?;
                    continue;
                }
            };
            let code = status.as_u16();
            telemetry::api_request(&self.name, what, status.as_str());
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
                let wait = bounds::retry_after_header(&headers, &self.name)
                    .unwrap_or_else(|| backoff(throttles, 5, 300));
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
                self.note_failure(call, &last, failures).await?;
                continue;
            }
            return Err(ApiError::Api {
                status: code,
                code: af,
                message,
            });
        }
    }

    /// Logs a transient failure (naming the feed and content it concerns) and waits before
    /// the next attempt, or gives up.
    async fn note_failure(&self, call: &Call, last: &str, failures: u32) -> Result<(), ApiError> {
        telemetry::api_retry(&self.name, call.what);
        if failures >= ATTEMPTS {
            return Err(ApiError::Unavailable {
                attempts: failures,
                last: last.to_string(),
            });
        }
        let wait = backoff(failures, 1, 60);
        tracing::warn!(tenant = %self.name, feed = call.feed.as_deref(), content_id = call.content_id.as_deref(),
            request = call.what, attempt = failures, wait_ms = wait.as_millis() as u64, error = last,
            "API request failed; retrying.");
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
