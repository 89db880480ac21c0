//! Where each live feed begins, published beside the daemon's state for `backfill`.
//!
//! The daemon holds the lock on its sled database for as long as it runs, so `backfill`
//! cannot read the daemon's cursor then. Instead each feed writes two small files under
//! `{state_dir}/coverage/` that any process may read at any time:
//!
//! - `{tenant_id}.{content_type}.json`: `from`, the start of the feed's first listing. The
//!   daemon delivers every blob with `contentCreated >= from`; a backfill up to `from` meets
//!   it without a hole. Written (atomically) once, on the first polls, and kept: a restart
//!   before the first commit starts from the same instant again.
//! - `{tenant_id}.{content_type}.early`: the ids of records older than `from` that the daemon
//!   delivered anyway (a blob's records happen before the blob is created, sometimes hours
//!   before), one per line, appended before their batch is submitted and synced at the end
//!   of every poll that added some (one `fsync` per poll, not per blob). `backfill`
//!   leaves these out, so the join has no double either. Only blobs created within a week of
//!   `from` are looked at, and the list is capped ([`MAX_EARLY`]; past it a last line
//!   `#overflow` says the list is incomplete).
//!
//! Records reach the API up to hours after they happen, so the `.early` list is only
//! complete once the feed has listed well past `from`: when its listing passes `from` +
//! [`SETTLE`], the `.json` says `settled`, and `backfill` delivers the last day before `from`
//! only then.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::record::Record;
use crate::state::seen::IdSet;

/// Ids kept in an `.early` file at most.
pub const MAX_EARLY: u64 = 200_000;
/// How long after `from` blobs are looked at for older records.
const NOTE_WINDOW: chrono::Duration = chrono::Duration::days(7);
/// How far past `from` the feed lists before its `.early` list counts as complete: the API
/// lists most records within 90 minutes of the event, some workloads within hours.
pub const SETTLE: chrono::Duration = chrono::Duration::hours(24);
const OVERFLOW: &str = "#overflow";

#[derive(Debug, thiserror::Error)]
#[error("coverage file {path}: {error}")]
pub struct CoverageError {
    pub path: String,
    pub error: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct OnDisk {
    feed: String,
    from: DateTime<Utc>,
    /// The feed has listed past `from` + [`SETTLE`].
    #[serde(default)]
    settled: bool,
}

fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("coverage")
}

fn stem(feed_key: &str) -> String {
    feed_key.replace(['/', '\\'], ".")
}

/// The daemon's side: one per feed.
pub struct FeedCoverage {
    json: PathBuf,
    early: PathBuf,
    feed: String,
    from: Option<DateTime<Utc>>,
    settled: bool,
    noted: u64,
    overflowed: bool,
    /// The `.early` file, open for appending once there is something to note.
    early_file: Option<std::fs::File>,
    /// Appended since the last sync.
    dirty: bool,
}

impl FeedCoverage {
    /// Reads what an earlier run published for this feed, if anything.
    pub fn new(state_dir: &Path, feed_key: &str) -> FeedCoverage {
        let s = stem(feed_key);
        let json = dir(state_dir).join(format!("{s}.json"));
        let early = dir(state_dir).join(format!("{s}.early"));
        let doc = read_json(&json).ok().flatten();
        let (noted, overflowed) = count_early(&early);
        FeedCoverage {
            json,
            early,
            feed: feed_key.to_string(),
            from: doc.as_ref().map(|d| d.from),
            settled: doc.is_some_and(|d| d.settled),
            noted,
            overflowed,
            early_file: None,
            dirty: false,
        }
    }

    fn publish(&mut self, from: DateTime<Utc>, settled: bool) {
        let doc = OnDisk {
            feed: self.feed.clone(),
            from,
            settled,
        };
        let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        match write_atomic(&self.json, &bytes) {
            Ok(()) => self.settled = settled,
            Err(e) => self.failed(&e),
        }
    }

    /// The end of a poll: everything created before `listed_until` has been listed and its
    /// older records noted. Makes the notes durable, and once the listing is past `from` +
    /// [`SETTLE`] says the list is complete, once.
    pub fn listed(&mut self, listed_until: DateTime<Utc>) {
        if self.dirty {
            let synced = self.early_file.as_ref().map(|f| f.sync_data());
            if let Some(Err(e)) = synced {
                self.failed(&e);
                return;
            }
            self.dirty = false;
        }
        if let (Some(from), false) = (self.from, self.settled) {
            if listed_until >= from + SETTLE {
                self.publish(from, true);
            }
        }
    }

