//! Scenario (c) of the benchmark: do memory and state stay flat while a large tenant's
//! records arrive day after day? Drives the real de-duplication and state store the way a
//! feed and the committer do, with a simulated clock: blobs of 200 records listed in
//! order, each record's `CreationTime` 1–90 minutes before its blob (one in fifty up to 12
//! hours), 5 % of records repeating one of the last 16 blobs', every record claimed through
//! [`Dedup`], batches committed with their blob's progress, the cursor and the ids filed by
//! time (as the committer files them), content pruned every simulated hour by the feed's
//! rule. Prints, at the end of each day, the store's size on disk and this process's RSS.
//!
//! The agent reads the wall clock, so weeks of agent time cannot be sped up end to end;
//! this runs the same `Dedup`/`State` code under a simulated clock instead.
//!
//! `cargo run --release --example state_growth -- DAYS RECORDS_PER_DAY [DIR]`

use chrono::{DateTime, Duration, Utc};
use o365fwd::state::seen::record_bucket;
use o365fwd::state::{
    ContentEntry, ContentStatus, Cursor, Dedup, DedupConfig, FeedCommit, Prune, SeenIds, State,
};

const RECORDS_PER_BLOB: u64 = 200;
/// Records per commit: a committer group of a few batches.
const COMMIT: usize = 2000;
const DUP_RATE: u64 = 5; // percent
const DUP_REACH: usize = 16 * RECORDS_PER_BLOB as usize;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let days: i64 = args.next().map_or(Ok(30), |s| s.parse())?;
    let per_day: u64 = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("o365fwd-state-growth-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::open(&dir)?;
    let feed = o365fwd::state::feed_key("5e1f0000-0000-4000-8000-000000000000", "Audit.Exchange");
    let agent = o365fwd::config::AgentConfig::default();
    let cfg: DedupConfig = o365fwd::feed::dedup_config(&agent);
    let horizon = cfg.horizon;
    let overlap = Duration::from_std(agent.overlap)?;
    let mut dedup = Dedup::load(&state, &feed, cfg)?;
    // The simulated days end before the real now: the frontier never runs ahead of the clock.
    let start = Utc::now() - Duration::days(days + 1);
    let blobs_per_day = (per_day / RECORDS_PER_BLOB).max(1);
    let step_ms = 86_400_000 / blobs_per_day as i64;
    let mut rng = fastrand::Rng::with_seed(16);
    let mut next_id = 0u64;
    let mut recent: Vec<(String, DateTime<Utc>)> = Vec::with_capacity(DUP_REACH);
    let mut pending = Pending::default();
    let (mut submitted, mut committed, mut repeats) = (0u64, 0u64, 0u64);
    let mut pruned_at = start;
    println!("day,records,state_bytes,rss_kb,peak_rss_kb,hot_ids,disk_lookups,repeats");
    for day in 0..days {
        for b in 0..blobs_per_day {
            let created = start + Duration::days(day) + Duration::milliseconds(b as i64 * step_ms);
            dedup.advance(created, committed)?;
            for _ in 0..RECORDS_PER_BLOB {
                let (id, t) = if rng.u64(0..100) < DUP_RATE && !recent.is_empty() {
                    recent[rng.usize(0..recent.len())].clone()
                } else {
                    next_id += 1;
                    let lag = if rng.u32(0..50) == 0 {
                        rng.i64(90..720)
                    } else {
                        rng.i64(1..90)
                    };
                    let r = (guid(next_id), created - Duration::minutes(lag));
                    if recent.len() < DUP_REACH {
                        recent.push(r.clone());
                    } else {
                        recent[(next_id as usize) % DUP_REACH] = r.clone();
                    }
                    r
                };
                if dedup.claim(&id, record_bucket(Some(t), created))? {
                    pending.seen.push(record_bucket(Some(t), created), &id);
                    pending.records += 1;
                } else {
                    repeats += 1;
                }
            }
            pending.content.push((
                format!("{}{:012}", created.timestamp_millis(), b),
                ContentEntry {
                    created,
                    expiration: created + Duration::days(7),
                    uri: format!("https://example.invalid/content/{b}"),
                    status: ContentStatus::Done {
                        records: RECORDS_PER_BLOB,
                    },
                },
            ));
            submitted += 1;
            dedup.sealed(submitted);
            pending.batches += 1;
            if pending.records >= COMMIT {
                let p = std::mem::take(&mut pending);
                let c = FeedCommit {
                    content: p.content,
                    cursor: Some(Cursor {
                        listed_until: created,
                    }),
                    seen: p.seen,
                    ..Default::default()
                };
                state.commit(&[(&feed, c)], &[], created).await?;
                committed += p.batches;
            }
            if created - pruned_at >= Duration::hours(1) {
                pruned_at = created;
                let relist_from = created - overlap;
                let frontier = dedup.frontier().unwrap_or(created);
                let rule = Prune {
                    now: created,
                    relist_from,
                    done_before: frontier - horizon,
                    legacy_horizon: horizon,
                };
                state.prune(&feed, &rule).await?;
            }
        }
        let (rss, hwm) = rss_kb();
        println!(
            "{},{},{},{},{},{},{},{}",
            day + 1,
            (day + 1) as u64 * blobs_per_day * RECORDS_PER_BLOB,
            state.size_on_disk(),
            rss,
            hwm,
            dedup.hot_len(),
            dedup.disk_lookups(),
            repeats
        );
    }
    drop(dedup);
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[derive(Default)]
struct Pending {
    content: Vec<(String, ContentEntry)>,
    seen: SeenIds,
    records: usize,
    batches: u64,
}

fn rss_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// A record id shaped like the API's (a GUID), unique per `n`.
fn guid(n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        n & 0xfff,
        (n >> 12) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}
