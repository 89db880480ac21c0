use super::*;

fn rec(json: &str) -> (Record, String) {
    (Record::from_json(json, "t").unwrap(), json.to_string())
}

fn cls(json: &str) -> Classification {
    let (r, raw) = rec(json);
    let f = Fields::parse(&raw).unwrap();
    classify(&f, &r)
}

#[test]
fn outcome_normalisation() {
    for s in [
        "Succeeded",
        "Success",
        "True",
        "PartiallySucceeded",
        "TRUE",
        "success",
    ] {
        assert_eq!(outcome_of(Some(s)), Outcome::Success, "{s}");
    }
    for s in ["Failed", "false", "FALSE", "failed"] {
        assert_eq!(outcome_of(Some(s)), Outcome::Failure, "{s}");
    }
    assert_eq!(outcome_of(None), Outcome::Success);
    assert_eq!(outcome_of(Some(" ")), Outcome::Success);
    assert_eq!(outcome_of(Some("Redirect")), Outcome::Unknown);
}

#[test]
fn dynamics_prefixes_as_documented() {
    use CrmAccess::*;
    let cases = [
        ("RetrieveMultiple", ReadMultiple),
        ("ExportToExcel", ReadMultiple),
        ("RollUp", ReadMultiple),
        ("RetrieveEntitiesForAggregateQuery", ReadMultiple),
        ("RetrieveRecordWall", ReadMultiple),
        ("RetrievePersonalWall", ReadMultiple),
        ("ExecuteFetch", ReadMultiple),
        ("Retrieve", Read),
        ("RetrieveUnpublished", Read),
        ("Search", Read),
        ("GetQuantityDecimal", Read),
        ("Export", Read),
        ("ExportToWord", Read),
        ("Create", Create),
        ("Update", Update),
        ("UpsertMultiple", Update),
        ("Delete", Delete),
        ("Assign", Other),
        ("", Other),
    ];
    for (m, want) in cases {
        assert_eq!(CrmAccess::of(m), want, "{m}");
    }
    assert_eq!(CrmAccess::Other.label("Merge"), "Merge");
    assert_eq!(CrmAccess::ReadMultiple.label("x"), "ReadMultiple");
    // Multi-byte text right at the prefix boundary must not panic.
    assert_eq!(CrmAccess::of("Ré"), Other);
}

#[test]
fn crm_records_get_database_category_and_types() {
    let c = cls(
        r#"{"RecordType":21,"Workload":"CRM","Operation":"ExportToExcel","Message":"ExportToExcel"}"#,
    );
    assert_eq!(c.crm, Some(CrmAccess::ReadMultiple));
    assert!(c.bulk_export);
    assert_eq!(c.category.as_slice(), ["web", "database", "api"]);
    assert_eq!(c.types.as_slice(), ["info", "access"]);
    let c = cls(r#"{"RecordType":21,"Workload":"CRM","Operation":"Delete"}"#);
    assert_eq!(c.types.as_slice(), ["info", "deletion"]);
    let c = cls(r#"{"RecordType":21,"Workload":"CRM","Operation":"GrantAccess"}"#);
    assert!(c.permission);
    assert!(c.category.contains("iam"));
}

#[test]
fn logon_failure_despite_success_status() {
    let c = cls(
        r#"{"RecordType":15,"Operation":"UserLoginFailed","ResultStatus":"Success","LogonError":"InvalidUserNameOrPassword"}"#,
    );
    assert!(c.logon);
    assert_eq!(c.outcome, Outcome::Failure);
    assert_eq!(c.category.as_slice(), ["web", "authentication"]);
    let c = cls(r#"{"RecordType":15,"Operation":"UserLoggedIn","ResultStatus":"Succeeded"}"#);
    assert_eq!(c.outcome, Outcome::Success);
}

#[test]
fn directory_and_file_and_dlp() {
    let c = cls(r#"{"RecordType":8,"Operation":"Add user."}"#);
    assert_eq!(c.action, Some("added-user-account"));
    assert_eq!(c.types.as_slice(), ["info", "user", "creation"]);
    let c = cls(r#"{"RecordType":6,"Operation":"FileAccessed"}"#);
    assert_eq!(c.category.as_slice(), ["web", "file"]);
    let blocked = r#"{"RecordType":11,"Operation":"DlpRuleMatch","PolicyDetails":[{"Rules":[{"Actions":["BlockAccess"]}]}]}"#;
    let c = cls(blocked);
    assert_eq!((c.kind, c.outcome), ("alert", Outcome::Failure));
    let c = cls(
        r#"{"RecordType":13,"Operation":"DlpRuleMatch","PolicyDetails":[{"Rules":[{"Actions":["NotifyUser"]}]}]}"#,
    );
    assert_eq!(c.outcome, Outcome::Success);
    assert!(cls(r#"{"RecordType":1,"Operation":"Add-MailboxPermission"}"#).permission);
}

#[test]
fn tags_dedupe_and_bound() {
    let mut t = Tags::of(&["a", "b", "a"]);
    for x in ["c", "d", "e"] {
        t.push(x);
    }
    assert_eq!(t.as_slice(), ["a", "b", "c", "d"]);
}
