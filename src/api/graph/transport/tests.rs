use super::*;

#[test]
fn retry_after_is_clamped() {
    assert_eq!(clamp_retry_after(Duration::ZERO), MIN_RETRY_AFTER);
    assert_eq!(
        clamp_retry_after(Duration::from_secs(7)),
        Duration::from_secs(7)
    );
    assert_eq!(
        clamp_retry_after(Duration::from_secs(86_400 * 365)),
        MAX_RETRY_AFTER
    );
}
