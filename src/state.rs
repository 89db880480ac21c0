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
//! n                             commits so far (u64, big-endian), to detect a rollback
//! ~ seq(8)                      a chunk of record ids, which `t` keys point at
//! ```
//!
//! The `meta` tree holds the format version and the state's id; `open` explains how a
//! damaged directory is told from a new one.

mod bloom;
pub mod dedup;
mod model;
mod open;
mod prune;
mod reset;
pub mod seen;
mod seen_store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub use dedup::{Dedup, DedupConfig};
pub use model::{
    ContentEntry, ContentStatus, Cursor, FeedSummary, FileId, Gap, Rejection, SinkOffset,
};
pub(crate) use open::write_atomically;
pub use prune::Prune;
pub use reset::{FeedReset, reset_damaged};
pub use seen::SeenIds;
pub use seen_store::{Compact, Lookup};

use open::{COMMITS_KEY, Handles};

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
    #[error(
        "the state directory {dir} is damaged: {what}. The agent cannot tell what it already delivered, so it does not start. \
         To go on, run `o365fwd state reset --all` (with the same --config): it moves the damaged files aside (kept for inspection) and the next start begins a new state, \
         which fetches again what the API still holds (the last initial_lookback, at most 7 days); \
         Kafka, Elasticsearch and Splunk HEC receive those records again under the same ids, file sinks append them and never cut what they hold"
    )]
    Damaged { dir: String, what: String },
    #[error("state storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("corrupt state entry {key}: {error}")]
    Corrupt { key: String, error: String },
    #[error("the state store in {dir} is being reopened after a storage error")]
    Unavailable { dir: String },
    #[error("a state operation was interrupted: the runtime is shutting down")]
    Interrupted,
}

