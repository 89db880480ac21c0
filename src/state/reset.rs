//! `o365fwd state reset`: forgetting a feed's progress so that it starts again from its
//! initial lookback, and moving a damaged store aside.
//!
//! A reset removes what decides what is fetched (cursor, content progress, failed-content
//! index, remembered record ids) and keeps the history (gaps, rejections) and every file
//! sink's committed length: the files are not touched, so the length stays the one that
//! belongs to them, and records fetched again are appended after it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{ContentStatus, State, StateError, prefix, seen_store};

/// Key kinds that hold a feed's progress (see the table in `state`), besides its record
/// ids (`t` keys and the chunks they point at, see `seen_store`).
const PROGRESS_KINDS: [u8; 3] = [b'c', b'p', b'f'];

/// What a feed held before its reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReset {
    pub feed: String,
    pub listed_until: Option<DateTime<Utc>>,
    pub blobs_done: usize,
    pub records_done: u64,
    /// Entries removed.
    pub removed: usize,
}

impl State {
    /// Removes a feed's progress in one durable batch; returns what it held.
    pub fn reset_feed(&self, feed: &str) -> Result<FeedReset, StateError> {
        let listed_until = self.cursor(feed)?.map(|c| c.listed_until);
        let (mut blobs_done, mut records_done) = (0, 0);
        for (_, e) in self.contents(feed)? {
            if let ContentStatus::Done { records } = e.status {
                blobs_done += 1;
                records_done += records;
            }
        }
        let h = self.handles()?;
        let mut b = sled::Batch::default();
        let mut removed = seen_store::remove_all_seen(&h.tree, &mut b, feed)?;
        for kind in PROGRESS_KINDS {
            let mut p = prefix(kind, feed);
            if kind == b'c' {
                // The cursor's key is the feed itself, without a trailing separator.
                p.pop();
                if h.tree.contains_key(&p)? {
                    b.remove(p);
                    removed += 1;
                }
                continue;
            }
            for kv in h.tree.scan_prefix(&p) {
                let (k, _) = kv?;
                b.remove(k);
                removed += 1;
            }
        }
        h.tree.apply_batch(b)?;
        h.db.flush()?;
        Ok(FeedReset {
            feed: feed.to_string(),
            listed_until,
            blobs_done,
            records_done,
            removed,
        })
    }
}

/// Moves a damaged store's files (sled's and the identity file) into a new directory
/// `damaged-<time>` inside `dir`, so the next start creates a new state there and the
/// damaged one is kept for inspection. Returns where they went.
pub fn reset_damaged(dir: &Path) -> std::io::Result<PathBuf> {
    let aside = dir.join(format!("damaged-{}", Utc::now().format("%Y%m%dT%H%M%SZ")));
    std::fs::create_dir(&aside)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let n = name.to_string_lossy();
        let ours = matches!(n.as_ref(), "db" | "conf" | "blobs")
            || n.starts_with("snap.")
            || n.starts_with(super::open::IDENTITY_FILE);
        if ours {
            std::fs::rename(entry.path(), aside.join(&name))?;
        }
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(aside)
}
