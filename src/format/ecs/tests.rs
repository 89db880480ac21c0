use super::*;
use crate::record::ContentType;
use serde_json::{Value, json};

fn doc(json: &str, opts: &FormatOptions) -> Value {
    let rec = Record::from_json(json, "cid").unwrap();
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "t-id",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    encode(&rec, &origin, opts, &mut out);
    serde_json::from_slice(&out).unwrap()
}

fn d(json: &str) -> Value {
    doc(json, &FormatOptions::default())
}

#[test]
fn name_value_lists_become_objects_like_elastic() {
    let v = d(
        r#"{"Id":"1","CreationTime":"2020-01-01T00:00:00","RecordType":1,
        "Parameters":[{"Name":"Identity","Value":"x"},{"Name":"N","Value":null}],
        "ExtendedProperties":"plain text",
        "ModifiedProperties":[{"Name":"Display Name.x","NewValue":"b","OldValue":"a"},"Flag"]}"#,
    );
    let a = &v["o365"]["audit"];
    assert_eq!(a["Parameters"], json!({"Identity":"x","N":null}));
    assert_eq!(a["ExtendedProperties"], json!({"_raw":"plain text"}));
    assert_eq!(
        a["ModifiedProperties"],
        json!({"Display_Name_x":{"NewValue":"b","OldValue":"a"},"Flag":{}})
    );
}

#[test]
fn irregular_lists_are_kept_as_is() {
    let v = d(
        r#"{"Parameters":[{"Name":"a","Value":1},{"Name":"a","Value":2}],
        "ExtendedProperties":[{"Name":"a","Value":1,"Extra":true}],"ModifiedProperties":[1]}"#,
    );
    let a = &v["o365"]["audit"];
    assert_eq!(
        a["Parameters"],
        json!([{"Name":"a","Value":1},{"Name":"a","Value":2}])
    );
    assert_eq!(a["ExtendedProperties"][0]["Extra"], true);
    assert_eq!(a["ModifiedProperties"], json!([1]));
}

#[test]
fn user_agent_from_extended_properties_is_moved() {
    let v = d(
        r#"{"RecordType":15,"UserAgent":"top","ExtendedProperties":[{"Name":"UserAgent","Value":"ep"},{"Name":"K","Value":"v"}]}"#,
    );
    assert_eq!(v["user_agent"]["original"], "ep");
    assert_eq!(v["o365"]["audit"]["UserAgent"], "top");
    assert_eq!(v["o365"]["audit"]["ExtendedProperties"], json!({"K":"v"}));
}

