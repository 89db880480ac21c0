use super::*;
use crate::format::Origin;
use crate::record::{ContentType, Record};

fn cond(field: &str, values: &[Value<'_>]) -> Condition {
    let mut c = Condition::new(Field::parse(field).unwrap());
    for v in values {
        c.push(*v).unwrap();
    }
    c
}

fn s(v: &str) -> Value<'_> {
    Value::Str(v)
}

const GENERAL: Origin<'static> = Origin {
    tenant: "contoso",
    tenant_id: "11111111-2222-3333-4444-555555555555",
    content_type: ContentType::General,
};

fn rec(json: &str) -> Record {
    Record::from_json(json, "cid").unwrap()
}

fn crm(op: &str, user_type: i64, entity: &str) -> Record {
    rec(&format!(
        r#"{{"Id":"{op}-{user_type}","RecordType":21,"Workload":"CRM","Operation":"{op}","Message":"{op}","UserType":{user_type},"UserId":"u@contoso.com","EntityName":"{entity}"}}"#
    ))
}

/// The issue's example.
fn splunk_crm() -> Filter {
    Filter {
        include: vec![Rule {
            conditions: vec![cond("workload", &[s("CRM")])],
        }],
        exclude: vec![
            cond("operation", &[s("WhoAmI"), s("Retrieve*Metadata*")]),
            cond("user_type", &[s("System")]),
        ],
    }
}

#[test]
fn include_and_exclude_with_exclude_winning() {
    let f = splunk_crm();
    assert_eq!(f.check(&crm("Retrieve", 0, "account"), &GENERAL), Ok(()));
    assert_eq!(
        f.check(&crm("WhoAmI", 0, "account"), &GENERAL),
        Err(Reason::Excluded(Field::Operation))
    );
    assert_eq!(
        f.check(&crm("RetrieveEntityMetadata", 0, "x"), &GENERAL),
        Err(Reason::Excluded(Field::Operation))
    );
    // Exclude conditions are OR: a System user's ordinary read is dropped too.
    assert_eq!(
        f.check(&crm("Retrieve", 4, "account"), &GENERAL),
        Err(Reason::Excluded(Field::UserType))
    );
    let aad = rec(
        r#"{"Id":"a","RecordType":15,"Workload":"AzureActiveDirectory","Operation":"UserLoggedIn","UserType":0}"#,
    );
    assert_eq!(
        f.check(&aad, &GENERAL),
        Err(Reason::NotIncluded(Some(Field::Workload)))
    );
    assert_eq!(
        Reason::NotIncluded(Some(Field::Workload)).label(),
        "not_included:workload"
    );
    assert_eq!(
        Reason::Excluded(Field::UserType).label(),
        "excluded:user_type"
    );
}

#[test]
fn include_fields_are_and_values_are_or_rules_are_or() {
    let crm_writes = Rule {
        conditions: vec![
            cond("workload", &[s("crm")]),
            cond("crm_access", &[s("Create"), s("update"), s("Delete")]),
        ],
    };
    let f = Filter {
        include: vec![crm_writes.clone()],
        exclude: vec![],
    };
    assert!(f.check(&crm("Create", 0, "account"), &GENERAL).is_ok());
    assert!(
        f.check(&crm("UpdateMultiple", 0, "account"), &GENERAL)
            .is_ok()
    );
    assert_eq!(
        f.check(&crm("RetrieveMultiple", 0, "account"), &GENERAL),
        Err(Reason::NotIncluded(Some(Field::CrmAccess)))
    );
    // A second rule: sign-ins from the AAD feed also pass; the reason loses its field.
    let f = Filter {
        include: vec![
            crm_writes,
            Rule {
                conditions: vec![
                    cond("content_type", &[s("audit.azureactivedirectory")]),
                    cond(
                        "record_type",
                        &[s("AzureActiveDirectoryStsLogon"), Value::Int(9)],
                    ),
                ],
            },
        ],
        exclude: vec![],
    };
    let aad_origin = Origin {
        content_type: ContentType::AzureActiveDirectory,
        ..GENERAL
    };
    let signin = rec(
        r#"{"Id":"s","RecordType":15,"Workload":"AzureActiveDirectory","Operation":"UserLoggedIn"}"#,
    );
    assert!(f.check(&signin, &aad_origin).is_ok());
    assert_eq!(
        f.check(&signin, &GENERAL),
        Err(Reason::NotIncluded(None)),
        "right record type from the wrong feed"
    );
    assert!(f.check(&crm("Create", 0, "a"), &GENERAL).is_ok());
}

