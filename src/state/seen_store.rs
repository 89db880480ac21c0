//! Seen record ids on disk, filed by time bucket (see `seen`). The ids themselves are
//! chunks at the very end of the key space, under an ever-growing sequence number, and
//! each bucket has small index keys pointing at its chunks:
//!
//! ```text
//! t 0 feed 0 bucket(4) 1 seq(8)      → ()        a commit's ids of that bucket: chunk seq
//! t 0 feed 0 bucket(4) 0 first(16)   → seq(8)    compacted: sorted GUIDs from `first` on
//! ~ seq(8)                           → chunk     (see `seen::encode`)
//! s 0 feed 0 seen_at(8) n(8)         → chunk     the layout before buckets, until it ages out
//! ```
//!
//! Why the split: sled rewrites a whole leaf (up to 16 entries) every few changes to it.
//! Chunks keyed by bucket sat in the leaves every commit touches, so each commit rewrote
//! hundreds of kilobytes of ids (2.5 GB written for 2 M ids, and a file that kept
//! growing); appended at the end of the key space, a chunk's leaf stops changing once it
//! fills, and the leaves that do change hold only small index keys.
//!
//! A lookup reads at most one compacted chunk (found by its first GUID) and the bucket's
//! commit chunks; compaction folds the latter into the former once the bucket has left
//! memory, so a bucket is a handful of keys, and pruning drops whole buckets.

use super::seen::{self, CHUNK_GUIDS, Id, IdSet, SeenIds};
use super::{State, StateError, prefix};

const INDEX: u8 = b't';
const CHUNKS: u8 = b'~';
const LEGACY: u8 = b's';
const COMPACTED: u8 = 0;
const FRESH: u8 = 1;

fn bucket_key(feed: &str, bucket: u32) -> Vec<u8> {
    let mut k = prefix(INDEX, feed);
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

fn chunk_key(seq: u64) -> [u8; 9] {
    let mut k = [CHUNKS; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn damaged(k: &[u8]) -> StateError {
    StateError::Corrupt {
        key: String::from_utf8_lossy(k).replace('\0', "/"),
        error: "damaged record id chunk".into(),
    }
}

/// The chunk an index key points at: its sequence number is the key's tail (commit
/// chunks) or the value (compacted ones).
fn seq_of(base_len: usize, k: &[u8], v: &[u8]) -> Result<u64, StateError> {
    let raw = match k.get(base_len) {
        Some(&FRESH) => k.get(base_len + 1..base_len + 9),
        Some(&COMPACTED) => v.get(..8),
        _ => None,
    };
    raw.and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| damaged(k))
}

/// What [`State::compact_seen`] folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compact {
    All,
    Fresh,
}

/// What a lookup on disk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookup {
    pub found: bool,
    /// Commit chunks read: many means the bucket is worth compacting.
    pub fresh_chunks: usize,
}

/// Adds the chunks of `seen` (and their index keys) to a commit's batch.
pub(super) fn write_seen(
    db: &sled::Db,
    b: &mut sled::Batch,
    feed: &str,
    seen: &SeenIds,
) -> Result<(), StateError> {
    for (bucket, chunk) in seen.buckets() {
        for value in chunk.encode() {
            let seq = db.generate_id()?;
            let mut k = bucket_key(feed, bucket);
            k.push(FRESH);
            k.extend_from_slice(&seq.to_be_bytes());
            b.insert(k, &[][..]);
            b.insert(&chunk_key(seq)[..], value);
        }
    }
    Ok(())
}

