#!/usr/bin/env bash
# Install swiftprop with everything its tests need, then run every test: the Swift core's (swift test),
# the type check, the benchmark's smoke mode, the Python suite (pytest), scikit-learn's own MLP tests run
# against swiftprop's estimators, and the wheel/sdist check.
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

"$PY" -m pip install --quiet --disable-pip-version-check ".[test]"
# Open MPI + mpi4py for the data-parallel tests (Debian packages: needs root or sudo). In CI a failure
# here fails the run; elsewhere the MPI tests then skip with their reason.
if [ "${CI:-}" = "true" ]; then
    PYTHON="$PY" bash scripts/install_mpi.sh
else
    PYTHON="$PY" bash scripts/install_mpi.sh || echo "test.sh: MPI not installed; the MPI tests will skip"
fi

swift test $("$PY" scripts/blas_flags.py)
"$PY" -m mypy python/swiftprop
"$PY" benchmarks/run.py --quick
"$PY" -m pytest python/tests
# scikit-learn's own test_mlp.py against swiftprop's estimators (named exceptions printed, then pytest's summary)
"$PY" scripts/sklearn_mlp_tests.py
PYTHON="$PY" bash scripts/check_wheel.sh
