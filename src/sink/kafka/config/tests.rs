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
