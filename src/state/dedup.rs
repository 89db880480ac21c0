//! One feed's de-duplication: which records were delivered before, answered from a small
//! set in memory and, for older records, from the ids on disk.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::bloom::{BITS_PER_ID, Bloom};
use super::seen::{self, Id, IdMap, IdSet};
use super::{Compact, State, StateError};

/// What a feed's de-duplication may hold.
#[derive(Debug, Clone, Copy)]
pub struct DedupConfig {
    /// How far behind the newest content (in the records' own time) a repeat is still
    /// recognised; ids are kept on disk that long. Zero turns de-duplication off.
    pub horizon: chrono::Duration,
    /// How much of that, behind the newest content, is answered from memory.
    pub hot_window: chrono::Duration,
    /// At most this many ids in memory: past it the oldest buckets go to disk only.
    pub hot_ids: usize,
}

/// The latest time believed to have been reached: a frontier from a clock running ahead
/// must not prune what is still within the horizon.
fn soon() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::hours(1)
}

/// A bucket whose commit chunks outnumber this is compacted when it leaves memory or when
/// a lookup reads it; below it, a lookup reads so few chunks that rewriting them would cost
/// more than it saves.
const COMPACT_AFTER: usize = 16;
/// Marks a claim whose batch is not submitted yet.
const OPEN: u64 = u64::MAX;

/// One bucket of record time in memory: every id of it claimed by this feed, committed or
/// in flight.
#[derive(Default)]
struct Hot {
    ids: IdSet,
    /// The last batch (numbered by the feed, see [`Dedup::sealed`]) with ids of this bucket.
    seq: u64,
    /// Claims not yet in a submitted batch.
    open: usize,
}

/// A claim not yet in a submitted batch: kept so it can be undone.
enum Claimed {
    Guid(u128),
    Other(Box<str>),
}

impl Claimed {
    fn of(id: Id<'_>) -> Claimed {
        match id {
            Id::Guid(g) => Claimed::Guid(g),
            Id::Other(s) => Claimed::Other(s.into()),
        }
    }
    fn id(&self) -> Id<'_> {
        match self {
            Claimed::Guid(g) => Id::Guid(*g),
            Claimed::Other(s) => Id::Other(s),
        }
    }
}

/// De-duplication by the record's own time.
///
/// The API repeats a record in other blobs of about the same time and lists content again
/// within the overlap, and a repeat carries the same `Id` and `CreationTime` as the first
/// copy. So every id is filed under its record's `CreationTime` (in ten-minute buckets,
/// capped at a day after its blob's `contentCreated`; a record without one is filed at
/// `contentCreated`), and the question "was this record delivered before?" is asked of that
/// bucket only. The feed's frontier is the newest `contentCreated` it has worked through
/// (or listing window it has finished); buckets from `hot_window` behind the frontier on
/// (the `cutoff`) are held in memory whole, committed and in-flight ids alike, and answer
/// exactly. A record older than that is looked up in memory among the ids still in flight,
/// then in its bucket's Bloom filter (built when the bucket left memory, or from disk on
/// first use), and only on a "maybe" on disk, where every committed id is kept, by bucket,
/// for `horizon` behind the frontier and then pruned. A bucket leaves memory only once
/// every batch holding its ids is committed, so what memory forgets is always on disk; it
/// leaves when the frontier moves past it or when memory holds more than `hot_ids` (the
/// cutoff then rises). A record is dropped only on an exact match of its id in memory or
/// on disk, never on a filter's or a hash's word, so a new record is never taken for a
/// repeat; a record whose copies carry different times, or that comes back after the
/// horizon, is at worst delivered twice. Memory follows the records' time, not how many
/// records the feed has handled, and state follows the horizon, not the history.
pub struct Dedup {
    state: State,
    feed: String,
    enabled: bool,
    window: u32,
    horizon: u32,
    cap: usize,
    /// Newest bucket the feed has worked through.
    frontier: Option<u32>,
    /// Buckets from here on are whole in `hot`.
    cutoff: u32,
    hot: BTreeMap<u32, Hot>,
    hot_len: usize,
    /// Ids claimed below the cutoff whose batch is not known to be committed: batch number.
    late: IdMap<u64>,
    /// Claims since the last submitted batch: (bucket, in `late`, id).
    open: Vec<(u32, bool, Claimed)>,
    /// Ids from a state directory written before time buckets, until they age out.
    legacy: Option<IdSet>,
    pruned_below: u32,
    disk_lookups: u64,
    /// Filters of buckets below the cutoff, for the ids on disk and in `late`.
    filters: BTreeMap<u32, Bloom>,
    filter_bytes: usize,
    /// Buckets below this get no filter (their memory went to newer ones).
    unfiltered_below: u32,
}

