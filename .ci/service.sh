#!/bin/sh
# Installs what the service tests need (tests/it/service/):
#   - systemd (Debian), for systemd-analyze verify/security on the unit file (no systemd is
#     started: --offline works without a running manager);
#   - adduser and dpkg (Debian), to install and purge the .deb as the CI's root user;
#   - prometheus-client 0.26.0 (PyPI), the Prometheus project's parser for /metrics.
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
echo "service test tools ready: $(systemd-analyze --version | head -1), prometheus-client 0.26.0 ($PYTHON)"
