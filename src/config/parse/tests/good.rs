//! Good configurations: defaults, every key, secret sources, relative paths, the summary
//! and the shipped example.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::super::parse_with_env;
use super::super::tests::{GUID_A, GUID_B, SECRET, minimal, no_env, ok, source};
use crate::api::Cloud;
use crate::format::Format;
use crate::record::ContentType;
use crate::secret::SecretOrigin;
use crate::sink::config::SinkKind;

#[test]
fn minimal_config_gets_every_default() {
    let c = ok(&minimal());
    let d = crate::config::AgentConfig::default();
    assert_eq!(c.agent.state_dir, d.state_dir);
    assert_eq!(c.agent.poll_interval, Duration::from_secs(60));
    assert_eq!(c.agent.initial_lookback, Duration::from_secs(7 * 86400));
    assert_eq!(c.agent.batch_size, 500);
    assert_eq!(c.agent.listen, None);
    let t = &c.tenants["contoso"];
    assert_eq!(t.name, "contoso");
    assert_eq!(t.cloud, Cloud::Commercial);
    assert_eq!(t.content_types, ContentType::ALL.to_vec());
    assert_eq!(t.publisher_id, GUID_A);
    assert_eq!(t.api_url.as_str(), "https://manage.office.com/");
    assert_eq!(t.login_url.as_str(), "https://login.microsoftonline.com/");
    assert_eq!(t.resource, "https://manage.office.com");
    assert_eq!(t.requests_per_minute, 2000);
    assert_eq!(t.client_secret.expose(), SECRET);
    assert_eq!(t.secret_origin, SecretOrigin::Inline);
    let s = &c.sinks["out"];
    assert!(matches!(s.kind, SinkKind::Stdout));
    assert_eq!(s.format, Format::Raw);
    assert!(!s.format_options.keep_original);
}

#[test]
fn every_key_is_read() {
    let text = format!(
        r#"[agent]
state_dir = "/srv/state"
poll_interval = "1m 30s"
overlap = "0s"
dedup_horizon = "2days"
dedup_hot_window = "90m"
dedup_hot_ids = 50_000
initial_lookback = "3d"
shutdown_timeout = "5s"
batch_size = 1_000
max_in_flight_batches = 4
fetch_concurrency = 0x8
request_timeout = "2m"
blob_attempts = 3
listen = "127.0.0.1:9464"

[tenants.gov]
tenant_id = "{GUID_A}"
client_id = "{GUID_B}"
client_secret = "x"
cloud = "GCC_High"
content_types = ["audit.general", "DLP.All"]
publisher_id = "{}"
requests_per_minute = 100
resource = "https://manage.office365.us/"

[sinks.siem]
type = "file"
path = "/data/out.ndjson"
format = "ecs"
keep_original = true
"#,
        GUID_B.to_uppercase()
    );
    let c = ok(&text);
    let a = &c.agent;
    assert_eq!(a.state_dir, Path::new("/srv/state"));
    assert_eq!(a.poll_interval, Duration::from_secs(90));
    assert_eq!(a.overlap, Duration::ZERO);
    assert_eq!(a.dedup_horizon, Duration::from_secs(2 * 86400));
    assert_eq!(a.dedup_hot_window, Duration::from_secs(90 * 60));
    assert_eq!(a.dedup_hot_ids, 50_000);
    assert_eq!(a.initial_lookback, Duration::from_secs(3 * 86400));
    assert_eq!(a.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(
        (a.batch_size, a.max_in_flight_batches, a.fetch_concurrency),
        (1000, 4, 8)
    );
    assert_eq!(a.request_timeout, Duration::from_secs(120));
    assert_eq!(a.blob_attempts, 3);
    assert_eq!(a.listen, Some("127.0.0.1:9464".parse().unwrap()));
    let t = &c.tenants["gov"];
    assert_eq!(t.cloud, Cloud::GccHigh);
    assert_eq!(t.api_url.as_str(), "https://manage.office365.us/");
    assert_eq!(t.login_url.as_str(), "https://login.microsoftonline.us/");
    assert_eq!(t.content_types, [ContentType::General, ContentType::DlpAll]);
    assert_eq!(t.publisher_id, GUID_B, "GUIDs are lower-cased");
    assert_eq!(t.requests_per_minute, 100);
    assert_eq!(t.resource, "https://manage.office365.us/");
    let s = &c.sinks["siem"];
    assert_eq!(s.format, Format::Ecs);
    assert!(s.format_options.keep_original);
    assert!(matches!(&s.kind, SinkKind::File { path } if path == Path::new("/data/out.ndjson")));
}

#[test]
fn secret_sources() {
    let dir = tempfile::tempdir().unwrap();
    super::super::tests::write_secret(&dir.path().join("contoso.secret"), &format!("{SECRET}\r\n"));
    super::super::tests::write_secret(&dir.path().join("empty.secret"), "\n");
    let source = dir.path().join("config.toml");
    let inline = format!("client_secret = \"{SECRET}\"");
    let with = |secret_line: &str| minimal().replace(&inline, secret_line);
    let env = |name: &str| (name == "O365FWD_SECRET").then(|| OsString::from(SECRET));
    let parse = |text: &str| parse_with_env(text, &source, &env);

    // Relative file, resolved against the config file's directory; CRLF trimmed.
    let c = parse(&with("client_secret_file = \"contoso.secret\"")).unwrap();
    let t = &c.tenants["contoso"];
    assert_eq!(t.client_secret.expose(), SECRET);
    assert_eq!(
        t.secret_origin,
        SecretOrigin::File(dir.path().join("contoso.secret"))
    );
    let c = parse(&with("client_secret_env = \"O365FWD_SECRET\"")).unwrap();
    assert_eq!(c.tenants["contoso"].client_secret.expose(), SECRET);
    assert_eq!(
        c.tenants["contoso"].secret_origin,
        SecretOrigin::Env("O365FWD_SECRET".into())
    );

    let check = |line: &str, column: usize, needle: &str| {
        let e = parse(&with(line)).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert!(!format!("{e} {e:?}").contains(SECRET), "secret leaked: {e}");
        let p = &e.problems[0];
        assert_eq!((p.line, p.column), (Some(4), Some(column)), "{p:?}");
        assert!(
            p.message.contains(needle),
            "{:?} lacks {needle:?}",
            p.message
        );
    };
    check(
        "client_secret_file = \"nope.secret\"",
        22,
        "cannot read secret file",
    );
    check("client_secret_file = \"empty.secret\"", 22, "is empty");
    super::super::tests::write_secret(&dir.path().join("big.secret"), &"x".repeat(65 * 1024));
    check(
        "client_secret_file = \"big.secret\"",
        22,
        "larger than 64 KiB",
    );
    check(
        "client_secret_env = \"O365FWD_MISSING\"",
        21,
        "environment variable O365FWD_MISSING is not set",
    );
    check("client_secret = \"\"", 17, "is empty");
    // A secret pasted as the variable name is not echoed (`check` asserts SECRET is absent).
    check(
        &format!("client_secret_env = \"{SECRET}\""),
        21,
        "not an environment variable name",
    );
    let both = format!("client_secret = \"{SECRET}\"\nclient_secret_env = \"O365FWD_SECRET\"");
    let e = parse(&with(&both)).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].line, Some(5));
    assert!(e.problems[0].message.contains("only one of"));
    let e = parse(&with("")).unwrap_err();
    assert!(
        e.problems[0]
            .message
            .contains("client_secret_file or client_secret_env"),
        "{e}"
    );
}

