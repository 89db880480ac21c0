use super::*;
use crate::record::ContentType;

fn origin() -> Origin<'static> {
    Origin {
        tenant: "contoso",
        tenant_id: "tid",
        content_type: ContentType::General,
    }
}

fn line(json: &str, opts: &FormatOptions) -> String {
    let rec = Record::from_json(json, "cid").unwrap();
    let mut out = Vec::new();
    encode(&rec, &origin(), opts, &mut out);
    String::from_utf8(out).unwrap()
}

fn severity(json: &str, opts: &FormatOptions) -> String {
    line(json, opts).split('|').nth(6).unwrap().to_string()
}

#[test]
fn default_severities_rank_risk() {
    let o = FormatOptions::default();
    let crm = |m: &str| format!(r#"{{"RecordType":21,"Workload":"CRM","Operation":"{m}"}}"#);
    assert_eq!(severity(&crm("Retrieve"), &o), "3");
    assert_eq!(severity(&crm("RetrieveMultiple"), &o), "4");
    assert_eq!(severity(&crm("Update"), &o), "5");
    assert_eq!(severity(&crm("Delete"), &o), "7");
    assert_eq!(severity(&crm("ExportToExcel"), &o), "8");
    assert_eq!(severity(&crm("GrantAccess"), &o), "8");
    assert_eq!(
        severity(r#"{"RecordType":8,"Operation":"Add member to role."}"#, &o),
        "8"
    );
    assert_eq!(
        severity(r#"{"RecordType":15,"Operation":"UserLoginFailed"}"#, &o),
        "6"
    );
}

#[test]
fn severity_rules_override_in_order() {
    let o = FormatOptions {
        cef_severity: vec![
            SeverityRule {
                operation: "ReadMultiple".into(),
                workload: Some("crm".into()),
                severity: 6,
            },
            SeverityRule {
                operation: "File*".into(),
                workload: None,
                severity: 2,
            },
            SeverityRule {
                operation: "*".into(),
                workload: None,
                severity: 99,
            },
        ],
        ..FormatOptions::default()
    };
    assert_eq!(
        severity(
            r#"{"RecordType":21,"Workload":"CRM","Operation":"ExecuteFetch"}"#,
            &o
        ),
        "6"
    );
    assert_eq!(
        severity(
            r#"{"RecordType":6,"Workload":"CRM","Operation":"fileaccessed"}"#,
            &o
        ),
        "2"
    );
    assert_eq!(severity(r#"{"Operation":"Other"}"#, &o), "10");
}

#[test]
fn field_overrides() {
    let o = FormatOptions {
        cef_fields: vec![
            ("suser".into(), "UserUpn".into()),
            ("act".into(), String::new()),
            ("cs6".into(), "=constant".into()),
            (
                "flexString1".into(),
                "ExtendedProperties.RequestType".into(),
            ),
            ("bad key".into(), "Id".into()),
        ],
        ..FormatOptions::default()
    };
    let l = line(
        r#"{"Operation":"X","UserId":"a@b","UserUpn":"u@p","RecordType":15,"ExtendedProperties":[{"Name":"RequestType","Value":"Login:login"}]}"#,
        &o,
    );
    assert!(l.contains(" suser=u@p "), "{l}");
    assert!(!l.contains(" act="), "{l}");
    assert!(l.contains(" cs6=constant "), "{l}");
    assert!(l.ends_with(" flexString1=Login:login"), "{l}");
    assert!(!l.contains("bad key"));
    assert_eq!(validate_field_overrides(&o.cef_fields).len(), 1);
}

#[test]
fn lookup_paths() {
    let v: serde_json::Value = serde_json::from_str(
        r#"{"A":{"B":[10,{"C":true}]},"L":[{"Name":"n","Value":{"x":1}}],"S":"{\"k\":\"v\"}","N":null}"#,
    )
    .unwrap();
    assert_eq!(lookup(&v, "A.B.0").as_deref(), Some("10"));
    assert_eq!(lookup(&v, "A.B.1.C").as_deref(), Some("true"));
    assert_eq!(lookup(&v, "L.n.x").as_deref(), Some("1"));
    assert_eq!(lookup(&v, "L.n").as_deref(), Some(r#"{"x":1}"#));
    assert_eq!(lookup(&v, "S.k").as_deref(), Some("v"));
    assert_eq!(lookup(&v, "N"), None);
    assert_eq!(lookup(&v, "A.Z"), None);
}

#[test]
fn human_names() {
    assert_eq!(human_name("UserLoggedIn", None), "User logged in");
    assert_eq!(
        human_name("RetrieveMultiple", Some("account")),
        "Retrieve multiple (account)"
    );
    assert_eq!(human_name("DLPRuleMatch", None), "DLP rule match");
    assert_eq!(human_name("Set-Mailbox", None), "Set-Mailbox");
    assert_eq!(human_name("", None), "Unknown operation");
    assert_eq!(product(Some("CRM")), "Dynamics 365");
    assert_eq!(product(Some("Nope")), "Office 365");
}

#[test]
fn hostile_header_values_stay_in_place() {
    let l = line(
        r#"{"Operation":"a|b\\c\nd","Workload":"CRM","RecordType":21,"EntityName":"x|y"}"#,
        &FormatOptions::default(),
    );
    assert!(
        l.starts_with(r"CEF:0|Microsoft|Dynamics 365|1.0|a\|b\\c d|a\|b\\c d (x\|y)|"),
        "{l}"
    );
    assert!(l.contains(r" act=a|b\\c\nd "), "{l}");
}
