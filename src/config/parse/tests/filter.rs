//! `[sinks.NAME.filter]`: accepted shapes, the summary line, and each problem located.

use super::super::tests::{minimal, ok, one, problems};
use crate::filter::{Field, Reason};
use crate::format::Origin;
use crate::record::{ContentType, Record};

/// `minimal()` plus filter lines for its sink `out` (they start on line 8).
fn with_filter(lines: &str) -> String {
    format!("{}{lines}", minimal())
}

#[test]
fn issue_example_parses_and_filters() {
    let c = ok(&with_filter(
        "[sinks.out.filter]\ninclude = { workload = [\"CRM\"] }\nexclude = { operation = [\"WhoAmI\", \"Retrieve*Metadata*\"], user_type = [\"System\", 5] }\n",
    ));
    let f = c.sinks["out"].filter.as_ref().expect("a filter");
    assert_eq!(
        f.to_string(),
        "workload in [CRM]; not operation in [WhoAmI, Retrieve*Metadata*], not user_type in [System, 5]"
    );
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "x",
        content_type: ContentType::General,
    };
    let r = Record::from_json(
        r#"{"Id":"1","Workload":"CRM","Operation":"WhoAmI","UserType":0}"#,
        "c",
    )
    .unwrap();
    assert_eq!(
        f.check(&r, &origin),
        Err(Reason::Excluded(Field::Operation))
    );
    let s = super::super::summary(&c);
    assert!(
        s.contains("    receives workload in [CRM]; not operation in [WhoAmI"),
        "{s}"
    );
}

#[test]
fn sub_tables_arrays_of_rules_and_no_filter() {
    let c = ok(&with_filter(
        "[[sinks.out.filter.include]]\nworkload = \"CRM\"\ncrm_access = [\"Create\", \"Update\", \"Delete\"]\n\
         [[sinks.out.filter.include]]\ncontent_type = [\"Audit.AzureActiveDirectory\"]\nrecord_type = [\"AzureActiveDirectoryStsLogon\", 9]\n\
         [sinks.out.filter.exclude]\nuser_id = [\"svc-*@contoso.com\"]\ntenant = [\"contoso\"]\nentity_name = [\"systemuser\"]\n",
    ));
    let f = c.sinks["out"].filter.as_ref().unwrap();
    assert_eq!(f.include.len(), 2);
    assert_eq!(f.exclude.len(), 3);
    assert_eq!(
        f.to_string(),
        "(workload in [CRM] and crm_access in [Create, Update, Delete]) or (content_type in [Audit.AzureActiveDirectory] and record_type in [AzureActiveDirectoryStsLogon, 9]); not user_id in [svc-*@contoso.com], not tenant in [contoso], not entity_name in [systemuser]"
    );
    let c = ok(&minimal());
    assert!(c.sinks["out"].filter.is_none());
    assert!(super::super::summary(&c).contains("    receives all records"));
}

#[test]
fn unknown_field_is_located_with_a_suggestion() {
    one(
        &with_filter("[sinks.out.filter]\ninclude = { workloads = [\"CRM\"] }\n"),
        "sinks.out.filter.include.workloads",
        9,
        13,
        "unknown field `workloads` (did you mean `workload`?)",
    );
}

#[test]
fn bad_values_are_located_at_the_value() {
    one(
        &with_filter("[sinks.out.filter]\nexclude = { operation = [\"WhoAmI\", \"Get[ab]\"] }\n"),
        "sinks.out.filter.exclude.operation",
        9,
        36,
        "only `*`",
    );
    one(
        &with_filter("[sinks.out.filter]\nexclude = { user_type = [\"Robot\"] }\n"),
        "sinks.out.filter.exclude.user_type",
        9,
        26,
        "unknown user_type \"Robot\"",
    );
    one(
        &with_filter("[sinks.out.filter]\ninclude = { record_type = [\"CMR\"] }\n"),
        "sinks.out.filter.include.record_type",
        9,
        28,
        "unknown record_type",
    );
    one(
        &with_filter("[sinks.out.filter]\ninclude = { content_type = [\"Audit.Foo\"] }\n"),
        "sinks.out.filter.include.content_type",
        9,
        29,
        "unknown content type",
    );
    one(
        &with_filter("[sinks.out.filter]\ninclude = { operation = [true] }\n"),
        "sinks.out.filter.include.operation",
        9,
        26,
        "expected a string or an integer, found a boolean",
    );
}

#[test]
fn empty_lists_tables_and_filters_are_problems() {
    one(
        &with_filter("[sinks.out.filter]\ninclude = { workload = [] }\n"),
        "sinks.out.filter.include.workload",
        9,
        24,
        "is empty",
    );
    one(
        &with_filter("[sinks.out.filter]\nexclude = {}\n"),
        "sinks.out.filter.exclude",
        9,
        11,
        "is empty",
    );
    one(
        &with_filter("[sinks.out.filter]\n"),
        "sinks.out.filter",
        8,
        1,
        "needs `include` or `exclude`",
    );
    one(
        &with_filter(
            "[sinks.out.filter]\ninclude = { workload = [\"CRM\"] }\nexlude = { workload = [\"x\"] }\n",
        ),
        "sinks.out.filter.exlude",
        10,
        1,
        "did you mean `exclude`",
    );
    let text = minimal().replace(
        "type = \"stdout\"\n",
        "type = \"stdout\"\nfilter = \"CRM\"\n",
    );
    let ps = problems(&text);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(ps[0].message.contains("expected a table"), "{ps:?}");
}

#[test]
fn a_tenant_value_must_match_a_configured_tenant() {
    // By name, by id, or by a pattern over either.
    ok(&with_filter(
        "[sinks.out.filter]\ninclude = { tenant = [\"contoso\", \"CONTOSO\", \"0b4e*\"] }\n",
    ));
    one(
        &with_filter("[sinks.out.filter]\nexclude = { tenant = [\"contso\"] }\n"),
        "sinks.out.filter.exclude.tenant",
        9,
        23,
        "\"contso\" matches no configured tenant's name or tenant_id (tenants: contoso)",
    );
}
