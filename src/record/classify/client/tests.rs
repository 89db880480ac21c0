use super::*;

fn p(s: &str) -> (Option<String>, Option<u16>, Option<String>) {
    let c = parse_client(s).unwrap();
    (c.ip.map(|i| i.to_string()), c.port, c.domain)
}

#[test]
fn forms_the_api_sends() {
    assert_eq!(
        p("131.107.160.42"),
        (Some("131.107.160.42".into()), None, None)
    );
    assert_eq!(
        p("79.159.10.151:12345"),
        (Some("79.159.10.151".into()), Some(12345), None)
    );
    assert_eq!(
        p("[fdfd::555]:12346"),
        (Some("fdfd::555".into()), Some(12346), None)
    );
    assert_eq!(p("[2001:db8::1]"), (Some("2001:db8::1".into()), None, None));
    assert_eq!(p("2001:db8::1"), (Some("2001:db8::1".into()), None, None));
    assert_eq!(p("::ffff:10.1.2.3"), (Some("10.1.2.3".into()), None, None));
    assert_eq!(
        p("[::ffff:10.1.2.3]:80"),
        (Some("10.1.2.3".into()), Some(80), None)
    );
    assert_eq!(
        p("mail.contoso.com (10.0.0.5)"),
        (
            Some("10.0.0.5".into()),
            None,
            Some("mail.contoso.com".into())
        )
    );
    assert_eq!(
        p("frontend01:443"),
        (None, Some(443), Some("frontend01".into()))
    );
    assert_eq!(p("EXCH-FE01"), (None, None, Some("EXCH-FE01".into())));
    for s in [
        "[::ffff:10.1.2.3]:80",
        "mail (10.0.0.5)",
        "2001:DB8::1",
        "1.2.3.4:5",
        "131.107.160.42",
        " 10.0.0.1 ",
        "[1.2.3.4]:8",
        "0.0.0.0",
    ] {
        let c = parse_client(s).unwrap();
        assert_eq!(c.ip_text(), Some(c.ip.unwrap().to_string().as_str()), "{s}");
    }
}

#[test]
fn garbage_is_kept_not_dropped() {
    let c = parse_client("not an ip at all").unwrap();
    assert_eq!(c.address.as_deref(), Some("not an ip at all"));
    assert!(c.ip.is_none() && c.port.is_none());
    let c = parse_client("[1.2.3.4]:99999").unwrap();
    assert!(c.ip.is_none());
    assert_eq!(c.address.as_deref(), Some("[1.2.3.4]:99999"));
    assert!(parse_client("  ").is_none());
    // Leading zeros are not an IPv4 address (the kept text is canonical only because
    // of this).
    assert!(parse_client("01.2.3.4").unwrap().ip.is_none());
    assert!(parse_client("1.2.3.4:0").unwrap().port.is_none());
}
