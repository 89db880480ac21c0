//! OAuth2 client credentials against Entra ID (v2 endpoint), with the token cached and
//! renewed before it expires. The credential is a client secret or a certificate assertion
//! (made fresh for every request); either goes only to the configured login host.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ApiError;
use super::certificate::{ASSERTION_TYPE, CertificateKey};
use super::tenant::TenantConfig;
use crate::secret::Secret;

enum Credential {
    Secret(Secret),
    Certificate(CertificateKey),
}

pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    credential: Credential,
    scope: String,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    token: Secret,
    renew_at: Instant,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    /// v2 sends a number, v1 a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenSource {
    /// Tokens for the Management Activity API (`resource` + `/.default`).
    pub fn new(http: reqwest::Client, t: &TenantConfig) -> TokenSource {
        let scope = format!("{}/.default", t.resource.trim_end_matches('/'));
        TokenSource::with_scope(http, t, scope)
    }

    /// Tokens of the tenant's app registration for another resource (Microsoft Graph).
    pub fn with_scope(http: reqwest::Client, t: &TenantConfig, scope: String) -> TokenSource {
        let base = t.login_url.as_str().trim_end_matches('/');
        TokenSource {
            http,
            token_url: format!("{base}/{}/oauth2/v2.0/token", t.tenant_id),
            client_id: t.client_id.clone(),
            credential: match &t.certificate {
                Some(c) => Credential::Certificate(c.clone()),
                None => Credential::Secret(t.client_secret.clone()),
            },
            scope,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, fetching a new one when the cached one is close to expiry.
    pub async fn token(&self) -> Result<Secret, ApiError> {
        let mut g = self.cached.lock().await;
        if let Some(c) = g.as_ref() {
            if Instant::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch().await?;
        *g = Some(Cached {
            token: token.clone(),
            renew_at: crate::bounds::later(Instant::now(), renew_after(lifetime)),
        });
        Ok(token)
    }

    /// Forgets the cached token (after a 401).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<(Secret, Duration), ApiError> {
        let assertion;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("scope", self.scope.as_str()),
        ];
        match &self.credential {
            Credential::Secret(s) => form.push(("client_secret", s.expose())),
            Credential::Certificate(c) => {
                let now = chrono::Utc::now().timestamp();
                assertion = c
                    .assertion(&self.client_id, &self.token_url, now)
                    .map_err(|e| ApiError::Auth {
                        status: 0,
                        message: format!("cannot make the certificate assertion: {e}"),
                    })?;
                form.push(("client_assertion_type", ASSERTION_TYPE));
                form.push(("client_assertion", assertion.expose()));
            }
        }
        let body = serde_urlencode(&form);
        let resp = self
            .http
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable {
                attempts: 1,
                last: format!("token endpoint: {}", without_url(&e)),
            })?;
        let status = resp.status();
        let bytes = crate::bounds::read_capped(resp, MAX_TOKEN_BODY, "token response")
            .await
            .map_err(|e| match e {
                // The token endpoint's fault, not the content's: never a blob's size.
                crate::bounds::BodyError::TooLarge(t) => ApiError::Malformed(t.to_string()),
                crate::bounds::BodyError::Transport(e) => ApiError::Unavailable {
                    attempts: 1,
                    last: format!("token endpoint: {}", without_url(&e)),
                },
            })?;
        if !status.is_success() {
            let message = auth_error_message(&bytes);
            if status.is_server_error() {
                return Err(ApiError::Unavailable {
                    attempts: 1,
                    last: format!("token endpoint {status}: {message}"),
                });
            }
            return Err(ApiError::Auth {
                status: status.as_u16(),
                message,
            });
        }
        let (token, lifetime, asked) = parse_token(&bytes)?;
        if let Some(asked) = asked {
            tracing::warn!(
                token_endpoint = %self.token_url,
                expires_in = %asked,
                used_secs = lifetime.as_secs(),
                "The token endpoint gave a token lifetime over 24 hours; renewing it within 24 hours instead."
            );
        }
        Ok((token, lifetime))
    }
}

/// Largest token answer read (real ones are a few kilobytes).
const MAX_TOKEN_BODY: u64 = 1 << 20;

/// A token answer: the token, its lifetime clamped to [1 s, 24 h], and the `expires_in`
/// received when it was clamped from above. A missing or unreadable `expires_in` counts as
/// the usual hour.
pub fn parse_token(body: &[u8]) -> Result<(Secret, Duration, Option<String>), ApiError> {
    let t: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| ApiError::Malformed(format!("token response: {e}")))?;
    let secs = match &t.expires_in {
        // Any number: negative ones count as 0, fractions and huge ones saturate.
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f.max(0.0) as u64))
            .or(n.as_i64().map(|_| 0)),
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            match s.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Some(u64::MAX),
                Err(_) => None,
            }
        }
        _ => None,
    }
    .unwrap_or(3599);
    let (lifetime, clamped) = crate::bounds::token_lifetime(secs);
    let asked = clamped.then(|| match &t.expires_in {
        Some(serde_json::Value::String(s)) => s.chars().take(40).collect(),
        Some(v) => v.to_string().chars().take(40).collect(),
        None => String::new(),
    });
    Ok((Secret::new(t.access_token), lifetime, asked))
}

/// When to renew a token of this lifetime: at 80 % of it, and at least a few seconds before
/// it expires.
fn renew_after(lifetime: Duration) -> Duration {
    lifetime
        .mul_f64(0.8)
        .min(lifetime.saturating_sub(Duration::from_secs(5)))
}

/// The login error, without anything we sent: Entra's `error_description` names the problem
/// (AADSTS7000215 invalid secret, 700016 unknown application …).
fn auth_error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct E {
        #[serde(default)]
        error: String,
        #[serde(default)]
        error_description: String,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(e) => {
            let first = e.error_description.lines().next().unwrap_or("").to_string();
            format!("{}: {}", e.error, first)
        }
        Err(_) => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

/// reqwest errors print the URL; ours carry no secret in the URL, but keep messages short.
pub(super) fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn serde_urlencode(pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests;
