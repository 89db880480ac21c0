//! `[sinks.NAME] type = "syslog"`: defaults, every key, and each bad value located.

use crate::config::parse::tests::{minimal, ok, one, problems};
use crate::sink::config::SinkKind;
use crate::sink::syslog::{Framing, Rfc, SyslogConfig, Transport};

/// `minimal()` with its sink replaced by a syslog sink; the keys start on line 8.
fn with(keys: &str) -> String {
    minimal().replace("type = \"stdout\"\n", &format!("type = \"syslog\"\n{keys}"))
}

fn syslog(keys: &str) -> SyslogConfig {
    match ok(&with(keys)).sinks["out"].kind.clone() {
        SinkKind::Syslog(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn defaults() {
    let c = syslog("address = \"127.0.0.1:514\"\ntransport = \"tcp\"\n");
    assert_eq!(c.transport, Transport::Tcp);
    assert_eq!(c.framing, Framing::OctetCounting);
    assert_eq!(c.rfc, Rfc::Rfc5424);
    assert_eq!((c.facility, c.severity), (16, None));
    assert_eq!(c.max_message_size, 8192);
    assert_eq!(c.sd_id.as_deref(), Some("o365fwd@32473"));
    assert_eq!(c.app_name, "o365fwd");
    assert!(c.hostname.is_none() && c.procid.is_none());
}

#[test]
fn every_key() {
    let c = syslog(
        "address = \"[::1]:6514\"\ntransport = \"tls\"\nframing = \"octet_counting\"\nrfc = 3164\n\
         facility = \"audit\"\nseverity = \"warning\"\nhostname = \"fwd-01\"\napp_name = \"o365\"\n\
         procid = \"7\"\nsd_id = \"o365@99999\"\nmax_message_size = 16384\ntimeout = \"5s\"\n\
         resend_window = \"0s\"\ntls_server_name = \"siem.example\"\ntls_insecure_skip_verify = true\n\
         format = \"cef\"\n",
    );
    assert_eq!(c.address, "[::1]:6514");
    assert_eq!((c.transport, c.rfc), (Transport::Tls, Rfc::Rfc3164));
    assert_eq!((c.facility, c.severity), (13, Some(4)));
    assert_eq!(c.hostname.as_deref(), Some("fwd-01"));
    assert_eq!(
        (c.app_name.as_str(), c.procid.as_deref()),
        ("o365", Some("7"))
    );
    assert_eq!(c.sd_id.as_deref(), Some("o365@99999"));
    assert_eq!(c.max_message_size, 16384);
    assert_eq!(c.timeout, std::time::Duration::from_secs(5));
    assert!(c.resend_window.is_zero());
    assert_eq!(c.tls.server_name.as_deref(), Some("siem.example"));
    assert!(c.tls.insecure_skip_verify);
    let c = syslog(
        "address = \"/dev/log\"\ntransport = \"unix\"\nstructured_data = false\nfacility = 4\nseverity = 0\n",
    );
    assert_eq!(
        (c.transport, c.facility, c.severity),
        (Transport::Unix, 4, Some(0))
    );
    assert!(c.sd_id.is_none());
    let c = syslog("address = \"h:514\"\ntransport = \"tcp\"\nframing = \"lf\"\n");
    assert_eq!(c.framing, Framing::Lf);
}

#[test]
fn bad_values_point_at_the_value() {
    let tcp = "address = \"127.0.0.1:514\"\ntransport = \"tcp\"\n";
    one(
        &with(
            "address = \"x:1\"\ntransport = \"tls\"\nframing = \"lf\"\ntls_insecure_skip_verify = true\n",
        ),
        "sinks.out.framing",
        10,
        11,
        "TLS requires octet_counting",
    );
    one(
        &with("address = \"x:1\"\ntransport = \"sctp\"\n"),
        "sinks.out.transport",
        9,
        13,
        "unknown transport",
    );
    one(
        &with("address = \"localhost\"\ntransport = \"udp\"\n"),
        "sinks.out.address",
        8,
        11,
        "expected host:port",
    );
    one(
        &with("address = \"::1:514\"\ntransport = \"udp\"\n"),
        "sinks.out.address",
        8,
        11,
        "in brackets",
    );
    one(
        &with("address = \"h:0\"\ntransport = \"udp\"\n"),
        "sinks.out.address",
        8,
        11,
        "port must be",
    );
    one(
        &with("address = \"h:1\"\ntransport = \"udp\"\nframing = \"lf\"\n"),
        "sinks.out.framing",
        10,
        11,
        "only to transport tcp or tls",
    );
    one(
        &with(&format!("{tcp}tls_ca_file = \"/x.pem\"\n")),
        "sinks.out.tls_ca_file",
        10,
        15,
        "transport = \"tls\"",
    );
    one(
        &with(&format!("{tcp}sd_id = \"o365fwd\"\n")),
        "sinks.out.sd_id",
        10,
        9,
        "name@<enterprise number>",
    );
    one(
        &with(&format!("{tcp}sd_id = \"a b@1\"\n")),
        "sinks.out.sd_id",
        10,
        9,
        "printable ASCII",
    );
    one(
        &with(&format!("{tcp}hostname = \"my host\"\n")),
        "sinks.out.hostname",
        10,
        12,
        "without spaces",
    );
    one(
        &with(&format!("{tcp}app_name = \"{}\"\n", "a".repeat(49))),
        "sinks.out.app_name",
        10,
        12,
        "1 to 48",
    );
    one(
        &with(&format!("{tcp}facility = 24\n")),
        "sinks.out.facility",
        10,
        12,
        "unknown facility",
    );
    one(
        &with(&format!("{tcp}severity = \"loud\"\n")),
        "sinks.out.severity",
        10,
        12,
        "unknown severity",
    );
    one(
        &with(&format!("{tcp}rfc = \"5425\"\n")),
        "sinks.out.rfc",
        10,
        7,
        "unknown rfc",
    );
    one(
        &with("address = \"h:1\"\ntransport = \"udp\"\nmax_message_size = 70000\n"),
        "sinks.out.max_message_size",
        10,
        20,
        "out of range",
    );
    one(
        &with("address = \"h:1\"\ntransport = \"udp\"\nresend_window = \"1s\"\n"),
        "sinks.out.resend_window",
        10,
        17,
        "tcp or tls",
    );
    one(
        &with(&format!("{tcp}colour = \"red\"\n")),
        "sinks.out.colour",
        10,
        1,
        "unknown key",
    );
    one(
        &with("transport = \"tcp\"\n"),
        "sinks.out.address",
        6,
        1,
        "missing required key `address`",
    );
}

#[test]
fn tls_files_are_checked_at_load_time() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ca.pem");
    let text = with(&format!(
        "address = \"h:1\"\ntransport = \"tls\"\ntls_ca_file = \"{}\"\n",
        missing.display()
    ));
    one(&text, "sinks.out.transport", 6, 1, "TLS: cannot read");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let text = with(&format!(
        "address = \"h:1\"\ntransport = \"tls\"\ntls_ca_file = \"{}\"\n",
        junk.display()
    ));
    one(&text, "sinks.out.transport", 6, 1, "no PEM certificate");
    // A key without its certificate, and a key file that is not there: both reported.
    let text = with(&format!(
        "address = \"h:1\"\ntransport = \"tls\"\ntls_key_file = \"{}\"\n",
        dir.path().join("k.pem").display()
    ));
    let ps = problems(&text);
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert!(
        ps.iter()
            .any(|p| p.message.contains("set tls_cert_file too"))
    );
    assert!(
        ps.iter()
            .any(|p| p.message.contains("cannot read secret file"))
    );
}
