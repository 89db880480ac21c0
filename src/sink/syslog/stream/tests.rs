use super::*;

fn entry(len: usize, end: Option<u64>) -> (Entry, oneshot::Receiver<SinkAck>) {
    let (tx, rx) = oneshot::channel();
    let e = Entry {
        frames: vec![b'x'; len],
        records: 1,
        end,
        written: end.is_some(),
        ack: Some(tx),
        acked_at: None,
    };
    (e, rx)
}

#[test]
fn acknowledges_in_order_only_what_the_peer_has() {
    let mut q = VecDeque::new();
    let (a, mut ra) = entry(10, Some(10));
    let (b, mut rb) = entry(10, Some(20));
    let (c, mut rc) = entry(10, None);
    q.extend([a, b, c]);
    assert!(acknowledge(&mut q, 15));
    assert!(ra.try_recv().is_ok());
    assert!(rb.try_recv().is_err(), "only 15 of 20 bytes acknowledged");
    assert!(!acknowledge(&mut q, 15));
    assert!(acknowledge(&mut q, 1000));
    assert!(rb.try_recv().is_ok());
    assert!(rc.try_recv().is_err(), "never written: never acknowledged");
    // The window keeps acknowledged batches; a zero window forgets them, in order.
    prune(&mut q, Duration::from_secs(60));
    assert_eq!(q.len(), 3);
    prune(&mut q, Duration::ZERO);
    assert_eq!(q.len(), 1);
    assert!(q[0].ack.is_some());
}
