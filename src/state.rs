//! The sled store: listing cursors, per-content progress, seen record ids, failures, gaps and
//! the committed length of file sinks. It is the only writer of durable progress.
//!
//! Everything lives in one tree so that one commit, however many feeds and sinks it covers,
//! is one atomic sled batch followed by one awaited flush. Keys are prefixed by kind and feed:
//!
//! ```text
//! c 0 feed                      cursor (JSON)
//! p 0 feed 0 content_id         content progress (JSON)
//! t 0 feed 0 bucket(4) …        record ids by their time bucket (see `seen_store`)
//! g 0 feed 0 from               gap (JSON)
//! r 0 feed 0 record_id 0 sink   record rejected by a sink (JSON)
//! k 0 sink                      committed length of a file sink (JSON)
//! f 0 feed 0 content_id         index of failed content, so polls need not scan all of `p`
//! ```

mod bloom;
pub mod dedup;
mod model;
pub mod seen;
mod seen_store;

use std::path::Path;

use chrono::{DateTime, Utc};

pub use dedup::{Dedup, DedupConfig};
pub use model::{ContentEntry, ContentStatus, Cursor, FeedSummary, Gap, Rejection, SinkOffset};
pub use seen::SeenIds;
pub use seen_store::{Compact, Lookup};

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const VERSION_KEY: &[u8] = b"format_version";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the state directory {dir} is in use by another o365fwd process (sled could not lock it); stop the agent first or point --config at another state_dir"
    )]
    Locked { dir: String },
    #[error("cannot open the state directory {dir}: {source}")]
    Open { dir: String, source: sled::Error },
    #[error(
        "the state directory {dir} was written in format {found}, this o365fwd reads format {FORMAT_VERSION}; use the matching o365fwd version or move the directory away (the agent would then start over from its initial lookback)"
    )]
    Version { dir: String, found: String },
    #[error("state storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("corrupt state entry {key}: {error}")]
    Corrupt { key: String, error: String },
}

/// Identifies a feed in state: the tenant GUID and the content type, so renaming a tenant
/// table in the config keeps its progress.
pub fn feed_key(tenant_id: &str, content_type: &str) -> String {
    format!("{tenant_id}/{content_type}")
}

/// One feed's share of a commit.
#[derive(Debug, Default, Clone)]
pub struct FeedCommit {
    pub content: Vec<(String, ContentEntry)>,
    pub cursor: Option<Cursor>,
    pub gaps: Vec<Gap>,
    /// Record ids delivered, by time bucket.
    pub seen: SeenIds,
    pub rejections: Vec<Rejection>,
}

/// What [`State::prune`] drops. A done content entry goes once listing cannot reach its
/// blob again (created before `relist_from`) and it is older than the de-duplication
/// horizon in the records' time (`done_before`), so state holds about one horizon of blobs,
/// not the 7 days the API keeps them. Anything not done (failed, expired, partial) is kept
/// until its blob expires upstream.
#[derive(Debug, Clone)]
pub struct Prune {
    pub now: DateTime<Utc>,
    pub relist_from: DateTime<Utc>,
    pub done_before: DateTime<Utc>,
    /// Seen ids in the layout before time buckets are kept this long after they were seen.
    pub legacy_horizon: chrono::Duration,
}

/// The durable store. Cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct State {
    db: sled::Db,
    tree: sled::Tree,
    /// Durable writes so far (each a sled flush: an fsync).
    flushes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn key(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    k.push(kind);
    for p in parts {
        k.push(0);
        k.extend_from_slice(p);
    }
    k
}

fn prefix(kind: u8, feed: &str) -> Vec<u8> {
    let mut k = key(kind, &[feed.as_bytes()]);
    k.push(0);
    k
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Our own model types always serialise.
    serde_json::to_vec(v).unwrap_or_default()
}

fn unjson<T: serde::de::DeserializeOwned>(k: &[u8], v: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(v).map_err(|e| StateError::Corrupt {
        key: String::from_utf8_lossy(k).replace('\0', "/"),
        error: e.to_string(),
    })
}

