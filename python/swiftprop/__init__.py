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
# OpenBLAS (scipy-openblas32) must be loaded before the extension that links it.
import scipy_openblas32 as _openblas  # noqa: F401

from . import _core, optim
from ._network import ACTIVATIONS, LOSSES, History, Network, Trace
from ._threads import get_num_threads, set_num_threads, blas_corename

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "History",
    "LOSSES",
    "Network",
    "Trace",
    "blas_corename",
    "get_num_threads",
    "optim",
    "set_num_threads",
]
