//! The values kept in state, serialised as JSON so `state show` and humans can read them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far listing is complete: every blob with `contentCreated < listed_until` has been
/// listed and is done, failed (and recorded) or covered by a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub listed_until: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ContentStatus {
    /// Every record of the blob is delivered (or was a repeat).
    Done { records: u64 },
    /// The first `acked` records of the blob are delivered; resume after them.
    Partial { acked: u64 },
    /// The blob could not be fetched or parsed; retried on later polls until it expires.
    /// A bad listing entry is recorded the same way with no URI (nothing to retry until it
    /// is listed correctly).
    Failed {
        attempts: u32,
        error: String,
        first_failed: DateTime<Utc>,
        last_failed: DateTime<Utc>,
        /// The `max_blob_bytes` the blob exceeded: it is fetched again only once the cap is
        /// raised above this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        too_large: Option<u64>,
    },
    /// The blob expired upstream before it could be delivered; a gap was recorded.
    Expired,
}

/// Progress of one blob (content id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentEntry {
    pub created: DateTime<Utc>,
    pub expiration: DateTime<Utc>,
    /// The blob URI as listed, so a failed blob can be retried without re-listing.
    #[serde(default)]
    pub uri: String,
    #[serde(flatten)]
    pub status: ContentStatus,
}

/// Data that could not be delivered because it expired upstream (or was never reachable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    pub detected_at: DateTime<Utc>,
}

/// A record a sink refused for good (not retryable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub record_id: String,
    pub sink: String,
    pub reason: String,
    pub content_id: String,
    pub at: DateTime<Utc>,
}

/// The committed length of a file sink's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkOffset {
    pub path: String,
    pub length: u64,
    /// Which file (device and inode) the length is of: after a rotation the path names
    /// another file, whose length this is not. Absent in states written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileId>,
}

/// A file's device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(m: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// A feed as `o365fwd state show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedSummary {
    pub feed: String,
    pub cursor: Option<DateTime<Utc>>,
    pub content_done: usize,
    pub records_done: u64,
    pub in_progress: Vec<(String, u64)>,
    pub failed: Vec<(String, ContentEntry)>,
    pub expired: Vec<String>,
    pub seen_ids: usize,
    pub gaps: Vec<Gap>,
    pub rejections: Vec<Rejection>,
}

impl FeedSummary {
    pub fn build(
        feed: &str,
        cursor: Option<Cursor>,
        contents: Vec<(String, ContentEntry)>,
        seen_ids: usize,
        gaps: Vec<Gap>,
        rejections: Vec<Rejection>,
    ) -> FeedSummary {
        let mut s = FeedSummary {
            feed: feed.to_string(),
            cursor: cursor.map(|c| c.listed_until),
            content_done: 0,
            records_done: 0,
            in_progress: vec![],
            failed: vec![],
            expired: vec![],
            seen_ids,
            gaps,
            rejections,
        };
        for (id, e) in contents {
            match e.status {
                ContentStatus::Done { records } => {
                    s.content_done += 1;
                    s.records_done += records;
                }
                ContentStatus::Partial { acked } => s.in_progress.push((id, acked)),
                ContentStatus::Failed { .. } => s.failed.push((id, e)),
                ContentStatus::Expired => s.expired.push(id),
            }
        }
        s
    }
}

impl std::fmt::Display for FeedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "feed {}", self.feed)?;
        match self.cursor {
            Some(c) => writeln!(f, "  cursor: listed until {}", c.to_rfc3339())?,
            None => writeln!(f, "  cursor: none (first poll pending)")?,
        }
        writeln!(
            f,
            "  done: {} blobs, {} records; {} record ids remembered for de-duplication",
            self.content_done, self.records_done, self.seen_ids
        )?;
        for (id, acked) in &self.in_progress {
            writeln!(f, "  in progress: {id} ({acked} records delivered)")?;
        }
        for (id, e) in &self.failed {
            if let super::ContentStatus::Failed {
                attempts,
                error,
                last_failed,
                too_large,
                ..
            } = &e.status
            {
                let then = match too_large {
                    Some(limit) => format!(
                        "fetched again once max_blob_bytes is above {limit}; it expires at {}",
                        e.expiration.to_rfc3339()
                    ),
                    None if e.uri.is_empty() => format!(
                        "a listing entry that could not be used; fetched if it is listed correctly before {}",
                        e.expiration.to_rfc3339()
                    ),
                    None => format!("retried until it expires at {}", e.expiration.to_rfc3339()),
                };
                writeln!(
                    f,
                    "  FAILED: {id} after {attempts} attempts, last {}: {error} ({then})",
                    last_failed.to_rfc3339(),
                )?;
            }
        }
        for id in &self.expired {
            writeln!(f, "  EXPIRED before delivery: {id}")?;
        }
        for g in &self.gaps {
            writeln!(
                f,
                "  GAP: {} .. {} ({}), detected {}",
                g.from.to_rfc3339(),
                g.to.to_rfc3339(),
                g.reason,
                g.detected_at.to_rfc3339()
            )?;
        }
        for r in &self.rejections {
            writeln!(
                f,
                "  REJECTED by sink {}: record {} from {}: {}",
                r.sink, r.record_id, r.content_id, r.reason
            )?;
        }
        Ok(())
    }
}
