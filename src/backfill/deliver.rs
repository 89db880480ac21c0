//! Reading a finished query's pages and handing its records to the pipeline: in the
//! slice's range, of a wanted content type, not the live feed's, each id once. Progress
//! follows every page, behind the records it covers, so a stop resumes after the last
//! page every sink acknowledged.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::plan::Slice;
use super::progress::{self, Delivered};
use super::{Active, Backfill, BackfillError, HARD_CAP, SliceFeed, SliceFeeds};
use crate::api::ApiError;
use crate::api::graph::{Item, Page};
use crate::pipeline::Batch;
use crate::record::content_type::content_type_of;
use crate::record::{ContentType, Record};
use crate::state::ContentStatus;
use crate::state::seen::IdSet;

/// Times a page that comes back malformed is asked for again.
const PAGE_ATTEMPTS: u32 = 3;

enum PageError {
    Stopped,
    Failed(String),
}

impl Backfill<'_> {
    /// Delivers a slice whose query has succeeded. Returns the slice when it should be tried
    /// again later in this run.
    pub(super) async fn deliver_slice(
        &mut self,
        mut a: Active,
    ) -> Result<Option<Active>, BackfillError> {
        self.prune_committed().await?;
        let Some(s) = self.plan.slice(a.from).cloned() else {
            return Ok(None);
        };
        let skip = match progress::read(&self.state, &s)? {
            Delivered::Done => {
                self.done.insert(s.from);
                return Ok(None);
            }
            Delivered::Partial { query, acked } if query == a.query => acked,
            _ => 0,
        };
        let mut feeds = match a.feeds.take() {
            Some(f) => f,
            None => self.slice_feeds(&s)?,
        };
        let read = self.read_pages(&s, &a.query, skip, &mut feeds).await;
        a.feeds = Some(feeds);
        match read? {
            Ok(()) => {
                self.done.insert(s.from);
                self.to_prune.push(s);
                Ok(None)
            }
            Err(PageError::Stopped) => Ok(None),
            Err(PageError::Failed(why)) => {
                a.deliveries += 1;
                if a.deliveries >= self.settings.attempts.max(1) {
                    self.give_up(s.from, &format!("reading query {}: {why}", a.query));
                    return Ok(None);
                }
                tracing::warn!(slice = %s.id(), query = %a.query, error = %why, "Reading the query's records failed; trying again.");
                a.next_check =
                    crate::bounds::later(Instant::now(), crate::api::backoff(a.deliveries, 1, 30));
                Ok(Some(a))
            }
        }
    }

    /// One feed per content type for the slice, with the ids committed before a stop.
    fn slice_feeds(&self, s: &Slice) -> Result<SliceFeeds, BackfillError> {
        let mut out = HashMap::new();
        for ct in &self.content_types {
            let f = progress::slice_feed(&self.plan.tenant, &self.plan.tenant_id, s, *ct);
            let mut seen = IdSet::default();
            self.state.seen_all_into(&f.id.key, &mut seen)?;
            out.insert(
                *ct,
                SliceFeed {
                    feed: Arc::new(f),
                    seen,
                },
            );
        }
        Ok(out)
    }

    async fn read_pages(
        &mut self,
        s: &Slice,
        query: &str,
        skip: u64,
        feeds: &mut SliceFeeds,
    ) -> Result<Result<(), PageError>, BackfillError> {
        let mut url = match self.client.records_url(query) {
            Ok(u) => u,
            Err(e) => return Ok(Err(PageError::Failed(e.to_string()))),
        };
        let (mut index, mut page_no) = (0u64, 0u64);
        // Records wait here until a batch is full: progress is marked only when they are
        // all submitted, so a mark never covers a record still waiting.
        let mut batches: HashMap<ContentType, Vec<Record>> = HashMap::new();
        let mut waiting = 0usize;
        loop {
            if self.stop.is_cancelled() {
                return Ok(Err(PageError::Stopped));
            }
            page_no += 1;
            let page = match self.page(url.clone(), query, page_no).await {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            for (n, item) in page.items.into_iter().enumerate() {
                index += 1;
                if index <= skip {
                    continue;
                }
                match item {
                    Ok(item) => waiting += usize::from(self.accept(s, item, feeds, &mut batches)),
                    Err(why) => {
                        self.summary.malformed_records += 1;
                        self.summary.problem(format!(
                            "query {query} page {page_no} record {}: {why}",
                            n + 1
                        ));
                    }
                }
            }
            if waiting >= self.settings.batch_size.max(1) || page.next.is_none() {
                for (ct, records) in batches.drain() {
                    self.submit(Batch {
                        feed: feeds[&ct].feed.clone(),
                        content_id: s.id().as_str().into(),
                        records,
                        ops: vec![],
                    })
                    .await?;
                }
                waiting = 0;
                self.submit(progress::mark(
                    &self.progress_feed,
                    s,
                    query,
                    ContentStatus::Partial { acked: index },
                ))
                .await?;
            }
            self.pb.set_message(format!(
                "{} records; reading {} page {page_no}",
                self.summary.submitted,
                s.from.format("%Y-%m-%d %H:%M")
            ));
            let Some(next) = page.next else { break };
            if index > HARD_CAP {
                return Ok(Err(PageError::Failed(format!(
                    "the query served more than {HARD_CAP} records; give a shorter --slice"
                ))));
            }
            url = match self.client.check_link(&next) {
                Ok(u) => u,
                Err(e) => return Ok(Err(PageError::Failed(format!("page {page_no}: {e}")))),
            };
        }
        self.submit(progress::mark(
            &self.progress_feed,
            s,
            query,
            ContentStatus::Done { records: index },
        ))
        .await?;
        tracing::info!(slice = %s.id(), query, records = index, "Slice delivered to the pipeline.");
        Ok(Ok(()))
    }

    /// A page, asked for again when it comes back malformed (named and counted each time).
    async fn page(&mut self, url: url::Url, query: &str, n: u64) -> Result<Page, PageError> {
        let mut last = String::new();
        for attempt in 1..=PAGE_ATTEMPTS {
            match self.client.records_page(url.clone()).await {
                Ok(p) => return Ok(p),
                Err(ApiError::Cancelled) => return Err(PageError::Stopped),
                Err(ApiError::Malformed(why)) => {
                    self.summary.malformed_pages += 1;
                    tracing::error!(query, page = n, attempt, error = %why, "Malformed page of audit records; asking for it again.");
                    last = format!("page {n} malformed: {why}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200) * attempt) => {}
                        _ = self.stop.cancelled() => return Err(PageError::Stopped),
                    }
                }
                Err(e) => return Err(PageError::Failed(format!("page {n}: {e}"))),
            }
        }
        Err(PageError::Failed(last))
    }

    /// Decides what becomes of one record; true when it is to be delivered.
    fn accept(
        &mut self,
        s: &Slice,
        item: Item,
        feeds: &mut SliceFeeds,
        batches: &mut HashMap<ContentType, Vec<Record>>,
    ) -> bool {
        self.summary.records_read += 1;
        let time = item.time();
        if time.is_some_and(|t| t < s.from || t >= s.to) {
            self.summary.outside += 1;
            return false;
        }
        let rec = item.record;
        let ct = content_type_of(&rec);
        let Some(feed) = feeds.get_mut(&ct) else {
            self.summary.filtered += 1;
            return false;
        };
        if self.live.early.contains_str(rec.id()) {
            self.summary.overlap += 1;
            return false;
        }
        let live_from = self.plan.live_from.get(ct.as_str());
        if let (Some(t), Some(live)) = (time, live_from) {
            if t >= *live {
                if self.plan.meet_live {
                    self.summary.live_covered += 1;
                    return false;
                }
                self.summary.live_redelivered += 1;
            }
        }
        if !feed.seen.insert_str(rec.id()) {
            self.summary.duplicates += 1;
            return false;
        }
        self.summary.submitted += 1;
        batches.entry(ct).or_default().push(rec);
        true
    }

    async fn submit(&self, mut batch: Batch) -> Result<(), BackfillError> {
        let size = self.settings.batch_size.max(1);
        // Large pages go out in batches of the configured size.
        while batch.records.len() > size {
            let rest = batch.records.split_off(size);
            let head = Batch {
                feed: batch.feed.clone(),
                content_id: batch.content_id.clone(),
                records: std::mem::replace(&mut batch.records, rest),
                ops: vec![],
            };
            self.pipeline
                .submit(head)
                .await
                .map_err(|_| BackfillError::Closed)?;
        }
        self.pipeline
            .submit(batch)
            .await
            .map_err(|_| BackfillError::Closed)
    }

    /// Forgets the ids of slices whose last progress is committed.
    async fn prune_committed(&mut self) -> Result<(), BackfillError> {
        let mut keep = Vec::new();
        for s in std::mem::take(&mut self.to_prune) {
            if progress::read(&self.state, &s)? == Delivered::Done {
                progress::prune(&self.state, &s).await?;
            } else {
                keep.push(s);
            }
        }
        self.to_prune = keep;
        Ok(())
    }
}
