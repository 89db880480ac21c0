#!/usr/bin/env bash
# Installs what the Kafka sink's build and tests need (tests/it/kafka.rs). Idempotent: a warm
# machine pays nothing.
#   - build: rdkafka compiles the bundled librdkafka with `make` (no cmake) and links the
#     system OpenSSL (libssl-dev) for TLS and SASL PLAIN/SCRAM/OAUTHBEARER; zlib and zstd
#     are compiled from source by their -sys crates.
#   - tansu 0.6.0 (crates.io), a Kafka-protocol broker, with in-memory storage, into
#     /opt/tansu (override with O365FWD_TANSU_ROOT); the test starts it on 127.0.0.1.
#   - confluent-kafka (PyPI), the independent consumer that reads the records back.
set -euo pipefail
ROOT="${O365FWD_TANSU_ROOT:-/opt/tansu}"
PYTHON="${O365FWD_PYTHON:-python3}"

need=()
for p in build-essential pkg-config libssl-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -x "$ROOT/bin/tansu" ]; then
    cargo install tansu --version 0.6.0 --features dynostore --locked --root "$ROOT"
fi

if ! "$PYTHON" -c 'import confluent_kafka' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'confluent-kafka>=2.6,<3'
fi
echo "kafka test tools ready: tansu ($ROOT/bin/tansu), confluent-kafka ($PYTHON)"