impl Dedup {
    /// Loads the feed's recent ids: the newest buckets on disk, up to the hot window or the
    /// memory cap, whichever is reached first.
    pub fn load(state: &State, feed: &str, cfg: DedupConfig) -> Result<Dedup, StateError> {
        let horizon = seen::buckets_in(cfg.horizon);
        let mut d = Dedup {
            state: state.clone(),
            feed: feed.to_string(),
            enabled: horizon > 0,
            window: seen::buckets_in(cfg.hot_window).min(horizon),
            horizon,
            cap: cfg.hot_ids.max(1),
            frontier: None,
            cutoff: 0,
            hot: BTreeMap::new(),
            hot_len: 0,
            late: IdMap::default(),
            open: Vec::new(),
            legacy: None,
            pruned_below: 0,
            disk_lookups: 0,
            filters: BTreeMap::new(),
            filter_bytes: 0,
            unfiltered_below: 0,
        };
        if !d.enabled {
            return Ok(d);
        }
        d.legacy = state.load_legacy_seen(feed)?;
        // The frontier is set by the first content worked through; the newest bucket on disk
        // (a record's time, which a bogus clock may put ahead) only anchors what is loaded.
        if let Some(newest) = state.newest_seen_bucket(feed)? {
            let newest = newest.min(seen::bucket_of(soon()));
            let lowest = newest.saturating_sub(d.window);
            let mut b = newest;
            loop {
                let mut ids = IdSet::default();
                state.seen_bucket_into(feed, b, &mut ids)?;
                d.cutoff = b;
                if !ids.is_empty() {
                    d.hot_len += ids.len();
                    d.hot.insert(
                        b,
                        Hot {
                            ids,
                            seq: 0,
                            open: 0,
                        },
                    );
                }
                if b <= lowest || d.hot_len >= d.cap {
                    break;
                }
                b -= 1;
            }
        }
        Ok(d)
    }

    /// Claims a record for delivery: true if it is new (it is then remembered as in flight),
    /// false if it was delivered or claimed before.
    pub fn claim(&mut self, id: &str, bucket: u32) -> Result<bool, StateError> {
        if !self.enabled {
            return Ok(true);
        }
        let id = Id::parse(id);
        if self.legacy.as_ref().is_some_and(|l| l.contains(id)) {
            return Ok(false);
        }
        if bucket >= self.cutoff {
            let h = self.hot.entry(bucket).or_default();
            if !h.ids.insert(id, ()) {
                return Ok(false);
            }
            h.open += 1;
            self.hot_len += 1;
            self.open.push((bucket, false, Claimed::of(id)));
            return Ok(true);
        }
        if self.late.contains(id) || self.hot.get(&bucket).is_some_and(|h| h.ids.contains(id)) {
            return Ok(false);
        }
        let filtered = bucket >= self.unfiltered_below;
        if filtered && !self.filters.contains_key(&bucket) {
            let mut ids = IdSet::default();
            self.state.seen_bucket_into(&self.feed, bucket, &mut ids)?;
            self.add_filter(bucket, &ids);
        }
        let maybe = self.filters.get(&bucket).is_none_or(|f| f.may_contain(id));
        if maybe {
            self.disk_lookups += 1;
            let l = self.state.seen_contains(&self.feed, bucket, id)?;
            if l.fresh_chunks > COMPACT_AFTER {
                self.state
                    .compact_seen(&self.feed, bucket, COMPACT_AFTER, Compact::Fresh)?;
            }
            if l.found {
                return Ok(false);
            }
        }
        if let Some(f) = self.filters.get_mut(&bucket) {
            f.insert(id);
        }
        self.late.insert(id, OPEN);
        self.open.push((bucket, true, Claimed::of(id)));
        Ok(true)
    }

