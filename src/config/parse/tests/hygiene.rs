//! Safe by default: Kafka in clear to a remote broker, secret files others can read, and
//! secrets in URLs echoed by messages.

use std::os::unix::fs::PermissionsExt;

use super::super::tests::{GUID_A, minimal, ok, one, problems, source, write_secret};
use crate::secret::redact_url;
use crate::sink::config::SinkKind;

fn with_sink(sink: &str) -> String {
    minimal().replace("[sinks.out]\ntype = \"stdout\"\n", sink)
}

fn kafka_protocol(text: &str) -> Option<String> {
    match &ok(text).sinks["out"].kind {
        SinkKind::Kafka(k) => k.client_config().get("security.protocol").map(String::from),
        other => panic!("not kafka: {other:?}"),
    }
}

#[test]
fn kafka_to_a_remote_broker_is_tls_unless_plaintext_is_allowed_by_name() {
    let sink = |brokers: &str, extra: &str| {
        with_sink(&format!(
            "[sinks.out]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopic = \"t\"\n{extra}"
        ))
    };
    // No protocol given: TLS to a remote broker, librdkafka's default on this host.
    assert_eq!(
        kafka_protocol(&sink("kafka.example:9092", "")).as_deref(),
        Some("ssl")
    );
    assert_eq!(
        kafka_protocol(&sink("kafka.example:9092", "sasl_password = \"pw\"\n")).as_deref(),
        Some("sasl_ssl")
    );
    assert_eq!(
        kafka_protocol(&sink("kafka.example:9092", "ssl_key_password = \"kp\"\n")).as_deref(),
        Some("ssl"),
        "a TLS key's password is not SASL"
    );
    assert_eq!(
        kafka_protocol(&sink("127.0.0.1:9092,localhost:9093,[::1]:9094", "")),
        None
    );
    let summary = ok(&sink("kafka.example:9092", "")).summary();
    assert!(summary.contains("(security.protocol ssl)"), "{summary}");

    // In clear to a remote broker (sink on line 6, its librdkafka table on line 10).
    for (brokers, protocol) in [
        ("kafka.example:9092", "sasl_plaintext"),
        ("kafka.example:9092", "PLAINTEXT"),
        ("127.0.0.1:9092,10.0.0.5:9092", "plaintext"),
    ] {
        let text = sink(
            brokers,
            &format!("[sinks.out.librdkafka]\n\"security.protocol\" = \"{protocol}\"\n"),
        );
        let p = one(
            &text,
            "sinks.out.librdkafka.\"security.protocol\"",
            11,
            23,
            "in clear",
        );
        assert!(p.message.contains("allow_plaintext = true"), "{p:?}");
        assert!(
            !p.message.contains("127.0.0.1"),
            "only remote brokers named: {p:?}"
        );
        let allowed = text.replace(
            "[sinks.out.librdkafka]",
            "allow_plaintext = true\n[sinks.out.librdkafka]",
        );
        assert_eq!(
            kafka_protocol(&allowed).map(|p| p.to_ascii_lowercase()),
            Some(protocol.to_ascii_lowercase())
        );
    }
    // TLS given explicitly is kept; plaintext on this host needs nothing.
    let tls = "[sinks.out.librdkafka]\n\"security.protocol\" = \"SASL_SSL\"\n";
    assert_eq!(
        kafka_protocol(&sink("kafka.example:9092", tls)).as_deref(),
        Some("SASL_SSL")
    );
    let local = "[sinks.out.librdkafka]\n\"security.protocol\" = \"plaintext\"\n";
    assert_eq!(
        kafka_protocol(&sink("localhost:9092", local)).as_deref(),
        Some("plaintext")
    );
}

#[test]
fn a_secret_file_others_can_read_is_refused_and_one_its_group_can_read_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    write_secret(&file, "s3cret\n");
    let set_mode =
        |mode: u32| std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    let texts = [
        minimal().replace(
            "client_secret = \"s3cr3t-VALUE-never-shown\"",
            &format!("client_secret_file = \"{}\"", file.display()),
        ),
        with_sink(&format!(
            "[sinks.out]\ntype = \"kafka\"\nbrokers = \"localhost:9092\"\ntopic = \"t\"\nsasl_password_file = \"{}\"\n",
            file.display()
        )),
        with_sink(&format!(
            "[sinks.out]\ntype = \"splunk_hec\"\nendpoint = \"https://s:8088\"\ntoken_file = \"{}\"\n",
            file.display()
        )),
    ];
    for text in &texts {
        set_mode(0o644);
        let ps = problems(text);
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert!(
            ps[0].message.contains("readable by every user (mode 0644)"),
            "{ps:#?}"
        );
        assert!(ps[0].message.contains("chmod o-rwx"), "{ps:#?}");
        assert!(ps[0].line.is_some(), "located: {ps:#?}");
        set_mode(0o640);
        let c = ok(text);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        let w = &c.warnings[0];
        assert!(w.starts_with(&format!("{}:", source().display())), "{w}");
        assert!(w.contains("readable by its group"), "{w}");
        set_mode(0o600);
        assert!(ok(text).warnings.is_empty());
    }
}

