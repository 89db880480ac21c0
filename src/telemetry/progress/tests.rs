use super::*;

#[tokio::test(start_paused = false)]
async fn waiting_is_not_a_stall_silence_is() {
    let p = Progress::default();
    p.tick();
    std::thread::sleep(Duration::from_millis(30));
    assert!(p.stalled_for() >= Duration::from_millis(30));
    let fut = p.waiting(async {
        std::thread::sleep(Duration::from_millis(30));
        p.stalled_for()
    });
    assert_eq!(
        fut.await,
        Duration::ZERO,
        "waiting for others is not a stall"
    );
    assert!(
        p.stalled_for() < Duration::from_millis(30),
        "the wait ended with a tick"
    );
    p.set_down(Some("boom".into()));
    assert_eq!(p.down().as_deref(), Some("boom"));
}
