use super::*;

fn req(ms: i64, tenant: &str, path: &str, code: Option<&str>) -> crate::sim::RequestLog {
    crate::sim::RequestLog {
        at: chrono::DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap(),
        method: "GET".into(),
        path: path.into(),
        query: String::new(),
        tenant: Some(tenant.into()),
        had_authorization: true,
        status: 200,
        retry_after: None,
        error_code: code.map(str::to_string),
        publisher_identifier: None,
    }
}

#[test]
fn stats_find_the_busiest_second_and_tenant_minute() {
    let mut log = vec![req(0, "a", "/a/oauth2/token", None)];
    for i in 0..5 {
        log.push(req(
            100 + i * 100,
            "a",
            "/api/v1.0/a/activity/feed/subscriptions/content",
            None,
        ));
    }
    log.push(req(30_000, "b", "/api", Some("AF429")));
    log.push(req(59_000, "a", "/api", None));
    log.push(req(61_000, "a", "/api", None));
    let s = request_stats(&log);
    assert_eq!(
        s,
        RequestStats {
            requests: 9,
            token_requests: 1,
            throttled: 1,
            busiest_second: 6,
            busiest_tenant_minute: 7,
            tenants: 2,
            log_capped: false,
        }
    );
}
