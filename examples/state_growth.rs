//! Scenario (c) of the benchmark: does state stay flat over a month? Drives the real state
//! store the way the agent does (one commit per batch with the blob done and its record ids
//! seen, pruning every simulated hour with the default horizon and overlap) through simulated
//! days, and prints the store's size on disk at the end of each day.
//!
//! The agent reads the wall clock, so a month of agent time cannot be sped up end to end;
//! this drives the same `State::commit`/`State::prune` calls with a simulated clock instead.
//!
//! `cargo run --release --example state_growth -- DAYS RECORDS_PER_DAY [DIR]`

use chrono::{Duration, TimeZone, Utc};
use o365fwd::state::{ContentEntry, ContentStatus, Cursor, FeedCommit, State};

const RECORDS_PER_BLOB: u64 = 200;
const BATCH: u64 = 500;

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
    let feed = o365fwd::state::feed_key("5e1f0000-0000-4000-8000-000000000000", "Audit.General");
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .ok_or("time")?;
    let blobs_per_day = (per_day / RECORDS_PER_BLOB).max(1);
    let step_ms = 86_400_000 / blobs_per_day as i64;
    let mut id = 0u64;
    println!("day,records,size_bytes");
    for day in 0..days {
        for b in 0..blobs_per_day {
            let now = start + Duration::days(day) + Duration::milliseconds(b as i64 * step_ms);
            let mut done = 0;
            while done < RECORDS_PER_BLOB {
                let n = BATCH.min(RECORDS_PER_BLOB - done);
                let mut seen = o365fwd::state::SeenIds::default();
                for _ in 0..n {
                    id += 1;
                    seen.push(o365fwd::state::seen::bucket_of(now), &guid(id));
                }
                done += n;
                let status = if done == RECORDS_PER_BLOB {
                    ContentStatus::Done { records: done }
                } else {
                    ContentStatus::Partial { acked: done }
                };
                let commit = FeedCommit {
                    content: vec![(
                        format!("{}{:012}", now.timestamp_millis(), b),
                        ContentEntry {
                            created: now,
                            expiration: now + Duration::days(7),
                            uri: format!("https://example.invalid/content/{b}"),
                            status,
                        },
                    )],
                    cursor: Some(Cursor { listed_until: now }),
                    seen,
                    ..Default::default()
                };
                state.commit(&[(&feed, commit)], &[], now).await?;
            }
            if b % (blobs_per_day / 24).max(1) == 0 {
                let rule = o365fwd::state::Prune {
                    now,
                    relist_from: now - Duration::hours(1),
                    done_before: now - Duration::hours(24),
                    legacy_horizon: Duration::hours(24),
                };
                state.prune(&feed, &rule).await?;
                state.prune_seen(
                    &feed,
                    o365fwd::state::seen::bucket_of(now - Duration::hours(24)),
                )?;
            }
        }
        println!(
            "{},{},{}",
            day + 1,
            (day + 1) as u64 * per_day,
            state.size_on_disk()
        );
    }
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
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
