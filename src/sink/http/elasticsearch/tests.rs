use super::*;
use crate::format::{Format, FormatOptions};
use crate::record::{ContentType, parse_blob};
use crate::secret::{Secret, SecretOrigin};
use crate::sink::http::config::{ES_LIMITS as LIMITS, EsTarget, HttpCommon};
use url::Url;

#[test]
fn action_and_source_lines() {
    let cfg = EsConfig {
        endpoint: Url::parse("http://127.0.0.1:1").unwrap(),
        target: EsTarget::Index("o365-\"x".into()),
        auth: EsAuth::Basic {
            username: "u".into(),
            password: Secret::new("p"),
            origin: SecretOrigin::Inline,
        },
        http: HttpCommon::new(true, LIMITS),
        pipeline: Some("o365-custom".into()),
        integration: None,
    };
    let s = EsSink::new(
        "es",
        &cfg,
        Encoder::new(Format::Raw, FormatOptions::default()),
    )
    .unwrap();
    let recs = parse_blob("c", b"[{\"Id\":\"a1\",\n \"Operation\":\"X\"}]").unwrap();
    let origin = Origin {
        tenant: "t",
        tenant_id: "tid",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    s.encode(&recs[0], &origin, &mut out);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(text.ends_with('\n'));
    let action: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(action["create"]["_index"], "o365-\"x");
    assert_eq!(action["create"]["_id"], "a1");
    assert_eq!(action["create"]["pipeline"], "o365-custom");
    let doc: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(doc["Operation"], "X");
    let req =
        s.ep.request(reqwest::Method::GET, "http://127.0.0.1:1/")
            .build()
            .unwrap();
    assert_eq!(req.headers()[AUTHORIZATION], "Basic dTpw", "base64 of u:p");
    assert!(req.headers()[AUTHORIZATION].is_sensitive());
}

#[test]
fn item_reasons_and_error_text() {
    let b: Bulk = serde_json::from_str(
            r#"{"errors":true,"items":[{"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}}]}"#,
        )
        .unwrap();
    let item = b.items[0].values().next().unwrap();
    assert_eq!(item.reason(), "document_parsing_exception: bad");
    assert_eq!(
        error_text(br#"{"error":{"type":"security_exception","reason":"no"},"status":401}"#),
        "security_exception: no"
    );
    assert_eq!(error_text(b"plain"), "plain");
    assert!(truncate("é".repeat(400)).ends_with('…'));
}
