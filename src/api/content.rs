//! What a content listing names: one blob of audit records, where to fetch it and until when
//! the API keeps it. A leaf, so the client that fetches a blob and the listing that finds it
//! both use it without importing each other.

use chrono::{DateTime, Utc};

/// One usable entry of a content listing.
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
