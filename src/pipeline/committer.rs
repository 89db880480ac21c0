//! The committer: waits for every sink's acknowledgement of the oldest batch, then commits
//! it (grouping batches that are already acknowledged into one durable write).
//!
//! A group that only moves cursors (idle polls) is applied without a disk write of its own:
//! it becomes durable with the next group that carries anything else, or at the latest
//! [`CURSOR_FLUSH`] later. Losing it in a crash only means listing a little more again,
//! while a thousand idle tenants would otherwise cost dozens of fsyncs a second.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Batch, CommitOp, SinkAck};
use crate::state::{FeedCommit, Rejection, SinkOffset, State, seen};
use crate::telemetry::{self, FeedsAtSinks};

/// A submitted batch and the acknowledgements it waits for (only from the sinks it was
/// sent to: a sink whose filter admits none of its records is not waited for).
pub(super) struct InFlight {
    pub batch: Arc<Batch>,
    pub acks: Vec<Waiting>,
}

/// One sink's acknowledgement to come.
pub(super) struct Waiting {
    pub sink: String,
    /// Records of the batch the sink was given (its filter may admit fewer than all).
    pub records: u64,
    /// Their size as the API sent them.
    pub bytes: u64,
    pub rx: oneshot::Receiver<SinkAck>,
}

/// One sink's acknowledgement of a batch, with what it was given.
struct Ack {
    sink: String,
    /// Records and their bytes (as the API sent them) the sink was given.
    records: u64,
    bytes: u64,
    ack: SinkAck,
}

impl Waiting {
    fn acked(&self, ack: SinkAck) -> Ack {
        Ack {
            sink: self.sink.clone(),
            records: self.records,
            bytes: self.bytes,
            ack,
        }
    }
}

/// What the committer did, returned when it stops.
#[derive(Debug, Default, Clone)]
pub struct Committed {
    pub batches: u64,
    pub records: u64,
    /// True when it stopped because a sink went away with batches still unacknowledged
    /// (abandoned at shutdown); that work is redone on the next start.
    pub abandoned: bool,
}

const MAX_GROUP: usize = 64;
/// Longest a cursor-only commit waits for a disk write.
pub(super) const CURSOR_FLUSH: Duration = Duration::from_secs(5);

pub(super) async fn run(
    state: State,
    mut rx: mpsc::Receiver<InFlight>,
    abort: CancellationToken,
) -> Committed {
    let mut done = Committed::default();
    let mut held: Option<InFlight> = None;
    let mut counters = FeedsAtSinks::default();
    // When the oldest change applied but not yet on disk was applied.
    let mut unflushed: Option<tokio::time::Instant> = None;
    loop {
        let head = match held.take() {
            Some(h) => h,
            None => {
                let next = match unflushed {
                    None => rx.recv().await,
                    Some(since) => {
                        let due = since.checked_add(CURSOR_FLUSH).unwrap_or(since);
                        tokio::select! {
                            r = rx.recv() => r,
                            _ = tokio::time::sleep_until(due) => {
                                if flush(&state, &abort).await {
                                    unflushed = None;
                                    continue;
                                }
                                done.abandoned = true;
                                return done;
                            }
                        }
                    }
                };
                match next {
                    Some(h) => h,
                    None => {
                        if unflushed.is_some() && !flush(&state, &abort).await {
                            done.abandoned = true;
                        }
                        return done;
                    }
                }
            }
        };
        crate::failpoint::panic_once("committer", "");
        let mut group = Vec::new();
        match wait_all(head, &abort).await {
            Some(g) => group.push(g),
            None => {
                done.abandoned = true;
                return done;
            }
        }
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(mut next) => match try_all(&mut next) {
                    Some(acks) => group.push((next.batch, acks)),
                    None => {
                        held = Some(next);
                        break;
                    }
                },
                Err(_) => break,
            }
        }
        let durable = group.iter().any(|(b, acks)| needs_disk(b, acks));
        if !commit_group(&state, &group, durable, &mut counters, &abort).await {
            done.abandoned = true;
            return done;
        }
        if durable {
            unflushed = None;
        } else if unflushed.is_none() {
            unflushed = Some(tokio::time::Instant::now());
        }
        for (b, _) in &group {
            b.feed.committed(b);
            done.batches += 1;
            done.records += b.records.len() as u64;
        }
    }
}

type Acked = (Arc<Batch>, Vec<Ack>);

async fn wait_all(f: InFlight, abort: &CancellationToken) -> Option<Acked> {
    let mut out = Vec::with_capacity(f.acks.len());
    for mut w in f.acks {
        tokio::select! {
            r = &mut w.rx => match r {
                Ok(ack) => out.push(w.acked(ack)),
                // The sink stopped without acknowledging: only happens when it is aborted.
                Err(_) => return None,
            },
            _ = abort.cancelled() => return None,
        }
    }
    Some((f.batch, out))
}

/// Takes the acknowledgements if all are already there; otherwise leaves `f` as it was,
/// minus none of its receivers (acks received so far are kept in place).
fn try_all(f: &mut InFlight) -> Option<Vec<Ack>> {
    let mut got = Vec::with_capacity(f.acks.len());
    for w in f.acks.iter_mut() {
        match w.rx.try_recv() {
            Ok(a) => got.push(Some(a)),
            Err(oneshot::error::TryRecvError::Empty) => got.push(None),
            Err(oneshot::error::TryRecvError::Closed) => got.push(None),
        }
    }
    if got.iter().all(|g| g.is_some()) {
        return Some(
            f.acks
                .iter()
                .zip(got.into_iter().flatten())
                .map(|(w, a)| w.acked(a))
                .collect(),
        );
    }
    // Put the received ones back as ready receivers so wait_all can read them.
    for (w, g) in f.acks.iter_mut().zip(got) {
        if let Some(ack) = g {
            let (tx, new_rx) = oneshot::channel();
            let _ = tx.send(ack);
            w.rx = new_rx;
        }
    }
    None
}

