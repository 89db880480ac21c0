//! The loop every HTTP sink runs: gather batches into flushes, encode, deliver with a bounded
//! number of flushes in flight, acknowledge in arrival order.

use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::BatchLimits;
use super::{Endpoint, Halt};
use crate::format::{Encoder, Origin};
use crate::pipeline::{SinkAck, SinkJob};
use crate::record::Record;
use crate::sink::{Context, SinkError, Task};

/// One encoded record, ready to be put in a request body.
#[derive(Debug)]
pub(crate) struct Item {
    /// Which job of the flush, and which record of its batch.
    pub job: usize,
    pub index: usize,
    /// The record in the sink's envelope (a HEC event object, a bulk action and source
    /// line pair, an encoded record for a webhook).
    pub data: Vec<u8>,
}

/// Records refused for good: index into the flush's items, and the receiver's reason.
pub(crate) type Refused = Vec<(usize, String)>;

/// What a sink provides to the driver.
pub(crate) trait Deliver: Send + Sync + Sized + 'static {
    /// The sink's `[sinks.NAME]` settings.
    type Config;
    /// Builds the sink: its client, headers and envelope; a setting that cannot work fails
    /// here, before any record moves.
    fn new(name: &str, cfg: &Self::Config, encoder: Encoder) -> Result<Self, SinkError>;
    /// The sink's way to its receiver (name, settings, posting with retry).
    fn endpoint(&self) -> &Endpoint;
    /// Writes one record in this sink's envelope.
    fn encode(&self, rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>);
    /// Checks the receiver once at start. A `Stopped` here stops the sink before any data
    /// is sent; anything transient should only be logged. None by default.
    fn healthcheck(
        &self,
        _abort: &CancellationToken,
    ) -> impl Future<Output = Result<(), Halt>> + Send {
        async { Ok(()) }
    }
    /// Delivers every item of the flush, retrying what can be retried, and returns the
    /// items refused for good.
    fn deliver(
        &self,
        flush: &Flush,
        abort: &CancellationToken,
    ) -> impl Future<Output = Result<Refused, Halt>> + Send;
}

/// The records of one flush, encoded, and the request-sized groups they go in.
pub(crate) struct Flush {
    pub items: Vec<Item>,
    /// Indices into `items`, cut by [`chunks`], in order.
    pub groups: Vec<Vec<usize>>,
}

/// Splits `indices` (into `items`) into request-sized groups, keeping their order. An item
/// larger than `max_bytes` goes alone.
pub(crate) fn chunks(items: &[Item], indices: &[usize], limits: &BatchLimits) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = 0usize;
    for &i in indices {
        let n = items.get(i).map_or(0, |it| it.data.len() + 1);
        if !cur.is_empty() && (cur.len() >= limits.max_events || bytes + n > limits.max_bytes) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(i);
        bytes += n;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Waits for a batch, then lets more join until a limit or the batch timeout is reached.
/// Returns `None` once the pipeline is closed and drained.
async fn next_flush(rx: &mut mpsc::Receiver<SinkJob>, limits: BatchLimits) -> Option<Vec<SinkJob>> {
    let first = rx.recv().await?;
    let size = |j: &SinkJob| -> (usize, usize) {
        (j.len(), j.records().map(|(_, r)| r.raw.get().len()).sum())
    };
    let (mut n, mut bytes) = size(&first);
    let mut jobs = vec![first];
    let deadline = crate::bounds::later(tokio::time::Instant::now(), limits.timeout);
    while n < limits.max_events && bytes < limits.max_bytes {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(job)) => {
                let (a, b) = size(&job);
                n += a;
                bytes += b;
                jobs.push(job);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Some(jobs)
}

type Rejected = Vec<Vec<(usize, String)>>;

/// Encodes and delivers one flush; hands the jobs back with their rejections.
async fn flush<S: Deliver>(
    sink: Arc<S>,
    jobs: Vec<SinkJob>,
    abort: CancellationToken,
) -> (Vec<SinkJob>, Result<Rejected, Halt>) {
    let mut items = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let origin = job.batch.feed.origin();
        for (i, rec) in job.records() {
            let mut data = Vec::with_capacity(rec.raw.get().len() + 256);
            sink.encode(rec, &origin, &mut data);
            items.push(Item {
                job: j,
                index: i,
                data,
            });
        }
    }
    let all: Vec<usize> = (0..items.len()).collect();
    let groups = chunks(&items, &all, &sink.endpoint().limits());
    let flush = Flush { items, groups };
    let result = if flush.items.is_empty() {
        Ok(Vec::new())
    } else {
        sink.deliver(&flush, &abort).await
    };
    let items = flush.items;
    let result = result.map(|rejected| {
        let mut per_job = vec![Vec::new(); jobs.len()];
        for (k, reason) in rejected {
            if let Some(it) = items.get(k) {
                per_job[it.job].push((it.index, reason));
            }
        }
        per_job
    });
    (jobs, result)
}

/// Builds an HTTP sink and starts its task on the context's queue.
pub(crate) async fn start<S: Deliver>(cfg: &S::Config, cx: Context) -> Result<Task, SinkError> {
    let sink = S::new(&cx.name, cfg, cx.encoder.clone())?;
    Ok(tokio::spawn(run(Arc::new(sink), cx.queue, cx.abort)))
}

async fn run<S: Deliver>(sink: Arc<S>, rx: mpsc::Receiver<SinkJob>, abort: CancellationToken) {
    let metrics = sink.endpoint().metrics.clone();
    match sink.healthcheck(&abort).await {
        Ok(()) => {}
        Err(Halt::Aborted) => return,
        Err(Halt::Stopped(reason)) => {
            // Keep the queue open but unread: submissions wait, polling stalls.
            metrics.stopped(&reason);
            let _hold = rx;
            abort.cancelled().await;
            return;
        }
    }
    let limits = sink.endpoint().limits();
    let flushes = futures_util::stream::unfold(rx, move |mut rx| async move {
        next_flush(&mut rx, limits).await.map(|jobs| (jobs, rx))
    });
    let ab = abort.clone();
    let s = sink.clone();
    let mut delivered = std::pin::pin!(
        flushes
            .map(move |jobs| flush(s.clone(), jobs, ab.clone()))
            .buffered(sink.endpoint().http.concurrency.max(1))
    );
    loop {
        let next = tokio::select! {
            n = delivered.next() => n,
            _ = abort.cancelled() => return,
        };
        let Some((jobs, result)) = next else {
            return;
        };
        match result {
            Ok(per_job) => {
                for (job, rejected) in jobs.into_iter().zip(per_job) {
                    let _ = job.ack.send(SinkAck {
                        rejected,
                        offset: None,
                    });
                }
            }
            Err(Halt::Aborted) => return,
            Err(Halt::Stopped(reason)) => {
                metrics.stopped(&reason);
                // Hold the unacknowledged jobs and the queue until the hard stop: nothing
                // past this point is committed, and the data stays upstream.
                let _hold = (jobs, delivered);
                abort.cancelled().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
