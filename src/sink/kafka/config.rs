//! `[sinks.NAME] type = "kafka"`: the validated settings and the librdkafka configuration
//! built from them.
//!
//! Reliability settings are not optional: idempotence (which implies `acks=all`, at most 5
//! requests in flight per connection and unlimited retries) is always on, and the properties
//! that would undo it are refused at configuration time.

use std::time::Duration;

use rdkafka::ClientConfig;

use super::topic::TopicTemplate;
use crate::config::Secret;

/// librdkafka properties a user may not set in `[sinks.NAME.librdkafka]`, with the reason.
pub const REFUSED: [(&str, &str); 6] = [
    ("bootstrap.servers", "use the sink's `brokers` key"),
    ("metadata.broker.list", "use the sink's `brokers` key"),
    (
        "transactional.id",
        "transactions are not used: idempotence plus the record Id as key is the contract",
    ),
    (
        "delivery.report.only.error",
        "the sink needs every delivery report to know what is acknowledged",
    ),
    (
        "dr_msg_cb",
        "the sink needs every delivery report to know what is acknowledged",
    ),
    (
        "enable.auto.commit",
        "is a consumer property; this sink only produces",
    ),
];

/// Properties that may be set only to the value reliable delivery needs.
pub const PINNED: [(&str, &[&str]); 3] = [
    ("enable.idempotence", &["true"]),
    ("acks", &["all", "-1"]),
    ("request.required.acks", &["all", "-1"]),
];

/// Sink-level keys and the librdkafka properties (with aliases) they set, so setting both
/// is reported as a conflict.
pub const TUNABLES: [(&str, &[&str]); 5] = [
    ("compression", &["compression.type", "compression.codec"]),
    (
        "delivery_timeout",
        &["message.timeout.ms", "delivery.timeout.ms"],
    ),
    ("linger", &["linger.ms", "queue.buffering.max.ms"]),
    ("batch_max_bytes", &["batch.size"]),
    ("batch_max_messages", &["batch.num.messages"]),
];

/// Secret-valued keys: `NAME`, `NAME_file` or `NAME_env`, and the property each sets.
pub const SECRETS: [(&str, &str); 3] = [
    ("sasl_password", "sasl.password"),
    (
        "sasl_oauthbearer_client_secret",
        "sasl.oauthbearer.client.secret",
    ),
    ("ssl_key_password", "ssl.key.password"),
];

pub const COMPRESSIONS: [&str; 5] = ["zstd", "lz4", "gzip", "snappy", "none"];

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap list.
    pub brokers: String,
    pub topic: TopicTemplate,
    /// `compression.type`; default `zstd` (audit JSON compresses about tenfold).
    pub compression: String,
    /// librdkafka's `message.timeout.ms`. A message not acknowledged within it is reported
    /// failed by librdkafka and produced again by the sink, so an outage stalls delivery
    /// rather than losing records. Default 5 min; zero means librdkafka never gives up.
    pub delivery_timeout: Duration,
    /// `linger.ms`; default 20 ms: larger batches, fewer requests, little latency.
    pub linger: Duration,
    /// `batch.size` in bytes; default 1 MB.
    pub batch_max_bytes: u32,
    /// `batch.num.messages`; default 10000.
    pub batch_max_messages: u32,
    /// `security.protocol` chosen by the sink when the configuration sets none and a broker
    /// is not on this host: TLS (`ssl` or `sasl_ssl`), never librdkafka's plaintext.
    pub security_protocol: Option<String>,
    /// Secrets from `sasl_password*` and friends: (librdkafka property, value).
    pub secrets: Vec<(String, Secret)>,
    /// `[sinks.NAME.librdkafka]`, passed through verbatim after the defaults. Values are
    /// held as secrets because passwords can be written here too: none is ever logged.
    pub librdkafka: Vec<(String, Secret)>,
}

impl KafkaConfig {
    pub fn new(brokers: &str, topic: TopicTemplate) -> KafkaConfig {
        KafkaConfig {
            brokers: brokers.to_string(),
            topic,
            compression: "zstd".into(),
            delivery_timeout: Duration::from_secs(300),
            linger: Duration::from_millis(20),
            batch_max_bytes: 1_000_000,
            batch_max_messages: 10_000,
            security_protocol: None,
            secrets: Vec::new(),
            librdkafka: Vec::new(),
        }
    }

    /// The producer's librdkafka configuration.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("compression.type", &self.compression)
            .set(
                "message.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
            )
            .set("linger.ms", self.linger.as_millis().to_string())
            .set("batch.size", self.batch_max_bytes.to_string())
            .set("batch.num.messages", self.batch_max_messages.to_string())
            // Partition by key the way Java clients do, so the same Id lands on the same
            // partition whichever client produced it.
            .set("partitioner", "murmur2_random")
            .set("client.id", "o365fwd");
        if let Some(p) = &self.security_protocol {
            c.set("security.protocol", p);
        }
        for (k, v) in self.secrets.iter().chain(&self.librdkafka) {
            c.set(k, v.expose());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliable_defaults_and_passthrough_last() {
        let mut k = KafkaConfig::new("h:1", TopicTemplate::parse("t").unwrap());
        k.librdkafka
            .push(("compression.type".into(), Secret::new("lz4")));
        k.secrets
            .push(("sasl.password".into(), Secret::new("hunter2")));
        let c = k.client_config();
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("message.timeout.ms"), Some("300000"));
        assert_eq!(c.get("compression.type"), Some("lz4"));
        assert_eq!(c.get("sasl.password"), Some("hunter2"));
        assert!(!format!("{k:?}").contains("hunter2"));
    }
}
