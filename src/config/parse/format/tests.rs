use crate::config::Config;
use std::path::Path;

const BASE: &str = r#"
[tenants.c]
tenant_id = "41463f53-8812-40f4-890f-865bf6e35190"
client_id = "a6099727-6b7b-482c-b509-1df309acc563"
client_secret = "x"
[sinks.s]
type = "stdout"
format = "cef"
"#;

#[test]
fn reads_cef_overrides() {
    let text = format!(
        "{BASE}[sinks.s.cef_fields]\ncs1 = \"EntityName\"\nmsg = \"\"\n[[sinks.s.cef_severity]]\noperation = \"Delete*\"\nworkload = \"CRM\"\nseverity = 9\n"
    );
    let cfg = Config::parse(&text, Path::new("/etc/o365fwd/c.toml")).unwrap();
    let o = &cfg.sinks["s"].format_options;
    assert_eq!(
        o.cef_fields,
        vec![
            ("cs1".into(), "EntityName".into()),
            ("msg".into(), "".into())
        ]
    );
    assert_eq!(o.cef_severity.len(), 1);
    assert_eq!(o.cef_severity[0].severity, 9);
    assert_eq!(o.cef_severity[0].workload.as_deref(), Some("CRM"));
}

#[test]
fn reports_bad_cef_overrides_with_positions() {
    let text = format!(
        "{BASE}[sinks.s.cef_fields]\n\"bad key\" = \"X\"\n[[sinks.s.cef_severity]]\noperation = \"Delete\"\nseverity = 11\nextra = 1\n"
    );
    let e = Config::parse(&text, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.toml:10:1: sinks.s.cef_fields.bad key"), "{e}");
    assert!(
        e.contains("sinks.s.cef_severity[0].severity: 11 is out of range"),
        "{e}"
    );
    assert!(
        e.contains("sinks.s.cef_severity[0].extra: unknown key"),
        "{e}"
    );
}
