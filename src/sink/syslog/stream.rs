//! Delivery over a stream (TCP, TLS): write each batch as it arrives, acknowledge batches in
//! order once the receiver's TCP has acknowledged their last byte, keep written bytes for
//! the resend window, and on a broken connection reconnect with backoff and send again
//! everything still kept. Polling stalls meanwhile because the pipeline is bounded.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::transport::{Conn, Connector};
use super::{Backoff, Formatter, Framing, framing};
use crate::pipeline::{SinkAck, SinkJob};

/// How often the receiver's acknowledgements are checked while a batch waits for them.
const TICK: Duration = Duration::from_millis(3);
/// Acknowledged bytes kept for re-sending, at most (the window may end earlier).
const WINDOW_BYTES: usize = 64 << 20;

/// One batch, framed, as long as it is not acknowledged or still within the resend window.
struct Entry {
    frames: Vec<u8>,
    records: usize,
    /// Offset on the current connection where the batch ends, once written on it.
    end: Option<u64>,
    /// Written on some connection before (a re-send may duplicate).
    written: bool,
    /// `None` once acknowledged to the pipeline.
    ack: Option<oneshot::Sender<SinkAck>>,
    acked_at: Option<Instant>,
}

pub(super) struct Stream {
    pub name: String,
    pub metrics: crate::telemetry::SinkMetrics,
    pub formatter: Formatter,
    pub framing: Framing,
    pub connector: Connector,
    pub window: Duration,
}

