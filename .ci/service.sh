#!/bin/sh
# Installs what the service tests need (tests/it/service/):
#   - systemd (Debian), for systemd-analyze verify/security on the unit file (no systemd is
#     started: --offline works without a running manager);
#   - adduser and dpkg (Debian), to install and purge the .deb as the CI's root user;
#   - prometheus-client 0.26.0 (PyPI), the Prometheus project's parser for /metrics;
#   - cargo-deb 3.8.0 (crates.io), which builds the .deb the test installs (about 95 CPU
#     seconds to compile once; packaging/build uses it for releases too).
# Idempotent: a warm machine pays nothing.
set -eu
PYTHON="${O365FWD_PYTHON:-python3}"

missing=""
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
dpkg -s adduser >/dev/null 2>&1 || missing="$missing adduser"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("prometheus-client") != "0.26.0")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'prometheus-client==0.26.0'
fi
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb 3.8.0" ]; then
    # Its own throw-away target dir: never the project's.
    tmp="$(mktemp -d)"
    CARGO_TARGET_DIR="$tmp" cargo install --quiet --locked --version 3.8.0 cargo-deb
    rm -rf "$tmp"
fi
echo "service test tools ready: cargo-deb 3.8.0, $(systemd-analyze --version | head -1), prometheus-client 0.26.0 ($PYTHON)"
