//! The bad-config matrix: each problem with its key path and exact line:column.

mod credential;
mod filter;
mod fuzz;
mod good;
mod http;
mod hygiene;
mod kafka;
mod syslog;

use std::ffi::OsString;
use std::path::PathBuf;

use super::parse_with_env;
use crate::config::{Config, Problem};

pub(super) const GUID_A: &str = "0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b";
pub(super) const GUID_B: &str = "11111111-2222-3333-4444-555555555555";
pub(super) const SECRET: &str = "s3cr3t-VALUE-never-shown";

pub(super) fn no_env(_: &str) -> Option<OsString> {
    None
}

/// Writes a secret file only its owner can read (a file others can read is refused).
pub(super) fn write_secret(path: &std::path::Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A private (mode 600) copy of a file, e.g. a key from the repository (checked out 644).
pub(super) fn private_copy(path: &str) -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let name = std::path::Path::new(path).file_name().unwrap();
    let to = dir.path().join(name);
    write_secret(&to, &std::fs::read_to_string(path).unwrap());
    to.display().to_string()
}

pub(super) fn source() -> PathBuf {
    PathBuf::from("/etc/o365fwd/config.toml")
}

pub(super) fn ok(text: &str) -> Config {
    match parse_with_env(text, &source(), &no_env) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got: {e}"),
    }
}

pub(super) fn problems(text: &str) -> Vec<Problem> {
    match parse_with_env(text, &source(), &no_env) {
        Ok(_) => panic!("expected problems, the config was accepted"),
        Err(e) => {
            assert!(!e.to_string().contains(SECRET), "secret leaked: {e}");
            e.problems
        }
    }
}

/// The only problem, asserted to be at `key`, `line`:`column`, and to mention `needle`.
pub(super) fn one(text: &str, key: &str, line: usize, column: usize, needle: &str) -> Problem {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:#?}");
    let p = ps.into_iter().next().unwrap();
    assert_eq!(p.key, key, "{p:?}");
    assert_eq!((p.line, p.column), (Some(line), Some(column)), "{p:?}");
    assert!(
        p.message.contains(needle),
        "{:?} lacks {needle:?}",
        p.message
    );
    p
}

/// A valid config: tenant table starts on line 1, sink table on line 6.
pub(super) fn minimal() -> String {
    format!(
        "[tenants.contoso]\ntenant_id = \"{GUID_A}\"\nclient_id = \"{GUID_B}\"\nclient_secret = \"{SECRET}\"\n\n[sinks.out]\ntype = \"stdout\"\n"
    )
}

#[test]
fn syntax_error_has_line_and_column() {
    let text = "[agent]\nstate_dir = \"/x\nbatch_size = 5\n";
    let p = one(text, "", 2, 16, "TOML syntax error");
    assert!(p.message.contains("string"), "{}", p.message);
    // Duplicate keys are syntax errors too, named.
    let text = format!("{}[sinks.out]\n", minimal());
    one(&text, "", 8, 8, "duplicate key `out`");
}

#[test]
fn unknown_keys_everywhere() {
    one(
        &format!("[agent]\npoll_intervall = \"5s\"\n{}", minimal()),
        "agent.poll_intervall",
        2,
        1,
        "did you mean `poll_interval`",
    );
    one(
        &format!("colour = 1\n{}", minimal()),
        "colour",
        1,
        1,
        "unknown key `colour`",
    );
    let text = minimal().replace("type = \"stdout\"", "type = \"stdout\"\npath = \"/x\"");
    one(&text, "sinks.out.path", 8, 1, "unknown key `path`");
    let text = minimal().replace("client_secret =", "region = \"eu\"\nclient_secret =");
    one(&text, "tenants.contoso.region", 4, 1, "unknown key");
}

#[test]
fn missing_tenant_id_points_at_the_table() {
    let text = minimal().replace(&format!("tenant_id = \"{GUID_A}\"\n"), "");
    one(
        &text,
        "tenants.contoso.tenant_id",
        1,
        1,
        "missing required key `tenant_id`",
    );
}

#[test]
fn bad_values_point_at_the_value() {
    one(
        &format!("[agent]\npoll_interval = \"soon\"\n{}", minimal()),
        "agent.poll_interval",
        2,
        17,
        "invalid duration \"soon\"",
    );
    one(
        &format!("[agent]\npoll_interval = \"0s\"\n{}", minimal()),
        "agent.poll_interval",
        2,
        17,
        "greater than zero",
    );
    one(
        &format!("[agent]\nshutdown_timeout = 30\n{}", minimal()),
        "agent.shutdown_timeout",
        2,
        20,
        "found an integer",
    );
    one(
        &format!("[agent]\nbatch_size = 0\n{}", minimal()),
        "agent.batch_size",
        2,
        14,
        "out of range",
    );
    one(
        &format!("[agent]\nlisten = \"localhost:80\"\n{}", minimal()),
        "agent.listen",
        2,
        10,
        "IP:port",
    );
    let text = minimal().replace("[sinks.out]", "cloud = \"azure\"\n[sinks.out]");
    one(
        &text,
        "tenants.contoso.cloud",
        6,
        9,
        "unknown cloud \"azure\" (expected commercial, gcc, gcc_high or dod)",
    );
    let text = minimal().replace(GUID_B, "my-app");
    one(&text, "tenants.contoso.client_id", 3, 13, "not a GUID");
    let text = minimal().replace("type = \"stdout\"", "type = \"stdout\"\nformat = \"xml\"");
    one(&text, "sinks.out.format", 8, 10, "unknown format");
}

