use super::*;

#[test]
fn numbers_and_names_map_to_graph_names() {
    let cases = [
        ("21", "crm"),
        ("CRM", "crm"),
        ("1", "exchangeAdmin"),
        ("43", "mipLabel"),
        ("58", "hrSignal"),
        ("31", "aeD"),
        ("78", "wdatpAlerts"),
        ("98", "mcasAlerts"),
        ("113", "ms365DCustomDetection"),
        ("20", "powerBIAudit"),
        ("15", "azureActiveDirectoryStsLogon"),
        ("sharepointfileoperation", "sharePointFileOperation"),
    ];
    for (input, want) in cases {
        assert_eq!(graph_record_type(input).as_deref(), Ok(want), "{input}");
    }
    assert!(
        graph_record_type("4242")
            .unwrap_err()
            .contains("no known name")
    );
    assert!(
        graph_record_type("nonsense")
            .unwrap_err()
            .contains("not one")
    );
    // Every number the Management API table names, 1 to 114, maps to a Graph member
    // except the few Graph never offered.
    let missing: Vec<i64> = (1..=114)
        .filter(|n| record_type_name(*n).is_some() && graph_name_of(*n).is_none())
        .collect();
    assert!(missing.len() <= 8, "unmapped: {missing:?}");
}