    /// The start of a feed that has no cursor yet: the one published before (so the promise
    /// made to `backfill` holds across restarts), unless the API no longer reaches back that
    /// far; else `proposed`. Publishes it.
    pub fn start(&mut self, proposed: DateTime<Utc>, earliest: DateTime<Utc>) -> DateTime<Utc> {
        let from = match self.from {
            Some(f) if f >= earliest => f,
            _ => proposed.max(earliest),
        };
        if self.from != Some(from) {
            tracing::info!(feed = %self.feed, from = %from.to_rfc3339(), "The live feed starts here; a backfill meets it at this instant.");
            self.publish(from, false);
            self.from = Some(from);
        }
        from
    }

    /// Notes the records of a blob (created `content_created`) that are older than `from`,
    /// before they are delivered.
    pub fn note(&mut self, content_created: DateTime<Utc>, records: &[Record]) {
        let Some(from) = self.from else { return };
        if self.overflowed || content_created >= from + NOTE_WINDOW {
            return;
        }
        let mut lines = String::new();
        for r in records {
            if r.creation_time.is_some_and(|t| t < from) {
                if self.noted >= MAX_EARLY {
                    lines.push_str(OVERFLOW);
                    lines.push('\n');
                    self.overflowed = true;
                    break;
                }
                lines.push_str(r.id());
                lines.push('\n');
                self.noted += 1;
            }
        }
        if lines.is_empty() {
            return;
        }
        if let Err(e) = self.append(lines.as_bytes()) {
            self.failed(&e);
        }
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.early_file.is_none() {
            if let Some(parent) = self.early.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.early)?;
            self.early_file = Some(f);
        }
        if let Some(f) = self.early_file.as_mut() {
            f.write_all(bytes)?;
            self.dirty = true;
        }
        Ok(())
    }

    fn failed(&self, e: &std::io::Error) {
        tracing::error!(feed = %self.feed, error = %e, dir = %self.json.display(),
            "Cannot write the feed's coverage file; a backfill cannot meet this feed exactly (give it --to).");
        crate::telemetry::coverage_write_failed();
    }
}

/// What a live feed published: where it starts and how many older records it delivered.
#[derive(Debug, Clone)]
pub struct Published {
    pub feed: String,
    pub from: DateTime<Utc>,
    /// Its `.early` list is complete (see [`SETTLE`]).
    pub settled: bool,
    early: PathBuf,
}

/// The published coverage of a feed (`tenant_id/content_type`), if its daemon wrote one.
pub fn read(state_dir: &Path, feed_key: &str) -> Result<Option<Published>, CoverageError> {
    let s = stem(feed_key);
    let json = dir(state_dir).join(format!("{s}.json"));
    Ok(read_json(&json)?.map(|d| Published {
        feed: d.feed,
        from: d.from,
        settled: d.settled,
        early: dir(state_dir).join(format!("{s}.early")),
    }))
}

impl Published {
    /// Adds the ids the feed delivered from before `from` to `into`, at most `cap`. Returns
    /// how many were read and whether the list is complete.
    pub fn early_ids(&self, into: &mut IdSet, cap: u64) -> Result<(u64, bool), CoverageError> {
        let err = |e: std::io::Error| CoverageError {
            path: self.early.display().to_string(),
            error: e.to_string(),
        };
        let f = match std::fs::File::open(&self.early) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, true)),
            Err(e) => return Err(err(e)),
        };
        let (mut n, mut complete) = (0u64, true);
        let mut r = std::io::BufReader::new(f);
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).map_err(err)? == 0 {
                break;
            }
            // A line without its newline was being written when the daemon stopped: its
            // batch was never submitted.
            let Some(id) = line.strip_suffix('\n') else {
                break;
            };
            if id == OVERFLOW || n >= cap {
                complete = false;
                break;
            }
            into.insert_str(id);
            n += 1;
        }
        Ok((n, complete))
    }
}

fn read_json(path: &Path) -> Result<Option<OnDisk>, CoverageError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| CoverageError {
                path: path.display().to_string(),
                error: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoverageError {
            path: path.display().to_string(),
            error: e.to_string(),
        }),
    }
}

fn count_early(path: &Path) -> (u64, bool) {
    let Ok(f) = std::fs::File::open(path) else {
        return (0, false);
    };
    let mut n = 0;
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        if line == OVERFLOW {
            return (n, true);
        }
        n += 1;
    }
    (n, false)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests;