#[test]
fn content_types_are_checked() {
    let text = minimal().replace(
        "[sinks.out]",
        "content_types = [\"Audit.General\", \"audit.GENERAL\", \"Audit.Teams\"]\n[sinks.out]",
    );
    let ps = problems(&text);
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert_eq!((ps[0].line, ps[0].column), (Some(6), Some(35)));
    assert!(ps[0].message.contains("listed twice"));
    assert_eq!((ps[1].line, ps[1].column), (Some(6), Some(52)));
    assert!(
        ps[1]
            .message
            .contains("unknown content type \"Audit.Teams\"")
    );
    let text = minimal().replace("[sinks.out]", "content_types = []\n[sinks.out]");
    one(&text, "tenants.contoso.content_types", 6, 17, "is empty");
}

#[test]
fn plain_http_only_to_loopback() {
    let text = minimal().replace(
        "[sinks.out]",
        "api_url = \"http://manage.example.com\"\n[sinks.out]",
    );
    one(
        &text,
        "tenants.contoso.api_url",
        6,
        11,
        "would travel in clear",
    );
    let text = minimal().replace(
        "[sinks.out]",
        "login_url = \"http://10.1.2.3:8080\"\n[sinks.out]",
    );
    one(&text, "tenants.contoso.login_url", 6, 13, "loopback");
    for base in [
        "http://127.0.0.1:18080",
        "http://localhost:18080/sim",
        "http://[::1]:1",
    ] {
        let text = minimal().replace(
            "[sinks.out]",
            &format!("api_url = \"{base}\"\nlogin_url = \"{base}\"\n[sinks.out]"),
        );
        let c = ok(&text);
        let t = &c.tenants["contoso"];
        assert_eq!(t.api_url.as_str().trim_end_matches('/'), base);
        assert_eq!(t.login_url, t.api_url);
        assert_eq!(
            t.resource, "https://manage.office.com",
            "resource stays the cloud's"
        );
    }
}

#[test]
fn two_problems_in_one_file_are_both_reported_in_order() {
    let text = minimal()
        .replace(GUID_A, "not-a-guid")
        .replace("type = \"stdout\"", "type = \"stdout\"\nspeed = 11");
    let e = parse_with_env(&text, &source(), &no_env).unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("2 problems in /etc/o365fwd/config.toml:"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "/etc/o365fwd/config.toml:2:13: tenants.contoso.tenant_id: \"not-a-guid\" is not a GUID"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("/etc/o365fwd/config.toml:8:1: sinks.out.speed: unknown key `speed`"),
        "{shown}"
    );
    assert!(shown.find(":2:13:") < shown.find(":8:1:"));
}

#[test]
fn structure_problems() {
    let ps = problems("");
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert!(ps.iter().all(|p| p.line.is_none()));
    assert!(ps[0].message.contains("no tenant configured"));
    assert!(ps[1].message.contains("no sink configured"));
    let text = minimal().replace("type = \"stdout\"", "type = \"s3\"");
    one(
        &text,
        "sinks.out.type",
        7,
        8,
        "unknown sink type \"s3\" (supported: file, stdout",
    );
    let text = minimal().replace("[sinks.out]", "[sinks.\"my out\"]");
    one(&text, "sinks.my out", 6, 8, "only letters, digits");
    one(
        &minimal().replace("type = \"stdout\"", ""),
        "sinks.out.type",
        6,
        1,
        "missing required key `type`",
    );
    one(
        &format!("agent = 5\n{}", minimal()),
        "agent",
        1,
        9,
        "expected a table",
    );
}

#[test]
fn duplicates_across_tables() {
    let second = format!(
        "[tenants.again]\ntenant_id = \"{}\"\nclient_id = \"{GUID_B}\"\nclient_secret = \"x\"\n",
        GUID_A.to_uppercase()
    );
    one(
        &format!("{}{second}", minimal()),
        "tenants.again.tenant_id",
        9,
        13,
        "same tenant_id as tenant `contoso`",
    );
    let sinks = "[sinks.a]\ntype = \"file\"\npath = \"out.ndjson\"\n[sinks.b]\ntype = \"file\"\npath = \"/etc/o365fwd/out.ndjson\"\n";
    one(
        &format!("{}{sinks}", minimal()),
        "sinks.b.path",
        13,
        8,
        "same path as file sink `a`",
    );
}

#[test]
fn syntax_error_does_not_quote_the_secret_line() {
    let text = minimal().replace(&format!("\"{SECRET}\""), &format!("\"{SECRET}\" trailing"));
    let ps = problems(&text);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].line, Some(4));
}
