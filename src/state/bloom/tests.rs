use super::*;

#[test]
fn never_a_false_negative_and_few_false_positives() {
    let n = 20_000u64;
    let guid = |i: u64| format!("00000000-0000-4000-8000-{i:012x}");
    let mut b = Bloom::with_ids(n as usize);
    for i in 0..n {
        b.insert(Id::parse(&guid(i * 3)));
        b.insert(Id::Other(&format!("blob#{i}")));
    }
    for i in 0..n {
        assert!(b.may_contain(Id::parse(&guid(i * 3))));
        assert!(b.may_contain(Id::Other(&format!("blob#{i}"))));
    }
    let fp = (0..n)
        .filter(|i| b.may_contain(Id::parse(&guid(i * 3 + 1))))
        .count();
    // Twice the ids it was sized for: still well under one in five.
    assert!(fp < (n / 5) as usize, "{fp} false positives of {n}");
    let mut sized = Bloom::with_ids(n as usize);
    for i in 0..n {
        sized.insert(Id::parse(&guid(i * 3)));
    }
    let fp = (0..n)
        .filter(|i| sized.may_contain(Id::parse(&guid(i * 3 + 1))))
        .count();
    assert!(
        fp < (n / 25) as usize,
        "{fp} false positives of {n} at its size"
    );
    assert_eq!(sized.bytes(), (n as usize * BITS_PER_ID).div_ceil(64) * 8);
}
