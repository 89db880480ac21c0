//! Fetching blobs (concurrently, with retries) and turning them into batches (in listing
//! order, skipping what an earlier run delivered and record ids already seen).

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;

use super::{Feed, PollError, entry};
use crate::api::{ApiError, ContentInfo};
use crate::pipeline::{Batch, CommitOp};
use crate::record::{Record, parse_blob};
use crate::state::{ContentStatus, seen};

/// What fetching one blob came to (shared with `replay`).
pub enum Fetched {
    Records(Vec<Record>),
    Failed {
        attempts: u32,
        error: String,
        /// The cap a blob exceeded (not fetched again under the same cap).
        too_large: Option<u64>,
    },
    Expired,
}

impl Feed {
    /// Fetches the claimed blobs with bounded concurrency and delivers them in order.
    pub(super) async fn process(
        &mut self,
        todo: Vec<(ContentInfo, u64)>,
        attempts: u32,
    ) -> Result<(), PollError> {
        if todo.is_empty() {
            return Ok(());
        }
        let client = self.client.clone();
        let shared = self.shared.clone();
        let stop = self.stop.clone();
        let progress = self.progress.clone();
        let mut results = futures_util::stream::iter(todo)
            .map(|(c, skip)| {
                let client = client.clone();
                let shared = shared.clone();
                let stop = stop.clone();
                let progress = progress.clone();
                async move {
                    let f = fetch(
                        &client,
                        shared.id.content_type,
                        &c,
                        attempts,
                        &stop,
                        Some(&progress),
                    )
                    .await;
                    progress.tick();
                    (c, skip, f)
                }
            })
            .buffered(self.cfg.fetch_concurrency.max(1));
        let mut pending_release: Vec<String> = Vec::new();
        let mut outcome = Ok(());
        while let Some((c, skip, fetched)) = results.next().await {
            if outcome.is_err() {
                pending_release.push(c.content_id);
                continue;
            }
            let r = match fetched {
                Ok(Fetched::Records(recs)) => self.deliver(&c, recs, skip).await,
                Ok(Fetched::Failed {
                    attempts,
                    error,
                    too_large,
                }) => self.failed(&c, attempts, &error, too_large).await,
                Ok(Fetched::Expired) => self.expired(&c, Utc::now()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                pending_release.push(c.content_id);
                outcome = Err(e);
            }
        }
        for id in pending_release {
            self.shared.release_content(&id);
        }
        outcome
    }

    async fn failed(
        &mut self,
        c: &ContentInfo,
        attempts: u32,
        error: &str,
        too_large: Option<u64>,
    ) -> Result<(), PollError> {
        let metrics = &self.shared.metrics;
        metrics.blob_failed(&c.content_id, attempts, error);
        if too_large.is_some() {
            metrics.blob_too_large(&c.content_id, error);
        }
        let now = Utc::now();
        let (first_failed, attempts) =
            match self.state.content(&self.shared.id.key, &c.content_id)? {
                Some(crate::state::ContentEntry {
                    status:
                        ContentStatus::Failed {
                            first_failed,
                            attempts: before,
                            ..
                        },
                    ..
                }) => (first_failed, before + attempts),
                _ => (now, attempts),
            };
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: c.content_id.as_str().into(),
            records: vec![],
            ops: vec![CommitOp::Content {
                content_id: c.content_id.clone(),
                entry: entry(
                    c,
                    ContentStatus::Failed {
                        attempts,
                        error: error.to_string(),
                        first_failed,
                        last_failed: now,
                        too_large,
                    },
                ),
            }],
        })
        .await
    }

    /// Splits a blob into batches, skipping the first `skip` records (delivered before a
    /// restart) and ids already delivered or in flight.
    async fn deliver(
        &mut self,
        c: &ContentInfo,
        records: Vec<Record>,
        skip: u64,
    ) -> Result<(), PollError> {
        let r = self.deliver_batches(c, records, skip).await;
        if r.is_err() {
            // Claims of a batch that never went out must not hide its records next time.
            if let Some(d) = self.dedup.as_mut() {
                d.abandon();
            }
        }
        r
    }

    async fn deliver_batches(
        &mut self,
        c: &ContentInfo,
        records: Vec<Record>,
        skip: u64,
    ) -> Result<(), PollError> {
        self.advance(c.content_created)?;
        self.coverage.note(c.content_created, &records);
        let total = records.len() as u64;
        let batch_size = self.cfg.batch_size.max(1);
        let mut batch = Vec::with_capacity(batch_size.min(records.len()));
        let mut repeats = 0u64;
        let mut index = 0u64;
        let cid: std::sync::Arc<str> = c.content_id.as_str().into();
        let lookups = self.dedup.as_ref().map_or(0, |d| d.disk_lookups());
        for rec in records.into_iter().skip(skip as usize) {
            index += 1;
            let bucket = seen::record_bucket(rec.creation_time, c.content_created);
            let new = match self.dedup.as_mut() {
                Some(d) => d.claim(rec.id(), bucket)?,
                None => true,
            };
            if new {
                batch.push(rec);
            } else {
                repeats += 1;
            }
            crate::failpoint::panic_once("feed", &self.shared.id.key);
            let upto = skip + index;
            if batch.len() >= batch_size && upto < total {
                let status = ContentStatus::Partial { acked: upto };
                let records = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                self.submit(Batch {
                    feed: self.shared.clone(),
                    content_id: cid.clone(),
                    records,
                    ops: vec![CommitOp::Content {
                        content_id: c.content_id.clone(),
                        entry: entry(c, status),
                    }],
                })
                .await?;
            }
        }
        if repeats > 0 {
            self.shared.metrics.repeated(repeats);
        }
        let lookups = self.dedup.as_ref().map_or(0, |d| d.disk_lookups()) - lookups;
        if lookups > 0 {
            self.shared.metrics.disk_lookups(lookups);
        }
        self.submit(Batch {
            feed: self.shared.clone(),
            content_id: cid,
            records: batch,
            ops: vec![CommitOp::Content {
                content_id: c.content_id.clone(),
                entry: entry(c, ContentStatus::Done { records: total }),
            }],
        })
        .await
    }
}

