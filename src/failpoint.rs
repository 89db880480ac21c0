//! Fault injection for the end-to-end tests, compiled into debug builds only (release
//! builds ignore it): `O365FWD_TEST_PANIC=feed,sink,committer` makes each named task panic
//! once, the feed in the worst place (record ids claimed, their batch not yet submitted), so
//! the tests can check what the supervisor makes of it.

/// Panics the first time `point` (for `key`, e.g. a feed) is reached, if the environment
/// asks for it and this is a debug build.
pub fn panic_once(point: &str, key: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    use std::collections::BTreeSet;
    use std::sync::{Mutex, OnceLock};
    static WANTED: OnceLock<Vec<String>> = OnceLock::new();
    static DONE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let wanted = WANTED.get_or_init(|| {
        std::env::var("O365FWD_TEST_PANIC")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    if !wanted.iter().any(|w| w == point) {
        return;
    }
    let id = format!("{point}/{key}");
    if DONE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone())
    {
        panic!("injected failure at {id} (O365FWD_TEST_PANIC)");
    }
}
