//! One (tenant, content type) poll loop: list content in windows of at most 24 hours from
//! the cursor (minus an overlap, so late-listed content is not missed) up to now, skip blobs
//! already done, fetch the rest, drop record ids already delivered, and submit batches in
//! listing order. The cursor moves only through the pipeline, after everything before it.

pub mod blobs;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, BadEntry, ContentInfo, Page, TenantClient};
use crate::config::AgentConfig;
use crate::pipeline::{Batch, CommitOp, FeedShared, Pipeline};
use crate::state::{ContentEntry, ContentStatus, Cursor, Dedup, DedupConfig, Gap, Prune, State};
use crate::telemetry::progress::Progress;

/// The API refuses windows starting more than 7 days back; stay a few minutes inside, as
/// mature clients do, so a slow request does not cross the line.
pub const MAX_AGE: chrono::Duration = chrono::Duration::minutes(7 * 24 * 60 - 5);
/// Longest window the API accepts.
pub const MAX_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// Failed blobs retried per poll at most (memory stays bounded however many failed).
const MAX_RETRIED: usize = 1000;
/// The API's 15-minute rule for starting subscriptions.
const START_INTERVAL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("stopping")]
    Stopped,
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("the subscription is not enabled and was started less than 15 minutes ago")]
    SubscriptionPending,
}

pub struct Feed {
    shared: Arc<FeedShared>,
    client: Arc<TenantClient>,
    state: State,
    pipeline: Pipeline,
    cfg: AgentConfig,
    stop: CancellationToken,
    last_start: Option<Instant>,
    last_prune: Option<Instant>,
    /// The de-duplication frontier at the last prune.
    pruned_at: Option<DateTime<Utc>>,
    /// Record ids delivered or in flight (loaded when the feed starts).
    dedup: Option<Dedup>,
    /// Batches submitted so far: the number the committer's count is compared with.
    submitted: u64,
    /// The latest cursor handed to the pipeline: state only has it once committed, and the
    /// next poll must not report the same gap again or re-list more than it needs to.
    submitted_cursor: Option<DateTime<Utc>>,
    start_delay: Duration,
    /// What `/health` and the watchdog read to tell a working feed from a stuck one.
    progress: Arc<Progress>,
    /// Where this feed begins, published for `backfill`.
    coverage: crate::coverage::FeedCoverage,
}

/// The first-poll delay of the `i`th feed started together: groups of 32 feeds, 100 ms
/// apart, never more than one poll interval. A group's polls still end together, so their
/// commits share one durable write (spreading every feed on its own multiplied the idle
/// CPU by four: one fsync per poll); 250 feeds start within 0.8 s, a tenant's five at once.
pub fn stagger(i: usize, poll_interval: Duration) -> Duration {
    let group = (i / STAGGER_GROUP).min(u32::MAX as usize) as u32;
    (Duration::from_millis(100) * group).min(poll_interval)
}

/// Feeds that start (and so keep polling) together.
const STAGGER_GROUP: usize = 32;

impl Feed {
    pub fn new(
        shared: Arc<FeedShared>,
        client: Arc<TenantClient>,
        state: State,
        pipeline: Pipeline,
        cfg: AgentConfig,
        stop: CancellationToken,
    ) -> Feed {
        Feed {
            coverage: crate::coverage::FeedCoverage::new(&cfg.state_dir, &shared.id.key),
            shared,
            client,
            state,
            pipeline,
            cfg,
            stop,
            last_start: None,
            last_prune: None,
            pruned_at: None,
            dedup: None,
            submitted: 0,
            submitted_cursor: None,
            start_delay: Duration::ZERO,
            progress: Arc::default(),
        }
    }

    /// Reports progress to this handle (the one `/health` and the watchdog watch).
    pub fn with_progress(mut self, progress: Arc<Progress>) -> Feed {
        self.progress = progress;
        self
    }

    /// Delays the first poll: feeds started together are staggered (see
    /// [`stagger`]) so hundreds of them do not poll the API, and hold their buffers and
    /// connections, all in the same instant.
    pub fn with_start_delay(mut self, delay: Duration) -> Feed {
        self.start_delay = delay;
        self
    }