/// Adds the removal of every seen id of a feed (index keys, the chunks they point at and
/// the layout before buckets) to `b`; returns how many keys that is.
pub(super) fn remove_all_seen(
    tree: &sled::Tree,
    b: &mut sled::Batch,
    feed: &str,
) -> Result<usize, StateError> {
    let p = prefix(INDEX, feed);
    let mut n = 0;
    for kv in tree.scan_prefix(&p) {
        let (k, v) = kv?;
        // A damaged index key cannot name its chunk; it goes all the same.
        if let Ok(seq) = seq_of(p.len() + 4, &k, &v) {
            b.remove(&chunk_key(seq)[..]);
        }
        b.remove(k);
        n += 1;
    }
    for kv in tree.scan_prefix(prefix(LEGACY, feed)) {
        let (k, _) = kv?;
        b.remove(k);
        n += 1;
    }
    Ok(n)
}

/// Drops chunks of the old layout first seen before `cutoff` (unix seconds).
pub(super) fn prune_legacy(
    tree: &sled::Tree,
    b: &mut sled::Batch,
    feed: &str,
    cutoff: u64,
) -> Result<usize, StateError> {
    let lo = prefix(LEGACY, feed);
    let mut hi = lo.clone();
    hi.extend_from_slice(&cutoff.to_be_bytes());
    let mut n = 0;
    for kv in tree.range(lo..hi) {
        let (k, _) = kv?;
        b.remove(k);
        n += 1;
    }
    Ok(n)
}

fn chunk(tree: &sled::Tree, seq: u64) -> Result<sled::IVec, StateError> {
    let k = chunk_key(seq);
    tree.get(k)?.ok_or_else(|| damaged(&k))
}

impl State {
    /// Whether `id`, filed under `bucket`, is among the feed's committed ids.
    pub fn seen_contains(&self, feed: &str, bucket: u32, id: Id<'_>) -> Result<Lookup, StateError> {
        let h = self.handles()?;
        let base = bucket_key(feed, bucket);
        if let Id::Guid(g) = id {
            let mut lo = base.clone();
            lo.push(COMPACTED);
            let mut hi = lo.clone();
            hi.extend_from_slice(&g.to_be_bytes());
            if let Some(kv) = h.tree.range(lo..=hi).next_back() {
                let (k, v) = kv?;
                let chunk = chunk(&h.tree, seq_of(base.len(), &k, &v)?)?;
                if seen::view(&chunk)
                    .ok_or_else(|| damaged(&k))?
                    .contains(id, true)
                {
                    return Ok(Lookup {
                        found: true,
                        fresh_chunks: 0,
                    });
                }
            }
        }
        let mut lo = base.clone();
        lo.push(FRESH);
        let mut hi = base.clone();
        hi.push(FRESH + 1);
        let mut n = 0;
        for kv in h.tree.range(lo..hi) {
            let (k, v) = kv?;
            n += 1;
            let chunk = chunk(&h.tree, seq_of(base.len(), &k, &v)?)?;
            if seen::view(&chunk)
                .ok_or_else(|| damaged(&k))?
                .contains(id, false)
            {
                return Ok(Lookup {
                    found: true,
                    fresh_chunks: n,
                });
            }
        }
        Ok(Lookup {
            found: false,
            fresh_chunks: n,
        })
    }

