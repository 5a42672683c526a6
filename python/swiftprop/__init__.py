"""swiftprop: multilayer feedforward networks with a native Swift core.

The network, in the notation of the classic derivation (samples are rows of a batch)::

    S_in^i  = W^i S_out^(i-1) + B^i          (on a batch: S_out_prev @ W.T + B)
    S_out^i = f^i(S_in^i)

and backpropagation, by three equations::

    (1) dcost/dS_in^i = (W^(i+1))^T dcost/dS_in^(i+1) ⊙ f'(S_in^i)
    (2) dcost/dW^i    = dcost/dS_in^i (S_out^(i-1))^T
    (3) dcost/dB^i    = dcost/dS_in^i

See :class:`Network` and :mod:`swiftprop.reference` (the same equations in plain NumPy).
"""
import os as _os
import types as _types
from typing import TYPE_CHECKING

import numpy as _np  # noqa: F401  (NumPy's own OpenBLAS starts here, with the user's settings)


def _load_core() -> tuple[_types.ModuleType, str]:
    """Import the extension built for this CPU (see ``_cpu``) with its OpenBLAS told to start no
    threads of its own: swiftprop's worker pool does the threading (every BLAS call is
    single-threaded), and idle OpenBLAS threads would only spin beside it. NumPy's separate
    OpenBLAS is already loaded and keeps its settings."""
    saved = _os.environ.get("OPENBLAS_NUM_THREADS")
    _os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import scipy_openblas32  # noqa: F401  (loads the OpenBLAS the extension links)

        from ._cpu import load_core

        return load_core(_os.path.dirname(__file__))
    finally:
        if saved is None:
            del _os.environ["OPENBLAS_NUM_THREADS"]
        else:
            _os.environ["OPENBLAS_NUM_THREADS"] = saved


_core, _cpu_build = _load_core()


def cpu_build() -> str:
    """Return which build of the native core this process runs.

    Returns
    -------
    str
        ``'x86-64-v3'`` (AVX2, FMA, BMI2: chosen at import on x86-64 CPUs that have them) or
        ``'baseline'`` (every other CPU, other architectures, or ``SWIFTPROP_CPU=baseline`` set
        before the import).
    """
    return _cpu_build

from . import callbacks, optim, plot, reference  # noqa: E402  (plot imports matplotlib only when it draws)
from ._network import ACTIVATIONS, LOSSES, Network, Trace
from ._fit import History
from ._threads import get_num_threads, set_num_threads, blas_corename

__version__ = "0.1.0"

#: Names served by :mod:`swiftprop.sklearn`, imported on first access so that ``import swiftprop``
#: does not import scikit-learn.
_SKLEARN_NAMES = ("MLPClassifier", "MLPRegressor")

if TYPE_CHECKING:  # for type checkers only: at run time they come from __getattr__
    from .sklearn import MLPClassifier, MLPRegressor


def __getattr__(name: str) -> type:
    if name in _SKLEARN_NAMES:
        try:
            import sklearn  # noqa: F401
        except ImportError as e:
            raise ImportError(
                f"swiftprop.{name} needs scikit-learn, which is not installed; install it with "
                "`pip install scikit-learn`") from e
        from . import sklearn as _sklearn_estimators

        value = getattr(_sklearn_estimators, name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SKLEARN_NAMES))


__all__ = [
    "ACTIVATIONS",
    "History",
    "LOSSES",
    "Network",
    "Trace",
    "blas_corename",
    "callbacks",
    "cpu_build",
    "get_num_threads",
    "optim",
    "plot",
    "reference",
    "set_num_threads",
]