#[test]
fn urls_in_messages_show_no_credentials_query_or_fragment() {
    for (url, shown) in [
        ("https://u:p@h:1/x?k=v#f", "https://***@h:1/x?***"),
        ("https://h/x#frag", "https://h/x#***"),
        ("http://user@h", "http://***@h"),
        ("https://h/a@b", "https://h/a@b"),
        ("no url at all?apikey=1", "no url at all?***"),
    ] {
        assert_eq!(redact_url(url), shown, "{url}");
    }
    let secret = "SECRETVALUE";
    let cases = [
        with_sink(&format!(
            "[sinks.out]\ntype = \"splunk_hec\"\nendpoint = \"https://splunk.example:8088/?apikey={secret}\"\ntoken = \"t\"\n"
        )),
        with_sink(&format!(
            "[sinks.out]\ntype = \"http\"\nurl = \"ftp://c.example/in?sig={secret}\"\n"
        )),
        with_sink(&format!(
            "[sinks.out]\ntype = \"elasticsearch\"\nendpoint = \"https://[es?key={secret}\"\nindex = \"i\"\nformat = \"raw\"\n"
        )),
        minimal().replace(
            &format!("tenant_id = \"{GUID_A}\"\n"),
            &format!(
                "tenant_id = \"{GUID_A}\"\napi_url = \"https://manage.example/?sig={secret}\"\n"
            ),
        ),
        minimal().replace(
            &format!("tenant_id = \"{GUID_A}\"\n"),
            &format!("tenant_id = \"{GUID_A}\"\nproxy = \"http://proxy:3128/?k={secret}\"\n"),
        ),
    ];
    for text in &cases {
        let ps = problems(text);
        let shown = format!("{ps:?}");
        assert!(!ps.is_empty());
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[test]
fn a_pinned_certificate_is_one_certificate_and_replaces_the_ca_check() {
    let cert = format!(
        "{}/tests/fixtures/cert/test-only-cert.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let dir = tempfile::tempdir().unwrap();
    let two = dir.path().join("two.pem");
    let pem = std::fs::read_to_string(&cert).unwrap();
    std::fs::write(&two, format!("{pem}{pem}")).unwrap();
    let hec = |tls: &str| {
        with_sink(&format!(
            "[sinks.out]\ntype = \"splunk_hec\"\nendpoint = \"https://s:8088\"\ntoken = \"t\"\n{tls}"
        ))
    };
    let c = ok(&hec(&format!("tls_pinned_cert_file = \"{cert}\"\n")));
    let SinkKind::SplunkHec(h) = &c.sinks["out"].kind else {
        panic!("hec");
    };
    assert_eq!(
        h.http.tls.pinned_cert_file.as_deref(),
        Some(std::path::Path::new(&cert))
    );
    for (tls, needle) in [
        (
            format!("tls_pinned_cert_file = \"{cert}\"\ntls_ca_file = \"{cert}\"\n"),
            "remove tls_ca_file",
        ),
        (
            format!("tls_pinned_cert_file = \"{cert}\"\ntls_verify = false\n"),
            "remove tls_verify = false",
        ),
        (
            format!("tls_pinned_cert_file = \"{}\"\n", two.display()),
            "pin exactly one",
        ),
        (
            "tls_pinned_cert_file = \"/nonexistent.pem\"\n".into(),
            "cannot read",
        ),
    ] {
        let ps = problems(&hec(&tls));
        assert_eq!(ps.len(), 1, "{ps:#?}");
        assert_eq!(ps[0].key, "sinks.out.tls_pinned_cert_file", "{ps:#?}");
        assert!(ps[0].message.contains(needle), "{needle}: {ps:#?}");
    }
    let syslog = |tls: &str| {
        with_sink(&format!(
            "[sinks.out]\ntype = \"syslog\"\ntransport = \"tls\"\naddress = \"127.0.0.1:6514\"\n{tls}"
        ))
    };
    let c = ok(&syslog(&format!("tls_pinned_cert_file = \"{cert}\"\n")));
    let SinkKind::Syslog(s) = &c.sinks["out"].kind else {
        panic!("syslog");
    };
    assert!(s.tls.pinned_cert.is_some());
    let ps = problems(&syslog(&format!(
        "tls_pinned_cert_file = \"{cert}\"\ntls_insecure_skip_verify = true\n"
    )));
    assert!(
        ps.iter()
            .any(|p| p.message.contains("remove tls_insecure_skip_verify")),
        "{ps:#?}"
    );
    let ps = problems(&with_sink(&format!(
        "[sinks.out]\ntype = \"syslog\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:514\"\ntls_pinned_cert_file = \"{cert}\"\n"
    )));
    assert!(
        ps[0]
            .message
            .contains("applies only with transport = \"tls\""),
        "{ps:#?}"
    );
}
