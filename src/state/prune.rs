//! Pruning: what state drops once it can no longer matter, so its size follows the
//! de-duplication horizon and the API's 7 days, not the history.

use chrono::{DateTime, Utc};

use super::model::{ContentEntry, ContentStatus, Gap, Rejection};
use super::{State, StateError, key, off_workers, prefix, seen_store, unjson};

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

impl State {
    /// Drops content entries and the rest of a feed's state that can no longer matter (seen
    /// ids are pruned by [`Dedup`](super::Dedup), by the records' time). Not flushed: what comes back after
    /// a crash is pruned again. Returns how many entries were removed. The scan runs on a
    /// blocking thread, off the async workers.
    pub async fn prune(&self, feed: &str, rule: &Prune) -> Result<usize, StateError> {
        let (s, feed, rule) = (self.clone(), feed.to_string(), rule.clone());
        off_workers(move || s.prune_blocking(&feed, &rule)).await
    }

    fn prune_blocking(&self, feed: &str, rule: &Prune) -> Result<usize, StateError> {
        let now = rule.now;
        let h = self.handles()?;
        let mut b = sled::Batch::default();
        let legacy_cutoff = (now - rule.legacy_horizon).timestamp().max(0) as u64;
        let mut n = seen_store::prune_legacy(&h.tree, &mut b, feed, legacy_cutoff)?;
        let pp = prefix(b'p', feed);
        for kv in self.tree()?.scan_prefix(&pp) {
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
            for kv in self.tree()?.scan_prefix(&p) {
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
            h.tree.apply_batch(b)?;
        }
        Ok(n)
    }
}
