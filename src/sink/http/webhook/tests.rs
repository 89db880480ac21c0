use super::*;
use crate::format::{Format, FormatOptions};
use crate::record::{ContentType, parse_blob};
use crate::secret::{Secret, SecretOrigin};
use crate::sink::http::config::{Header, HttpCommon, WEBHOOK_LIMITS as LIMITS};
use url::Url;

fn sink(encoding: Encoding, format: Format) -> WebhookSink {
    let cfg = WebhookConfig {
        url: Url::parse("http://127.0.0.1:1/in").unwrap(),
        encoding,
        headers: vec![Header {
            name: "X-Api-Key".into(),
            value: Secret::new("k"),
            origin: SecretOrigin::Inline,
        }],
        http: HttpCommon::new(false, LIMITS),
    };
    WebhookSink::new("h", &cfg, Encoder::new(format, FormatOptions::default())).unwrap()
}

fn items(s: &WebhookSink) -> Vec<Item> {
    let recs = parse_blob("c", b"[{\"Id\":\"a\",\n\"N\":1},{\"Id\":\"b\"}]").unwrap();
    let origin = Origin {
        tenant: "t",
        tenant_id: "tid",
        content_type: ContentType::General,
    };
    recs.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut data = Vec::new();
            s.encode(r, &origin, &mut data);
            Item {
                job: 0,
                index: i,
                data,
            }
        })
        .collect()
}

#[test]
fn ndjson_and_json_array_bodies() {
    let s = sink(Encoding::Ndjson, Format::Raw);
    let it = items(&s);
    let body = String::from_utf8(s.body(&it, &[0, 1])).unwrap();
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.ends_with('\n'));
    for l in body.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
    let s = sink(Encoding::JsonArray, Format::Raw);
    let it = items(&s);
    let v: serde_json::Value = serde_json::from_slice(&s.body(&it, &[1, 0])).unwrap();
    assert_eq!(v[0]["Id"], "b");
    assert_eq!(v[1]["N"], 1);
    let s = sink(Encoding::JsonArray, Format::Text);
    let it = items(&s);
    let v: serde_json::Value = serde_json::from_slice(&s.body(&it, &[0])).unwrap();
    assert!(v[0].is_string());
    let req =
        s.ep.request(reqwest::Method::POST, "http://127.0.0.1:1/in")
            .build()
            .unwrap();
    assert_eq!(req.headers()["x-api-key"], "k");
    assert!(req.headers()["x-api-key"].is_sensitive());
}