/// Whether a batch must be on disk before it counts as committed: anything but a cursor.
fn needs_disk(batch: &Batch, acks: &[Ack]) -> bool {
    !batch.records.is_empty()
        || batch
            .ops
            .iter()
            .any(|op| !matches!(op, CommitOp::Cursor(_)))
        || acks
            .iter()
            .any(|Ack { ack: a, .. }| a.offset.is_some() || !a.rejected.is_empty())
}

/// Makes everything applied durable: an empty commit, retried like any other. If the
/// store must be reopened meanwhile, cursors applied since the last durable commit may be
/// lost, which only means listing a little more again after a restart.
async fn flush(state: &State, abort: &CancellationToken) -> bool {
    write(state, &[], &[], true, abort).await
}

async fn commit_group(
    state: &State,
    group: &[Acked],
    durable: bool,
    counters: &mut FeedsAtSinks,
    abort: &CancellationToken,
) -> bool {
    let now = Utc::now();
    let mut feeds: BTreeMap<&str, FeedCommit> = BTreeMap::new();
    let mut offsets: BTreeMap<&str, SinkOffset> = BTreeMap::new();
    for (batch, acks) in group {
        let fc = feeds.entry(batch.feed.id.key.as_str()).or_default();
        for op in &batch.ops {
            match op {
                CommitOp::Content { content_id, entry } => {
                    fc.content.push((content_id.clone(), entry.clone()))
                }
                CommitOp::Cursor(c) => fc.cursor = Some(*c),
                CommitOp::Gap(g) => fc.gaps.push(g.clone()),
            }
        }
        if !batch.records.is_empty() {
            // Filed as the feed filed them when it claimed them (see `state::dedup`).
            let created = batch
                .ops
                .iter()
                .find_map(|op| match op {
                    CommitOp::Content { entry, .. } => Some(entry.created),
                    _ => None,
                })
                .unwrap_or(now);
            for r in &batch.records {
                fc.seen
                    .push(seen::record_bucket(r.creation_time, created), r.id());
            }
        }
        for Ack { sink, ack, .. } in acks {
            for (idx, reason) in &ack.rejected {
                let Some(rec) = batch.records.get(*idx) else {
                    continue;
                };
                let feed = &batch.feed.id;
                let at = counters.get(feed, sink);
                at.rejected(feed, rec.id(), &batch.content_id, reason);
                fc.rejections.push(Rejection {
                    record_id: rec.id().to_string(),
                    sink: sink.clone(),
                    reason: reason.clone(),
                    content_id: batch.content_id.to_string(),
                    at: now,
                });
            }
            if let Some(off) = &ack.offset {
                offsets.insert(sink.as_str(), off.clone());
            }
        }
    }
    let feeds: Vec<(&str, FeedCommit)> = feeds.into_iter().collect();
    let offsets: Vec<(&str, SinkOffset)> = offsets.into_iter().collect();
    if !write(state, &feeds, &offsets, durable, abort).await {
        return false;
    }
    for (batch, acks) in group {
        if batch.records.is_empty() {
            continue;
        }
        for Ack {
            sink,
            records: n,
            bytes,
            ..
        } in acks
        {
            let at = counters.get(&batch.feed.id, sink);
            at.delivered(*n, *bytes);
            at.sink.acked();
        }
    }
    for (batch, _) in group {
        batch.feed.metrics.committed(now);
    }
    true
}

/// Commits (`durable`) or applies a group's writes, retrying until it succeeds or the
/// committer is aborted (false). Delivery stalls meanwhile: nothing past this point is
/// acknowledged.
async fn write(
    state: &State,
    feeds: &[(&str, FeedCommit)],
    offsets: &[(&str, SinkOffset)],
    durable: bool,
    abort: &CancellationToken,
) -> bool {
    let now = Utc::now();
    let mut delay = Duration::from_millis(200);
    let mut failed = false;
    loop {
        let r = if durable {
            state.commit(feeds, offsets, now).await
        } else {
            state.apply(feeds, offsets)
        };
        match r {
            Ok(()) => break,
            Err(e) => {
                failed = true;
                tracing::error!(state_dir = %state.dir().display(), error = %e, "Cannot commit progress to state; retrying. Delivery stalls and nothing is acknowledged past this point until it succeeds.");
                telemetry::state_commit_failed();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = abort.cancelled() => return false,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
                // sled stays failed after an I/O error (a full disk) until it is opened
                // again; what it applied without writing is dropped and applied again by
                // the next try, so nothing counts as committed that is not on disk.
                let s = state.clone();
                match tokio::task::spawn_blocking(move || s.reopen()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::error!(state_dir = %state.dir().display(), error = %e, "Cannot reopen the state store; retrying.")
                    }
                    Err(e) => tracing::error!(error = %e, "Reopening the state store failed."),
                }
            }
        }
    }
    if failed {
        tracing::info!(state_dir = %state.dir().display(), "Commits to state work again; delivery resumes.");
    }
    true
}
