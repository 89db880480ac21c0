//! `[tenants.NAME]`: what the API client needs to know about one tenant (identity,
//! credential, cloud, endpoints, budget), its defaults, and the rules a value must pass.
//! `config` reads the TOML and applies these rules; nothing here knows about TOML.

use std::ops::RangeInclusive;

use url::Url;

use super::CertificateKey;
use crate::record::ContentType;
use crate::secret::{Secret, SecretOrigin, is_loopback, redact_url};

/// Default `requests_per_minute`: Microsoft documents 2000 requests per minute per tenant
/// (publisher).
pub const REQUESTS_PER_MINUTE: u32 = 2000;
/// Allowed `requests_per_minute`.
pub const REQUESTS_PER_MINUTE_RANGE: RangeInclusive<i64> = 1..=1_000_000;

/// Microsoft cloud of a tenant; selects the API host and the login authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    #[default]
    Commercial,
    Gcc,
    GccHigh,
    Dod,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Commercial => "commercial",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc_high",
            Cloud::Dod => "dod",
        }
    }
    /// API root host (`https://{host}/api/v1.0/{tenant}/activity/feed`).
    pub fn api_url(self) -> &'static str {
        match self {
            Cloud::Commercial => "https://manage.office.com",
            Cloud::Gcc => "https://manage-gcc.office.com",
            Cloud::GccHigh => "https://manage.office365.us",
            Cloud::Dod => "https://manage.protection.apps.mil",
        }
    }
    /// Microsoft Graph host of the cloud (the audit log search of `backfill`); its token's
    /// scope is this + `/.default`. Commercial and GCC share one.
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Commercial | Cloud::Gcc => "https://graph.microsoft.com",
            Cloud::GccHigh => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
        }
    }
    /// Token authority.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Commercial | Cloud::Gcc => "https://login.microsoftonline.com",
            Cloud::GccHigh | Cloud::Dod => "https://login.microsoftonline.us",
        }
    }
    pub fn parse(s: &str) -> Option<Cloud> {
        match s {
            "commercial" => Some(Cloud::Commercial),
            "gcc" => Some(Cloud::Gcc),
            "gcc_high" => Some(Cloud::GccHigh),
            "dod" => Some(Cloud::Dod),
            _ => None,
        }
    }
}

/// `[tenants.NAME]`
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// The name of the table (`contoso` in `[tenants.contoso]`).
    pub name: String,
    pub tenant_id: String,
    pub client_id: String,
    /// Empty when `certificate` is set.
    pub client_secret: Secret,
    /// Where the secret (or the certificate key) was read from, for `check` output.
    pub secret_origin: SecretOrigin,
    /// Certificate credential (signed client assertions) instead of the client secret.
    pub certificate: Option<CertificateKey>,
    /// Proxy for this tenant's token and API requests. None: the `HTTPS_PROXY` /
    /// `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` environment variables apply.
    pub proxy: Option<Url>,
    pub cloud: Cloud,
    pub content_types: Vec<ContentType>,
    /// `PublisherIdentifier` on every call; defaults to `tenant_id`.
    pub publisher_id: String,
    /// API base (scheme, host, port); `/api/v1.0/{tenant}/activity/feed/...` is appended.
    pub api_url: Url,
    /// Token authority; `/{tenant}/oauth2/v2.0/token` is appended.
    pub login_url: Url,
    /// The resource the token is for (v1 `resource`, v2 `scope` = this + `/.default`).
    /// Defaults to the cloud's API host, as Microsoft documents per cloud.
    pub resource: String,
    /// Request budget shared by all feeds of the tenant ([`REQUESTS_PER_MINUTE`]).
    pub requests_per_minute: u32,
    /// Microsoft Graph base for `backfill` (the audit log search); defaults to the cloud's
    /// Graph host, `/v1.0` appended unless a path is given. The token is always asked for
    /// the cloud's Graph host ([`Cloud::graph_url`]), so an override only moves requests.
    pub graph_url: Url,
}

/// A GUID (`tenant_id`, `client_id`, `publisher_id`), lower-cased so that state keys and
/// duplicate checks do not depend on its case.
pub fn guid(s: &str) -> Result<String, String> {
    if is_guid(s) {
        return Ok(s.to_ascii_lowercase());
    }
    Err(format!(
        "{s:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
    ))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `cloud`, in any case.
pub fn cloud(s: &str) -> Result<Cloud, String> {
    Cloud::parse(&s.to_ascii_lowercase())
        .ok_or_else(|| format!("unknown cloud {s:?} (expected commercial, gcc, gcc_high or dod)"))
}

/// Checks an `api_url` / `login_url` / `graph_url` override. `https://` is required because
/// the bearer token (API) and the client secret (login) travel in these requests; plain
/// `http://` is only accepted to a loopback host, for the simulator and local test
/// receivers. A path prefix is kept; a query, fragment or credentials are refused.
pub fn endpoint_url(s: &str) -> Result<Url, String> {
    let shown = redact_url(s);
    let url = Url::parse(s).map_err(|e| format!("{shown:?} is not a valid URL: {e}"))?;
    let host = match url.host() {
        Some(h) => h,
        None => return Err(format!("{shown:?} has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "plain http:// is only allowed to a loopback host (127.0.0.0/8, ::1, localhost); \
                 to {host} the bearer token and the client secret would travel in clear: use https://"
            ));
        }
        other => {
            return Err(format!(
                "unsupported scheme {other:?} in {shown:?} (expected https://)"
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain credentials (user:password@); use the client_secret keys".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{shown:?} must not have a query or fragment"));
    }
    Ok(url)
}

/// `proxy`: an `http://` or `https://` proxy for the token and API requests of this tenant.
/// HTTPS traffic is tunnelled (CONNECT), so the proxy sees host names, never tokens.
pub fn proxy_url(s: &str) -> Result<Url, String> {
    let shown = redact_url(s);
    Err(match Url::parse(s) {
        Err(e) => format!("{shown:?} is not a valid URL: {e}"),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            format!(
                "unsupported proxy scheme {:?} (expected http:// or https://)",
                u.scheme()
            )
        }
        Ok(u) if u.host().is_none() => format!("{shown:?} has no host"),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            "proxy credentials (user:password@) are not supported".into()
        }
        Ok(u) if u.path() != "/" || u.query().is_some() || u.fragment().is_some() => {
            format!("{shown:?} must be only scheme, host and port (no path or query)")
        }
        Ok(u) => return Ok(u),
    })
}

/// `content_types`: the default is every content type ([`ContentType::ALL`]); an empty
/// list would collect nothing.
pub const CONTENT_TYPES_EMPTY: &str = "is empty; remove the key to collect every content type";

/// One `content_types` entry, given those already listed.
pub fn content_type(s: &str, listed: &[ContentType]) -> Result<ContentType, String> {
    match s.parse::<ContentType>() {
        Ok(ct) if listed.contains(&ct) => Err(format!("{ct} is listed twice")),
        Ok(ct) => Ok(ct),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
