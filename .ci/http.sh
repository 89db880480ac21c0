#!/bin/sh
# Installs what the HTTP sink tests use (tests/it/http/real_clients.rs, tests/it/http/tls.rs):
#   - elasticsearch 8.15.1 (PyPI), Elastic's official Python client, pointed at the test
#     Elasticsearch receiver to keep it honest;
#   - openssl (Debian), to make the test CA and certificates.
# Idempotent: a warm machine pays nothing.
set -eu
PYTHON="${O365FWD_PYTHON:-python3}"

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("elasticsearch") != "8.15.1")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'elasticsearch==8.15.1'
fi
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends openssl
fi
echo "http test deps ready: elasticsearch 8.15.1 ($PYTHON), $(openssl version)"
