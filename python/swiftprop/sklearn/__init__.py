"""scikit-learn estimators backed by a swiftprop :class:`~swiftprop.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` take the parameters of scikit-learn's classes of the
same names (same names, defaults and meaning) and add a few of their own (``dtype``, ``class_weight``,
``dropout`` and one activation per hidden layer). Forward and backward passes, and whole training epochs, run in
the Swift core; the training logic around each epoch (loss curve, tolerance, learning-rate schedules,
early stopping, convergence warnings) is Python, following scikit-learn's documented behaviour.

Importing this package needs scikit-learn (and SciPy, one of its dependencies, for ``solver='lbfgs'``).
"""
from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "swiftprop.MLPClassifier and swiftprop.MLPRegressor need scikit-learn, which is not "
        "installed; install it with `pip install scikit-learn`"
    ) from _err

from ._classifier import MLPClassifier
from ._params import HIDDEN_ACTIVATIONS, InvalidParameterError
from ._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "InvalidParameterError"]

# The public classes keep the module path they had when swiftprop.sklearn was one module, so that pickles
# (which name a class by module and name) load with either layout, and reprs and docs stay the same.
for _cls in (MLPClassifier, MLPRegressor, InvalidParameterError):
    _cls.__module__ = __name__
del _cls

from . import _onnx  # noqa: E402,F401  (registers the estimators with skl2onnx when it is imported)