#[test]
fn raw_fields_tenant_and_missing_values() {
    let f = Filter {
        include: vec![],
        exclude: vec![
            cond("user_id", &[s("svc-*@contoso.com")]),
            cond("entity_name", &[s("systemuser"), s("*metadata")]),
            cond("tenant", &[s("fabrikam")]),
        ],
    };
    let svc = rec(r#"{"Id":"1","Workload":"CRM","UserId":"SVC-sync@contoso.com"}"#);
    assert_eq!(
        f.check(&svc, &GENERAL),
        Err(Reason::Excluded(Field::UserId))
    );
    assert_eq!(
        f.check(&crm("Retrieve", 0, "SystemUser"), &GENERAL),
        Err(Reason::Excluded(Field::EntityName))
    );
    assert!(f.check(&crm("Retrieve", 0, "account"), &GENERAL).is_ok());
    let fab = Origin {
        tenant: "fabrikam",
        ..GENERAL
    };
    assert_eq!(
        f.check(&crm("Retrieve", 0, "account"), &fab),
        Err(Reason::Excluded(Field::Tenant))
    );
    // The tenant id matches as well as the name.
    let by_id = Filter {
        include: vec![Rule {
            conditions: vec![cond("tenant", &[s("11111111-*")])],
        }],
        exclude: vec![],
    };
    assert!(by_id.check(&crm("Retrieve", 0, "a"), &GENERAL).is_ok());
    // A record without the field never matches a condition on it (not "matches empty").
    let bare = rec(r#"{"Id":"2"}"#);
    assert!(f.check(&bare, &GENERAL).is_ok());
    let non_object = rec("42");
    assert!(f.check(&non_object, &GENERAL).is_ok());
    let access = Filter {
        include: vec![Rule {
            conditions: vec![cond("crm_access", &[s("Other")])],
        }],
        exclude: vec![],
    };
    assert!(access.check(&crm("Assign", 0, "a"), &GENERAL).is_ok());
    assert!(
        access.check(&svc, &GENERAL).is_ok(),
        "no Message: the operation is classified (none here: Other)"
    );
    let aad =
        rec(r#"{"Id":"a","RecordType":15,"Workload":"AzureActiveDirectory","Operation":"Assign"}"#);
    assert!(
        access.check(&aad, &GENERAL).is_err(),
        "not a Dynamics record"
    );
}

#[test]
fn bad_values_are_errors() {
    let mut c = Condition::new(Field::UserType);
    assert!(c.push(s("Robot")).unwrap_err().contains("ServicePrincipal"));
    assert!(c.push(Value::Int(-1)).is_err());
    let mut c = Condition::new(Field::RecordType);
    assert!(c.push(s("NoSuch")).unwrap_err().contains("record_type"));
    let mut c = Condition::new(Field::ContentType);
    assert!(c.push(s("Audit.Foo")).is_err());
    let mut c = Condition::new(Field::CrmAccess);
    assert!(c.push(s("Write")).is_err());
    let mut c = Condition::new(Field::Operation);
    assert!(c.push(Value::Int(3)).is_err());
    assert!(c.push(s("Get[A]")).is_err());
    assert!(c.is_empty());
}

#[test]
fn display_and_explain() {
    assert_eq!(Filter::default().to_string(), "all records");
    assert_eq!(
        splunk_crm().to_string(),
        "workload in [CRM]; not operation in [WhoAmI, Retrieve*Metadata*], not user_type in [System]"
    );
    let e = splunk_crm()
        .explain(&crm("WhoAmI", 0, "a"), &GENERAL)
        .unwrap_err();
    assert_eq!(
        e,
        "excluded: operation=WhoAmI matches operation in [WhoAmI, Retrieve*Metadata*]"
    );
    let e = splunk_crm()
        .explain(&crm("Retrieve", 4, "a"), &GENERAL)
        .unwrap_err();
    assert!(e.contains("user_type=System (4)"), "{e}");
    assert!(splunk_crm().reads_raw());
    let cheap = Filter {
        include: vec![Rule {
            conditions: vec![cond("workload", &[s("CRM")])],
        }],
        exclude: vec![],
    };
    assert!(!cheap.reads_raw());
}
