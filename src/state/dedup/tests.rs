use std::collections::{HashMap, HashSet};

use super::*;
use crate::state::seen::{SeenIds, bucket_of, bucket_start};
use crate::state::{FeedCommit, feed_key};

const FEED: &str = "t1/Audit.Exchange";

fn cfg(window_h: i64, horizon_h: i64, cap: usize) -> DedupConfig {
    DedupConfig {
        horizon: chrono::Duration::hours(horizon_h),
        hot_window: chrono::Duration::hours(window_h),
        hot_ids: cap,
    }
}

fn id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// A feed's side of the pipeline without sinks: batches are numbered as the feed submits
/// them and committed in that order, each with its ids.
struct Rig {
    _dir: tempfile::TempDir,
    state: State,
    d: Dedup,
    open: SeenIds,
    submitted: u64,
    committed: u64,
    pending: Vec<SeenIds>,
    /// Bucket of "now" minus some days: the rig's times all lie in the past.
    base: u32,
}

impl Rig {
    fn new(c: DedupConfig) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let d = Dedup::load(&state, FEED, c).unwrap();
        Rig {
            _dir: dir,
            state,
            d,
            open: SeenIds::default(),
            submitted: 0,
            committed: 0,
            pending: vec![],
            base: bucket_of(Utc::now()) - 2000,
        }
    }

    fn claim(&mut self, n: u64, bucket: u32) -> bool {
        let new = self.d.claim(&id(n), bucket).unwrap();
        if new {
            self.open.push(bucket, &id(n));
        }
        new
    }

    fn submit(&mut self) {
        self.submitted += 1;
        self.d.sealed(self.submitted);
        self.pending.push(std::mem::take(&mut self.open));
    }

    fn abandon(&mut self) {
        self.d.abandon();
        self.open = SeenIds::default();
    }

    async fn commit(&mut self, n: usize) {
        for seen in self.pending.drain(..n) {
            let c = FeedCommit {
                seen,
                ..Default::default()
            };
            self.state
                .commit(&[(FEED, c)], &[], Utc::now())
                .await
                .unwrap();
            self.committed += 1;
        }
    }

    fn advance(&mut self, bucket: u32) {
        self.d
            .advance(bucket_start(bucket), self.committed)
            .unwrap();
    }

    fn reload(&mut self, c: DedupConfig) {
        self.d = Dedup::load(&self.state, FEED, c).unwrap();
    }
}

#[tokio::test]
async fn repeats_are_found_in_memory_and_on_disk_and_new_ids_never_dropped() {
    let mut r = Rig::new(cfg(2, 24, 1_000_000));
    let b = r.base;
    r.advance(b);
    for n in 0..100 {
        assert!(r.claim(n, b));
    }
    assert!(!r.claim(7, b), "in flight, in memory");
    r.submit();
    r.commit(1).await;
    assert!(!r.claim(7, b), "committed, in memory");
    assert_eq!(r.d.disk_lookups(), 0);
    r.advance(b + 30);
    assert_eq!(
        r.d.hot_len(),
        0,
        "the bucket left memory once the frontier moved on"
    );
    assert!(!r.claim(7, b), "found on disk");
    assert_eq!(r.d.disk_lookups(), 1);
    assert!(r.claim(1000, b), "a late record nobody delivered");
    assert!(!r.claim(1000, b), "…is in flight");
    r.submit();
    r.commit(1).await;
    r.advance(b + 31);
    assert!(!r.claim(1000, b), "…and then on disk");
    assert!(r.claim(1001, b - 1), "another bucket, another record");
}

#[tokio::test]
async fn memory_keeps_a_bucket_until_its_batches_are_committed() {
    let mut r = Rig::new(cfg(2, 24, 1_000_000));
    let b = r.base;
    r.advance(b);
    for n in 0..10 {
        r.claim(n, b);
    }
    r.submit();
    r.claim(10, b);
    r.advance(b + 30);
    assert_eq!(
        r.d.hot_len(),
        11,
        "batch 1 is not committed, claim 10 not even submitted"
    );
    assert!(!r.claim(3, b) && !r.claim(10, b));
    r.submit();
    r.commit(1).await;
    r.advance(b + 30);
    assert_eq!(r.d.hot_len(), 11, "batch 2 holds ids of the bucket too");
    r.commit(1).await;
    r.advance(b + 30);
    assert_eq!(r.d.hot_len(), 0);
    assert!(!r.claim(10, b) && !r.claim(3, b));
}

#[tokio::test]
async fn abandoned_claims_are_forgotten() {
    let mut r = Rig::new(cfg(2, 24, 1_000_000));
    let b = r.base;
    r.advance(b + 30);
    assert!(
        r.claim(1, b + 30) && r.claim(2, b),
        "one in memory, one late"
    );
    r.abandon();
    assert_eq!(r.d.hot_len(), 0);
    assert!(r.claim(1, b + 30) && r.claim(2, b), "claimable again");
    r.submit();
    assert!(!r.claim(1, b + 30) && !r.claim(2, b));
}