pub(super) async fn run(s: Stream, mut rx: mpsc::Receiver<SinkJob>, abort: CancellationToken) {
    let mut queue: VecDeque<Entry> = VecDeque::new();
    let mut conn: Option<Conn> = None;
    let mut closed = false;
    let mut backoff = Backoff::new();
    let mut rbuf = [0u8; 256];
    loop {
        if let Some(c) = &conn {
            if acknowledge(&mut queue, c.peer_acked()) {
                backoff.reset();
            }
        }
        prune(&mut queue, s.window);
        let pending = queue.iter().any(|e| e.ack.is_some());
        if closed && !pending {
            if let Some(mut c) = conn.take() {
                // A clean close (TLS close_notify) so the receiver does not log an error.
                let _ = tokio::time::timeout(Duration::from_secs(2), c.io.shutdown()).await;
            }
            return;
        }
        let Some(c) = conn.as_mut() else {
            if !pending {
                // Idle and disconnected: connect when there is something to send.
                tokio::select! {
                    _ = abort.cancelled() => return,
                    job = rx.recv() => match job {
                        Some(job) => queue.push_back(s.encode(job)),
                        None => closed = true,
                    },
                }
                continue;
            }
            conn = s.reconnect(&mut queue, &mut backoff, &abort).await;
            if conn.is_none() && abort.is_cancelled() {
                return;
            }
            continue;
        };
        let broken: Option<String> = tokio::select! {
            biased;
            _ = abort.cancelled() => return,
            job = rx.recv(), if !closed => match job {
                Some(job) => {
                    let mut e = s.encode(job);
                    let r = write(c, &mut e, &abort).await;
                    queue.push_back(e);
                    r.err()
                }
                None => {
                    closed = true;
                    None
                }
            },
            r = c.io.read(&mut rbuf) => match r {
                Ok(0) => Some("the receiver closed the connection".to_string()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            },
            _ = tokio::time::sleep(TICK), if pending => None,
        };
        if let Some(error) = broken {
            if abort.is_cancelled() {
                return;
            }
            tracing::warn!(sink = %s.name, address = %s.connector.address(), error = %error,
                "Syslog connection lost; reconnecting. Polling stalls until it is back; unacknowledged records will be sent again.");
            s.metrics.error();
            conn = None;
            for e in &mut queue {
                e.end = None;
            }
            // A receiver that accepts and then drops every session must not make this spin.
            if !pause(backoff.next(), &abort).await {
                return;
            }
        }
    }
}

impl Stream {
    fn encode(&self, job: SinkJob) -> Entry {
        let origin = job.batch.feed.origin();
        let mut frames = Vec::new();
        let (mut payload, mut msg) = (Vec::new(), Vec::new());
        for (_, rec) in job.records() {
            msg.clear();
            if let Some(original) = self.formatter.format(rec, &origin, &mut payload, &mut msg) {
                let max = self.formatter.max_message_size();
                self.metrics.syslog_truncated(rec.id(), original, max);
            }
            framing::frame(self.framing, &msg, &mut frames);
        }
        Entry {
            frames,
            records: job.len(),
            end: None,
            written: false,
            ack: Some(job.ack),
            acked_at: None,
        }
    }

    /// Connects (one attempt, after the backoff delay when the last one failed) and writes
    /// everything kept. `None` when it failed or `abort` fired.
    async fn reconnect(
        &self,
        queue: &mut VecDeque<Entry>,
        backoff: &mut Backoff,
        abort: &CancellationToken,
    ) -> Option<Conn> {
        let mut c = tokio::select! {
            _ = abort.cancelled() => return None,
            r = self.connector.stream() => match r {
                Ok(c) => c,
                Err(e) => {
                    let delay = backoff.next();
                    tracing::warn!(sink = %self.name, address = %self.connector.address(),
                        error = %crate::sink::tls::describe(&e), retry_in_ms = delay.as_millis() as u64,
                        "Cannot connect to the syslog receiver; retrying. Polling stalls until it works.");
                    self.metrics.error();
                    pause(delay, abort).await;
                    return None;
                }
            },
        };
        let again: usize = queue.iter().filter(|e| e.written).map(|e| e.records).sum();
        for e in queue.iter_mut() {
            if let Err(error) = write(&mut c, e, abort).await {
                tracing::warn!(sink = %self.name, error = %error, "Syslog connection lost while re-sending.");
                pause(backoff.next(), abort).await;
                return None;
            }
        }
        tracing::info!(sink = %self.name, address = %self.connector.address(), "Connected to the syslog receiver.");
        if again > 0 {
            self.metrics.syslog_resent(again);
        }
        Some(c)
    }
}

/// Sleeps `d`; false when `abort` fired first.
async fn pause(d: Duration, abort: &CancellationToken) -> bool {
    tokio::select! {
        _ = abort.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Writes and flushes one batch on `c`, recording where it ends.
async fn write(c: &mut Conn, e: &mut Entry, abort: &CancellationToken) -> Result<(), String> {
    e.written = true;
    let io = async {
        c.io.write_all(&e.frames).await?;
        c.io.flush().await
    };
    tokio::select! {
        _ = abort.cancelled() => return Err("stopping".into()),
        r = io => r.map_err(|err| err.to_string())?,
    }
    e.end = Some(c.sent());
    Ok(())
}

/// Acknowledges, in order, the batches whose last byte the receiver's TCP has; true if any.
fn acknowledge(queue: &mut VecDeque<Entry>, peer_acked: u64) -> bool {
    let mut any = false;
    for e in queue.iter_mut() {
        if e.ack.is_none() {
            continue;
        }
        match e.end {
            Some(end) if end <= peer_acked => {
                if let Some(ack) = e.ack.take() {
                    let _ = ack.send(SinkAck::default());
                }
                e.acked_at = Some(Instant::now());
                any = true;
            }
            _ => break,
        }
    }
    any
}

/// Forgets acknowledged batches older than the window (or beyond its byte bound).
fn prune(queue: &mut VecDeque<Entry>, window: Duration) {
    let mut kept: usize = queue
        .iter()
        .filter(|e| e.ack.is_none())
        .map(|e| e.frames.len())
        .sum();
    while let Some(front) = queue.front() {
        let old = front.acked_at.is_some_and(|t| t.elapsed() >= window);
        if front.ack.is_some() || !(old || kept > WINDOW_BYTES) {
            break;
        }
        kept -= front.frames.len();
        queue.pop_front();
    }
}

#[cfg(test)]
mod tests;
