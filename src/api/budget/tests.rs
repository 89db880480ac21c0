use super::*;

#[tokio::test(start_paused = true)]
async fn paces_and_pauses() {
    let b = Budget::new(600); // one per 100 ms, burst 10
    let c = CancellationToken::new();
    let t0 = Instant::now();
    for _ in 0..30 {
        assert!(b.acquire(&c).await);
    }
    let el = t0.elapsed();
    assert!(
        el >= Duration::from_millis(1900) && el <= Duration::from_millis(2200),
        "{el:?}"
    );
    b.pause(Duration::from_secs(5));
    let t1 = Instant::now();
    assert!(b.acquire(&c).await);
    assert!(t1.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_pause_the_clock_cannot_hold_does_not_panic() {
    let b = Budget::new(600);
    b.pause(Duration::from_secs(u64::MAX));
    b.pause(Duration::MAX);
    let c = CancellationToken::new();
    c.cancel();
    assert!(!b.acquire(&c).await, "a cancelled wait ends at once");
}
