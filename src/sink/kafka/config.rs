//! `[sinks.NAME] type = "kafka"`: the validated settings and the librdkafka configuration
//! built from them.
//!
//! Reliability settings are not optional: idempotence (which implies `acks=all`, at most 5
//! requests in flight per connection and unlimited retries) is always on, and the properties
//! that would undo it are refused at configuration time.

use std::ops::RangeInclusive;
use std::time::Duration;

use rdkafka::ClientConfig;

use super::topic::TopicTemplate;
use crate::secret::Secret;

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

/// Secret-valued keys, each given as one of (inline key, file key, env key), and the
/// librdkafka property it sets.
pub const SECRET_KEYS: [(&str, &str, &str, &str); 3] = [
    (
        "sasl_password",
        "sasl_password_file",
        "sasl_password_env",
        "sasl.password",
    ),
    (
        "sasl_oauthbearer_client_secret",
        "sasl_oauthbearer_client_secret_file",
        "sasl_oauthbearer_client_secret_env",
        "sasl.oauthbearer.client.secret",
    ),
    (
        "ssl_key_password",
        "ssl_key_password_file",
        "ssl_key_password_env",
        "ssl.key.password",
    ),
];

/// Allowed `compression`.
pub const COMPRESSIONS: [&str; 5] = ["zstd", "lz4", "gzip", "snappy", "none"];
/// Default `compression`: audit JSON compresses about tenfold.
pub const COMPRESSION: &str = "zstd";
/// Default `delivery_timeout` (librdkafka's `message.timeout.ms`).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(300);
/// Allowed `delivery_timeout`: zero means librdkafka never gives up.
pub const DELIVERY_TIMEOUT_RANGE: RangeInclusive<Duration> =
    Duration::ZERO..=Duration::from_secs(7 * 24 * 3600);
/// Default `linger`: larger batches, fewer requests, little latency.
pub const LINGER: Duration = Duration::from_millis(20);
pub const LINGER_RANGE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(900);
/// Default `batch_max_bytes` (`batch.size`).
pub const BATCH_MAX_BYTES: u32 = 1_000_000;
pub const BATCH_MAX_BYTES_RANGE: RangeInclusive<i64> = 1..=2_147_483_647;
/// Default `batch_max_messages` (`batch.num.messages`).
pub const BATCH_MAX_MESSAGES: u32 = 10_000;
pub const BATCH_MAX_MESSAGES_RANGE: RangeInclusive<i64> = 1..=1_000_000;

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap list.
    pub brokers: String,
    pub topic: TopicTemplate,
    /// `compression.type` ([`COMPRESSION`]).
    pub compression: String,
    /// librdkafka's `message.timeout.ms`. A message not acknowledged within it is reported
    /// failed by librdkafka and produced again by the sink, so an outage stalls delivery
    /// rather than losing records ([`DELIVERY_TIMEOUT`]).
    pub delivery_timeout: Duration,
    /// `linger.ms` ([`LINGER`]).
    pub linger: Duration,
    /// `batch.size` in bytes ([`BATCH_MAX_BYTES`]).
    pub batch_max_bytes: u32,
    /// `batch.num.messages` ([`BATCH_MAX_MESSAGES`]).
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
            compression: COMPRESSION.into(),
            delivery_timeout: DELIVERY_TIMEOUT,
            linger: LINGER,
            batch_max_bytes: BATCH_MAX_BYTES,
            batch_max_messages: BATCH_MAX_MESSAGES,
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

/// `brokers`: a comma-separated bootstrap list without empty entries.
pub fn brokers(b: &str) -> Result<(), String> {
    if b.split(',').any(|s| s.trim().is_empty()) {
        return Err("has an empty entry (expected host:port[,host:port…])".into());
    }
    Ok(())
}

/// `compression`: one of [`COMPRESSIONS`].
pub fn compression(c: &str) -> Result<(), String> {
    if COMPRESSIONS.contains(&c) {
        return Ok(());
    }
    Err(format!(
        "unknown compression {c:?} (expected one of: {})",
        COMPRESSIONS.join(", ")
    ))
}

/// Kafka in clear is refused towards any broker that is not on this host: an explicit
/// `plaintext` or `sasl_plaintext` needs `allow_plaintext = true`, and without an explicit
/// protocol the sink uses TLS (`ssl`, or `sasl_ssl` when SASL is configured) instead of
/// librdkafka's default, plaintext. Returns the protocol the sink must set, if any; `cfg`
/// holds the brokers, the secrets and the pass-through properties.
pub fn security_protocol(
    cfg: &KafkaConfig,
    allow_plaintext: bool,
) -> Result<Option<String>, String> {
    let remote: Vec<&str> = cfg
        .brokers
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty() && !broker_is_loopback(b))
        .collect();
    if remote.is_empty() {
        return Ok(None);
    }
    // `ssl_key_password` is a secret too, but of the client's TLS key, not SASL.
    let sasl = cfg
        .secrets
        .iter()
        .chain(&cfg.librdkafka)
        .any(|(k, _)| k.starts_with("sasl."));
    let given = cfg
        .librdkafka
        .iter()
        .find(|(k, _)| k == "security.protocol")
        .map(|(_, v)| v.expose().to_ascii_lowercase());
    match given.as_deref() {
        None => Ok(Some(if sasl { "sasl_ssl" } else { "ssl" }.to_string())),
        Some(p @ ("plaintext" | "sasl_plaintext")) if !allow_plaintext => {
            let what = if p == "sasl_plaintext" {
                "the records and the SASL credentials"
            } else {
                "the records"
            };
            Err(format!(
                "{p} to {} sends {what} in clear: use ssl or sasl_ssl, or set allow_plaintext = true on the sink if that network is trusted",
                remote.join(", ")
            ))
        }
        Some(_) => Ok(None),
    }
}

/// Whether a bootstrap entry (`host:port`, `[v6]:port`, optionally `proto://` first) names
/// this host.
fn broker_is_loopback(entry: &str) -> bool {
    let entry = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    let host = match entry.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => entry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let parsed = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => url::Host::Ipv4(ip),
        Ok(std::net::IpAddr::V6(ip)) => url::Host::Ipv6(ip),
        Err(_) => url::Host::Domain(host),
    };
    crate::secret::is_loopback(&parsed)
}

#[cfg(test)]
mod tests;
