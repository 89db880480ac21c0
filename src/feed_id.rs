//! Which feed something belongs to: a batch, a log line, a counter, a state key.
//!
//! A leaf that every stage can name without importing the stage that runs feeds.

use crate::record::ContentType;

/// One (tenant, content type) feed, as every stage names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedId {
    /// The key in state ([`key`]; backfill slices carry their own).
    pub key: String,
    /// The tenant's config name (a metric label, never a record's data).
    pub tenant: String,
    pub tenant_id: String,
    pub content_type: ContentType,
}

impl FeedId {
    pub fn new(tenant: &str, tenant_id: &str, content_type: ContentType) -> FeedId {
        FeedId {
            key: key(tenant_id, content_type.as_str()),
            tenant: tenant.to_string(),
            tenant_id: tenant_id.to_string(),
            content_type,
        }
    }

    /// The same feed under another state key (backfill's slices and progress entries).
    pub fn with_key(mut self, key: String) -> FeedId {
        self.key = key;
        self
    }
}

/// A feed's key in state: the tenant GUID and the content type, so renaming a tenant table
/// in the config keeps its progress.
pub fn key(tenant_id: &str, content_type: &str) -> String {
    format!("{tenant_id}/{content_type}")
}
