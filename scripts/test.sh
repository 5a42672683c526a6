#!/usr/bin/env bash
# Install swiftprop with its test dependencies, then run every test: the Swift core's (swift test)
# and the Python package's (pytest). This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

"$PY" -m pip install --quiet --disable-pip-version-check ".[test]"
swift test $("$PY" scripts/blas_flags.py)
"$PY" -m pytest python/tests