impl State {
    /// Opens (or creates) the store, refusing one written in another format version.
    pub fn open(dir: &Path) -> Result<State, StateError> {
        let d = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| StateError::Open {
            dir: d.clone(),
            source: sled::Error::Io(e),
        })?;
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(16 * 1024 * 1024)
            .flush_every_ms(None)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StateError::Locked { dir: d.clone() }
                }
                sled::Error::Io(ref io) if io.to_string().contains("lock") => {
                    StateError::Locked { dir: d.clone() }
                }
                e => StateError::Open {
                    dir: d.clone(),
                    source: e,
                },
            })?;
        let meta = db.open_tree("meta")?;
        let tree = db.open_tree("v1")?;
        match meta.get(VERSION_KEY)? {
            Some(v) if v.as_ref() == FORMAT_VERSION.to_string().as_bytes() => {}
            Some(v) => {
                return Err(StateError::Version {
                    dir: d,
                    found: String::from_utf8_lossy(&v).into_owned(),
                });
            }
            None => {
                if !tree.is_empty() || db.tree_names().len() > 3 {
                    return Err(StateError::Version {
                        dir: d,
                        found: "unknown (no version marker)".into(),
                    });
                }
                meta.insert(VERSION_KEY, FORMAT_VERSION.to_string().as_bytes())?;
                db.flush()?;
            }
        }
        Ok(State {
            db,
            tree,
            flushes: Default::default(),
        })
    }

    pub fn cursor(&self, feed: &str) -> Result<Option<Cursor>, StateError> {
        let k = key(b'c', &[feed.as_bytes()]);
        self.tree.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    pub fn content(
        &self,
        feed: &str,
        content_id: &str,
    ) -> Result<Option<ContentEntry>, StateError> {
        let k = key(b'p', &[feed.as_bytes(), content_id.as_bytes()]);
        self.tree.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    /// Content entries of a feed (done, partial and failed).
    pub fn contents(&self, feed: &str) -> Result<Vec<(String, ContentEntry)>, StateError> {
        let p = prefix(b'p', feed);
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(&p) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[p.len()..]).into_owned();
            out.push((id, unjson(&k, &v)?));
        }
        Ok(out)
    }

    /// Content entries of a feed whose blob failed (read through the failed index).
    pub fn failed_contents(&self, feed: &str) -> Result<Vec<(String, ContentEntry)>, StateError> {
        let p = prefix(b'f', feed);
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(&p) {
            let (k, _) = kv?;
            let id = String::from_utf8_lossy(&k[p.len()..]).into_owned();
            if let Some(e) = self.content(feed, &id)? {
                if matches!(e.status, ContentStatus::Failed { .. }) {
                    out.push((id, e));
                }
            }
        }
        Ok(out)
    }

    pub fn gaps(&self, feed: &str) -> Result<Vec<Gap>, StateError> {
        let p = prefix(b'g', feed);
        self.tree
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                unjson(&k, &v)
            })
            .collect()
    }

    pub fn rejections(&self, feed: &str) -> Result<Vec<Rejection>, StateError> {
        let p = prefix(b'r', feed);
        self.tree
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                unjson(&k, &v)
            })
            .collect()
    }

    pub fn sink_offset(&self, sink: &str) -> Result<Option<SinkOffset>, StateError> {
        let k = key(b'k', &[sink.as_bytes()]);
        self.tree.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    /// Every feed that has anything in state.
    pub fn feeds(&self) -> Result<Vec<String>, StateError> {
        let mut feeds = std::collections::BTreeSet::new();
        for kind in [b'c', b'p', b'g', b'r'] {
            let mut last: Option<String> = None;
            for kv in self.tree.scan_prefix([kind, 0]) {
                let (k, _) = kv?;
                let rest = &k[2..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                let f = String::from_utf8_lossy(&rest[..end]).into_owned();
                if last.as_deref() != Some(&f) {
                    feeds.insert(f.clone());
                    last = Some(f);
                }
            }
        }
        Ok(feeds.into_iter().collect())
    }

    /// Applies a commit for many feeds and sinks as one atomic batch and waits until it is on
    /// disk. Only then is anything in it treated as committed.
    pub async fn commit(
        &self,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
        _now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        self.apply(feeds, sinks)?;
        self.flush().await
    }

    /// Applies a commit as one atomic batch without waiting for the disk: readers see it at
    /// once, and it becomes durable with the next [`State::flush`] (sled writes its log in
    /// order, so a crash keeps a prefix of what was applied, never a later batch without an
    /// earlier one). For changes that are only worth saving, not worth a disk write of
    /// their own: an idle poll's cursor.
    pub fn apply(
        &self,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
    ) -> Result<(), StateError> {
        let mut b = sled::Batch::default();
        for (feed, c) in feeds {
            let f = feed.as_bytes();
            for (cid, entry) in &c.content {
                b.insert(key(b'p', &[f, cid.as_bytes()]), json(entry));
                let fk = key(b'f', &[f, cid.as_bytes()]);
                if matches!(entry.status, ContentStatus::Failed { .. }) {
                    b.insert(fk, &[]);
                } else {
                    b.remove(fk);
                }
            }
            if let Some(cur) = &c.cursor {
                b.insert(key(b'c', &[f]), json(cur));
            }
            for gap in &c.gaps {
                b.insert(key(b'g', &[f, gap.from.to_rfc3339().as_bytes()]), json(gap));
            }
            if !c.seen.is_empty() {
                self.write_seen(&mut b, feed, &c.seen)?;
            }
            for r in &c.rejections {
                b.insert(
                    key(b'r', &[f, r.record_id.as_bytes(), r.sink.as_bytes()]),
                    json(r),
                );
            }
        }
        for (sink, off) in sinks {
            b.insert(key(b'k', &[sink.as_bytes()]), json(off));
        }
        self.tree.apply_batch(b)?;
        Ok(())
    }

    /// Waits until everything applied so far is on disk.
    pub async fn flush(&self) -> Result<(), StateError> {
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.db.flush_async().await?;
        Ok(())
    }

    /// How many durable writes this handle (and its clones) asked for.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drops content entries and the rest of a feed's state that can no longer matter (seen
    /// ids are pruned by [`Dedup`], by the records' time). Not flushed: what comes back after
    /// a crash is pruned again. Returns how many entries were removed.
    pub async fn prune(&self, feed: &str, rule: &Prune) -> Result<usize, StateError> {
        let now = rule.now;
        let mut b = sled::Batch::default();
        let legacy_cutoff = (now - rule.legacy_horizon).timestamp().max(0) as u64;
        let mut n = self.prune_legacy(&mut b, feed, legacy_cutoff)?;
        let pp = prefix(b'p', feed);
        for kv in self.tree.scan_prefix(&pp) {
            let (k, v) = kv?;
            let e: ContentEntry = unjson(&k, &v)?;
            let drop = match e.status {
                ContentStatus::Done { .. } => {
                    e.created < rule.done_before && e.created < rule.relist_from
                }
                _ => e.expiration < now && e.created < rule.relist_from,
            };
            if drop {
                let id = &k[pp.len()..];
                b.remove(key(b'f', &[feed.as_bytes(), id]));
                b.remove(k);
                n += 1;
            }
        }
        let old = now - chrono::Duration::days(30);
        for kind in [b'g', b'r'] {
            let p = prefix(kind, feed);
            for kv in self.tree.scan_prefix(&p) {
                let (k, v) = kv?;
                let at = if kind == b'g' {
                    unjson::<Gap>(&k, &v)?.detected_at
                } else {
                    unjson::<Rejection>(&k, &v)?.at
                };
                if at < old {
                    b.remove(k);
                    n += 1;
                }
            }
        }
        if n > 0 {
            self.tree.apply_batch(b)?;
        }
        Ok(n)
    }

    /// What `o365fwd state show` prints for one feed.
    pub fn summary(&self, feed: &str) -> Result<FeedSummary, StateError> {
        let contents = self.contents(feed)?;
        let seen = self.count_seen(feed)?;
        Ok(FeedSummary::build(
            feed,
            self.cursor(feed)?,
            contents,
            seen,
            self.gaps(feed)?,
            self.rejections(feed)?,
        ))
    }

    /// Size of the store on disk, in bytes.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Records where a file sink starts, before it writes anything: without it, output
    /// written before the first commit could not be truncated after a crash.
    pub fn set_sink_offset(&self, sink: &str, off: &SinkOffset) -> Result<(), StateError> {
        self.tree.insert(key(b'k', &[sink.as_bytes()]), json(off))?;
        self.db.flush()?;
        Ok(())
    }

    /// Test and repair hook: sets a feed's cursor directly (used by tests to age a cursor).
    pub async fn set_cursor(&self, feed: &str, cursor: &Cursor) -> Result<(), StateError> {
        self.tree
            .insert(key(b'c', &[feed.as_bytes()]), json(cursor))?;
        self.db.flush_async().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
