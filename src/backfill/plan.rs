//! A backfill's plan: the range cut into slices, the Graph query made for each, and what
//! the live feed already covers. Kept as `plan.json` in the job's directory and replaced
//! atomically (write, fsync, rename) whenever a query is made or a slice is split, so a
//! run stopped at any instant, even between creating a query and noting it, finds its
//! queries again (by their display name) instead of making them twice.
//!
//! How far each slice is delivered is not here: that moves with the sinks'
//! acknowledgements, in the job's sled store (see [`super::progress`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Shortest slice: below it a query over the service's record limit is delivered as is.
pub const MIN_SLICE: chrono::Duration = chrono::Duration::minutes(1);
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// The job's id: a digest of its arguments.
    pub job: String,
    pub tenant: String,
    pub tenant_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Graph `recordTypeFilters` (empty: every record type).
    pub record_types: Vec<String>,
    /// Content types delivered (a record's is the one the live feed files it under).
    pub content_types: Vec<String>,
    /// Where the live feed of each content type begins (published by the daemon).
    pub live_from: BTreeMap<String, DateTime<Utc>>,
    /// `--to` was the live feed's start: records at or after their feed's start are left
    /// to it. Otherwise they are delivered again (and counted).
    pub meet_live: bool,
    pub created: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub slices: Vec<Slice>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Slice {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The query for this slice, once asked for.
    #[serde(default)]
    pub query: Option<QueryRef>,
    /// Queries of this slice that the service failed or cancelled.
    #[serde(default)]
    pub failed_queries: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueryRef {
    /// `None` between asking for the query and hearing its id.
    pub id: Option<String>,
    pub name: String,
}

impl Slice {
    /// The key of the slice in the progress store.
    pub fn id(&self) -> String {
        format!("{}..{}", stamp(self.from), stamp(self.to))
    }

    pub fn len(&self) -> chrono::Duration {
        self.to - self.from
    }
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Plan {
    /// Cuts `[from, to)` into slices of `slice` (the last one shorter).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        job: String,
        tenant: (&str, &str),
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        slice: chrono::Duration,
        record_types: Vec<String>,
        content_types: Vec<String>,
        live_from: BTreeMap<String, DateTime<Utc>>,
        meet_live: bool,
    ) -> Plan {
        let slice = slice.max(MIN_SLICE);
        let mut slices = Vec::new();
        let mut at = from;
        while at < to {
            let end = at.checked_add_signed(slice).unwrap_or(to).min(to);
            slices.push(Slice {
                from: at,
                to: end,
                query: None,
                failed_queries: 0,
            });
            at = end;
        }
        Plan {
            version: VERSION,
            job,
            tenant: tenant.0.to_string(),
            tenant_id: tenant.1.to_string(),
            from,
            to,
            record_types,
            content_types,
            live_from,
            meet_live,
            created: Utc::now(),
            finished: None,
            slices,
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join("plan.json")
    }

    pub fn load(dir: &Path) -> Result<Option<Plan>, PlanError> {
        let path = Plan::path(dir);
        let err = |error: String| PlanError::Read {
            path: path.display().to_string(),
            error,
        };
        match std::fs::read(&path) {
            Ok(b) => {
                let p: Plan = serde_json::from_slice(&b).map_err(|e| err(e.to_string()))?;
                if p.version != VERSION {
                    return Err(err(format!(
                        "plan version {} (this build reads {VERSION})",
                        p.version
                    )));
                }
                Ok(Some(p))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Replaces `plan.json` atomically and durably.
    pub fn save(&self, dir: &Path) -> Result<(), PlanError> {
        let path = Plan::path(dir);
        let err = |error| PlanError::Write {
            path: path.display().to_string(),
            error,
        };
        let tmp = dir.join("plan.json.tmp");
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        })()
        .map_err(err)
    }

    pub fn slice(&self, from: DateTime<Utc>) -> Option<&Slice> {
        self.slices.iter().find(|s| s.from == from)
    }

    pub fn slice_mut(&mut self, from: DateTime<Utc>) -> Option<&mut Slice> {
        self.slices.iter_mut().find(|s| s.from == from)
    }

    /// Halves the slice starting at `from` (when it is longer than [`MIN_SLICE`]); the
    /// halves have no query yet. Returns whether it was split.
    pub fn split(&mut self, from: DateTime<Utc>) -> bool {
        let Some(i) = self.slices.iter().position(|s| s.from == from) else {
            return false;
        };
        let s = &self.slices[i];
        if s.len() <= MIN_SLICE {
            return false;
        }
        let half =
            chrono::Duration::seconds((s.len().num_seconds() / 2).max(MIN_SLICE.num_seconds()));
        let mid = s.from + half;
        let (a, b) = (
            Slice {
                from: s.from,
                to: mid,
                query: None,
                failed_queries: 0,
            },
            Slice {
                from: mid,
                to: s.to,
                query: None,
                failed_queries: 0,
            },
        );
        self.slices.splice(i..=i, [a, b]);
        true
    }

    /// The display name of the `attempt`th query of a slice: unique per job, slice and
    /// attempt, so a query made just before a crash is found again.
    pub fn query_name(&self, s: &Slice) -> String {
        let attempt = if s.failed_queries == 0 {
            String::new()
        } else {
            format!(" #{}", s.failed_queries + 1)
        };
        format!("o365fwd backfill {} {}{attempt}", self.job, s.id())
    }
}

#[cfg(test)]
mod tests;
