//! Batches from feeds to sinks, acknowledgements back to state, in order.
//!
//! Every batch gets one place in a single submission order: it is handed to every sink in
//! that order, and the committer commits batches strictly in that order once every sink has
//! acknowledged them. What is committed is therefore always a prefix of what every sink
//! received, which is what lets the file sink truncate back to its committed length and be
//! exactly-once, and lets every other sink resume after a crash by re-sending only what was
//! in flight.

mod committer;
mod route;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::feed_id::FeedId;
use crate::filter::Filter;
use crate::format::Origin;
use crate::record::Record;
use crate::state::{ContentEntry, Cursor, Gap, SinkOffset, State};
use crate::telemetry::{FeedMetrics, FeedsAtSinks};

pub use committer::Committed;

/// A feed as the pipeline sees it: identity and counters, plus what it has in flight, so a
/// feed does not fetch again what it submitted and is not yet committed. (Record ids in
/// flight are the feed's own [`crate::state::Dedup`]; it learns what is committed from
/// `committed`.)
#[derive(Debug)]
pub struct FeedShared {
    pub id: Arc<FeedId>,
    pub metrics: FeedMetrics,
    pending: Mutex<Pending>,
    /// Batches of this feed committed so far (commits follow submission order).
    committed: AtomicU64,
    /// Batches of this feed submitted and not yet committed.
    in_flight: AtomicUsize,
}

#[derive(Debug, Default)]
struct Pending {
    contents: HashSet<Box<str>>,
}

