use super::*;

#[test]
fn failing_beyond_grace_is_unhealthy_until_an_ack() {
    let s = SinkMetrics::new("t_health_sink");
    assert_eq!(sink_health(s.name(), Duration::ZERO), SinkHealth::Healthy);
    s.retry("transport");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        sink_health(s.name(), Duration::from_secs(60)),
        SinkHealth::Healthy
    );
    let SinkHealth::Unhealthy(r) = sink_health(s.name(), Duration::ZERO) else {
        panic!("a failing sink past its grace is unhealthy");
    };
    assert!(r.contains("transport"), "{r}");
    s.acked();
    assert_eq!(sink_health(s.name(), Duration::ZERO), SinkHealth::Healthy);
    s.error();
    std::thread::sleep(Duration::from_millis(5));
    let SinkHealth::Unhealthy(r) = sink_health(s.name(), Duration::ZERO) else {
        panic!("a connection error counts as failing");
    };
    assert!(r.contains("connection or write error"), "{r}");
    SinkMetrics::new("t_health_sink").stopped("401 bad token");
    s.acked();
    assert_eq!(
        sink_health(s.name(), Duration::from_secs(60)),
        SinkHealth::Unhealthy("stopped: 401 bad token".into())
    );
    assert_eq!(m::SINK_RETRIES.get(["t_health_sink", "transport"]), 1);
    assert_eq!(m::SINK_ERRORS.get(["t_health_sink"]), 1);
    assert_eq!(m::SINK_STOPPED.get(["t_health_sink"]), 1);
}
