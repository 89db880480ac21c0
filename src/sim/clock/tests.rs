use super::*;

#[test]
fn advance_and_speed() {
    let start = Utc::now();
    let c = SimClock::new(start);
    c.advance(Duration::from_secs(3600));
    let d = c.now() - start;
    assert!(d >= chrono::Duration::seconds(3600) && d < chrono::Duration::seconds(3610));
    c.set_speed(0.0);
    let a = c.now();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(a, c.now(), "a stopped clock does not move");
}