#[test]
fn guid_user_id_is_not_an_email() {
    let v =
        d(r#"{"RecordType":21,"Workload":"CRM","UserId":"8f3e2d1c-0b9a-4c8d-8e7f-6a5b4c3d2e1f"}"#);
    assert_eq!(v["user"]["id"], "8f3e2d1c-0b9a-4c8d-8e7f-6a5b4c3d2e1f");
    assert!(v["user"]["email"].is_null());
    let v = d(r#"{"UserId":"a@b@c"}"#);
    assert!(v["user"]["email"].is_null());
}

#[test]
fn keep_original_and_json_types() {
    let raw =
        r#"{"Id":"x","RecordType":21,"Version":1.0,"Big":12345678901234567890,"Obj":{"k":[true]}}"#;
    let v = doc(
        raw,
        &FormatOptions {
            keep_original: true,
            ..FormatOptions::default()
        },
    );
    assert_eq!(v["event"]["original"], raw);
    let text = v["o365"]["audit"].to_string();
    assert!(text.contains(r#""Obj":{"k":[true]}"#), "{text}");
    // Numbers are copied byte for byte, not re-formatted.
    let rec = Record::from_json(raw, "c").unwrap();
    let mut out = Vec::new();
    let origin = Origin {
        tenant: "",
        tenant_id: "",
        content_type: ContentType::General,
    };
    encode(&rec, &origin, &FormatOptions::default(), &mut out);
    let s = String::from_utf8(out).unwrap();
    assert!(
        s.contains(r#""Version":1.0,"Big":12345678901234567890"#),
        "{s}"
    );
    assert!(!s.contains("\"organization\""));
    assert!(!s.contains("\"original\""));
}

#[test]
fn alert_data_and_dlp_rules() {
    let v = d(
        r#"{"RecordType":40,"Operation":"AlertTriggered","Name":"Suspicious","Category":"ThreatManagement",
        "Data":"{\"f3u\":\"a@b.c\",\"other\":1}"}"#,
    );
    assert_eq!(v["event"]["kind"], "alert");
    assert_eq!(v["rule"]["name"], "Suspicious");
    assert_eq!(v["o365"]["audit"]["Data"]["f3u"], "a@b.c");
    assert_eq!(v["o365"]["audit"]["Data"]["flattened"]["other"], 1);
    let v = d(
        r#"{"RecordType":13,"Operation":"DlpRuleMatch","ExchangeMetaData":{"From":"x@y","To":["a@b"],"CC":"c@d","Subject":"s"},
        "PolicyDetails":[{"Rules":[{"RuleId":"r1","RuleName":"n1","Severity":"Medium"},{"RuleId":"r2","RuleName":"n2","Severity":"Low"}]}]}"#,
    );
    assert_eq!(v["rule"]["id"], json!(["r1", "r2"]));
    assert_eq!(v["event"]["severity"], 3);
    assert_eq!(v["destination"]["user"]["email"], json!(["a@b", "c@d"]));
    assert_eq!(v["source"]["user"]["email"], "x@y");
    assert_eq!(v["message"], "s");
}

#[test]
fn split_provenance() {
    let v = d(r#"{"RecordType":21,"O365fwdParts":["a","b"],"O365fwdPartial":true}"#);
    assert_eq!(
        v["o365fwd"]["split"],
        json!({"parts":["a","b"],"partial":true})
    );
    assert!(v["o365"]["audit"].get("O365fwdParts").is_none());
}

#[test]
fn timestamp_digits_match_chrono() {
    use chrono::TimeZone;
    for (secs, ms) in [
        (0i64, 0u32),
        (1_764_000_000, 7),
        (253_402_300_799, 999),
        (951_782_400, 500),
    ] {
        let t = Utc.timestamp_opt(secs, ms * 1_000_000).unwrap();
        let mut out = Vec::new();
        super::timestamp(&mut out, t);
        let want = format!("\"{}\"", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}

#[test]
fn exchange_item_attachments_and_renames() {
    let v = d(
        r#"{"RecordType":2,"UserId":"S-1-5-18","MailboxOwnerUPN":"a@b.example",
        "OriginatingServer":"EXCH01 (192.0.2.20)\n","Sender":{"UPN":"s@b.example"},
        "Item":{"Subject":"Q2","Attachments":"a (1).docx (73728b); noext (5b); bad size (xb)"}}"#,
    );
    assert_eq!(v["event"]["category"], json!(["web", "email"]));
    let att = &v["email"]["attachments"];
    assert_eq!(
        att[0]["file"],
        json!({"extension":"docx","name":"a (1).docx","size":73728})
    );
    assert_eq!(att[1]["file"], json!({"name":"noext","size":5}));
    assert_eq!(att[2]["file"], json!({"name":"bad size (xb)"}));
    assert_eq!(v["email"]["subject"], json!(["Q2"]));
    assert_eq!(v["o365"]["audit"]["SenderEntity"]["UPN"], "s@b.example");
    assert!(v["o365"]["audit"].get("Sender").is_none());
    assert_eq!(
        v["server"],
        json!({"address":"192.0.2.20","ip":"192.0.2.20","domain":"EXCH01"})
    );
    // No user name: the id and the e-mail are the related users.
    assert_eq!(v["related"]["user"], json!(["S-1-5-18", "a@b.example"]));
    assert_eq!(v["related"]["hosts"], json!(["contoso", "EXCH01"]));
}

#[test]
fn alert_links_and_data_users() {
    let v = d(
        r#"{"RecordType":40,"UserId":"SecurityComplianceAlerts","Name":"N","Comments":"C",
        "AlertLinks":[],"Data":"{\"f3u\":\"x\",\"suid\":\"u@d.example\",\"sip\":\"\",\"ts\":\"2020-02-14T18:54:45.0000000Z\"}"}"#,
    );
    assert_eq!(v["message"], "N");
    assert_eq!(v["o365"]["audit"]["Comments"], "C");
    assert!(v["o365"]["audit"].get("AlertLinks").is_none());
    assert!(v["rule"].get("reference").is_none());
    assert!(v["user"].get("email").is_none(), "f3u is not a UPN");
    let data = &v["o365"]["audit"]["Data"];
    assert_eq!(data["ts"], "2020-02-14T18:54:45.000Z");
    assert!(data["flattened"].get("sip").is_none());
    assert_eq!(
        v["related"]["user"],
        json!(["u@d.example", "SecurityComplianceAlerts"])
    );
}