impl FeedShared {
    pub fn new(id: FeedId) -> FeedShared {
        let id = Arc::new(id);
        FeedShared {
            metrics: FeedMetrics::new(id.clone()),
            id,
            pending: Mutex::default(),
            committed: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Batches submitted and not yet committed (a restarted feed waits for zero).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Drops every blob claim: after a feed task died, with nothing of it in flight, the
    /// claims it left can only be stale.
    pub fn forget_claims(&self) {
        self.pending().contents.clear();
    }

    pub fn origin(&self) -> Origin<'_> {
        Origin {
            tenant: &self.id.tenant,
            tenant_id: &self.id.tenant_id,
            content_type: self.id.content_type,
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many of the batches this feed submitted are committed: the first that many.
    pub fn committed_batches(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Marks a blob as in flight; false if it already is.
    pub fn claim_content(&self, content_id: &str) -> bool {
        self.pending().contents.insert(content_id.into())
    }

    /// Gives up a claim without committing (the work will be redone later).
    pub fn release_content(&self, content_id: &str) {
        self.pending().contents.remove(content_id);
    }

    fn committed(&self, batch: &Batch) {
        self.committed.fetch_add(1, Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        let mut p = self.pending();
        for op in &batch.ops {
            if let CommitOp::Content { content_id, entry } = op {
                if !matches!(entry.status, crate::state::ContentStatus::Partial { .. }) {
                    p.contents.remove(content_id.as_str());
                }
            }
        }
    }
}

/// What a batch changes in state once it is committed.
#[derive(Debug, Clone)]
pub enum CommitOp {
    Content {
        content_id: String,
        entry: ContentEntry,
    },
    Cursor(Cursor),
    Gap(Gap),
}

/// Records of one blob (possibly none: a batch may only carry state changes).
#[derive(Debug)]
pub struct Batch {
    pub feed: Arc<FeedShared>,
    /// Blob the records come from (for rejection entries and logs).
    pub content_id: Arc<str>,
    pub records: Vec<Record>,
    pub ops: Vec<CommitOp>,
}

/// A sink's answer for one batch.
#[derive(Debug, Default)]
pub struct SinkAck {
    /// Records (index into `Batch::records`) the receiver refused for good, with the reason.
    pub rejected: Vec<(usize, String)>,
    /// File sinks: the file length once this batch is on disk.
    pub offset: Option<SinkOffset>,
}

/// One batch handed to one sink.
pub struct SinkJob {
    pub batch: Arc<Batch>,
    /// The records (indices into `batch.records`, ascending) the sink's filter admits;
    /// `None` is all of them. Indices stay those of the batch, so rejections map back.
    pub admitted: Option<Arc<[u32]>>,
    pub ack: oneshot::Sender<SinkAck>,
}

impl SinkJob {
    /// A job for every record of the batch.
    pub fn all(batch: Arc<Batch>, ack: oneshot::Sender<SinkAck>) -> SinkJob {
        SinkJob {
            batch,
            admitted: None,
            ack,
        }
    }

    /// The records this sink is to deliver, with their index in the batch.
    pub fn records(&self) -> impl Iterator<Item = (usize, &Record)> + '_ {
        self.indices().map(|i| (i, &self.batch.records[i]))
    }

    /// Indices (into the batch) of the records this sink is to deliver.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        let (all, some) = match &self.admitted {
            Some(a) => (None, Some(a.iter().map(|i| *i as usize))),
            None => (Some(0..self.batch.records.len()), None),
        };
        all.into_iter().flatten().chain(some.into_iter().flatten())
    }

    /// How many records this sink is to deliver.
    pub fn len(&self) -> usize {
        self.admitted
            .as_ref()
            .map_or(self.batch.records.len(), |a| a.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sending side of a running sink.
pub struct SinkInput {
    pub name: String,
    pub tx: mpsc::Sender<SinkJob>,
    /// Which records the sink receives; `None` is all.
    pub filter: Option<Arc<Filter>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the pipeline is shutting down")]
pub struct Closed;

/// Feeds submit batches here. Clone it into every feed.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<tokio::sync::Mutex<Option<Inputs>>>,
}

struct Inputs {
    sinks: Vec<SinkInput>,
    committer: mpsc::Sender<committer::InFlight>,
    /// Counters of filtered records, per feed and sink (submissions hold the lock anyway).
    filtered: FeedsAtSinks,
}

impl Pipeline {
    /// Starts the committer. `max_in_flight` bounds the batches submitted and not yet
    /// committed, which bounds memory.
    pub fn start(
        state: State,
        sinks: Vec<SinkInput>,
        max_in_flight: usize,
        abort: CancellationToken,
    ) -> (Pipeline, tokio::task::JoinHandle<Committed>) {
        let (tx, rx) = mpsc::channel(max_in_flight.max(1));
        let task = tokio::spawn(committer::run(state, rx, abort));
        let p = Pipeline {
            inner: Arc::new(tokio::sync::Mutex::new(Some(Inputs {
                sinks,
                committer: tx,
                filtered: FeedsAtSinks::default(),
            }))),
        };
        (p, task)
    }

    /// Hands a batch to every sink and queues it for commit. Waits while sinks or the commit
    /// queue are full: this is how a slow sink stalls polling. Capacity is reserved on every
    /// channel before anything is sent, so a submit cancelled while waiting sends nothing:
    /// a sink never holds a batch the committer does not know about.
    ///
    /// A sink whose filter admits none of the batch's records is not sent the batch at all
    /// and the committer does not wait for it: filtered records count as handled.
    pub async fn submit(&self, batch: Batch) -> Result<(), Closed> {
        let batch = Arc::new(batch);
        let mut guard = self.inner.lock().await;
        let inputs = guard.as_mut().ok_or(Closed)?;
        let mut permits = Vec::new();
        let mut dropped = Vec::new();
        if !batch.records.is_empty() {
            for s in &inputs.sinks {
                let admitted = match &s.filter {
                    Some(f) => route::admit(f, &batch, &s.name, &mut dropped),
                    None => route::Admitted::All,
                };
                let admitted = match admitted {
                    route::Admitted::None => continue,
                    route::Admitted::All => None,
                    route::Admitted::Some(a) => Some(a),
                };
                let permit = s.tx.reserve().await.map_err(|_| Closed)?;
                permits.push((s.name.as_str(), admitted, permit));
            }
        }
        let commit_permit = inputs.committer.reserve().await.map_err(|_| Closed)?;
        let mut acks = Vec::with_capacity(permits.len());
        // Bytes of the whole batch, summed once for every sink that takes all of it.
        let all_bytes: usize = batch.records.iter().map(|r| r.raw.get().len()).sum();
        for (name, admitted, permit) in permits {
            let (tx, rx) = oneshot::channel();
            let records = admitted
                .as_ref()
                .map_or(batch.records.len(), |a: &Arc<[u32]>| a.len());
            let bytes: usize = match &admitted {
                None => all_bytes,
                Some(a) => a
                    .iter()
                    .map(|i| batch.records[*i as usize].raw.get().len())
                    .sum(),
            };
            permit.send(SinkJob {
                batch: batch.clone(),
                admitted,
                ack: tx,
            });
            acks.push(committer::Waiting {
                sink: name.to_string(),
                records: records as u64,
                bytes: bytes as u64,
                rx,
            });
        }
        for (sink, reason, n) in dropped {
            let at = inputs.filtered.get(&batch.feed.id, sink);
            at.filtered(&batch.feed.id, reason.label(), n);
        }
        batch.feed.in_flight.fetch_add(1, Ordering::AcqRel);
        commit_permit.send(committer::InFlight { batch, acks });
        Ok(())
    }

    /// Stops accepting batches; sinks drain what they have and the committer finishes.
    pub async fn close(&self) {
        self.inner.lock().await.take();
    }
}

#[cfg(test)]
mod tests;
