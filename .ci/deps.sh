#!/usr/bin/env bash
# Installs what the tests need and is not a Rust crate. Idempotent: a warm machine pays
# nothing. Everything comes from the package registries (Debian, PyPI, npm).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .ci/validators.sh ]; then
  bash .ci/validators.sh
fi
bash .ci/http.sh
bash .ci/rsyslog.sh
bash .ci/kafka.sh
bash .ci/service.sh