    /// Polls until stopped.
    pub async fn run(mut self) {
        match Dedup::load(&self.state, &self.shared.id.key, dedup_config(&self.cfg)) {
            Ok(d) => self.dedup = Some(d),
            Err(e) => {
                // Without the seen set the feed could send records twice: refuse to poll.
                tracing::error!(feed = %self.shared.id.key, error = %e, "Cannot load the record ids this feed delivered; the feed does not poll.");
                return;
            }
        }
        if !self.start_delay.is_zero() && !self.pause(self.start_delay).await {
            return;
        }
        loop {
            let started = Instant::now();
            let polled = self.poll_once().await;
            self.progress.tick();
            match polled {
                Ok(()) => self.shared.metrics.polled(Utc::now()),
                Err(PollError::Stopped) | Err(PollError::Api(ApiError::Cancelled)) => return,
                Err(e) => {
                    tracing::error!(tenant = %self.shared.id.tenant, content_type = %self.shared.id.content_type, error = %e,
                        "Poll failed; the cursor did not move and the next poll retries.");
                    self.shared.metrics.poll_failed();
                }
            }
            if let Err(e) = self.maybe_prune().await {
                tracing::error!(feed = %self.shared.id.key, error = %e, "Pruning state failed.");
            }
            let wait = self.cfg.poll_interval.saturating_sub(started.elapsed());
            if !self.pause(wait.max(Duration::from_millis(10))).await {
                return;
            }
        }
    }

    /// Sleeps (a wait, not a stall); false when stopped meanwhile.
    async fn pause(&self, d: Duration) -> bool {
        let sleep = async {
            tokio::select! {
                _ = tokio::time::sleep(d) => true,
                _ = self.stop.cancelled() => false,
            }
        };
        self.progress.waiting(sleep).await
    }

    /// One pass: from the cursor (minus overlap) to now, in windows of at most 24 h.
    pub async fn poll_once(&mut self) -> Result<(), PollError> {
        let now = Utc::now();
        let earliest = now - MAX_AGE;
        let cursor = self
            .state
            .cursor(&self.shared.id.key)?
            .map(|c| c.listed_until)
            .max(self.submitted_cursor)
            .map(|listed_until| Cursor { listed_until });
        let overlap = chrono::Duration::from_std(self.cfg.overlap).unwrap_or(MAX_WINDOW);
        let mut start = match cursor {
            None => {
                let lookback = chrono::Duration::from_std(self.cfg.initial_lookback);
                self.coverage
                    .start(now - lookback.unwrap_or(MAX_AGE), earliest)
            }
            Some(c) => {
                if c.listed_until < earliest {
                    self.report_gap(c.listed_until, earliest, "the agent was not polling while this content expired upstream (the API keeps content for 7 days)").await?;
                }
                c.listed_until - overlap
            }
        };
        start = start.max(earliest);
        self.retry_failed(now).await?;
        while start < now {
            let end = (start + MAX_WINDOW).min(now);
            self.window(start, end, now).await?;
            start = end;
        }
        if let Some(listed) = self.submitted_cursor {
            self.coverage.listed(listed);
        }
        Ok(())
    }

