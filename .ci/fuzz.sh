#!/usr/bin/env bash
# Builds the cargo-fuzz targets under fuzz/ and runs each for a bounded time
# (FUZZ_SECS, default 20). Any crash fails CI; its input is under fuzz/artifacts/.
# Only a stable toolchain is installed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the
# nightly-only sanitizer flags. `-s none` keeps the build free of the ASAN runtime
# (coverage guidance and Rust's own checks remain; overflow checks are on with -a).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${FUZZ_SECS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
# Its own target dir: the sanitizer build shares nothing with the main one.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
targets=$(cargo fuzz list)
cargo fuzz build -s none -a
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    # Inputs kept in git (the overflow and panic cases of issue 15) seed the corpus.
    for f in fuzz/seeds/"$t"/*; do
        if [ -e "$f" ] && [ ! -e "fuzz/corpus/$t/${f##*/}" ]; then cp "$f" "fuzz/corpus/$t/"; fi
    done
    echo "== fuzz $t for ${SECS}s"
    cargo fuzz run -s none -a "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
done