    /// Visits every chunk of one bucket (or only its commit chunks): (index key, chunk
    /// sequence number, chunk).
    fn bucket_chunks(
        tree: &sled::Tree,
        feed: &str,
        bucket: u32,
        only_fresh: bool,
        mut f: impl FnMut(sled::IVec, u64, seen::View<'_>),
    ) -> Result<(), StateError> {
        let base = bucket_key(feed, bucket);
        let mut p = base.clone();
        if only_fresh {
            p.push(FRESH);
        }
        for kv in tree.scan_prefix(&p) {
            let (k, v) = kv?;
            let seq = seq_of(base.len(), &k, &v)?;
            let chunk = chunk(tree, seq)?;
            let view = seen::view(&chunk).ok_or_else(|| damaged(&k))?;
            f(k, seq, view);
        }
        Ok(())
    }

    /// Adds every committed id of one bucket to `set`.
    pub fn seen_bucket_into(
        &self,
        feed: &str,
        bucket: u32,
        set: &mut IdSet,
    ) -> Result<(), StateError> {
        let h = self.handles()?;
        Self::bucket_chunks(&h.tree, feed, bucket, false, |_, _, view| {
            view.add_to(set, ())
        })
    }

    /// Adds every committed id of the feed, whatever its bucket, to `set` (a backfill
    /// slice's ids, which it holds whole).
    pub fn seen_all_into(&self, feed: &str, set: &mut IdSet) -> Result<(), StateError> {
        let h = self.handles()?;
        let p = prefix(INDEX, feed);
        for kv in h.tree.scan_prefix(&p) {
            let (k, v) = kv?;
            let chunk = chunk(&h.tree, seq_of(p.len() + 4, &k, &v)?)?;
            seen::view(&chunk)
                .ok_or_else(|| damaged(&k))?
                .add_to(set, ());
        }
        if let Some(legacy) = self.load_legacy_seen(feed)? {
            for id in legacy.ids() {
                set.insert(id, ());
            }
        }
        Ok(())
    }

    /// Forgets every id of the feed. Not flushed: ids that come back after a crash are
    /// forgotten again by the next call.
    pub fn forget_seen(&self, feed: &str) -> Result<usize, StateError> {
        let h = self.handles()?;
        let mut b = sled::Batch::default();
        let n = remove_all_seen(&h.tree, &mut b, feed)?;
        if n > 0 {
            h.tree.apply_batch(b)?;
        }
        Ok(n)
    }

    /// The newest bucket holding committed ids of the feed.
    pub fn newest_seen_bucket(&self, feed: &str) -> Result<Option<u32>, StateError> {
        let h = self.handles()?;
        let p = prefix(INDEX, feed);
        match h.tree.scan_prefix(&p).next_back() {
            Some(kv) => {
                let (k, _) = kv?;
                let b = k.get(p.len()..p.len() + 4).ok_or_else(|| damaged(&k))?;
                Ok(Some(u32::from_be_bytes(
                    b.try_into().map_err(|_| damaged(&k))?,
                )))
            }
            None => Ok(None),
        }
    }

    /// Folds a bucket's chunks once it has more than `min_fresh` commit chunks: `Compact::All`
    /// into sorted, disjoint chunks (other ids into one commit chunk), `Compact::Fresh` only
    /// its commit chunks, into one (cheap when a bucket gets a few late ids per commit).
    /// Always safe: it rewrites what is there in one atomic batch, and a commit landing
    /// meanwhile writes keys of its own, which are left alone.
    pub fn compact_seen(
        &self,
        feed: &str,
        bucket: u32,
        min_fresh: usize,
        how: Compact,
    ) -> Result<(), StateError> {
        let h = self.handles()?;
        let mut keys = Vec::new();
        let mut guids: Vec<u128> = Vec::new();
        let mut others: Vec<Box<str>> = Vec::new();
        let mut fresh = 0;
        let mut fresh_guids = false;
        let base = bucket_key(feed, bucket);
        Self::bucket_chunks(
            &h.tree,
            feed,
            bucket,
            how == Compact::Fresh,
            |k, seq, view| {
                if k.get(base.len()) == Some(&FRESH) {
                    fresh += 1;
                    fresh_guids |= view.guid_count() > 0;
                }
                guids.extend(view.guids());
                others.extend(view.others().map(Box::from));
                keys.push((k, seq));
            },
        )?;
        if fresh == 0 || fresh <= min_fresh || (fresh == 1 && !fresh_guids) {
            return Ok(());
        }
        if how == Compact::Fresh {
            let packed = seen::pack_others(others.iter().map(|s| s.as_bytes()));
            let mut b = sled::Batch::default();
            for (k, seq) in keys {
                b.remove(k);
                b.remove(&chunk_key(seq)[..]);
            }
            let seq = h.db.generate_id()?;
            let mut k = base;
            k.push(FRESH);
            k.extend_from_slice(&seq.to_be_bytes());
            b.insert(k, &[][..]);
            b.insert(&chunk_key(seq)[..], seen::encode(&guids, &packed));
            h.tree.apply_batch(b)?;
            return Ok(());
        }
        guids.sort_unstable();
        guids.dedup();
        others.sort_unstable();
        others.dedup();
        let mut b = sled::Batch::default();
        for (k, seq) in keys {
            b.remove(k);
            b.remove(&chunk_key(seq)[..]);
        }
        for part in guids.chunks(CHUNK_GUIDS) {
            let seq = h.db.generate_id()?;
            let mut k = base.clone();
            k.push(COMPACTED);
            k.extend_from_slice(&part[0].to_be_bytes());
            b.insert(k, &seq.to_be_bytes()[..]);
            b.insert(&chunk_key(seq)[..], seen::encode(part, &[]));
        }
        if !others.is_empty() {
            let seq = h.db.generate_id()?;
            let mut k = base;
            k.push(FRESH);
            k.extend_from_slice(&seq.to_be_bytes());
            let packed = seen::pack_others(others.iter().map(|s| s.as_bytes()));
            b.insert(k, &[][..]);
            b.insert(&chunk_key(seq)[..], seen::encode(&[], &packed));
        }
        h.tree.apply_batch(b)?;
        Ok(())
    }

    /// Drops every bucket before `below`. Not flushed: ids that come back after a crash are
    /// dropped again next time.
    pub fn prune_seen(&self, feed: &str, below: u32) -> Result<usize, StateError> {
        let h = self.handles()?;
        let lo = prefix(INDEX, feed);
        let hi = bucket_key(feed, below);
        let mut b = sled::Batch::default();
        let mut n = 0;
        for kv in h.tree.range(lo.clone()..hi) {
            let (k, v) = kv?;
            let seq = seq_of(lo.len() + 4, &k, &v)?;
            b.remove(k);
            b.remove(&chunk_key(seq)[..]);
            n += 1;
        }
        if n > 0 {
            h.tree.apply_batch(b)?;
        }
        Ok(n)
    }

    /// How many ids the feed keeps on disk (for `state show`).
    pub fn count_seen(&self, feed: &str) -> Result<usize, StateError> {
        let h = self.handles()?;
        let p = prefix(INDEX, feed);
        let mut n = 0;
        for kv in h.tree.scan_prefix(&p) {
            let (k, v) = kv?;
            let chunk = chunk(&h.tree, seq_of(p.len() + 4, &k, &v)?)?;
            let view = seen::view(&chunk).ok_or_else(|| damaged(&k))?;
            n += view.guid_count() + view.others().count();
        }
        Ok(n + self.load_legacy_seen(feed)?.map_or(0, |s| s.len()))
    }

    /// Whether any bucket holds `id` (tests).
    #[cfg(test)]
    pub(crate) fn seen_anywhere(&self, feed: &str, id: &str) -> bool {
        let h = self.handles().unwrap();
        let p = prefix(INDEX, feed);
        h.tree.scan_prefix(&p).any(|kv| {
            let (k, v) = kv.unwrap();
            let chunk = chunk(&h.tree, seq_of(p.len() + 4, &k, &v).unwrap()).unwrap();
            seen::view(&chunk).unwrap().contains(Id::parse(id), false)
        })
    }

    /// Ids a version before time buckets committed and that have not aged out yet.
    pub fn load_legacy_seen(&self, feed: &str) -> Result<Option<IdSet>, StateError> {
        let h = self.handles()?;
        let mut set: Option<IdSet> = None;
        for kv in h.tree.scan_prefix(prefix(LEGACY, feed)) {
            let (k, v) = kv?;
            if !seen::decode_legacy_into(&v, set.get_or_insert_with(IdSet::default)) {
                return Err(damaged(&k));
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests;
