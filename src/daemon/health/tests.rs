use super::*;

#[test]
fn the_poll_window_is_three_intervals_but_at_least_five_minutes() {
    assert_eq!(
        poll_window(Duration::from_secs(10)),
        Duration::from_secs(300)
    );
    assert_eq!(
        poll_window(Duration::from_secs(600)),
        Duration::from_secs(1800)
    );
}

/// A feed that has not completed a poll within the window (its polls failing, or never
/// finishing) is named in `/health` with how long it has been; a recent poll clears it.
#[test]
fn a_feed_without_a_recent_poll_is_unhealthy() {
    let tenant = "6d0c4b1a-2e3f-4a5b-8c7d-0e9f1a2b3c4d";
    let text = format!(
        "[agent]\npoll_interval = \"10s\"\n[tenants.h]\ntenant_id = \"{tenant}\"\nclient_id = \"{tenant}\"\nclient_secret = \"x\"\ncontent_types = [\"Audit.General\"]\n[sinks.health_test]\ntype = \"stdout\"\n"
    );
    let cfg = Config::parse(&text, std::path::Path::new("/c.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut o = Observed::new(&cfg, State::open(dir.path()).unwrap());
    let id = FeedId::new("h", tenant, crate::record::ContentType::General);
    let feed = telemetry::FeedMetrics::new(std::sync::Arc::new(id));
    // Started 301 s ago (the window is 300 s), never polled.
    o.started_at = Utc::now() - chrono::Duration::seconds(301);
    let (reasons, details) = o.health();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("feed h/Audit.General: no successful poll for 30")
            && reasons[0].ends_with("(limit 300s)"),
        "{reasons:?}"
    );
    assert_eq!(details["feeds"]["h/Audit.General"]["healthy"], false);
    feed.polled(Utc::now() - chrono::Duration::seconds(200));
    assert_eq!(o.health().0, Vec::<String>::new());
    feed.polled(Utc::now() - chrono::Duration::seconds(400));
    assert_eq!(o.health().0.len(), 1);
}