/// Fetches and parses a blob, retrying with backoff; a blob that stays broken is reported
/// as failed (and retried on later polls), never skipped silently. A blob over the size cap
/// or on a foreign host fails at once: trying again would meet the same answer.
pub async fn fetch(
    client: &crate::api::TenantClient,
    ct: crate::record::ContentType,
    c: &ContentInfo,
    attempts: u32,
    stop: &tokio_util::sync::CancellationToken,
    progress: Option<&std::sync::Arc<crate::telemetry::progress::Progress>>,
) -> Result<Fetched, PollError> {
    let feed = crate::state::feed_key(client.tenant_id(), ct.as_str());
    let mut last = String::new();
    for attempt in 1..=attempts {
        match client.fetch_blob(ct, c, progress).await {
            Ok(body) => match parse_blob(&c.content_id, body) {
                Ok(recs) => return Ok(Fetched::Records(recs)),
                Err(e) => last = e.to_string(),
            },
            Err(ApiError::Cancelled) => return Err(PollError::Stopped),
            Err(e) if e.code() == Some("AF20051") => return Ok(Fetched::Expired),
            Err(ApiError::TooLarge(t)) => {
                return Ok(Fetched::Failed {
                    attempts: attempt,
                    error: t.to_string(),
                    too_large: Some(t.limit),
                });
            }
            Err(e @ ApiError::HostileUri { .. }) => {
                return Ok(Fetched::Failed {
                    attempts: attempt,
                    error: e.to_string(),
                    too_large: None,
                });
            }
            Err(e) => last = e.to_string(),
        }
        if attempt < attempts {
            let wait = crate::api::backoff(attempt, 1, 30);
            tracing::warn!(feed, content_id = %c.content_id, attempt, error = %last, "Blob fetch failed; retrying.");
            tokio::select! {
                _ = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
                _ = stop.cancelled() => return Err(PollError::Stopped),
            }
        }
    }
    Ok(Fetched::Failed {
        attempts,
        error: last,
        too_large: None,
    })
}
