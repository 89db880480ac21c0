//! `kafka`: records to Kafka through librdkafka, one message per record.
//!
//! Key = the record `Id` (compacted topics and consumers deduplicate on it), value = the
//! record in the sink's format, headers = tenant, tenant_id, content_type, workload,
//! record_type, format; timestamp = the record's `CreationTime`. A batch is acknowledged
//! once every record has its delivery report from the brokers with `acks=all`; see
//! [`producer`] for what happens in between.

pub mod client;
pub mod config;
pub mod producer;
#[cfg(test)]
mod tests;
pub mod topic;

use std::time::Duration;

use rdkafka::producer::Producer as _;
use rdkafka::types::RDKafkaRespErr;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use self::config::KafkaConfig;
pub use self::topic::TopicTemplate;
use super::SinkError;
use crate::format::Encoder;
use crate::pipeline::SinkJob;

/// How long start-up waits for the brokers to answer the topic check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the producer (librdkafka validates every property), checks that every topic it
/// can know in advance exists (a literal, or a template over `{content_type}`, `{tenant}`,
/// `{tenant_id}` expanded for `feeds`), and starts the sink task. Blocks up to
/// [`CHECK_TIMEOUT`] per topic for the check.
pub fn spawn(
    name: &str,
    cfg: &KafkaConfig,
    feeds: &[crate::feed_id::FeedId],
    encoder: Encoder,
    rx: mpsc::Receiver<SinkJob>,
    abort: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, SinkError> {
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let producer =
        client::producer(name, cfg, reports_tx.clone()).map_err(|e| SinkError::Setup {
            sink: name.to_string(),
            message: format!("invalid Kafka producer configuration: {e}"),
        })?;
    let topics = match cfg.topic.literal() {
        Some(t) => vec![t.to_string()],
        None => cfg.topic.enumerate(feeds).unwrap_or_default(),
    };
    for topic in &topics {
        check_topic(name, &cfg.brokers, &producer, topic)?;
    }
    let task = producer::Task::new(name, cfg.clone(), encoder, producer, reports_tx, reports);
    Ok(tokio::spawn(task.run(rx, abort)))
}

/// A missing topic is a configuration error worth failing start-up for; unreachable brokers
/// are not (the sink waits for them, like any outage).
fn check_topic(
    name: &str,
    brokers: &str,
    producer: &client::Producer,
    topic: &str,
) -> Result<(), SinkError> {
    match producer.client().fetch_metadata(Some(topic), CHECK_TIMEOUT) {
        Ok(md) => {
            let err = md
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .and_then(|t| t.error());
            match err {
                Some(
                    RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                    | RDKafkaRespErr::RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
                ) => Err(SinkError::Setup {
                    sink: name.to_string(),
                    message: format!(
                        "topic {topic:?} does not exist on {brokers} and the brokers do not create topics automatically; create it, or fix `topic`"
                    ),
                }),
                Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) => {
                    Err(SinkError::Setup {
                        sink: name.to_string(),
                        message: format!(
                            "not authorized to use topic {topic:?} on {brokers}; check the ACLs and the SASL settings"
                        ),
                    })
                }
                _ => Ok(()),
            }
        }
        Err(e) => {
            tracing::warn!(sink = name, brokers, error = %e,
                "Cannot reach the Kafka brokers to check the topic; starting anyway. Records wait until the brokers answer.");
            Ok(())
        }
    }
}
