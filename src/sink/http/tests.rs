use super::*;

#[test]
fn join_keeps_prefix_and_avoids_double_slash() {
    let u = url::Url::parse("https://h:8088/splunk/").unwrap();
    assert_eq!(
        join(&u, "/services/collector/event"),
        "https://h:8088/splunk/services/collector/event"
    );
    let u = url::Url::parse("https://h:9200").unwrap();
    assert_eq!(join(&u, "_bulk"), "https://h:9200/_bulk");
}

#[test]
fn one_line_replaces_only_line_breaks() {
    let mut out = b"x".to_vec();
    push_one_line(&mut out, b"{\"a\":\n 1,\r\n\"b\":\"c\\nd\"}");
    assert_eq!(out, b"x{\"a\":  1,  \"b\":\"c\\nd\"}");
    let v: serde_json::Value = serde_json::from_slice(&out[1..]).unwrap();
    assert_eq!(v["b"], "c\nd");
}
