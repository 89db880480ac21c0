//! The Office 365 Management Activity API client: authentication, the per-tenant request
//! budget, listing content (24-hour windows, `NextPageUri` paging), fetching blobs and
//! managing subscriptions.
//!
//! The bearer token is only ever sent to the configured API host: `contentUri` and
//! `NextPageUri` come from the server and are refused when they point anywhere else.

mod auth;
mod budget;
mod certificate;
mod client;
mod content;
mod error;
pub mod graph;
mod listing;
pub mod tenant;

pub use auth::{TokenSource, parse_token};
pub use budget::Budget;
pub use certificate::{ASSERTION_TYPE, CertError, CertRef, CertificateKey};
pub use client::{DEFAULT_MAX_BLOB_BYTES, Subscription, TenantClient, backoff};
pub use content::ContentInfo;
pub use error::ApiError;
pub use listing::{BadEntry, Listing, MAX_PAGE_BYTES, Page, parse_page};
pub use tenant::{Cloud, TenantConfig};

/// The API's HTTP client could not be built. Nothing is sent then: a client without the
/// no-redirect policy, the timeouts or the tenant's proxy is never used in its place.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client for the Management API: {0}")]
    Build(#[source] reqwest::Error),
    #[error("tenant {tenant}: cannot use the proxy {proxy}: {source}")]
    Proxy {
        tenant: String,
        proxy: String,
        #[source]
        source: reqwest::Error,
    },
}

/// Builds the HTTP client shared by every tenant: no redirects (a redirect could carry the
/// bearer token to another host), bounded timeouts, gzip.
pub fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, ClientError> {
    builder(timeout).build().map_err(ClientError::Build)
}

/// The client for one tenant: the shared one, or one of its own routed through the
/// tenant's `proxy` (HTTPS is tunnelled with CONNECT; plain `http://`, used only towards a
/// loopback simulator, is sent in absolute form). A proxy that cannot be used is an error,
/// never a direct connection.
pub fn tenant_http(
    shared: &reqwest::Client,
    t: &TenantConfig,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, ClientError> {
    let Some(proxy) = &t.proxy else {
        return Ok(shared.clone());
    };
    let failed = |source| ClientError::Proxy {
        tenant: t.name.clone(),
        proxy: crate::secret::redact_url(proxy.as_str()),
        source,
    };
    let p = reqwest::Proxy::all(proxy.as_str()).map_err(failed)?;
    builder(timeout).proxy(p).build().map_err(failed)
}

fn builder(timeout: std::time::Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("o365fwd/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
}

/// Same scheme, host and port.
pub fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(|h| h.to_ascii_lowercase())
            == b.host_str().map(|h| h.to_ascii_lowercase())
        && a.port_or_known_default() == b.port_or_known_default()
}
