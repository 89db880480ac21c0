//! Backfill: audit history beyond the Management API's 7 days, read through the Microsoft
//! Graph audit log search and delivered through the configured formats and sinks.
//!
//! ```text
//!  plan: [from, to) in slices ─► a Graph query per slice (at most `concurrency` at once;
//!        made, or found again after a stop)   ─► status notStarted → running → succeeded
//!        ─► over the record limit? split the slice and ask again
//!        ─► pages (@odata.nextLink, Graph host only) ─► auditData = the audit record
//!        ─► in the slice's range, of a wanted content type, not the live feed's, not seen
//!        ─► pipeline ─► sinks ◄─ acknowledgements ─► slice progress in the job's store
//! ```
//!
//! A job lives in `{state_dir}/backfill/{tenant}-{job id}/`: `plan.json` ([`plan`]) and a
//! sled store of its own ([`progress`]), never the daemon's, which may keep running. The
//! job id is a digest of the arguments, so running the same command again continues it:
//! slices already delivered are skipped, queries the service already ran are reused, a
//! slice stopped midway resumes after the records every sink acknowledged, and a file sink
//! is cut back to what was committed.
//!
//! Where the live feed begins ([`crate::coverage`]) the backfill stops: records at or after
//! it are the daemon's, and records before it that the daemon delivered anyway (listed in
//! its `.early` file) are left out and counted as overlap.

mod deliver;
pub mod plan;
pub mod progress;
mod queries;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::graph::{AuditLogQuery, GraphClient, QueryStatus};
use crate::pipeline::{FeedShared, Pipeline};
use crate::record::ContentType;
use crate::state::seen::IdSet;
use crate::state::{State, StateError};
use plan::{Plan, PlanError};

/// A query reporting more records than this is split before its pages are read: the ids of
/// the slice being delivered are held in memory, so this bounds the memory of a backfill
/// whatever the tenant produced. It is also the service's baseline per-query limit.
pub const MAX_SLICE_RECORDS: u64 = 1_000_000;
/// Records read from one query at most, whatever the service says (a misbehaving service
/// cannot grow memory past this).
const HARD_CAP: u64 = 2 * MAX_SLICE_RECORDS;
/// Problems listed one by one in the summary (the rest are counted).
const LISTED: usize = 20;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Queries asked for and not yet delivered, at most.
    pub concurrency: usize,
    /// How often a query's status is read.
    pub poll_interval: Duration,
    /// A query still not finished after this is left for the next run.
    pub query_timeout: Duration,
    /// Queries made per slice, and deliveries tried per query, before giving up this run.
    pub attempts: u32,
    pub batch_size: usize,
}

/// What the live feeds of the tenant published (see [`crate::coverage`]): the ids they
/// delivered from before their start, and whether that list is complete yet.
#[derive(Debug, Default)]
pub struct LiveFeed {
    state_dir: PathBuf,
    tenant_id: String,
    /// The feeds this backfill meets: their lists must be settled before the last day.
    meets: Vec<ContentType>,
    pub early: IdSet,
    /// False when a daemon's list was capped: some overlap may be delivered again.
    pub complete: bool,
    pub settled: bool,
}

impl LiveFeed {
    /// Reads what the tenant's feeds published; `meets` are the content types delivered.
    pub fn read(
        state_dir: &Path,
        tenant_id: &str,
        meets: &[ContentType],
    ) -> Result<LiveFeed, crate::coverage::CoverageError> {
        let mut live = LiveFeed {
            state_dir: state_dir.to_path_buf(),
            tenant_id: tenant_id.to_string(),
            meets: meets.to_vec(),
            ..LiveFeed::default()
        };
        live.load()?;
        Ok(live)
    }

    fn load(&mut self) -> Result<(), crate::coverage::CoverageError> {
        let (mut early, mut complete, mut settled) = (IdSet::default(), true, true);
        for ct in ContentType::ALL {
            let key = crate::state::feed_key(&self.tenant_id, ct.as_str());
            if let Some(p) = crate::coverage::read(&self.state_dir, &key)? {
                complete &= p.early_ids(&mut early, crate::coverage::MAX_EARLY)?.1;
                settled &= p.settled || !self.meets.contains(&ct);
            }
        }
        if !complete {
            tracing::warn!(
                "A live feed delivered more records from before its start than it lists; some of them may be delivered again (sinks keyed by record id absorb them)."
            );
        }
        (self.early, self.complete, self.settled) = (early, complete, settled);
        Ok(())
    }

