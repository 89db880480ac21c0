#!/bin/sh
# Installs the syslog receiver and the RFC 5424 parser the syslog tests use
# (tests/it/syslog.rs):
#   - rsyslog + rsyslog-gnutls (Debian), run by the tests as a private foreground instance
#     on 127.0.0.1 with its own config (nothing system-wide is started or enabled);
#   - syslog-rfc5424-parser 0.3.2 (PyPI), an RFC 5424 parser nobody here wrote;
#   - openssl (Debian), to generate the test certificates.
# Idempotent: a warm machine pays nothing.
set -eu
PYTHON="${O365FWD_PYTHON:-python3}"

missing=""
for pkg in rsyslog rsyslog-gnutls openssl; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("syslog-rfc5424-parser") != "0.3.2")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'syslog-rfc5424-parser==0.3.2'
fi
echo "syslog receiver ready: $(command -v rsyslogd), syslog-rfc5424-parser 0.3.2 ($PYTHON)"