/// Identifies a feed in state: the tenant GUID and the content type, so renaming a tenant
/// table in the config keeps its progress.
pub fn feed_key(tenant_id: &str, content_type: &str) -> String {
    crate::feed_id::key(tenant_id, content_type)
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

/// The durable store. Cheap to clone: every clone shares one sled database, which a failed
/// commit may replace by reopening it (sled stays failed after an I/O error such as a full
/// disk until it is opened again).
#[derive(Clone)]
pub struct State {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    /// The state's identity (see `open`); file sinks record it beside their files.
    id: String,
    /// `None` only while the database is being reopened.
    handles: RwLock<Option<Handles>>,
    /// Commits known to be on disk.
    commits: AtomicU64,
    /// When the identity file was last brought up to date.
    marked: Mutex<Instant>,
    /// Since when commits fail, and the last error; `None` while they succeed.
    failing: Mutex<Option<(Instant, String)>>,
    /// Each file sink's offset as last durably committed.
    durable_offsets: Mutex<BTreeMap<String, SinkOffset>>,
    /// Durable writes so far (each a sled flush: an fsync).
    flushes: AtomicU64,
}

/// How often, at most, a commit brings the identity file's commit count up to date.
const MARK_EVERY: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    /// Opens (or creates) the store, refusing one written in another format version or one
    /// that lost durable progress ([`StateError::Damaged`]).
    pub fn open(dir: &Path) -> Result<State, StateError> {
        let o = open::open(dir)?;
        let offsets = sink_offsets(&o.handles.tree)?;
        Ok(State {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                id: o.id,
                handles: RwLock::new(Some(o.handles)),
                commits: AtomicU64::new(o.commits),
                marked: Mutex::new(Instant::now()),
                failing: Mutex::new(None),
                durable_offsets: Mutex::new(offsets),
                flushes: AtomicU64::new(0),
            }),
        })
    }

    /// The state's identity.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    fn handles(&self) -> Result<Handles, StateError> {
        self.shared
            .handles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| StateError::Unavailable {
                dir: self.shared.dir.display().to_string(),
            })
    }

    fn tree(&self) -> Result<sled::Tree, StateError> {
        Ok(self.handles()?.tree)
    }

    pub fn cursor(&self, feed: &str) -> Result<Option<Cursor>, StateError> {
        let k = key(b'c', &[feed.as_bytes()]);
        self.tree()?.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    pub fn content(
        &self,
        feed: &str,
        content_id: &str,
    ) -> Result<Option<ContentEntry>, StateError> {
        let k = key(b'p', &[feed.as_bytes(), content_id.as_bytes()]);
        self.tree()?.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    /// Content entries of a feed (done, partial and failed).
    pub fn contents(&self, feed: &str) -> Result<Vec<(String, ContentEntry)>, StateError> {
        let p = prefix(b'p', feed);
        let mut out = Vec::new();
        for kv in self.tree()?.scan_prefix(&p) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[p.len()..]).into_owned();
            out.push((id, unjson(&k, &v)?));
        }
        Ok(out)
    }

    /// Content entries of a feed whose blob failed and can be fetched again (read through
    /// the failed index), at most `limit` of them.
    pub fn failed_contents(
        &self,
        feed: &str,
        limit: usize,
    ) -> Result<Vec<(String, ContentEntry)>, StateError> {
        let p = prefix(b'f', feed);
        let mut out = Vec::new();
        for kv in self.tree()?.scan_prefix(&p).take(limit) {
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
        self.tree()?
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                unjson(&k, &v)
            })
            .collect()
    }

    pub fn rejections(&self, feed: &str) -> Result<Vec<Rejection>, StateError> {
        let p = prefix(b'r', feed);
        self.tree()?
            .scan_prefix(&p)
            .map(|kv| {
                let (k, v) = kv?;
                unjson(&k, &v)
            })
            .collect()
    }

    pub fn sink_offset(&self, sink: &str) -> Result<Option<SinkOffset>, StateError> {
        let k = key(b'k', &[sink.as_bytes()]);
        self.tree()?.get(&k)?.map(|v| unjson(&k, &v)).transpose()
    }

    /// Every feed that has anything in state.
    pub fn feeds(&self) -> Result<Vec<String>, StateError> {
        let mut feeds = std::collections::BTreeSet::new();
        for kind in [b'c', b'p', b'g', b'r'] {
            let mut last: Option<String> = None;
            for kv in self.tree()?.scan_prefix([kind, 0]) {
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
    /// disk (with everything applied before it). Only then is anything in it treated as
    /// committed.
    pub async fn commit(
        &self,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
        _now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let r = self.try_commit(feeds, sinks).await;
        match &r {
            Ok(()) => {
                *lock(&self.shared.failing) = None;
                {
                    let mut d = lock(&self.shared.durable_offsets);
                    for (sink, off) in sinks {
                        d.insert(sink.to_string(), off.clone());
                    }
                }
                if self.mark_due() {
                    // Writes and fsyncs the identity file: not on an async worker.
                    let s = self.clone();
                    let _ = tokio::task::spawn_blocking(move || s.mark(false)).await;
                }
            }
            Err(e) => {
                lock(&self.shared.failing)
                    .get_or_insert_with(|| (Instant::now(), String::new()))
                    .1 = e.to_string();
            }
        }
        r
    }

    async fn try_commit(
        &self,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
    ) -> Result<(), StateError> {
        let h = self.handles()?;
        let mut b = self.batch(&h, feeds, sinks)?;
        let n = self.shared.commits.load(Ordering::Acquire) + 1;
        b.insert(COMMITS_KEY, &n.to_be_bytes());
        h.tree.apply_batch(b)?;
        self.shared.flushes.fetch_add(1, Ordering::Relaxed);
        h.db.flush_async().await?;
        self.shared.commits.fetch_max(n, Ordering::AcqRel);
        Ok(())
    }

    /// Applies a commit as one atomic batch without waiting for the disk: readers see it at
    /// once, and it becomes durable with the next [`State::commit`] (sled writes its log in
    /// order, so a crash keeps a prefix of what was applied, never a later batch without an
    /// earlier one). A storage error, or the reopen that heals it, may drop it. For changes
    /// that are only worth saving, not worth a disk write of their own: an idle poll's
    /// cursor.
    pub fn apply(
        &self,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
    ) -> Result<(), StateError> {
        let h = self.handles()?;
        let b = self.batch(&h, feeds, sinks)?;
        h.tree.apply_batch(b)?;
        Ok(())
    }

    /// One commit's writes.
    fn batch(
        &self,
        h: &Handles,
        feeds: &[(&str, FeedCommit)],
        sinks: &[(&str, SinkOffset)],
    ) -> Result<sled::Batch, StateError> {
        let mut b = sled::Batch::default();
        for (feed, c) in feeds {
            let f = feed.as_bytes();
            for (cid, entry) in &c.content {
                b.insert(key(b'p', &[f, cid.as_bytes()]), json(entry));
                let fk = key(b'f', &[f, cid.as_bytes()]);
                // Only what can be fetched again: a bad listing entry has no URI.
                if matches!(entry.status, ContentStatus::Failed { .. }) && !entry.uri.is_empty() {
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
                seen_store::write_seen(&h.db, &mut b, feed, &c.seen)?;
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
        Ok(b)
    }

    /// How many durable writes this handle (and its clones) asked for.
    pub fn flushes(&self) -> u64 {
        self.shared.flushes.load(Ordering::Relaxed)
    }

    /// Whether [`State::mark`] would write now (a minute since the last time).
    fn mark_due(&self) -> bool {
        lock(&self.shared.marked).elapsed() >= MARK_EVERY
    }

    /// Brings the identity file's count of durable commits up to date (unless `force`, at
    /// most once a minute): the next open refuses a store that comes back with fewer.
    /// Blocks (write and fsync).
    pub fn mark(&self, force: bool) {
        let mut at = lock(&self.shared.marked);
        if !force && at.elapsed() < MARK_EVERY {
            return;
        }
        *at = Instant::now();
        let n = self.shared.commits.load(Ordering::Acquire);
        if let Err(e) = open::write_identity(&self.shared.dir, &self.shared.id, n) {
            tracing::warn!(state_dir = %self.shared.dir.display(), error = %e, "Cannot update the state's identity file.");
        }
    }

    /// Since when commits have been failing, and the last error (`None` while they work).
    pub fn commits_failing(&self) -> Option<(Duration, String)> {
        lock(&self.shared.failing)
            .as_ref()
            .map(|(t, e)| (t.elapsed(), e.clone()))
    }

    /// A file sink's offset as last durably committed (what its recovery may trust).
    pub fn durable_sink_offset(&self, sink: &str) -> Option<SinkOffset> {
        lock(&self.shared.durable_offsets).get(sink).cloned()
    }

    /// Opens the database again after a storage error: sled stays failed after an I/O error
    /// (a full disk) until it is reopened. What it had applied but not written is dropped
    /// and the failed commit is applied again by its caller. Blocks (sled's recovery reads
    /// its log); other users get [`StateError::Unavailable`] meanwhile.
    pub fn reopen(&self) -> Result<(), StateError> {
        let slot = || {
            self.shared
                .handles
                .write()
                .unwrap_or_else(|p| p.into_inner())
        };
        // Readers meanwhile get `Unavailable` at once rather than waiting for sled's
        // recovery; sled's lock is held until every clone of the old handles is gone, and
        // readers hold theirs only for one call, so a few tries suffice.
        slot().take();
        let mut tries = 0;
        let o = loop {
            match open::open(&self.shared.dir) {
                Err(StateError::Locked { .. }) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => break r?,
            }
        };
        if o.id != self.shared.id {
            return Err(StateError::Damaged {
                dir: self.shared.dir.display().to_string(),
                what: format!(
                    "it was replaced while the agent ran (state {} instead of {})",
                    o.id, self.shared.id
                ),
            });
        }
        let durable = self.shared.commits.load(Ordering::Acquire);
        if o.commits < durable {
            return Err(StateError::Damaged {
                dir: self.shared.dir.display().to_string(),
                what: format!(
                    "reopened after a storage error, it holds {} commits where {durable} were durable",
                    o.commits
                ),
            });
        }
        self.shared.commits.store(o.commits, Ordering::Release);
        *slot() = Some(o.handles);
        tracing::info!(state_dir = %self.shared.dir.display(), "Reopened the state store after a storage error.");
        Ok(())
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
        self.handles()
            .ok()
            .and_then(|h| h.db.size_on_disk().ok())
            .unwrap_or(0)
    }

    /// Records where a file sink starts, before it writes anything: without it, output
    /// written before the first commit could not be truncated after a crash.
    pub fn set_sink_offset(&self, sink: &str, off: &SinkOffset) -> Result<(), StateError> {
        let h = self.handles()?;
        h.tree.insert(key(b'k', &[sink.as_bytes()]), json(off))?;
        h.db.flush()?;
        lock(&self.shared.durable_offsets).insert(sink.to_string(), off.clone());
        Ok(())
    }

    /// Test and repair hook: sets a feed's cursor directly (used by tests to age a cursor).
    pub async fn set_cursor(&self, feed: &str, cursor: &Cursor) -> Result<(), StateError> {
        let h = self.handles()?;
        h.tree.insert(key(b'c', &[feed.as_bytes()]), json(cursor))?;
        h.db.flush_async().await?;
        Ok(())
    }
}

/// Runs a blocking store operation (a scan, a flush) on a blocking thread, off the async
/// workers. A panic there goes on as a panic of the caller.
async fn off_workers<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<T, StateError> {
    match tokio::task::spawn_blocking(op).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(StateError::Interrupted),
    }
}

/// Every file sink's committed offset.
fn sink_offsets(tree: &sled::Tree) -> Result<BTreeMap<String, SinkOffset>, StateError> {
    let p = [b'k', 0];
    let mut out = BTreeMap::new();
    for kv in tree.scan_prefix(p) {
        let (k, v) = kv?;
        let name = String::from_utf8_lossy(&k[p.len()..]).into_owned();
        out.insert(name, unjson(&k, &v)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
