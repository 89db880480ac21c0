//! The sink task: produce every record of a job, acknowledge the job once librdkafka has
//! reported every record delivered (`acks=all`), in the order jobs arrived.
//!
//! Several jobs are in flight at once so librdkafka can batch across them. A record whose
//! delivery failed for a reason that can pass (outage, timeout, purge after a fatal error) is
//! produced again after a backoff; the job simply stays unacknowledged meanwhile, which
//! stalls polling through the bounded pipeline. A resend of a message librdkafka reports as
//! possibly persisted can duplicate it: such resends are counted and logged. A fatal producer
//! error (the idempotence state is broken) rebuilds the producer.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{self, Outcome, Producer, Report, Tag};
use super::config::KafkaConfig;
use crate::format::Encoder;
use crate::pipeline::{SinkAck, SinkJob};
use crate::telemetry::count;

/// Jobs produced and not yet acknowledged.
const MAX_JOBS: usize = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Wait before producing again when librdkafka's local queue is full.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(50);
/// At most one retry warning per this interval (an outage fails thousands of messages).
const WARN_EVERY: Duration = Duration::from_secs(10);

struct InFlight {
    seq: u64,
    job: SinkJob,
    pending: usize,
    rejected: Vec<(usize, String)>,
    attempts: HashMap<usize, u32>,
}

pub struct Task {
    name: String,
    cfg: KafkaConfig,
    encoder: Encoder,
    producer: Producer,
    reports_tx: mpsc::UnboundedSender<Report>,
    reports: mpsc::UnboundedReceiver<Report>,
    jobs: VecDeque<InFlight>,
    next_seq: u64,
    retries: Vec<(Instant, Tag)>,
    last_warn: Option<Instant>,
    buf: Vec<u8>,
    topic: String,
}

impl Task {
    pub fn new(
        name: &str,
        cfg: KafkaConfig,
        encoder: Encoder,
        producer: Producer,
        reports_tx: mpsc::UnboundedSender<Report>,
        reports: mpsc::UnboundedReceiver<Report>,
    ) -> Task {
        Task {
            name: name.to_string(),
            cfg,
            encoder,
            producer,
            reports_tx,
            reports,
            jobs: VecDeque::new(),
            next_seq: 0,
            retries: Vec::new(),
            last_warn: None,
            buf: Vec::with_capacity(64 * 1024),
            topic: String::new(),
        }
    }

    /// Runs until the input closes and everything is acknowledged, or until `abort`.
    pub async fn run(mut self, mut rx: mpsc::Receiver<SinkJob>, abort: CancellationToken) {
        let mut closed = false;
        loop {
            if closed && self.jobs.is_empty() {
                break;
            }
            let next_retry = self.retries.iter().map(|r| r.0).min();
            tokio::select! {
                biased;
                _ = abort.cancelled() => {
                    tracing::warn!(sink = %self.name, jobs = self.jobs.len(),
                        "Hard stop: batches not acknowledged by Kafka stay uncommitted and are sent again on restart.");
                    break;
                }
                Some(rep) = self.reports.recv() => self.on_report(rep),
                job = rx.recv(), if !closed && self.jobs.len() < MAX_JOBS => match job {
                    Some(job) => self.start_job(job),
                    None => closed = true,
                },
                _ = sleep_until(next_retry), if next_retry.is_some() => self.resend_due(),
            }
            self.ack_finished();
        }
        // Everything acknowledged was already delivered; this only bounds the drop below,
        // which purges whatever is left after a hard stop.
        let producer = self.producer;
        let _ = tokio::task::spawn_blocking(move || {
            let _ = producer.flush(Duration::from_secs(1));
            drop(producer);
        })
        .await;
    }

    fn start_job(&mut self, job: SinkJob) {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Only the records the sink's filter admits; tags keep their batch index.
        let indices: Vec<usize> = job.indices().collect();
        self.jobs.push_back(InFlight {
            seq,
            job,
            pending: indices.len(),
            rejected: Vec::new(),
            attempts: HashMap::new(),
        });
        for index in indices {
            self.produce(Tag { job: seq, index });
        }
    }

    fn job_mut(&mut self, seq: u64) -> Option<&mut InFlight> {
        let front = self.jobs.front()?.seq;
        let i = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.jobs.get_mut(i)
    }

