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
