//! The report of `o365fwd state show`: for every configured feed and every feed state knows,
//! the cursor, content done and in progress, failures, gaps and rejected records, and where
//! the live feed begins; then the file sinks' committed lengths.
//!
//! sled lets one process open the state directory, so the same report is built by the CLI
//! from a state it opens, or by the running agent, which serves it at `/state` of its
//! `[agent] listen` endpoint (`?format=json|text`); `state show` asks the agent when the
//! directory is locked.

use std::fmt::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::coverage::Published;
use crate::state::{FeedSummary, SinkOffset, State, StateError};

/// The largest report `state show` reads from an agent: far more than any state holds
/// (every failure, gap and rejection of a week, per feed), and a bound on what it buffers.
pub const MAX_REPORT: usize = 64 << 20;

pub struct StateReport {
    dir: PathBuf,
    size_on_disk: u64,
    feeds: Vec<(FeedSummary, Option<Published>)>,
    sinks: Vec<(String, SinkOffset)>,
}

impl StateReport {
    /// Reads the report from `state` (synchronous sled reads: run it off the async
    /// workers).
    pub fn build(cfg: &Config, state: &State) -> Result<StateReport, StateError> {
        let dir = cfg.agent.state_dir.clone();
        let mut feeds = Vec::new();
        for f in all_feeds(cfg, state)? {
            let summary = state.summary(&f)?;
            let coverage = crate::coverage::read(&dir, &f).ok().flatten();
            feeds.push((summary, coverage));
        }
        let mut sinks = Vec::new();
        for name in cfg.sinks.keys() {
            if let Some(off) = state.sink_offset(name)? {
                sinks.push((name.clone(), off));
            }
        }
        Ok(StateReport {
            size_on_disk: state.size_on_disk(),
            dir,
            feeds,
            sinks,
        })
    }

    /// The feeds' summaries as pretty JSON (no trailing newline).
    pub fn json(&self) -> Result<String, serde_json::Error> {
        let sums: Vec<&FeedSummary> = self.feeds.iter().map(|(s, _)| s).collect();
        serde_json::to_string_pretty(&sums)
    }

    /// The report for people, every line ending in a newline.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "state {} ({} bytes on disk)",
            self.dir.display(),
            self.size_on_disk
        )?;
        for (s, coverage) in &self.feeds {
            write!(out, "{s}")?;
            if let Some(c) = coverage {
                let list = if c.settled { "known" } else { "still settling" };
                writeln!(
                    out,
                    "  live feed begins {} (a backfill meets it there; what it delivered from before it: {list})",
                    c.from.to_rfc3339()
                )?;
            }
        }
        for (name, off) in &self.sinks {
            writeln!(
                out,
                "sink {name}: {} committed up to byte {}",
                off.path, off.length
            )?;
        }
        Ok(())
    }
}

/// Every feed of the configuration and of state, as state keys, sorted.
pub fn all_feeds(cfg: &Config, state: &State) -> Result<Vec<String>, StateError> {
    let mut feeds = state.feeds()?;
    for t in cfg.tenants.values() {
        for ct in &t.content_types {
            let k = crate::state::feed_key(&t.tenant_id, ct.as_str());
            if !feeds.contains(&k) {
                feeds.push(k);
            }
        }
    }
    feeds.sort();
    Ok(feeds)
}
