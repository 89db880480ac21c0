use super::*;

#[test]
fn first_polls_are_staggered_within_one_interval() {
    let minute = Duration::from_secs(60);
    assert_eq!(
        stagger(0, minute),
        Duration::ZERO,
        "the first group at once"
    );
    assert_eq!(stagger(31, minute), Duration::ZERO);
    assert_eq!(stagger(32, minute), Duration::from_millis(100));
    assert_eq!(stagger(249, minute), Duration::from_millis(700));
    let quarter = Duration::from_millis(250);
    assert_eq!(
        stagger(249, quarter),
        quarter,
        "never more than one interval"
    );
    assert_eq!(stagger(usize::MAX, minute), minute);
}
