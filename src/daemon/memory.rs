//! The allocator's settings. glibc raises its mmap threshold (up to 32 MiB) each time a
//! large block is freed, so after the first few blobs every blob body (hundreds of KiB,
//! grown by doubling as it streams in) and listing comes from the heap, where blocks of
//! ever-changing sizes fragment it: a 10 M-record catch-up held 86-92 MB instead of 58-68
//! MB (bench/run scenario (a); `MALLOC_MMAP_THRESHOLD_=65536` against the default).
//! Fixing the threshold keeps large, short-lived buffers in their own mappings, returned
//! to the system when freed.

/// Applies the settings; call once, before other threads start.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

/// How often freed memory is handed back to the system.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts (once per process) a thread that returns the allocator's free pages to the
/// system every [`TRIM_EVERY`]. glibc only gives back the top of the main heap by itself;
/// the per-thread arenas keep what a burst freed. With 5,000 feeds (bench/run scenario
/// (d)) the start-up burst left 84 of 225 MB idle RSS free in the arenas. A trim takes a
/// few milliseconds, so the cost stays far below the idle budget.
pub fn start_trimming() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("trim".into())
            .stack_size(64 * 1024)
            .spawn(|| {
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    trim();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "Cannot start the memory trimmer: freed memory stays with the allocator.");
        }
    });
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
