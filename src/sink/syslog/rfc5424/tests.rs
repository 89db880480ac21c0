use super::*;
use crate::format::FormatOptions;
use crate::record::ContentType;
use crate::sink::syslog::{Framing, Rfc, SyslogConfig, Transport, test_record};

fn cfg() -> SyslogConfig {
    let mut c = SyslogConfig::new("127.0.0.1:514", Transport::Tcp);
    c.hostname = Some("fwd01".into());
    c.procid = Some("42".into());
    c.severity = Some(6);
    c
}

fn origin() -> Origin<'static> {
    Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::General,
    }
}

fn fmt(c: &SyslogConfig, format: Format, json: &str) -> (String, Option<usize>) {
    let f = Formatter::new(c, Encoder::new(format, FormatOptions::default()));
    let rec = test_record(json);
    let (mut payload, mut out) = (Vec::new(), Vec::new());
    let t = f.format(&rec, &origin(), &mut payload, &mut out);
    (String::from_utf8(out).expect("UTF-8"), t)
}

const REC: &str = r#"{"Id":"a1","CreationTime":"2024-06-10T06:13:20","Operation":"UserLoggedIn","Workload":"AzureActiveDirectory"}"#;

#[test]
fn rfc5424_message_exactly() {
    let (m, t) = fmt(&cfg(), Format::Raw, REC);
    assert_eq!(t, None);
    assert_eq!(
        m,
        format!(
            "<134>1 2024-06-10T06:13:20.000000Z fwd01 o365fwd 42 UserLoggedIn [o365fwd@32473 tenant=\"contoso\" tenantId=\"41463f53-8812-40f4-890f-865bf6e35190\" contentType=\"Audit.General\" recordId=\"a1\"] {REC}"
        )
    );
    let mut c = cfg();
    c.sd_id = None;
    c.facility = 13;
    c.severity = Some(4);
    let (m, _) = fmt(&c, Format::Raw, r#"{"Id":"b"}"#);
    assert_eq!(m, "<108>1 - fwd01 o365fwd 42 - - {\"Id\":\"b\"}");
}

#[test]
fn hostile_header_and_sd_values_cannot_break_the_message() {
    let mut c = cfg();
    c.hostname = Some("evil host\n]\"é".into());
    c.app_name = "a p\tp".repeat(20);
    c.procid = Some("1 2".into());
    let long_op = format!("Op é\n]\\\"{}", "x".repeat(100));
    let json = serde_json::json!({
        "Id": "id\"]\\\nz",
        "CreationTime": "2024-06-10T06:13:20.123",
        "Operation": long_op,
    })
    .to_string();
    let (m, _) = fmt(&c, Format::Raw, &json);
    let header: Vec<&str> = m.splitn(7, ' ').collect();
    assert_eq!(header[0], "<134>1");
    assert_eq!(header[1], "2024-06-10T06:13:20.123000Z");
    assert_eq!(header[2], "evil_host_]\"_");
    assert_eq!(header[3].len(), 48);
    assert!(header[3].starts_with("a_p_p"));
    assert_eq!(header[4], "1_2");
    assert_eq!(header[5], "Op___]\\\"xxxxxxxxxxxxxxxxxxxxxxxx");
    assert_eq!(header[5].len(), 32);
    assert!(
        header[6].starts_with("[o365fwd@32473 tenant="),
        "{}",
        header[6]
    );
    assert!(m.contains(r#"recordId="id\"\]\\ z"]"#), "{m}");
    // The payload is the JSON as given; the only newline is the escaped one inside it.
    assert!(!m.contains('\n'));
}

#[test]
fn sd_values_are_cut_on_a_character_boundary() {
    let json = serde_json::json!({"Id": "é".repeat(200)}).to_string();
    let (m, _) = fmt(&cfg(), Format::Raw, &json);
    let id = m
        .split("recordId=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(id, "é".repeat(64));
}

#[test]
fn severity_follows_the_cef_severity_when_not_fixed() {
    let mut c = cfg();
    c.severity = None;
    let (m, _) = fmt(&c, Format::Cef, REC);
    let sev: u8 = m.split('|').nth(6).unwrap().parse().unwrap();
    let pri = 16 * 8 + crate::sink::syslog::severity_of_cef(sev);
    assert!(m.starts_with(&format!("<{pri}>1 ")), "{m}");
    // Other formats get the same severity from the CEF rules.
    let (raw, _) = fmt(&c, Format::Raw, REC);
    assert!(raw.starts_with(&format!("<{pri}>1 ")), "{raw}");
    assert_eq!(cef_header_severity(br"CEF:0|a\|b|c|d|e|f|9|x=1"), Some(9));
    assert_eq!(cef_header_severity(b"{}"), None);
}

#[test]
fn oversized_records_are_cut_to_the_limit_and_stay_parseable() {
    let mut c = cfg();
    let json = serde_json::json!({
        "Id": "big", "CreationTime": "2024-06-10T06:13:20", "Operation": "Op",
        "Workload": "SharePoint", "UserId": "u".repeat(400), "ObjectId": "o".repeat(400),
        "ClientIP": "10.0.0.1", "Items": (0..200).map(|i| format!("item-{i}")).collect::<Vec<_>>(),
    })
    .to_string();
    for format in Format::ALL {
        c.max_message_size = if format == Format::Cef { 480 } else { 1024 };
        let (m, t) = fmt(&c, format, &json);
        assert!(m.len() <= c.max_message_size, "{format:?}: {}", m.len());
        assert!(t.is_some(), "{format:?} was not reported as truncated");
        let payload = &m[m.find("] ").unwrap() + 2..];
        match format {
            Format::Raw | Format::Ecs | Format::Ocsf => {
                let v: serde_json::Value = serde_json::from_str(payload)
                    .unwrap_or_else(|e| panic!("{format:?}: {e}: {payload}"));
                assert!(v["o365fwd_truncated"].as_u64().unwrap() > 1024);
                if format == Format::Raw {
                    assert_eq!(v["Id"], "big");
                }
            }
            Format::Cef => {
                assert!(payload.starts_with("CEF:0|"), "{payload}");
                assert!(payload.contains(" o365fwdTruncated="), "{payload}");
            }
            Format::Text => assert!(payload.contains("[o365fwd: truncated from"), "{payload}"),
        }
    }
    // A message that fits is not touched.
    c.max_message_size = 8192;
    let (m, t) = fmt(&c, Format::Raw, &json);
    assert_eq!(t, None);
    assert!(m.ends_with(&json));
}

#[test]
fn lf_framing_replaces_line_feeds_in_the_payload_only_then() {
    let mut c = cfg();
    c.framing = Framing::Lf;
    let rec = "{\"Id\":\"x\",\n\"Operation\":\"O\"}";
    let (m, _) = fmt(&c, Format::Raw, rec);
    assert!(m.ends_with("{\"Id\":\"x\", \"Operation\":\"O\"}"), "{m}");
    c.framing = Framing::OctetCounting;
    let (m, _) = fmt(&c, Format::Raw, rec);
    assert!(m.ends_with(rec), "{m}");
    c.transport = Transport::Udp;
    c.framing = Framing::Lf;
    let (m, _) = fmt(&c, Format::Raw, rec);
    assert!(m.ends_with(rec), "datagrams need no replacement: {m}");
}

#[test]
fn rfc3164_message() {
    let mut c = cfg();
    c.rfc = Rfc::Rfc3164;
    let (m, _) = fmt(&c, Format::Raw, REC);
    assert_eq!(m, format!("<134>Jun 10 06:13:20 fwd01 o365fwd[42]: {REC}"));
}
