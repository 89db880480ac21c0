#!/bin/sh
# Installs the third-party validators the format tests use (tests/it/formats.rs):
#   - cefp 0.0.2 (PyPI), a CEF parser that handles header and extension escapes;
#   - @elastic/ecs 9.4.0 (npm), the official ECS field definitions;
#   - ocsf-json-schema 1.2.0 (PyPI), the published OCSF schema (1.0 to 1.8, packaged, no
#     network at test time) as JSON Schema per class, checked with jsonschema 4.26.0 (PyPI);
#   - mmdb-writer 0.2.7 (PyPI), which builds the MaxMind-format test databases of the
#     enrichment tests (tests/fixtures/enrich/make_mmdb.py).
# The ECS package goes to $O365FWD_VALIDATORS_DIR (default /opt/o365fwd-validators);
# the test reads the same variable. Idempotent: a warm machine pays nothing.
set -eu
DIR="${O365FWD_VALIDATORS_DIR:-/opt/o365fwd-validators}"
PYTHON="${O365FWD_PYTHON:-python3}"

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("cefp") != "0.0.2")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'cefp==0.0.2'
fi

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("ocsf-json-schema") != "1.2.0" or m.version("jsonschema") != "4.26.0")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'ocsf-json-schema==1.2.0' 'jsonschema==4.26.0'
fi

if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mmdb-writer") != "0.2.7")' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet 'mmdb-writer==0.2.7'
fi

if [ ! -f "$DIR/node_modules/@elastic/ecs/build/commonjs/ecs_flat.js" ] ||
   ! grep -q '"version": "9.4.0"' "$DIR/node_modules/@elastic/ecs/package.json"; then
    mkdir -p "$DIR"
    npm install --prefix "$DIR" --no-audit --no-fund --no-save '@elastic/ecs@9.4.0'
fi
echo "validators ready: cefp 0.0.2, ocsf-json-schema 1.2.0 + jsonschema 4.26.0, mmdb-writer 0.2.7 ($PYTHON), @elastic/ecs 9.4.0 ($DIR)"