    /// Reads the published lists again until they are settled.
    fn refresh(&mut self) -> bool {
        if !self.settled {
            if let Err(e) = self.load() {
                tracing::warn!(error = %e, "Cannot read the live feeds' coverage.");
            }
        }
        self.settled
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("Microsoft Graph refused the audit search ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot get a Graph token: {0}")]
    Auth(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the sinks stopped before everything was delivered")]
    Closed,
}

/// What a run did, for the summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub slices: usize,
    pub slices_done: usize,
    pub records_read: u64,
    pub submitted: u64,
    pub duplicates: u64,
    /// Ids the live feed delivered (its `.early` list): left out.
    pub overlap: u64,
    /// Records at or after their content type's live-feed start: left to the live feed.
    pub live_covered: u64,
    /// Records inside the live feed's range delivered again (an explicit `--to` past it).
    pub live_redelivered: u64,
    /// Records outside their slice (the service's range ends are inclusive): delivered by
    /// the neighbouring slice, or the live feed.
    pub outside: u64,
    /// Records of content types not asked for.
    pub filtered: u64,
    pub queries_created: u64,
    pub queries_reused: u64,
    pub queries_failed: u64,
    pub splits: u64,
    pub malformed_pages: u64,
    pub malformed_records: u64,
    /// Slices not delivered in this run, and other losses, one line each (the first few).
    pub problems: Vec<String>,
    pub problem_count: u64,
    pub interrupted: bool,
}

impl Summary {
    fn problem(&mut self, line: String) {
        tracing::error!(problem = %line, "Backfill problem.");
        self.problem_count += 1;
        if self.problems.len() < LISTED {
            self.problems.push(line);
        }
    }
}

/// A slice whose query is asked for and not yet delivered.
struct Active {
    from: DateTime<Utc>,
    query: String,
    status: QueryStatus,
    info: Option<AuditLogQuery>,
    since: Instant,
    next_check: Instant,
    poll_errors: u32,
    deliveries: u32,
    /// Its succeeded query was looked at (record limit) and may be delivered.
    checked: bool,
    /// The slice's feeds: their id sets hold what this run submitted, so a retried delivery
    /// sends nothing twice even before it is committed.
    feeds: Option<SliceFeeds>,
}

/// A slice's feed of one content type, and the ids it delivered or has in flight (those
/// committed before a stop are loaded from the job's store): each is submitted once.
struct SliceFeed {
    feed: Arc<FeedShared>,
    seen: IdSet,
}

type SliceFeeds = HashMap<ContentType, SliceFeed>;

impl Active {
    fn new(from: DateTime<Utc>, q: AuditLogQuery) -> Active {
        Active {
            from,
            query: q.id.clone(),
            status: q.status(),
            info: Some(q),
            since: Instant::now(),
            next_check: Instant::now(),
            poll_errors: 0,
            deliveries: 0,
            checked: false,
            feeds: None,
        }
    }
}

pub struct Backfill<'a> {
    client: &'a GraphClient,
    pipeline: Pipeline,
    state: State,
    dir: PathBuf,
    plan: Plan,
    settings: Settings,
    live: LiveFeed,
    content_types: Vec<ContentType>,
    stop: CancellationToken,
    pb: ProgressBar,
    progress_feed: Arc<FeedShared>,
    summary: Summary,
    done: HashSet<DateTime<Utc>>,
    given_up: HashSet<DateTime<Utc>>,
    /// Queries of a slice the service failed in this run (a new run tries afresh).
    failed_now: HashMap<DateTime<Utc>, u32>,
    to_prune: Vec<plan::Slice>,
    /// Queries of the tenant by display name, read once when a stop left a query unnoted.
    orphans: Option<HashMap<String, String>>,
}

