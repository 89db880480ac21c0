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

pub use self::config::KafkaConfig;
pub use self::topic::TopicTemplate;
use super::{Context, SinkError, Task};

/// How long start-up waits for the brokers to answer the topic check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the producer (librdkafka validates every property), checks that every topic it
/// can know in advance exists (a literal, or a template over `{content_type}`, `{tenant}`,
/// `{tenant_id}` expanded for the run's feeds), and starts the sink task. The check waits
/// up to [`CHECK_TIMEOUT`] per topic for the brokers, on a blocking thread.
pub async fn start(cfg: &KafkaConfig, cx: Context) -> Result<Task, SinkError> {
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let producer = client::producer(&cx.name, cfg, reports_tx.clone())
        .map_err(|e| cx.setup_error(format!("invalid Kafka producer configuration: {e}")))?;
    let topics = match cfg.topic.literal() {
        Some(t) => vec![t.to_string()],
        None => cfg.topic.enumerate(&cx.feeds).unwrap_or_default(),
    };
    let (name, brokers) = (cx.name.clone(), cfg.brokers.clone());
    let producer = super::off_workers(&cx.name, move || {
        for topic in &topics {
            check_topic(&name, &brokers, &producer, topic)?;
        }
        Ok(producer)
    })
    .await?;
    let task = producer::Task::new(
        &cx.name,
        cfg.clone(),
        cx.encoder,
        producer,
        reports_tx,
        reports,
    );
    Ok(tokio::spawn(task.run(cx.queue, cx.abort)))
}

/// A missing topic is a configuration error worth failing start-up for; unreachable brokers
/// are not (the sink waits for them, like any outage). Blocks up to [`CHECK_TIMEOUT`].
fn check_topic(
    name: &str,
    brokers: &str,
    producer: &client::Producer,
    topic: &str,
) -> Result<(), SinkError> {
    let refused = |message: String| SinkError::Refused {
        sink: name.to_string(),
        message,
    };
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
                ) => Err(refused(format!(
                    "topic {topic:?} does not exist on {brokers} and the brokers do not create topics automatically; create it, or fix `topic`"
                ))),
                Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) => {
                    Err(refused(format!(
                        "not authorized to use topic {topic:?} on {brokers}; check the ACLs and the SASL settings"
                    )))
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