#[tokio::test]
async fn the_memory_cap_moves_the_cutoff_and_disk_answers_the_rest() {
    let mut r = Rig::new(cfg(6, 24, 50));
    let b = r.base;
    r.advance(b + 4);
    for k in 0..5u32 {
        for n in 0..20 {
            assert!(r.claim(u64::from(k) * 100 + n, b + k));
        }
        r.submit();
    }
    r.commit(5).await;
    r.advance(b + 4);
    assert!(r.d.hot_len() <= 50, "{}", r.d.hot_len());
    for k in 0..5u32 {
        assert!(!r.claim(u64::from(k) * 100 + 5, b + k), "bucket {k}");
    }
    assert!(
        r.d.disk_lookups() >= 3,
        "the oldest buckets were answered from disk"
    );
}

#[tokio::test]
async fn a_restart_reloads_the_window_and_the_horizon_prunes_the_rest() {
    let mut r = Rig::new(cfg(2, 24, 1_000_000));
    let b = r.base;
    for (n, bucket) in [(1, b - 200), (2, b - 100), (3, b - 5), (4, b)] {
        r.advance(bucket);
        assert!(r.claim(n, bucket));
        r.submit();
        r.commit(1).await;
    }
    r.reload(cfg(2, 24, 1_000_000));
    assert_eq!(
        r.d.hot_len(),
        2,
        "the two buckets within the window of the newest"
    );
    assert!(!r.claim(4, b) && !r.claim(3, b - 5));
    assert_eq!(r.d.disk_lookups(), 0);
    assert!(!r.claim(2, b - 100), "from disk");
    r.advance(b);
    assert!(!r.claim(2, b - 100), "within the horizon (144 buckets)");
    assert!(
        r.claim(1, b - 200),
        "pruned: beyond the horizon a repeat is not recognised"
    );
}

#[tokio::test]
async fn legacy_ids_are_honoured_and_horizon_zero_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = State::open(dir.path()).unwrap();
    let mut k = crate::state::prefix(b's', FEED);
    k.extend_from_slice(&1u64.to_be_bytes());
    k.extend_from_slice(&1u64.to_be_bytes());
    s.tree()
        .unwrap()
        .insert(k, &[1, 0, 3, b'a', b'b', b'c'][..])
        .unwrap();
    let mut d = Dedup::load(&s, FEED, cfg(2, 24, 100)).unwrap();
    assert!(
        !d.claim("abc", 5).unwrap(),
        "delivered by the previous version"
    );
    assert!(d.claim("abd", 5).unwrap());
    let mut off = Dedup::load(&s, &feed_key("t2", "x"), cfg(2, 0, 100)).unwrap();
    assert!(off.claim("abc", 5).unwrap() && off.claim("abc", 5).unwrap());
}

/// Random claims, repeats, submits, abandons, commits, frontier moves and restarts, checked
/// against the plain truth: a claim is refused exactly when that id was claimed before and
/// not abandoned (or lost in a crash before its commit). Records stay within the horizon.
#[tokio::test]
async fn matches_a_model_of_exact_sets_under_random_operations() {
    for seed in 1..=6u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let c = cfg(1, 6, 40 + (seed as usize) * 10);
        let mut r = Rig::new(c);
        let mut frontier = r.base;
        r.advance(frontier);
        // id -> bucket, for every id delivered or in flight
        let mut truth: HashMap<u64, u32> = HashMap::new();
        let mut open: HashSet<u64> = HashSet::new();
        let mut in_batches: Vec<Vec<u64>> = vec![];
        let mut next = 0u64;
        for step in 0..3000 {
            match rng.u32(0..100) {
                0..=59 => {
                    // A record: new, or a repeat with the first copy's time.
                    let repeat = rng.u32(0..3) == 0 && !truth.is_empty();
                    let (n, bucket) = if repeat {
                        let keys: Vec<_> = truth.keys().copied().collect();
                        let n = keys[rng.usize(0..keys.len())];
                        (n, truth[&n])
                    } else {
                        next += 1;
                        (next, frontier.saturating_sub(rng.u32(0..20)))
                    };
                    let expect_new = !truth.contains_key(&n) && !open.contains(&n);
                    let got = r.claim(n, bucket);
                    assert_eq!(
                        got, expect_new,
                        "seed {seed} step {step} id {n} bucket {bucket}"
                    );
                    if got {
                        open.insert(n);
                        truth.insert(n, bucket);
                    }
                }
                60..=74 => {
                    r.submit();
                    in_batches.push(open.drain().collect());
                }
                75..=77 => {
                    r.abandon();
                    for n in open.drain() {
                        truth.remove(&n);
                    }
                }
                78..=89 => {
                    let k = rng.usize(0..=r.pending.len());
                    r.commit(k).await;
                    in_batches.drain(..k);
                }
                90..=97 => {
                    frontier += rng.u32(0..3);
                    r.advance(frontier);
                    // Keep the model within the horizon: older ids are never asked again.
                    truth.retain(|_, b| *b + 30 > frontier);
                }
                _ => {
                    // kill -9: what was not committed is lost, and will be delivered again.
                    r.abandon();
                    for n in open.drain().chain(in_batches.drain(..).flatten()) {
                        truth.remove(&n);
                    }
                    r.pending.clear();
                    r.submitted = 0;
                    r.committed = 0;
                    r.reload(c);
                    r.advance(frontier);
                }
            }
            assert!(
                r.d.hot_len() <= c.hot_ids + 2000,
                "memory stays near the cap: {}",
                r.d.hot_len()
            );
        }
    }
}
