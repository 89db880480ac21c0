use super::*;
use crate::record::{ContentType, parse_blob};
use serde_json::{Value, json};

fn doc(blob: &[u8], keep: bool) -> Value {
    let recs = parse_blob("c", blob).unwrap();
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "C0FFEE00-0000-4000-8000-000000000001",
        content_type: ContentType::General,
    };
    let it = EsIntegration {
        namespace: "prod".into(),
    };
    let mut out = Vec::new();
    encode(&recs[0], &origin, &it, keep, &mut out);
    assert!(!out.contains(&b'\n'));
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn shaped_as_the_agent_input_sends_it() {
    let raw = b"[{\"Id\":\"a1\",\n\"CreationTime\":\"2026-03-02T10:00:00\",\"RecordType\":15}]";
    let v = doc(raw, false);
    assert_eq!(v["@timestamp"], "2026-03-02T10:00:00.000Z");
    assert_eq!(
        v["o365audit"],
        json!({"Id":"a1","CreationTime":"2026-03-02T10:00:00","RecordType":15})
    );
    assert_eq!(
        v["data_stream"],
        json!({"type":"logs","dataset":"o365.audit","namespace":"prod"})
    );
    assert_eq!(v["event"], json!({"dataset":"o365.audit"}));
    assert_eq!(v["input"]["type"], "cel");
    assert!(v.get("tags").is_none());
    assert_eq!(
        v["_conf"]["tenants"]["c0ffee00-0000-4000-8000-000000000001"],
        "contoso"
    );
    let v = doc(raw, true);
    assert_eq!(v["tags"], json!(["preserve_original_event"]));
    assert!(
        v["event"]["original"]
            .as_str()
            .unwrap()
            .contains("\"RecordType\":15")
    );
}

#[test]
fn a_record_that_is_not_an_object_keeps_its_text() {
    let v = doc(b"[\"just text\"]", false);
    assert!(v.get("o365audit").is_none());
    assert_eq!(v["event"]["original"], "\"just text\"");
    assert_eq!(v["tags"], json!(["preserve_original_event"]));
    assert!(v["error"]["message"].is_string());
}