    /// Enqueues one record in librdkafka; an enqueue failure is handled like a failed
    /// delivery report.
    fn produce(&mut self, tag: Tag) {
        let Some(front) = self.jobs.front().map(|j| j.seq) else {
            return;
        };
        let Some(job) = usize::try_from(tag.job - front)
            .ok()
            .and_then(|i| self.jobs.get(i))
        else {
            return;
        };
        let batch = job.job.batch.clone();
        let Some(rec) = batch.records.get(tag.index) else {
            return;
        };
        let origin = batch.feed.origin();
        self.buf.clear();
        self.encoder.encode(rec, &origin, &mut self.buf);
        self.cfg.topic.render(rec, &origin, &mut self.topic);
        let record_type = rec.record_type.map(|n| n.to_string()).unwrap_or_default();
        let headers = OwnedHeaders::new_with_capacity(6)
            .insert(header("tenant", origin.tenant))
            .insert(header("tenant_id", origin.tenant_id))
            .insert(header("content_type", origin.content_type.as_str()))
            .insert(header("workload", rec.workload().unwrap_or("")))
            .insert(header("record_type", &record_type))
            .insert(header("format", self.encoder.format.as_str()));
        let mut record = BaseRecord::with_opaque_to(&self.topic, Box::new(tag))
            .key(rec.id().as_bytes())
            .payload(&self.buf[..])
            .headers(headers);
        if let Some(t) = rec.creation_time {
            record = record.timestamp(t.timestamp_millis());
        }
        // The refused record borrows the buffers: drop it before handling the error.
        let sent = self.producer.send(record).map_err(|(e, _)| e);
        if let Err(error) = sent {
            if error.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) {
                self.retries
                    .push((crate::bounds::later(Instant::now(), QUEUE_FULL_WAIT), tag));
            } else {
                self.failed(tag, error, false);
            }
        }
    }

    fn on_report(&mut self, rep: Report) {
        match rep.outcome {
            Outcome::Acked => {
                if let Some(job) = self.job_mut(rep.tag.job) {
                    job.pending = job.pending.saturating_sub(1);
                    count("o365fwd_kafka_acked_total", &[("sink", &self.name)], 1);
                }
            }
            Outcome::Failed {
                error,
                possibly_persisted,
            } => self.failed(rep.tag, error, possibly_persisted),
        }
    }

    fn failed(&mut self, tag: Tag, error: KafkaError, possibly_persisted: bool) {
        let name = self.name.clone();
        if client::is_permanent(&error) {
            if let Some(job) = self.job_mut(tag.job) {
                job.pending = job.pending.saturating_sub(1);
                job.rejected
                    .push((tag.index, format!("Kafka refused the record: {error}")));
            }
            return;
        }
        let Some(job) = self.job_mut(tag.job) else {
            return;
        };
        let attempts = job.attempts.entry(tag.index).or_insert(0);
        *attempts += 1;
        let backoff = backoff(*attempts);
        count("o365fwd_sink_errors_total", &[("sink", &name)], 1);
        count("o365fwd_kafka_resent_total", &[("sink", &name)], 1);
        if possibly_persisted {
            // The broker may have this message already: the resend may duplicate it (same
            // key, so consumers can drop it).
            count(
                "o365fwd_kafka_possible_duplicates_total",
                &[("sink", &name)],
                1,
            );
        }
        let now = Instant::now();
        if self.last_warn.is_none_or(|t| now - t >= WARN_EVERY) {
            self.last_warn = Some(now);
            let hint = match error.rdkafka_error_code() {
                Some(
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic,
                ) => " The topic does not exist and the broker does not create topics: create it.",
                Some(RDKafkaErrorCode::MessageTimedOut) => {
                    " The brokers did not acknowledge within delivery_timeout."
                }
                _ => "",
            };
            tracing::warn!(sink = %name, error = %error, possibly_persisted,
                retry_in_ms = backoff.as_millis() as u64,
                "Kafka did not acknowledge a record; producing it again. Polling stalls until Kafka acknowledges.{hint}");
        }
        if let Some(fatal) = self.producer.client().fatal_error() {
            self.rebuild(&fatal.1);
        }
        self.retries.push((crate::bounds::later(now, backoff), tag));
    }

    /// Replaces a producer in a fatal state. Its queued messages are purged; their reports
    /// arrive on the same channel and are produced again by the new producer.
    fn rebuild(&mut self, reason: &str) {
        match client::producer(&self.name, &self.cfg, self.reports_tx.clone()) {
            Ok(p) => {
                tracing::error!(sink = %self.name, reason,
                    "Fatal Kafka producer error; rebuilding the producer and sending unacknowledged records again.");
                count(
                    "o365fwd_kafka_producer_rebuilds_total",
                    &[("sink", &self.name)],
                    1,
                );
                let old = std::mem::replace(&mut self.producer, p);
                // Dropping purges and waits up to 500 ms for the reports: not on this thread.
                tokio::task::spawn_blocking(move || drop(old));
            }
            Err(e) => {
                tracing::error!(sink = %self.name, error = %e, "Cannot rebuild the Kafka producer; trying again.");
            }
        }
    }

    fn resend_due(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.retries.drain(..).partition(|r| r.0 <= now);
        self.retries = later;
        for (_, tag) in due {
            self.produce(tag);
        }
    }

    fn ack_finished(&mut self) {
        while self.jobs.front().is_some_and(|j| j.pending == 0) {
            let Some(done) = self.jobs.pop_front() else {
                break;
            };
            self.retries.retain(|r| r.1.job != done.seq);
            let _ = done.job.ack.send(SinkAck {
                rejected: done.rejected,
                offset: None,
            });
        }
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// Exponential backoff with jitter, so records failed together do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(10).saturating_sub(1))
        .min(MAX_BACKOFF);
    base.mul_f64(0.5 + fastrand::f64() / 2.0)
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