impl<'a> Backfill<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: &'a GraphClient,
        pipeline: Pipeline,
        state: State,
        dir: &Path,
        plan: Plan,
        settings: Settings,
        live: LiveFeed,
        stop: CancellationToken,
        pb: ProgressBar,
    ) -> Backfill<'a> {
        let content_types = plan
            .content_types
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect();
        Backfill {
            progress_feed: progress::progress_feed(&plan.tenant, &plan.tenant_id),
            client,
            pipeline,
            state,
            dir: dir.to_path_buf(),
            plan,
            settings,
            live,
            content_types,
            stop,
            pb,
            summary: Summary::default(),
            done: HashSet::new(),
            given_up: HashSet::new(),
            failed_now: HashMap::new(),
            to_prune: Vec::new(),
            orphans: None,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Runs until every slice is delivered or given up for this run, or until `stop`.
    pub async fn run(&mut self) -> Result<(), BackfillError> {
        for s in self.plan.slices.clone() {
            if progress::read(&self.state, &s)? == progress::Delivered::Done {
                self.done.insert(s.from);
                progress::prune(&self.state, &s).await?;
            }
        }
        let mut active: Vec<Active> = Vec::new();
        self.show(&active);
        loop {
            if self.stop.is_cancelled() {
                self.summary.interrupted = true;
                break;
            }
            while active.len() < self.settings.concurrency.max(1) {
                let Some(from) = self.next_pending(&active) else {
                    break;
                };
                match self.activate(from).await? {
                    Some(a) => active.push(a),
                    None if self.stop.is_cancelled() => break,
                    None => {}
                }
            }
            if active.is_empty() {
                break;
            }
            self.poll(&mut active).await?;
            self.show(&active);
            self.hold_for_live_feed(&mut active);
            let ready = active
                .iter()
                .enumerate()
                .filter(|(_, a)| a.checked && a.next_check <= Instant::now())
                .min_by_key(|(_, a)| a.from)
                .map(|(i, _)| i);
            if let Some(i) = ready {
                let a = active.remove(i);
                if let Some(back) = self.deliver_slice(a).await? {
                    active.push(back);
                }
                self.show(&active);
                continue;
            }
            let next = active.iter().map(|a| a.next_check).min();
            let wait = next.map_or(self.settings.poll_interval, |n| {
                n.saturating_duration_since(Instant::now())
            });
            tokio::select! {
                _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
                _ = self.stop.cancelled() => {}
            }
        }
        self.summary.slices = self.plan.slices.len();
        self.summary.slices_done = self.done.len();
        for s in self.plan.slices.clone() {
            if !self.done.contains(&s.from)
                && !self.given_up.contains(&s.from)
                && !self.summary.interrupted
            {
                self.summary.problem(format!("{}: not delivered", s.id()));
            }
        }
        Ok(())
    }

    /// After the pipeline has drained: forgets the ids of delivered slices and marks the
    /// job finished when every slice is done.
    pub async fn close(&mut self) -> Result<bool, BackfillError> {
        let mut all = true;
        for s in self.plan.slices.clone() {
            match progress::read(&self.state, &s)? {
                progress::Delivered::Done => progress::prune(&self.state, &s).await?,
                _ => all = false,
            }
        }
        if all && self.plan.finished.is_none() {
            self.plan.finished = Some(Utc::now());
            self.plan.save(&self.dir)?;
        }
        Ok(all)
    }

    /// Slices within a day of the live feed's start wait (their queries may run) until
    /// the live feed's list of what it delivered from before its start is settled, or are
    /// left for the next run after `query_timeout`.
    fn hold_for_live_feed(&mut self, active: &mut Vec<Active>) {
        let boundary = self
            .content_types
            .iter()
            .filter_map(|c| self.plan.live_from.get(c.as_str()))
            .min()
            .map(|from| *from - crate::coverage::SETTLE);
        let Some(boundary) = boundary else { return };
        let now = Instant::now();
        let mut waiting = Vec::new();
        for (i, a) in active.iter_mut().enumerate() {
            let near = self.plan.slice(a.from).is_some_and(|s| s.to > boundary);
            if a.checked && near && a.next_check <= now {
                waiting.push(i);
            }
        }
        if waiting.is_empty() || self.live.refresh() {
            return;
        }
        for i in waiting.into_iter().rev() {
            if active[i].since.elapsed() > self.settings.query_timeout {
                let a = active.remove(i);
                self.give_up(a.from, "the live feed has not yet listed a day past its start, so what it delivered from before it is not known yet; run again once it has");
            } else {
                active[i].next_check = crate::bounds::later(now, self.settings.poll_interval);
            }
        }
    }

    /// The earliest slice not done, not given up and not active.
    fn next_pending(&self, active: &[Active]) -> Option<DateTime<Utc>> {
        self.plan.slices.iter().map(|s| s.from).find(|f| {
            !self.done.contains(f)
                && !self.given_up.contains(f)
                && !active.iter().any(|a| a.from == *f)
        })
    }

    fn give_up(&mut self, from: DateTime<Utc>, why: &str) {
        self.given_up.insert(from);
        let id = self
            .plan
            .slice(from)
            .map(plan::Slice::id)
            .unwrap_or_default();
        self.summary.problem(format!("{id}: {why}"));
    }

    fn show(&self, active: &[Active]) {
        let running = active
            .iter()
            .filter(|a| a.status != QueryStatus::Succeeded)
            .count();
        self.pb.set_length(self.plan.slices.len() as u64);
        self.pb.set_position(self.done.len() as u64);
        let statuses: Vec<String> = active
            .iter()
            .take(4)
            .map(|a| format!("{} {}", a.from.format("%Y-%m-%d %H:%M"), a.status))
            .collect();
        self.pb.set_message(format!(
            "{} records, {} queries waiting: {}",
            self.summary.submitted,
            running,
            statuses.join(", ")
        ));
    }
}
