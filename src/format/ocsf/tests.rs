use super::*;
use crate::record::ContentType;
use serde_json::{Value, json};

fn ev(json: &str) -> Value {
    let rec = Record::from_json(json, "cid").unwrap();
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "t-id",
        content_type: ContentType::AzureActiveDirectory,
    };
    let mut out = Vec::new();
    encode(&rec, &origin, &FormatOptions::default(), &mut out);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn sign_in_is_authentication() {
    let v = ev(
        r#"{"Id":"i1","CreationTime":"2026-03-02T10:01:00","Operation":"UserLoginFailed","RecordType":15,
        "Workload":"AzureActiveDirectory","UserId":"alice@contoso.example","UserKey":"k","ClientIP":"81.2.69.142:443",
        "ResultStatus":"Success","LogonError":"InvalidPassword","OrganizationId":"ORG"}"#,
    );
    assert_eq!(
        (
            v["class_uid"].clone(),
            v["activity_id"].clone(),
            v["type_uid"].clone()
        ),
        (json!(3002), json!(1), json!(300201))
    );
    assert_eq!(v["time"], 1_772_445_660_000i64);
    assert_eq!(v["status_id"], 2);
    assert_eq!(v["status_detail"], "InvalidPassword");
    assert_eq!(v["user"]["email_addr"], "alice@contoso.example");
    assert_eq!(v["src_endpoint"], json!({"ip":"81.2.69.142","port":443}));
    assert_eq!(v["metadata"]["uid"], "i1");
    assert_eq!(
        v["metadata"]["product"]["feature"]["name"],
        "AzureActiveDirectory"
    );
    assert_eq!(v["metadata"]["tenant_uid"], "org");
    assert_eq!(v["unmapped"]["ResultStatus"], "Success");
    assert!(v["unmapped"].get("Id").is_none());
    assert!(v.get("raw_data").is_none());
}

#[test]
fn dynamics_is_api_activity_with_entity_resources() {
    let v = ev(
        r#"{"Id":"d1","CreationTime":"2026-03-02T10:01:00","Operation":"RetrieveMultiple","RecordType":21,
        "Workload":"CRM","UserId":"alice@contoso.example","Message":"ExportToExcel","EntityName":"account",
        "EntityId":"00000000-0000-0000-0000-000000000000","CorrelationId":"c-1"}"#,
    );
    assert_eq!(v["class_uid"], 6003);
    assert_eq!(v["activity_id"], 2);
    assert_eq!(v["api"]["operation"], "ExportToExcel");
    assert_eq!(v["api"]["request"]["uid"], "c-1");
    assert_eq!(v["resources"], json!([{"type":"account","name":"account"}]));
    assert_eq!(
        v["src_endpoint"],
        json!({"name":"unknown"}),
        "OCSF requires one"
    );
}

#[test]
fn file_and_account_classes() {
    let v = ev(
        r#"{"Id":"f1","Operation":"FolderRenamed","RecordType":6,"Workload":"OneDrive","UserId":"a@b.example",
        "ObjectId":"https://x/sites/a/Docs/Old","SourceRelativeUrl":"Docs","FileSizeBytes":12}"#,
    );
    assert_eq!(
        (v["class_uid"].clone(), v["activity_id"].clone()),
        (json!(6006), json!(5))
    );
    assert_eq!(v["file"]["name"], "Old");
    assert_eq!(v["file"]["type_id"], 2);
    assert_eq!(v["file"]["size"], 12);
    let v = ev(
        r#"{"Id":"a1","Operation":"Add member to role.","RecordType":8,"Workload":"AzureActiveDirectory",
        "UserId":"admin@b.example","ObjectId":"bob@b.example",
        "ModifiedProperties":[{"Name":"Role.DisplayName","NewValue":"Global Administrator","OldValue":""}]}"#,
    );
    assert_eq!(
        (v["class_uid"].clone(), v["activity_id"].clone()),
        (json!(3001), json!(7))
    );
    assert_eq!(v["user"]["name"], "bob@b.example");
    assert_eq!(v["actor"]["user"]["name"], "admin@b.example");
    assert_eq!(v["policy"]["name"], "Global Administrator");
}

#[test]
fn dlp_mail_is_email_activity_only_with_valid_addresses() {
    let v = ev(
        r#"{"Id":"m1","Operation":"DlpRuleMatch","RecordType":13,"Workload":"Exchange",
        "ExchangeMetaData":{"From":"x@y.example","To":["a@b.example","not an address"],"Subject":"s","MessageID":"<1@y>"}}"#,
    );
    assert_eq!(
        (v["class_uid"].clone(), v["activity_id"].clone()),
        (json!(4009), json!(3))
    );
    assert_eq!(v["email"]["to"], json!(["a@b.example"]));
    let v = ev(
        r#"{"Id":"m2","Operation":"DlpRuleMatch","RecordType":13,"ExchangeMetaData":{"From":"nobody"}}"#,
    );
    assert_eq!(v["class_uid"], 6003);
}

#[test]
fn not_an_object_is_a_base_event_with_its_text() {
    let rec = Record::from_json("[1,2]", "cid").unwrap();
    let origin = Origin {
        tenant: "t",
        tenant_id: "",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    encode(&rec, &origin, &FormatOptions::default(), &mut out);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["class_uid"], 0);
    assert_eq!(v["raw_data"], "[1,2]");
}
