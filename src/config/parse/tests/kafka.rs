//! `type = "kafka"` sinks: defaults, every key, secrets, the librdkafka pass-through and
//! what it refuses.

use std::ffi::OsString;
use std::time::Duration;

use super::super::parse_with_env;
use super::super::tests::{minimal, ok, one, problems, source};
use crate::sink::config::SinkKind;
use crate::sink::kafka::KafkaConfig;

/// The minimal config with its sink (line 6) replaced by `sink` (starting on line 6).
fn with_sink(sink: &str) -> String {
    minimal().replace("[sinks.out]\ntype = \"stdout\"\n", sink)
}

fn kafka(text: &str) -> KafkaConfig {
    match ok(text).sinks["out"].kind.clone() {
        SinkKind::Kafka(k) => k,
        other => panic!("not a kafka sink: {other:?}"),
    }
}

#[test]
fn minimal_kafka_sink_gets_reliable_defaults() {
    let k = kafka(&with_sink(
        "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:9092,b:9092\"\ntopic = \"o365.{content_type}\"\nformat = \"ecs\"\n[sinks.out.librdkafka]\n\"compression.type\" = \"lz4\"\n",
    ));
    assert_eq!(k.brokers, "a:9092,b:9092");
    assert_eq!(k.topic.to_string(), "o365.{content_type}");
    assert_eq!(k.delivery_timeout, Duration::from_secs(300));
    let c = k.client_config();
    assert_eq!(c.get("enable.idempotence"), Some("true"));
    assert_eq!(c.get("compression.type"), Some("lz4"));
    assert_eq!(c.get("linger.ms"), Some("20"));
    let summary = ok(&with_sink(
        "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:9092\"\ntopic = \"t\"\n",
    ))
    .summary();
    assert!(summary.contains("out: kafka a:9092 topic t"), "{summary}");
}

#[test]
fn every_key_and_secrets_from_file_and_env() {
    let dir = tempfile::tempdir().unwrap();
    super::super::tests::write_secret(&dir.path().join("pw"), "s3cret-from-file\n");
    let text = with_sink(&format!(
        "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:9092\"\ntopic = \"o365\"\ncompression = \"gzip\"\ndelivery_timeout = \"0s\"\nlinger = \"50ms\"\nbatch_max_bytes = 5000\nbatch_max_messages = 100\nsasl_password_file = \"{}\"\nssl_key_password_env = \"KEYPW\"\n[sinks.out.librdkafka]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"agent\"\n\"socket.keepalive.enable\" = true\n\"retry.backoff.ms\" = 250\n",
        dir.path().join("pw").display()
    ));
    let env = |n: &str| (n == "KEYPW").then(|| OsString::from("key-pw-from-env"));
    let cfg = parse_with_env(&text, &source(), &env).unwrap();
    let SinkKind::Kafka(k) = &cfg.sinks["out"].kind else {
        panic!("not kafka");
    };
    let c = k.client_config();
    assert_eq!(c.get("compression.type"), Some("gzip"));
    assert_eq!(c.get("message.timeout.ms"), Some("0"));
    assert_eq!(c.get("linger.ms"), Some("50"));
    assert_eq!(c.get("batch.size"), Some("5000"));
    assert_eq!(c.get("batch.num.messages"), Some("100"));
    assert_eq!(c.get("sasl.password"), Some("s3cret-from-file"));
    assert_eq!(c.get("ssl.key.password"), Some("key-pw-from-env"));
    assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
    assert_eq!(c.get("socket.keepalive.enable"), Some("true"));
    assert_eq!(c.get("retry.backoff.ms"), Some("250"));
    let shown = format!("{cfg:?}{}", cfg.summary());
    assert!(
        !shown.contains("s3cret") && !shown.contains("key-pw"),
        "{shown}"
    );
}

#[test]
fn required_keys_and_bad_values_are_located() {
    one(
        &with_sink("[sinks.out]\ntype = \"kafka\"\ntopic = \"t\"\n"),
        "sinks.out.brokers",
        6,
        1,
        "missing required key `brokers`",
    );
    one(
        &with_sink("[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1\"\ntopic = \"o365.{nope}\"\n"),
        "sinks.out.topic",
        9,
        9,
        "unknown placeholder {nope}",
    );
    one(
        &with_sink("[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1,\"\ntopic = \"t\"\n"),
        "sinks.out.brokers",
        8,
        11,
        "empty entry",
    );
    one(
        &with_sink(
            "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1\"\ntopic = \"t\"\ncompression = \"brotli\"\n",
        ),
        "sinks.out.compression",
        10,
        15,
        "unknown compression",
    );
    one(
        &with_sink(
            "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1\"\ntopic = \"t\"\nsasl_pasword = \"x\"\n",
        ),
        "sinks.out.sasl_pasword",
        10,
        1,
        "did you mean `sasl_password`",
    );
}

#[test]
fn passthrough_cannot_undo_reliability_or_conflict() {
    let base = "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1\"\ntopic = \"t\"\nlinger = \"5ms\"\nsasl_password = \"pw\"\n[sinks.out.librdkafka]\n";
    let cases = [
        ("\"enable.idempotence\" = false", "must be true"),
        ("acks = 1", "must be all or -1"),
        (
            "\"bootstrap.servers\" = \"x:1\"",
            "use the sink's `brokers` key",
        ),
        ("\"transactional.id\" = \"x\"", "transactions are not used"),
        ("\"linger.ms\" = 7", "same thing as `linger`"),
        (
            "\"sasl.password\" = \"other\"",
            "same thing as `sasl_password`",
        ),
        ("\"x\" = [1]", "expected a string, integer or boolean"),
    ];
    for (line, needle) in cases {
        let ps = problems(&with_sink(&format!("{base}{line}\n")));
        assert_eq!(ps.len(), 1, "{line}: {ps:#?}");
        assert_eq!(ps[0].line, Some(13), "{line}: {ps:#?}");
        assert!(ps[0].message.contains(needle), "{line}: {ps:#?}");
        assert!(!ps[0].message.contains("other"), "secret echoed: {ps:#?}");
    }
    // Allowed values of pinned properties are fine.
    let k = kafka(&with_sink(&format!("{base}acks = \"all\"\n")));
    assert_eq!(k.client_config().get("acks"), Some("all"));
    // Two sources for one secret.
    let ps = problems(&with_sink(
        "[sinks.out]\ntype = \"kafka\"\nbrokers = \"a:1\"\ntopic = \"t\"\nsasl_password = \"pw\"\nsasl_password_env = \"PW\"\n",
    ));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert!(ps[0].message.contains("set only one"), "{ps:#?}");
}
