use super::*;

#[test]
fn a_panic_inside_quietly_is_caught() {
    assert_eq!(quietly(|| 1), Ok(1));
    assert_eq!(quietly(|| -> u8 { panic!("boom") }), Err(()));
    assert!(!QUIET.with(Cell::get));
}

#[test]
fn a_held_sled_lock_is_seen_by_asking_the_os() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !super::locked_elsewhere(dir.path()),
        "no db file: not locked"
    );
    let db = std::fs::File::create(dir.path().join("db")).unwrap();
    assert!(!super::locked_elsewhere(dir.path()), "nobody holds it");
    // The lock sled takes: an exclusive flock, here on another open file description.
    // SAFETY: `db` owns the descriptor while it is locked.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&db), libc::LOCK_EX) },
        0
    );
    assert!(super::locked_elsewhere(dir.path()));
    drop(db);
    assert!(
        !super::locked_elsewhere(dir.path()),
        "released with its holder"
    );
}
