use super::*;

#[test]
fn missing_and_wrong_databases_are_clear_errors() {
    let cfg = |city: &str| EnrichConfig {
        city: Some(PathBuf::from(city)),
        asn: None,
        user_agent: false,
        watch_interval: DEFAULT_WATCH,
    };
    let e = Enricher::open(&cfg("/nonexistent/GeoLite2-City.mmdb")).unwrap_err();
    assert!(
        e.contains("cannot read /nonexistent/GeoLite2-City.mmdb"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.mmdb");
    std::fs::write(&bad, b"not a database at all").unwrap();
    let e = Enricher::open(&cfg(bad.to_str().unwrap())).unwrap_err();
    assert!(e.contains("is not a readable MaxMind DB"), "{e}");
}

#[test]
fn user_agents_only() {
    let e = Enricher::open(&EnrichConfig {
        city: None,
        asn: None,
        user_agent: true,
        watch_interval: DEFAULT_WATCH,
    })
    .unwrap();
    assert!(e.geo("81.2.69.142".parse().unwrap(), |_| ()).is_none());
    assert_eq!(
        e.user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0")
            .unwrap()
            .name,
        "Firefox"
    );
}
