//! `[sinks.NAME]`: what every sink has (name, format, filter, reassembly) and, by `type`,
//! its own settings, each owned by its sink (`sink::<kind>::config`). `config` reads the
//! TOML and applies the rules found here and there; nothing here knows about TOML.

use std::path::PathBuf;
use std::sync::Arc;

use crate::filter::Filter;
use crate::format::{Format, FormatOptions};
use crate::record::split::SplitConfig;

/// Every `type`, as written in the configuration.
pub const TYPES: [&str; 7] = [
    "file",
    "stdout",
    "kafka",
    "syslog",
    "splunk_hec",
    "elasticsearch",
    "http",
];
/// [`TYPES`] in a sentence, for messages.
pub const SUPPORTED: &str = "file, stdout, kafka, syslog, splunk_hec, elasticsearch or http";

/// The `format` of a sink that sets none: Elasticsearch stores documents, whose natural
/// shape is ECS; every other sink sends the record as received.
pub fn default_format(kind: &str) -> Format {
    if kind == "elasticsearch" {
        Format::Ecs
    } else {
        Format::default()
    }
}

/// `[sinks.NAME]`
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub format: Format,
    pub format_options: FormatOptions,
    /// `reassemble_split_records = true`: also send a merged view of Dynamics 365 records
    /// split for size (every part is still sent as itself).
    pub reassemble: Option<SplitConfig>,
    /// `[sinks.NAME.filter]`: which records the sink receives (`None`: all).
    pub filter: Option<Arc<Filter>>,
    pub kind: SinkKind,
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    /// NDJSON file, fsynced before acknowledging, truncated back to the last committed
    /// length on start.
    File {
        path: PathBuf,
    },
    Stdout,
    /// RFC 5424 / 3164 over UDP, TCP, TLS or a Unix socket.
    Syslog(super::syslog::config::SyslogConfig),
    /// Splunk HTTP Event Collector, optionally with indexer acknowledgement.
    SplunkHec(super::http::config::HecConfig),
    /// Elasticsearch `_bulk` with `create` and the record id as `_id`.
    Elasticsearch(super::http::config::EsConfig),
    /// A generic HTTP collector (webhook).
    Http(super::http::config::WebhookConfig),
    /// Kafka through librdkafka, idempotent, acknowledged per record with `acks=all`.
    Kafka(super::kafka::config::KafkaConfig),
}

impl SinkKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            SinkKind::File { .. } => "file",
            SinkKind::Stdout => "stdout",
            SinkKind::Syslog(_) => "syslog",
            SinkKind::SplunkHec(_) => "splunk_hec",
            SinkKind::Elasticsearch(_) => "elasticsearch",
            SinkKind::Http(_) => "http",
            SinkKind::Kafka(_) => "kafka",
        }
    }
}
