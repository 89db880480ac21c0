use super::*;

fn rec(json: &str) -> Record {
    Record::from_json(json, "x").unwrap()
}

#[test]
fn content_type_mapping() {
    use ContentType::*;
    let cases = [
        (r#"{"RecordType":21,"Workload":"CRM"}"#, General),
        (
            r#"{"RecordType":15,"Workload":"AzureActiveDirectory"}"#,
            AzureActiveDirectory,
        ),
        (r#"{"RecordType":2,"Workload":"Exchange"}"#, Exchange),
        (r#"{"RecordType":6,"Workload":"OneDrive"}"#, SharePoint),
        (r#"{"RecordType":11,"Workload":"SharePoint"}"#, DlpAll),
        (r#"{"RecordType":"13"}"#, DlpAll),
        (r#"{"RecordType":8}"#, AzureActiveDirectory),
        (r#"{"RecordType":25,"Workload":"MicrosoftTeams"}"#, General),
    ];
    for (j, want) in cases {
        assert_eq!(content_type_of(&rec(j)), want, "{j}");
    }
}
