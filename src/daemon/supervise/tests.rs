use super::*;

#[test]
fn restarts_back_off_to_five_minutes() {
    assert_eq!(restart_delay(1), Duration::from_secs(1));
    assert_eq!(restart_delay(2), Duration::from_secs(2));
    assert_eq!(restart_delay(9), Duration::from_secs(256));
    assert_eq!(restart_delay(10), Duration::from_secs(300));
    assert_eq!(restart_delay(u32::MAX), Duration::from_secs(300));
}

#[tokio::test]
async fn a_dead_task_raises_fatal_naming_the_panic_first() {
    let stop = CancellationToken::new();
    let fatal = Fatal::default();
    // The committer ends first (its sink's acknowledgement is gone) ...
    let h = tokio::spawn(async { 0 });
    let w = watch("committer".into(), h, stop.clone(), fatal.clone());
    assert_eq!(w.await.unwrap(), Some(0));
    fatal.wait().await;
    assert_eq!(
        fatal.reason(),
        "committer: ended while the agent was running"
    );
    // ... then the sink's panic is seen, after the stop began: it is the reason.
    stop.cancel();
    let h = tokio::spawn(async { panic!("boom {}", 7) });
    let w = watch("sink s".into(), h, stop.clone(), fatal.clone());
    assert_eq!(w.await.unwrap(), None::<()>);
    assert_eq!(fatal.reason(), "sink s: panicked: boom 7");
    // While stopping, a task that ends is expected.
    let quiet = Fatal::default();
    let h = tokio::spawn(async { 1 });
    let w = watch("sink t".into(), h, stop, quiet.clone());
    assert_eq!(w.await.unwrap(), Some(1));
    assert!(!quiet.raised.is_cancelled());
}
