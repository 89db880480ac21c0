use super::*;

#[test]
fn sends_to_a_path_and_an_abstract_socket() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notify");
    let rx = UnixDatagram::bind(&p).unwrap();
    send(p.as_os_str(), "READY=1").unwrap();
    let mut buf = [0u8; 64];
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");

    use std::os::linux::net::SocketAddrExt;
    let name = format!("o365fwd-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let rx = UnixDatagram::bind_addr(&addr).unwrap();
    send(std::ffi::OsStr::new(&format!("@{name}")), "WATCHDOG=1").unwrap();
    let n = rx.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"WATCHDOG=1");
}

#[test]
fn a_receiver_that_does_not_read_never_blocks_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notify");
    let _rx = UnixDatagram::bind(&p).unwrap();
    let t0 = Instant::now();
    let mut full = false;
    for _ in 0..100_000 {
        if let Err(e) = send(p.as_os_str(), "WATCHDOG=1") {
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
            full = true;
            break;
        }
    }
    assert!(full, "the queue fills up");
    assert!(t0.elapsed() < Duration::from_secs(10));
}

/// On virtual time (paused): the beats and the checks see the same clock, never a
/// thread that the machine's load held back.
#[tokio::test(start_paused = true)]
async fn a_blocked_task_stops_the_heartbeat_a_waiting_one_does_not() {
    let beats = Heartbeats::default();
    let waiting = beats.register();
    // Waiting on a channel that never delivers, like a feed behind a stalled sink.
    let (_tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(with_heartbeat(
        waiting,
        Duration::from_millis(20),
        async move { rx.recv().await },
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(beats.all_alive(Duration::from_millis(150)));
    // A registered task that never beats, as if its thread were blocked.
    let stuck = beats.register();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!beats.all_alive(Duration::from_millis(150)));
    // It was the stuck one: once it beats, everything is alive again.
    stuck.beat();
    assert!(beats.all_alive(Duration::from_millis(150)));
}
