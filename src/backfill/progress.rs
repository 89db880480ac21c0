//! How far each slice is delivered, in the job's own sled store, moved by the pipeline's
//! committer like the daemon's content progress: an entry per slice under the feed key
//! [`PROGRESS`] says how many records of the slice's query (in the order its pages serve
//! them) are behind every sink (`Partial`), or that all are (`Done`). The record ids of the
//! slice being delivered are kept under one key per (slice, content type), so a resumed
//! slice still drops repeats of records delivered before the stop; they are pruned once
//! the slice is done, so the store stays small.

use std::sync::Arc;

use super::plan::Slice;
use crate::feed_id::FeedId;
use crate::pipeline::{Batch, CommitOp, FeedShared};
use crate::record::ContentType;
use crate::state::{ContentEntry, ContentStatus, State, StateError};

/// The feed key the slices' progress is kept under.
pub const PROGRESS: &str = "backfill";

/// What the store says of a slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Nothing,
    /// The first `acked` records of query `query` are behind every sink.
    Partial {
        query: String,
        acked: u64,
    },
    Done,
}

pub fn read(state: &State, s: &Slice) -> Result<Delivered, StateError> {
    Ok(match state.content(PROGRESS, &s.id())? {
        None => Delivered::Nothing,
        Some(e) => match e.status {
            ContentStatus::Done { .. } => Delivered::Done,
            ContentStatus::Partial { acked } => Delivered::Partial {
                query: e.uri,
                acked,
            },
            _ => Delivered::Nothing,
        },
    })
}

/// The feed that carries progress entries (its batches have no records).
pub fn progress_feed(tenant: &str, tenant_id: &str) -> Arc<FeedShared> {
    let id = FeedId::new(tenant, tenant_id, ContentType::General).with_key(PROGRESS.to_string());
    Arc::new(FeedShared::new(id))
}

/// The feed records of one content type of one slice are delivered as.
pub fn slice_feed(tenant: &str, tenant_id: &str, s: &Slice, ct: ContentType) -> FeedShared {
    FeedShared::new(FeedId::new(tenant, tenant_id, ct).with_key(slice_key(s, ct)))
}

fn slice_key(s: &Slice, ct: ContentType) -> String {
    format!("{PROGRESS}/{}/{}", s.id(), ct.as_str())
}

/// A batch that moves a slice's progress once everything submitted before it is committed.
pub fn mark(feed: &Arc<FeedShared>, s: &Slice, query: &str, status: ContentStatus) -> Batch {
    let id = s.id();
    Batch {
        feed: feed.clone(),
        content_id: id.as_str().into(),
        records: vec![],
        ops: vec![CommitOp::Content {
            content_id: id,
            entry: ContentEntry {
                created: s.from,
                expiration: s.to,
                uri: query.to_string(),
                status,
            },
        }],
    }
}

/// Forgets the record ids of a delivered slice.
pub async fn prune(state: &State, s: &Slice) -> Result<(), StateError> {
    for ct in ContentType::ALL {
        state.forget_seen(&slice_key(s, ct))?;
    }
    Ok(())
}
