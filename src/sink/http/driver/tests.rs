use super::*;
use std::time::Duration;

fn item(len: usize) -> Item {
    Item {
        job: 0,
        index: 0,
        data: vec![b'x'; len],
    }
}

#[test]
fn chunks_respect_count_and_bytes_and_order() {
    let items: Vec<Item> = [10, 10, 10, 50, 10, 10].into_iter().map(item).collect();
    let limits = BatchLimits {
        max_events: 2,
        max_bytes: 40,
        timeout: Duration::ZERO,
    };
    let all: Vec<usize> = (0..items.len()).collect();
    assert_eq!(
        chunks(&items, &all, &limits),
        vec![vec![0, 1], vec![2], vec![3], vec![4, 5]]
    );
    assert_eq!(chunks(&items, &[5, 1], &limits), vec![vec![5, 1]]);
    assert!(chunks(&items, &[], &limits).is_empty());
}
