#!/usr/bin/env bash
# Install swiftprop with everything its tests need, then run every test: the Swift core's (swift test),
# the type check, the benchmark's smoke mode, the Python suite (pytest), scikit-learn's own MLP tests run
# against swiftprop's estimators, and the wheel/sdist check.
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

"$PY" -m pip install --quiet --disable-pip-version-check ".[test,onnx,docs]"
# PyTorch for the export tests: the CPU wheel (about 40 s to install here; the default wheel from the index
# pulls in CUDA libraries of several GB). Installed only when absent; without it the torch tests skip.
if ! "$PY" -c "import torch" 2>/dev/null; then
    if ! "$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0+cpu"; then
        [ "${CI:-}" = "true" ] && { echo "test.sh: could not install torch (CPU wheel)"; exit 1; }
        echo "test.sh: torch not installed; the PyTorch export tests will skip"
    fi
fi
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
# the documentation site (warnings are errors), before pytest: test_docs_browser.py opens it in Chromium
PYTHON="$PY" bash scripts/docs.sh
"$PY" -m pytest python/tests
# scikit-learn's own test_mlp.py against swiftprop's estimators (named exceptions printed, then pytest's summary)
"$PY" scripts/sklearn_mlp_tests.py
# The numerics again under the baseline build of the core (the suite above runs the build this CPU
# selects: x86-64-v3 where it has AVX2/FMA); both must agree with the reference within the same tolerances.
SWIFTPROP_CPU=baseline "$PY" -m pytest python/tests/test_numerics.py python/tests/test_float32_ulp.py \
    python/tests/test_cpu_dispatch.py
PYTHON="$PY" bash scripts/check_wheel.sh