#[test]
fn relative_paths_follow_the_config_file() {
    let text = format!(
        "[agent]\nstate_dir = \"state\"\n{}[sinks.f]\ntype = \"file\"\npath = \"../log/out.ndjson\"\n",
        minimal()
    );
    let c = ok(&text);
    assert_eq!(c.agent.state_dir, Path::new("/etc/o365fwd/state"));
    assert!(
        matches!(&c.sinks["f"].kind, SinkKind::File { path } if path == Path::new("/etc/o365fwd/../log/out.ndjson"))
    );
    // A bare file name is relative to the working directory, made absolute.
    let c = parse_with_env(&text, Path::new("config.toml"), &no_env).unwrap();
    assert!(c.agent.state_dir.is_absolute());
    assert!(c.agent.state_dir.ends_with("state"));
}

#[test]
fn secrets_stay_out_of_debug_and_summary() {
    let c = ok(&minimal().replace(
        "[sinks.out]",
        "[sinks.f]\ntype = \"file\"\npath = \"/x.ndjson\"\nformat = \"cef\"\n[sinks.out]",
    ));
    let debug = format!("{c:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    let s = super::super::summary(&c);
    assert!(!s.contains(SECRET), "{s}");
    for needle in [
        "contoso",
        GUID_A,
        "commercial",
        "manage.office.com",
        "Audit.General",
        "inline",
        "f: file /x.ndjson (format cef)",
        "out: stdout (format raw)",
        "poll_interval",
        "1m",
    ] {
        assert!(s.contains(needle), "summary lacks {needle:?}:\n{s}");
    }
}

#[test]
fn example_config_is_valid() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let env = |name: &str| (name == "O365FWD_CONTOSO_SECRET").then(|| OsString::from(SECRET));
    let c = parse_with_env(text, &source(), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.tenants.len(), 1);
    assert_eq!(c.sinks.len(), 1);
    let d = crate::config::AgentConfig::default();
    assert_eq!(c.agent.state_dir, d.state_dir);
    assert_eq!(c.agent.overlap, d.overlap);
    assert_eq!(c.agent.dedup_horizon, d.dedup_horizon);
    assert_eq!(c.agent.dedup_hot_window, d.dedup_hot_window);
    assert_eq!(c.agent.dedup_hot_ids, d.dedup_hot_ids);
    assert_eq!(c.agent.initial_lookback, d.initial_lookback);
    assert_eq!(c.agent.max_in_flight_batches, d.max_in_flight_batches);
    assert_eq!(c.tenants["contoso"].client_secret.expose(), SECRET);
    // Without the variable, the example fails naming it.
    let e = parse_with_env(text, &source(), &no_env).unwrap_err();
    assert!(
        e.to_string().contains("O365FWD_CONTOSO_SECRET is not set"),
        "{e}"
    );
}

/// The report shown in docs/config.md is the real one.
#[test]
fn documented_error_report_is_accurate() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .replacen("poll_interval =", "poll_intervall =", 1)
        .replacen("\"commercial\"", "\"azure\"", 1);
    let shown = parse_with_env(&text, &source(), &no_env)
        .unwrap_err()
        .to_string();
    let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md"));
    assert!(doc.contains(&shown), "docs/config.md should show:\n{shown}");
}