    /// The claims since the last call went out in the feed's batch number `seq` (the feed
    /// numbers every batch it submits, 1, 2, …, as the committer counts them).
    pub fn sealed(&mut self, seq: u64) {
        for (bucket, late, c) in self.open.drain(..) {
            if late {
                if let Some(v) = self.late.get_mut(c.id()) {
                    *v = seq;
                }
            } else if let Some(h) = self.hot.get_mut(&bucket) {
                h.seq = seq;
                h.open = 0;
            }
        }
    }

    /// Forgets the claims since the last submitted batch (it will not be submitted).
    pub fn abandon(&mut self) {
        for (bucket, late, c) in self.open.drain(..) {
            if late {
                self.late.remove(c.id());
            } else if let Some(h) = self.hot.get_mut(&bucket) {
                if h.ids.remove(c.id()).is_some() {
                    self.hot_len -= 1;
                }
                h.open = 0;
            }
        }
    }

    /// The feed has worked through content up to `t` (at most an hour from now is
    /// believed), and its first `committed` batches are
    /// committed: moves the cutoff, lets memory go where disk has everything, and prunes
    /// what fell behind the horizon.
    pub fn advance(&mut self, t: DateTime<Utc>, committed: u64) -> Result<(), StateError> {
        if !self.enabled {
            return Ok(());
        }
        let b = seen::bucket_of(t.min(soon()));
        let frontier = self.frontier.map_or(b, |f| f.max(b));
        self.frontier = Some(frontier);
        self.cutoff = self.cutoff.max(frontier.saturating_sub(self.window));
        self.late.retain(|seq| *seq == OPEN || *seq > committed);
        while let Some((&b, h)) = self.hot.first_key_value() {
            let over = self.hot_len > self.cap;
            if (b >= self.cutoff && !over) || h.open > 0 || h.seq > committed {
                break;
            }
            if let Some(h) = self.hot.remove(&b) {
                self.hot_len -= h.ids.len();
                if b >= self.unfiltered_below {
                    self.add_filter(b, &h.ids);
                }
            }
            self.cutoff = self.cutoff.max(b + 1);
            self.state
                .compact_seen(&self.feed, b, COMPACT_AFTER, Compact::All)?;
        }
        let below = frontier.saturating_sub(self.horizon);
        if below > self.pruned_below {
            self.state.prune_seen(&self.feed, below)?;
            self.pruned_below = below;
            while let Some(e) = self.filters.first_entry() {
                if *e.key() >= below {
                    break;
                }
                self.filter_bytes -= e.remove().bytes();
            }
        }
        Ok(())
    }

    /// A filter for a bucket that left memory, from all its ids. Filters get about a
    /// sixteenth of the memory hot ids may take (a filter costs a byte an id, a hot id
    /// some 25): past that, the oldest go and their buckets are looked up on disk directly.
    /// A filter the bucket already has (built from disk while its last batches were still
    /// in flight) keeps what it holds and takes these ids too: a filter never forgets.
    fn add_filter(&mut self, bucket: u32, ids: &IdSet) {
        if let Some(f) = self.filters.get_mut(&bucket) {
            for id in ids.ids() {
                f.insert(id);
            }
            return;
        }
        let mut f = Bloom::with_ids(ids.len() + ids.len() / 8);
        for id in ids.ids() {
            f.insert(id);
        }
        self.filter_bytes += f.bytes();
        self.filters.insert(bucket, f);
        let budget = self.cap.saturating_mul(16 * BITS_PER_ID / 8);
        while self.filter_bytes > budget {
            let Some((b, f)) = self.filters.pop_first() else {
                break;
            };
            self.filter_bytes -= f.bytes();
            self.unfiltered_below = self.unfiltered_below.max(b + 1);
        }
    }

    /// Reads the ids of the old layout again after a prune (they age out within a horizon).
    pub fn refresh_legacy(&mut self) -> Result<(), StateError> {
        if self.legacy.is_some() {
            self.legacy = self.state.load_legacy_seen(&self.feed)?;
        }
        Ok(())
    }

    /// Start of the newest bucket worked through.
    pub fn frontier(&self) -> Option<DateTime<Utc>> {
        self.frontier.map(seen::bucket_start)
    }

    /// Ids held in memory.
    pub fn hot_len(&self) -> usize {
        self.hot_len
    }

    /// Memory held by filters.
    pub fn filter_bytes(&self) -> usize {
        self.filter_bytes
    }

    /// Lookups that went to disk so far.
    pub fn disk_lookups(&self) -> u64 {
        self.disk_lookups
    }
}

#[cfg(test)]
mod tests;
