//! The Office 365 Management Activity API client: authentication, the per-tenant request
//! budget, listing content (24-hour windows, `NextPageUri` paging), fetching blobs and
//! managing subscriptions.
//!
//! The bearer token is only ever sent to the configured API host: `contentUri` and
//! `NextPageUri` come from the server and are refused when they point anywhere else.

mod auth;
mod budget;
mod client;
mod error;

pub use auth::TokenSource;
pub use budget::Budget;
pub use client::{ContentInfo, Subscription, TenantClient, backoff};
pub use error::ApiError;

/// Builds the HTTP client shared by every tenant: no redirects (a redirect could carry the
/// bearer token to another host), bounded timeouts, gzip.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("o365fwd/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Same scheme, host and port.
pub fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(|h| h.to_ascii_lowercase())
            == b.host_str().map(|h| h.to_ascii_lowercase())
        && a.port_or_known_default() == b.port_or_known_default()
}
