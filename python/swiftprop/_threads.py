"""Thread count of swiftprop's own worker pool (separate from NumPy's OpenBLAS threads)."""
import os

import numpy as np

from . import _core


def set_num_threads(n: int) -> None:
    """Set the number of threads swiftprop's matrix products and optimizer updates use.

    swiftprop cuts each large product into one slab per thread, every slab a single-threaded
    OpenBLAS call, and splits the optimizer's passes the same way; products too small to gain
    run on the calling thread alone. Idle workers spin for some 50 µs (4000 pause instructions),
    then sleep.

    Parameters
    ----------
    n : int
        Number of threads (the caller included), 1 to 1024. NumPy has its own BLAS threads;
        keep the sum of both within the cores you have when you use them at the same time.
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """Return the number of threads swiftprop's matrix products use (see :func:`set_num_threads`)."""
    return _core.get_num_threads()


def blas_corename() -> str:
    """Return the name of the OpenBLAS kernel in use (e.g. ``'SkylakeX'``)."""
    return _core.blas_corename()


def _default_threads() -> int:
    """SWIFTPROP_NUM_THREADS, else the OPENBLAS_NUM_THREADS / OMP_NUM_THREADS that launchers (joblib
    workers, MPI, batch schedulers) set to avoid oversubscription, else the CPUs this process may use."""
    for name in ("SWIFTPROP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if value.isdigit() and int(value) >= 1:
            return int(value)
        if name == "SWIFTPROP_NUM_THREADS":
            raise ValueError(f"SWIFTPROP_NUM_THREADS must be a positive integer, got {value!r}")
        # others may hold lists such as OMP_NUM_THREADS="4,2": not ours to interpret
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


set_num_threads(_default_threads())