    /// One window, read and delivered page by page, so memory holds one page however
    /// many entries the window lists.
    ///
    /// The cursor rule (DESIGN, "the delivery contract"): the cursor moves to `end` only in
    /// a batch submitted after every entry listed in `[start, end)` has its own batch: done,
    /// partial progress, failed and recorded, expired with a gap, or, for an entry that
    /// cannot be used at all, set aside and recorded as failed. The committer commits in
    /// submission order, so a committed cursor never passes an entry that is not accounted
    /// for in state. A page that cannot be read fails the window: the cursor stays where it
    /// was, and the next poll lists the window again (finished content is skipped).
    async fn window(
        &mut self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), PollError> {
        let client = self.client.clone();
        let ct = self.shared.id.content_type;
        let progress = self.progress.clone();
        let list = || {
            client
                .list_content(ct, start, end)
                .map(|l| l.observed(progress.clone()))
        };
        let mut listing = list()?;
        let mut first = true;
        loop {
            let page = match listing.next_page().await {
                Err(e) if first && matches!(e.code(), Some("AF20022") | Some("AF20023")) => {
                    self.ensure_subscription(&e).await?;
                    listing = list()?;
                    first = false;
                    continue;
                }
                r => r?,
            };
            first = false;
            let Some(page) = page else { break };
            self.page(page, now).await?;
        }
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: "".into(),
            records: vec![],
            ops: vec![CommitOp::Cursor(Cursor { listed_until: end })],
        })
        .await?;
        self.submitted_cursor = Some(end);
        // Everything listed before `end` is handled: the frontier moves there.
        self.advance(end)?;
        if let Err(e) = self.maybe_prune().await {
            tracing::error!(feed = %self.shared.id.key, error = %e, "Pruning state failed.");
        }
        Ok(())
    }

    /// Moves the de-duplication frontier (see `state::dedup`).
    pub(crate) fn advance(&mut self, t: DateTime<Utc>) -> Result<(), PollError> {
        let committed = self.shared.committed_batches();
        if let Some(d) = self.dedup.as_mut() {
            d.advance(t, committed)?;
        }
        Ok(())
    }

    /// One listing page: its unusable entries recorded, its blobs fetched and delivered in
    /// `contentCreated` order.
    async fn page(&mut self, page: Page, now: DateTime<Utc>) -> Result<(), PollError> {
        for b in page.bad {
            self.bad_entry(b, now).await?;
        }
        let mut entries = page.entries;
        entries.sort_by(|a, b| {
            (a.content_created, &a.content_id).cmp(&(b.content_created, &b.content_id))
        });
        entries.dedup_by(|a, b| a.content_id == b.content_id);
        let mut todo = Vec::new();
        for c in entries {
            match self.claim(&c, now).await {
                Ok(Some(skip)) => todo.push((c, skip)),
                Ok(None) => {}
                Err(e) => {
                    for (c, _) in &todo {
                        self.shared.release_content(&c.content_id);
                    }
                    return Err(e);
                }
            }
        }
        self.process(todo, self.cfg.blob_attempts.max(1)).await
    }

    /// A listing entry the agent cannot use: named, counted and recorded as failed (no URI:
    /// nothing to retry unless it is listed correctly), once; its neighbours go on.
    async fn bad_entry(&mut self, b: BadEntry, now: DateTime<Utc>) -> Result<(), PollError> {
        if self
            .state
            .content(&self.shared.id.key, &b.content_id)?
            .is_some()
            || !self.shared.claim_content(&b.content_id)
        {
            tracing::debug!(feed = %self.shared.id.key, content_id = %b.content_id, reason = %b.reason,
                "A listing entry that cannot be used is already recorded.");
            return Ok(());
        }
        self.shared
            .metrics
            .listing_entry_skipped(&b.content_id, &b.reason);
        // Kept until the content would have expired upstream, then pruned as usual.
        let expiration = now.checked_add_signed(MAX_AGE).unwrap_or(now);
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: b.content_id.as_str().into(),
            records: vec![],
            ops: vec![CommitOp::Content {
                content_id: b.content_id.clone(),
                entry: ContentEntry {
                    created: now,
                    expiration,
                    uri: String::new(),
                    status: ContentStatus::Failed {
                        attempts: 0,
                        error: format!("bad listing entry: {}", b.reason),
                        first_failed: now,
                        last_failed: now,
                        too_large: None,
                    },
                },
            }],
        })
        .await
    }

    /// Decides whether a listed blob needs work: returns how many records to skip, or None.
    async fn claim(
        &mut self,
        c: &ContentInfo,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, PollError> {
        let skip = match self.state.content(&self.shared.id.key, &c.content_id)? {
            Some(e) => match e.status {
                ContentStatus::Done { .. } | ContentStatus::Expired => return Ok(None),
                ContentStatus::Partial { acked } => acked,
                // Too large for the current cap: fetching it again would fail the same way.
                ContentStatus::Failed {
                    too_large: Some(limit),
                    ..
                } if self.client.max_blob_bytes() <= limit => return Ok(None),
                ContentStatus::Failed { .. } => 0,
            },
            None => 0,
        };
        if !self.shared.claim_content(&c.content_id) {
            return Ok(None);
        }
        if c.content_expiration <= now {
            self.expired(c, now).await?;
            return Ok(None);
        }
        Ok(Some(skip))
    }

    /// Blobs recorded as failed are retried on every poll until they work or expire.
    async fn retry_failed(&mut self, now: DateTime<Utc>) -> Result<(), PollError> {
        let mut todo = Vec::new();
        for (id, e) in self
            .state
            .failed_contents(&self.shared.id.key, MAX_RETRIED)?
        {
            if e.uri.is_empty() {
                continue;
            }
            let c = ContentInfo {
                content_type: self.shared.id.content_type.as_str().into(),
                content_id: id,
                content_uri: e.uri.clone(),
                content_created: e.created,
                content_expiration: e.expiration,
            };
            if let Some(skip) = self.claim(&c, now).await? {
                todo.push((c, skip));
            }
        }
        if !todo.is_empty() {
            tracing::info!(feed = %self.shared.id.key, blobs = todo.len(), "Retrying blobs that failed earlier.");
        }
        // One attempt each: they had their retries when they first failed, and a blob that
        // stays broken must not hold up the rest of the poll.
        self.process(todo, 1).await
    }

    async fn expired(&mut self, c: &ContentInfo, now: DateTime<Utc>) -> Result<(), PollError> {
        let reason = format!(
            "content {} expired upstream before it was delivered",
            c.content_id
        );
        self.shared
            .metrics
            .gap(c.content_created, c.content_expiration, &reason);
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: c.content_id.as_str().into(),
            records: vec![],
            ops: vec![
                CommitOp::Content {
                    content_id: c.content_id.clone(),
                    entry: entry(c, ContentStatus::Expired),
                },
                CommitOp::Gap(Gap {
                    from: c.content_created,
                    to: c.content_expiration,
                    reason,
                    detected_at: now,
                }),
            ],
        })
        .await
    }

    async fn report_gap(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), PollError> {
        self.shared.metrics.gap(from, to, reason);
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: "".into(),
            records: vec![],
            ops: vec![
                CommitOp::Gap(Gap {
                    from,
                    to,
                    reason: reason.to_string(),
                    detected_at: Utc::now(),
                }),
                CommitOp::Cursor(Cursor { listed_until: to }),
            ],
        })
        .await?;
        self.submitted_cursor = Some(to);
        Ok(())
    }

    /// Starts the subscription when the API says it is missing or disabled, at most once per
    /// 15 minutes (the API's own rule).
    async fn ensure_subscription(&mut self, why: &ApiError) -> Result<(), PollError> {
        if self
            .last_start
            .is_some_and(|t| t.elapsed() < START_INTERVAL)
        {
            return Err(PollError::SubscriptionPending);
        }
        self.last_start = Some(Instant::now());
        tracing::info!(tenant = %self.shared.id.tenant, content_type = %self.shared.id.content_type, reason = %why,
            "Starting the subscription for this content type.");
        self.client
            .start_subscription(self.shared.id.content_type)
            .await?;
        Ok(())
    }

    /// Submits a batch; the record ids claimed since the last one go with it. Waiting for
    /// room in the pipeline (a slow sink) is a wait for others, not a stall of this feed.
    async fn submit(&mut self, batch: Batch) -> Result<(), PollError> {
        let submitted = async {
            tokio::select! {
                r = self.pipeline.submit(batch) => r.map_err(|_| PollError::Stopped),
                _ = self.stop.cancelled() => Err(PollError::Stopped),
            }
        };
        match self.progress.waiting(submitted).await {
            Ok(()) => {
                self.submitted += 1;
                if let Some(d) = self.dedup.as_mut() {
                    d.sealed(self.submitted);
                }
                Ok(())
            }
            Err(e) => {
                if let Some(d) = self.dedup.as_mut() {
                    d.abandon();
                }
                Err(e)
            }
        }
    }

    /// Prunes content entries every hour, and every hour of content worked through (a
    /// catch-up covers days in minutes).
    async fn maybe_prune(&mut self) -> Result<(), PollError> {
        let frontier = self.dedup.as_ref().and_then(|d| d.frontier());
        let hour = chrono::Duration::hours(1);
        let moved = match (frontier, self.pruned_at) {
            (Some(f), Some(p)) => f - p >= hour,
            (Some(_), None) => true,
            _ => false,
        };
        if !moved
            && self
                .last_prune
                .is_some_and(|t| t.elapsed() < Duration::from_secs(3600))
        {
            return Ok(());
        }
        self.last_prune = Some(Instant::now());
        self.pruned_at = frontier;
        let now = Utc::now();
        let overlap = chrono::Duration::from_std(self.cfg.overlap).unwrap_or(MAX_WINDOW);
        let horizon = chrono::Duration::from_std(self.cfg.dedup_horizon).unwrap_or(MAX_WINDOW);
        let relist_from = match self.state.cursor(&self.shared.id.key)? {
            Some(c) => c.listed_until - overlap,
            None => return Ok(()),
        };
        let rule = Prune {
            now,
            relist_from,
            done_before: frontier.map_or(relist_from, |f| f - horizon),
            legacy_horizon: horizon,
        };
        let n = self.state.prune(&self.shared.id.key, &rule).await?;
        if let Some(d) = self.dedup.as_mut() {
            d.refresh_legacy()?;
        }
        if n > 0 {
            tracing::debug!(feed = %self.shared.id.key, removed = n, "Pruned state.");
        }
        Ok(())
    }
}

/// The de-duplication settings of every feed.
pub fn dedup_config(cfg: &AgentConfig) -> DedupConfig {
    let d = |v: Duration| chrono::Duration::from_std(v).unwrap_or(MAX_AGE);
    DedupConfig {
        horizon: d(cfg.dedup_horizon),
        hot_window: d(cfg.dedup_hot_window),
        hot_ids: cfg.dedup_hot_ids,
    }
}

fn entry(c: &ContentInfo, status: ContentStatus) -> ContentEntry {
    ContentEntry {
        created: c.content_created,
        expiration: c.content_expiration,
        uri: c.content_uri.clone(),
        status,
    }
}

#[cfg(test)]
mod tests;
