use super::*;

#[test]
fn token_lifetimes_from_the_network_are_clamped() {
    let lifetime = |body: &str| {
        let (_, d, asked) = parse_token(body.as_bytes()).unwrap();
        (d.as_secs(), asked)
    };
    assert_eq!(
        lifetime(r#"{"access_token":"a","expires_in":3599}"#),
        (3599, None)
    );
    assert_eq!(
        lifetime(r#"{"access_token":"a","expires_in":"3599"}"#),
        (3599, None)
    );
    assert_eq!(lifetime(r#"{"access_token":"a"}"#), (3599, None));
    for huge in [
        r#"18446744073709551615"#,
        r#""18446744073709551615""#,
        r#""99999999999999999999999""#,
        r#"1e300"#,
    ] {
        let body = format!(r#"{{"access_token":"a","expires_in":{huge}}}"#);
        let (secs, asked) = lifetime(&body);
        assert_eq!(secs, 24 * 3600, "{huge}");
        assert!(asked.is_some(), "{huge}");
    }
    assert_eq!(lifetime(r#"{"access_token":"a","expires_in":-5}"#).0, 1);
    assert_eq!(lifetime(r#"{"access_token":"a","expires_in":0}"#).0, 1);
    // The renewal time the cache computes from any of them is a checked sum.
    for d in [
        Duration::ZERO,
        Duration::from_secs(1),
        crate::bounds::MAX_TOKEN_LIFETIME,
    ] {
        let _ = crate::bounds::later(Instant::now(), renew_after(d));
    }
}

/// Each cloud's token endpoint and scope (reference §1.5): GCC signs in commercially but
/// asks for its own API host; GCC High and DoD use the US government authority.
#[test]
fn token_endpoint_and_scope_per_cloud() {
    let cases = [
        (
            "commercial",
            "https://login.microsoftonline.com",
            "https://manage.office.com/.default",
        ),
        (
            "gcc",
            "https://login.microsoftonline.com",
            "https://manage-gcc.office.com/.default",
        ),
        (
            "gcc_high",
            "https://login.microsoftonline.us",
            "https://manage.office365.us/.default",
        ),
        (
            "dod",
            "https://login.microsoftonline.us",
            "https://manage.protection.apps.mil/.default",
        ),
    ];
    let tenant = "0b4e5a2c-1f3d-4c5e-9a7b-8c9d0e1f2a3b";
    for (cloud, login, scope) in cases {
        let text = format!(
            "[tenants.t]\ntenant_id = \"{tenant}\"\nclient_id = \"{tenant}\"\nclient_secret = \"x\"\ncloud = \"{cloud}\"\n[sinks.o]\ntype = \"stdout\"\n"
        );
        let cfg = crate::config::Config::parse(&text, std::path::Path::new("/c.toml")).unwrap();
        let ts = TokenSource::new(reqwest::Client::new(), &cfg.tenants["t"]);
        assert_eq!(
            ts.token_url,
            format!("{login}/{tenant}/oauth2/v2.0/token"),
            "{cloud}"
        );
        assert_eq!(ts.scope, scope, "{cloud}");
    }
}
