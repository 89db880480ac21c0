//! The librdkafka producer and its callbacks: every delivery report is forwarded, with the
//! message's persistence status, to the sink task over a channel.

use rdkafka::client::ClientContext;
use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{ProducerContext, ThreadedProducer};
use tokio::sync::mpsc;

use super::config::KafkaConfig;

/// Which record a message carries: the job's sequence number and the record's index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub job: u64,
    pub index: usize,
}

/// What librdkafka says about one message.
#[derive(Debug)]
pub enum Outcome {
    /// Acknowledged by the broker (with `acks=all`: by every in-sync replica).
    Acked,
    Failed {
        error: KafkaError,
        /// Whether the message may be in the log anyway: resending it may duplicate.
        possibly_persisted: bool,
    },
}

#[derive(Debug)]
pub struct Report {
    pub tag: Tag,
    pub outcome: Outcome,
}

pub struct Context {
    sink: String,
    reports: mpsc::UnboundedSender<Report>,
}

pub type Producer = ThreadedProducer<Context>;

/// Builds a producer; librdkafka checks every property here (unknown names, bad values).
pub fn producer(
    sink: &str,
    cfg: &KafkaConfig,
    reports: mpsc::UnboundedSender<Report>,
) -> Result<Producer, KafkaError> {
    let ctx = Context {
        sink: sink.to_string(),
        reports,
    };
    ThreadedProducer::from_config_and_context(&cfg.client_config(), ctx)
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        use RDKafkaLogLevel::*;
        match level {
            Emerg | Alert | Critical | Error => {
                tracing::error!(sink = %self.sink, facility = fac, "librdkafka: {message}")
            }
            Warning => tracing::warn!(sink = %self.sink, facility = fac, "librdkafka: {message}"),
            Notice | Info => {
                tracing::info!(sink = %self.sink, facility = fac, "librdkafka: {message}")
            }
            Debug => tracing::debug!(sink = %self.sink, facility = fac, "librdkafka: {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Broker connection errors repeat every few seconds during an outage; the sink's
        // own retry messages say what matters (records waiting), so these stay at warn.
        tracing::warn!(sink = %self.sink, error = %error, "Kafka client error: {reason}");
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = Box<Tag>;

    fn delivery(&self, result: &DeliveryResult<'_>, tag: Box<Tag>) {
        let outcome = match result {
            Ok(_) => Outcome::Acked,
            Err((error, msg)) => {
                // SAFETY: `msg` is a live message borrowed for this callback; the call only
                // reads its status field.
                let status = unsafe { rdkafka::bindings::rd_kafka_message_status(msg.ptr()) };
                Outcome::Failed {
                    error: error.clone(),
                    possibly_persisted: !matches!(
                        status,
                        rdkafka::bindings::rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_NOT_PERSISTED
                    ),
                }
            }
        };
        // The receiver is gone only when the sink stopped; the report no longer matters.
        let _ = self.reports.send(Report { tag: *tag, outcome });
    }
}

/// Failures no retry can fix: the record goes to `SinkAck::rejected`.
pub fn is_permanent(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(
            MessageSizeTooLarge
                | InvalidMessageSize
                | InvalidMessage
                | MessageBatchTooLarge
                | InvalidRecord
                | UnsupportedForMessageFormat
        )
    )
}
