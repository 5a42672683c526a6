#!/usr/bin/env bash
# Install Open MPI (Debian packages) and mpi4py (PyPI) so that the data-parallel tests
# (python/tests/test_distributed.py) and examples/mpi_train.py can run.
#
#   bash scripts/install_mpi.sh            # uses python3; PYTHON=/path/to/python to choose another
#
# Idempotent: each step is skipped when its result is already there. Quiet: prints one line per
# step it takes and the final check. Exits non-zero when a step or the final check fails.
# Needs root (or sudo) for apt-get, and apt and PyPI reachable.
#
# Notes (checked on Debian 12 as root: Open MPI 4.1.4 from apt, the mpi4py 4.1.2 wheel from PyPI):
# - mpi4py >= 4 ships manylinux wheels that load the system libmpi at run time, so no compiler is
#   needed; if no wheel fits, pip builds it from source with mpicc (from libopenmpi-dev; then gcc
#   and the Python headers are needed too).
# - Open MPI refuses to run as root unless told: `mpirun --allow-run-as-root ...`, or set
#   OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment (what the tests
#   do; MPICH ignores both).
# - More ranks than cores needs `--oversubscribe` (or OMPI_MCA_rmaps_base_oversubscribe=1).
# - Containers that forbid ptrace-like access can break the shared-memory transport's single-copy
#   mode (CMA) for large messages; then set OMPI_MCA_btl_vader_single_copy_mechanism=none. Not
#   needed here: a 10^7-float Allreduce over 2 ranks works with the defaults, and turning CMA off
#   made it about 4x slower.
# - Each rank starts swiftprop's OpenBLAS pool with one thread per core; with one rank per core set
#   SWIFTPROP_NUM_THREADS=1 to avoid oversubscription.
set -euo pipefail
PY=${PYTHON:-python3}
SUDO=""
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
# run a command with its output kept aside; show it only when the command fails
quiet() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "install_mpi: failed: $*" >&2
        cat "$LOG" >&2
        exit 1
    fi
}
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

if command -v mpirun >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1; then
    echo "install_mpi: MPI already installed ($(mpirun --version 2>/dev/null | head -n 1))"
else
    echo "install_mpi: apt-get install openmpi-bin libopenmpi-dev"
    export DEBIAN_FRONTEND=noninteractive
    quiet $SUDO apt-get update -qq
    quiet $SUDO apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev
fi

if "$PY" -c "import mpi4py" >/dev/null 2>&1; then
    echo "install_mpi: mpi4py already installed ($("$PY" -c 'import mpi4py; print(mpi4py.__version__)'))"
elif "$PY" -c "import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"; then
    # Debian's own python3 refuses pip installs (PEP 668): take Debian's build against its Open MPI
    echo "install_mpi: apt-get install python3-mpi4py (externally managed $PY)"
    export DEBIAN_FRONTEND=noninteractive
    quiet $SUDO apt-get install -y -qq --no-install-recommends python3-mpi4py
else
    echo "install_mpi: pip install mpi4py"
    quiet "$PY" -m pip install --quiet --disable-pip-version-check mpi4py
fi

# final check: two ranks on this machine agree on the size of the world
out=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
      timeout 120 mpirun -n 2 "$PY" -c \
      "from mpi4py import MPI; c = MPI.COMM_WORLD; n = c.allreduce(1); print(f'ranks={n}') if c.rank == 0 else None" \
      2>&1) || {
    echo "install_mpi: mpirun -n 2 failed:" >&2
    echo "$out" >&2
    exit 1
}
if [ "$(echo "$out" | grep -c '^ranks=2$')" -ne 1 ]; then
    echo "install_mpi: unexpected output from mpirun -n 2:" >&2
    echo "$out" >&2
    exit 1
fi
echo "install_mpi: ok ($("$PY" -c 'from mpi4py import MPI; print(MPI.Get_library_version().rstrip(chr(0)).splitlines()[0].strip())'))"
