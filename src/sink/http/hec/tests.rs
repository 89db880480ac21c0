use super::*;
use crate::format::{Format, FormatOptions};
use crate::record::{ContentType, parse_blob};
use crate::secret::{Secret, SecretOrigin};
use crate::sink::http::config::{HEC_LIMITS as LIMITS, HttpCommon, O365_SOURCETYPE};
use std::time::Duration;
use url::Url;

fn reply(json: &str) -> Reply {
    serde_json::from_str(json).unwrap()
}

#[test]
fn classifies_documented_codes() {
    let ok = reply(r#"{"text":"Success","code":0,"ackId":7}"#);
    assert_eq!(
        classify(200, Some(&ok), 3),
        Verdict::Accepted { ack_id: Some(7) }
    );
    let bad = reply(r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#);
    assert!(matches!(
        classify(400, Some(&bad), 5),
        Verdict::Reject { at: 2, .. }
    ));
    // An index past the batch cannot be trusted.
    assert!(matches!(
        classify(400, Some(&bad), 2),
        Verdict::RejectUnknown { .. }
    ));
    let busy = reply(r#"{"text":"Server is busy","code":9,"invalid-event-number":0}"#);
    assert!(matches!(
        classify(503, Some(&busy), 5),
        Verdict::Retry { taken: 0, .. }
    ));
    let busy3 = reply(r#"{"text":"Server is busy","code":9,"invalid-event-number":3}"#);
    assert!(matches!(
        classify(503, Some(&busy3), 5),
        Verdict::Retry { taken: 3, .. }
    ));
    assert!(matches!(
        classify(429, None, 5),
        Verdict::Retry { taken: 0, .. }
    ));
    assert!(matches!(classify(500, None, 5), Verdict::Retry { .. }));
    for (status, body) in [
        (403, r#"{"text":"Invalid token","code":4}"#),
        (401, r#"{"text":"Token is required","code":2}"#),
        (403, r#"{"text":"Token disabled","code":1}"#),
        (400, r#"{"text":"Incorrect index","code":7}"#),
        (400, r#"{"text":"Data channel is missing","code":10}"#),
        (400, r#"{"text":"ACK is disabled","code":14}"#),
    ] {
        match classify(status, Some(&reply(body)), 5) {
            Verdict::Stop(reason) => assert!(reason.contains(&status.to_string()), "{reason}"),
            v => panic!("{status} {body}: {v:?}"),
        }
    }
    assert!(matches!(classify(404, None, 1), Verdict::Stop(_)));
    assert!(matches!(classify(501, None, 1), Verdict::Stop(_)));
}

#[test]
fn channel_is_a_v4_guid() {
    for _ in 0..100 {
        let g = new_guid();
        let parts: Vec<&str> = g.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{g}"
        );
        assert!(parts[2].starts_with('4'), "{g}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{g}");
        assert!(g.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    }
}

fn sink(format: Format, index: Option<&str>) -> HecSink {
    let cfg = HecConfig {
        endpoint: Url::parse("http://127.0.0.1:1").unwrap(),
        token: Secret::new("tok"),
        token_origin: SecretOrigin::Inline,
        indexer_ack: false,
        ack_poll_interval: Duration::from_secs(1),
        ack_timeout: Duration::from_secs(10),
        index: index.map(String::from),
        source: Some("o365fwd".into()),
        host: Some("fwd\"01".into()),
        sourcetype: O365_SOURCETYPE.into(),
        http: HttpCommon::new(true, LIMITS),
    };
    HecSink::new("s", &cfg, Encoder::new(format, FormatOptions::default())).unwrap()
}

#[test]
fn envelope_has_time_metadata_and_event() {
    let recs = parse_blob(
        "c1",
        br#"[{"Id":"a1","CreationTime":"2024-06-10T06:13:20.123","Operation":"UserLoggedIn"},{"Id":"a2"}]"#,
    )
    .unwrap();
    let origin = Origin {
        tenant: "t",
        tenant_id: "tid",
        content_type: ContentType::General,
    };
    let s = sink(Format::Raw, Some("o365"));
    let mut out = Vec::new();
    s.encode(&recs[0], &origin, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["time"].as_f64(), Some(1718000000.123));
    assert!(String::from_utf8_lossy(&out).starts_with("{\"time\":1718000000.123,"));
    assert_eq!(v["host"], "fwd\"01");
    assert_eq!(v["source"], "o365fwd");
    assert_eq!(v["sourcetype"], "o365:management:activity");
    assert_eq!(v["index"], "o365");
    assert_eq!(v["event"]["Operation"], "UserLoggedIn");
    // No CreationTime: no time (Splunk uses the receipt time); no index: not sent.
    let s = sink(Format::Raw, None);
    let mut out = Vec::new();
    s.encode(&recs[1], &origin, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v.get("time").is_none() && v.get("index").is_none());
    assert_eq!(v["event"]["Id"], "a2");
}

#[test]
fn text_formats_become_string_events() {
    let recs = parse_blob("c1", br#"[{"Id":"a1","Operation":"X"}]"#).unwrap();
    let origin = Origin {
        tenant: "t",
        tenant_id: "tid",
        content_type: ContentType::General,
    };
    let s = sink(Format::Text, None);
    let mut out = Vec::new();
    s.encode(&recs[0], &origin, &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["event"].is_string(), "{v}");
}
