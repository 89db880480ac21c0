//! `reassemble_split_records`: sits in front of a sink and adds, to the batches it passes
//! on, a merged view of each Dynamics 365 record group that was split for size.
//!
//! Every part still goes to the sink as itself and is acknowledged as itself, so the
//! delivery contract is untouched; a merged view is an extra, derived event (deterministic
//! id `<smallest part id>+m`) delivered once its group is complete (no new part for
//! `split_horizon`), or marked partial when a budget or shutdown pushes it
//! out. A group still open when the agent crashes yields no merged view; its parts were
//! delivered as always.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::pipeline::{Batch, SinkAck, SinkJob};
use crate::record::split::{Merged, Reassembler, SplitConfig};
use crate::telemetry::SinkMetrics;

/// Starts the stage; returns the receiver the sink reads from instead of `input`.
pub fn wrap(
    sink: &str,
    cfg: SplitConfig,
    mut input: mpsc::Receiver<SinkJob>,
) -> mpsc::Receiver<SinkJob> {
    let (tx, rx) = mpsc::channel::<SinkJob>(2);
    let sink = SinkMetrics::new(sink);
    tokio::spawn(async move {
        let mut r = Reassembler::new(cfg);
        let mut last_batch: Option<Arc<Batch>> = None;
        loop {
            let due = r.next_due();
            let job = tokio::select! {
                j = input.recv() => j,
                _ = sleep_until(due) => {
                    // A group fell due between batches: send it on its own.
                    let merged = r.poll(Instant::now());
                    if let Some(b) = &last_batch {
                        if !merged.is_empty() && tx.send(side_job(&sink, b, merged)).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            };
            let Some(job) = job else { break };
            let now = Instant::now();
            let mut merged = Vec::new();
            for (_, rec) in job.records() {
                merged.extend(r.push(rec, now));
            }
            merged.extend(r.poll(now));
            last_batch = Some(job.batch.clone());
            let job = if merged.is_empty() {
                job
            } else {
                extend(&sink, job, merged)
            };
            if tx.send(job).await.is_err() {
                return;
            }
        }
        // Shutdown: what is still open goes out as partial, with the last batch's origin.
        let rest = r.flush();
        if let (false, Some(b)) = (rest.is_empty(), &last_batch) {
            let _ = tx.send(side_job(&sink, b, rest)).await;
        }
    });
    rx
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Merged views on their own. Nobody waits for this acknowledgement: they are derived
/// events, and a file sink's next acknowledged length covers them.
fn side_job(sink: &SinkMetrics, like: &Batch, merged: Vec<Merged>) -> SinkJob {
    count(sink, &merged);
    let (ack, _ignored) = oneshot::channel();
    SinkJob::all(
        Arc::new(Batch {
            feed: like.feed.clone(),
            content_id: like.content_id.clone(),
            records: merged.into_iter().map(|m| m.record).collect(),
            ops: vec![],
        }),
        ack,
    )
}

fn count(sink: &SinkMetrics, merged: &[Merged]) {
    let partial = merged.iter().filter(|m| m.partial).count() as u64;
    sink.split_merged.add(merged.len() as u64);
    if partial > 0 {
        sink.split_partial.add(partial);
    }
}

/// A copy of the job's batch with the merged views appended (admitted, when the sink has a
/// filter: they are made of admitted parts); the acknowledgement is passed back for the
/// original records only.
fn extend(sink: &SinkMetrics, job: SinkJob, merged: Vec<Merged>) -> SinkJob {
    let original = job.batch.records.len();
    count(sink, &merged);
    let mut records = job.batch.records.clone();
    let added = original as u32..(original + merged.len()) as u32;
    let admitted = job
        .admitted
        .as_ref()
        .map(|a| a.iter().copied().chain(added).collect::<Arc<[u32]>>());
    records.extend(merged.into_iter().map(|m| m.record));
    let batch = Arc::new(Batch {
        feed: job.batch.feed.clone(),
        content_id: job.batch.content_id.clone(),
        records,
        ops: vec![],
    });
    let (inner_tx, inner_rx) = oneshot::channel::<SinkAck>();
    let outer = job.ack;
    let sink = sink.clone();
    let extended = batch.clone();
    tokio::spawn(async move {
        let Ok(mut ack) = inner_rx.await else {
            return; // the sink stopped without acknowledging: so does this job
        };
        ack.rejected.retain(|(i, reason)| {
            if *i < original {
                return true;
            }
            let id = extended.records.get(*i).map(|r| r.id()).unwrap_or("?");
            tracing::error!(sink = %sink.name(), record_id = id, reason = %reason, "A sink rejected a merged view of split records (its parts were delivered).");
            sink.split_rejected.inc();
            false
        });
        let _ = outer.send(ack);
    });
    SinkJob {
        batch,
        admitted,
        ack: inner_tx,
    }
}

#[cfg(test)]
mod tests;
