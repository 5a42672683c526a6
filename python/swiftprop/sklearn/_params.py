"""The estimators' parameters as data: a table of parameter name → constraint, checked by one function.

Each constraint checks one value and returns it normalised; a failure raises :class:`InvalidParameterError`
with scikit-learn's message, "The 'alpha' parameter of MLPClassifier must be a float in the range
[0.0, inf). Got -1 instead.". The number ranges are :class:`swiftprop._validation.Interval` s, checked by
:func:`swiftprop._validation.check_number`, the check :mod:`swiftprop.optim` uses.
"""
from __future__ import annotations

from typing import Any, Callable, NoReturn, Sequence

import numpy as np

from .._network import LOSSES
from .._validation import Interval, check_number, is_bool, is_int

__all__ = ["BASE_CONSTRAINTS", "HIDDEN_ACTIVATIONS", "InvalidParameterError", "REGRESSOR_CONSTRAINTS",
           "REGRESSOR_LOSSES", "SCHEDULES", "SOLVERS", "STOCHASTIC", "validate_params"]

#: Hidden-layer activations accepted by the estimators (scikit-learn's four, then ours).
HIDDEN_ACTIVATIONS: tuple[str, ...] = (
    "identity", "logistic", "tanh", "relu", "sigmoid", "leaky_relu", "elu", "softplus", "gelu",
)
SOLVERS = ("sgd", "adam", "lbfgs")
STOCHASTIC = ("sgd", "adam")
SCHEDULES = ("constant", "invscaling", "adaptive")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value (raised by ``fit``, as scikit-learn does).

    It derives from both ValueError and TypeError, like scikit-learn's exception of the same name,
    so code catching either keeps working.
    """


class _Context:
    """What a constraint may need besides its value: the estimator and the values checked before it."""

    def __init__(self, est: Any) -> None:
        self.est = est
        self.owner = type(est).__name__
        self.done: dict[str, Any] = {}

    def fail(self, name: str, must: str, got: Any) -> NoReturn:
        raise InvalidParameterError(f"The {name!r} parameter of {self.owner} must be {must}. Got {got!r} instead.")


class Constraint:
    """One parameter's rule: :meth:`check` returns the value normalised or raises InvalidParameterError."""

    def check(self, name: str, value: Any, ctx: _Context) -> Any:
        raise NotImplementedError


class Real(Constraint):
    """A finite float in an interval."""

    def __init__(self, low: float, high: float = np.inf, *, low_open: bool = False, high_open: bool = False):
        self.interval = Interval(low, high, low_open, high_open)

    def check(self, name: str, value: Any, ctx: _Context) -> float:
        try:
            return check_number(name, value, self.interval)
        except (TypeError, ValueError):
            ctx.fail(name, self.interval.describe("a float"), value)


class Int(Constraint):
    """An int >= low (bools excluded)."""

    def __init__(self, low: int) -> None:
        self.interval = Interval(low)

    def check(self, name: str, value: Any, ctx: _Context) -> int:
        if not is_int(value) or not self.interval.contains(value):
            ctx.fail(name, self.interval.describe("an int"), value)
        return int(value)


class IntOrInf(Int):
    """An int >= low, or numpy.inf / float('inf') (never reached: e.g. no stopping on a plateau)."""

    def check(self, name: str, value: Any, ctx: _Context) -> Any:  # type: ignore[override]
        if isinstance(value, (float, np.floating)) and value == np.inf:
            return float(value)
        if not is_int(value) or not self.interval.contains(value):
            ctx.fail(name, self.interval.describe("an int") + " or numpy.inf", value)
        return int(value)


class Bool(Constraint):
    """A Python or NumPy bool."""

    def check(self, name: str, value: Any, ctx: _Context) -> bool:
        if not is_bool(value):
            ctx.fail(name, "an instance of 'bool'", value)
        return bool(value)


class Options(Constraint):
    """One of a few strings."""

    def __init__(self, options: Sequence[str]) -> None:
        self.options = tuple(options)

    def check(self, name: str, value: Any, ctx: _Context) -> str:
        if not isinstance(value, str) or value not in self.options:
            ctx.fail(name, "a str among {" + ", ".join(repr(o) for o in self.options) + "}", value)
        return value


class Satisfies(Constraint):
    """Whatever ``test`` accepts, described as ``must`` in the message; the value is returned as it is."""

    def __init__(self, test: Callable[[Any], bool], must: str) -> None:
        self.test, self.must = test, must

    def check(self, name: str, value: Any, ctx: _Context) -> Any:
        if not self.test(value):
            ctx.fail(name, self.must, value)
        return value


class HiddenSizes(Constraint):
    """An int or a sequence of ints, each > 0; returns the list."""

    def check(self, name: str, value: Any, ctx: _Context) -> list[int]:
        must = "an int or an array-like of ints"
        if is_int(value):
            hidden = [int(value)]
        else:
            try:
                hidden = list(value)
            except TypeError:
                ctx.fail(name, must, value)
            if not all(is_int(h) for h in hidden):
                ctx.fail(name, must, value)
            hidden = [int(h) for h in hidden]
        if any(h <= 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        return hidden


class HiddenActivations(Constraint):
    """One name for every hidden layer, or a list/tuple of one per hidden layer; returns the list."""

    def check(self, name: str, value: Any, ctx: _Context) -> list[str]:
        n_hidden = len(ctx.done["hidden_layer_sizes"])
        names = Options(HIDDEN_ACTIVATIONS)
        if isinstance(value, str):
            return [names.check(name, value, ctx)] * n_hidden
        if isinstance(value, (list, tuple)):
            if len(value) != n_hidden:
                raise InvalidParameterError(
                    f"activation has {len(value)} entries but there are {n_hidden} hidden layers "
                    f"(hidden_layer_sizes={ctx.est.hidden_layer_sizes!r}); give one activation per hidden "
                    "layer, or a single name for all of them")
            return [names.check(f"{name}[{i}]", a, ctx) for i, a in enumerate(value)]
        ctx.fail(name, "a str among {" + ", ".join(map(repr, HIDDEN_ACTIVATIONS))
                 + "} or a list/tuple with one such name per hidden layer", value)


class FloatDtype(Constraint):
    """None (follow X's dtype), numpy.float32 or numpy.float64 (or their names); returns None or the
    np.dtype."""

    def check(self, name: str, value: Any, ctx: _Context) -> Any:
        if value is None:
            return None
        try:
            dt = np.dtype(value)
        except TypeError:
            dt = None
        if dt is None or dt not in (np.float32, np.float64):
            ctx.fail(name, "None, numpy.float32 or numpy.float64", value)
        return dt


class DropoutRates(Constraint):
    """One rate in [0, 1) for every hidden layer or one per hidden layer; 0 with solver='lbfgs'."""

    def check(self, name: str, value: Any, ctx: _Context) -> list[float]:
        n_hidden = len(ctx.done["hidden_layer_sizes"])
        if is_bool(value):
            ctx.fail(name, "a rate in [0, 1) or one rate per hidden layer", value)
        if isinstance(value, (int, float, np.integer, np.floating)):
            rates = [Real(0.0, 1.0, high_open=True).check(name, value, ctx)] * n_hidden
        else:
            try:
                rates = [float(r) for r in value]
            except (TypeError, ValueError):
                rates = []
            if len(rates) != n_hidden or not all(0.0 <= r < 1.0 for r in rates):
                ctx.fail(name, f"a rate in [0, 1) or {n_hidden} rates in [0, 1) (one per hidden layer)", value)
        if any(rates) and ctx.est.solver == "lbfgs":
            ctx.fail(name, "0 with solver='lbfgs' (dropout needs a stochastic solver)", value)
        return rates


def _batch_size(v: Any) -> bool:
    return v == "auto" if isinstance(v, str) else is_int(v) and v >= 1


#: The parameters of both estimators, checked in this order (the first failure raises).
BASE_CONSTRAINTS: dict[str, Constraint] = {
    "hidden_layer_sizes": HiddenSizes(),
    "activation": HiddenActivations(),
    "solver": Options(SOLVERS),
    "alpha": Real(0.0),
    "batch_size": Satisfies(_batch_size, "an int in the range [1, inf) or 'auto'"),
    "learning_rate": Options(SCHEDULES),
    "learning_rate_init": Real(0.0, low_open=True),
    "power_t": Real(0.0),
    "max_iter": Int(1),
    "shuffle": Bool(),
    "random_state": Satisfies(lambda v: v is None or is_int(v) or isinstance(v, np.random.RandomState),
                              "an int, a numpy.random.RandomState instance or None"),
    "tol": Real(0.0),
    "verbose": Satisfies(lambda v: is_bool(v) or is_int(v), "a bool or an int"),
    "warm_start": Bool(),
    # swiftprop.optim.SGD needs momentum < 1 (scikit-learn also accepts 1, a non-decaying velocity)
    "momentum": Real(0.0, 1.0, high_open=True),
    "nesterovs_momentum": Bool(),
    "early_stopping": Bool(),
    "validation_fraction": Real(0.0, 1.0, high_open=True),
    "beta_1": Real(0.0, 1.0, high_open=True),
    "beta_2": Real(0.0, 1.0, high_open=True),
    "epsilon": Real(0.0, low_open=True),
    "n_iter_no_change": IntOrInf(1),
    "max_fun": Int(1),
    "dtype": FloatDtype(),
    "dropout": DropoutRates(),
}

#: MLPRegressor's losses: 'poisson' needs a core with the poisson loss (exp output); feature-detected so
#: that the estimator offers it as soon as :data:`swiftprop.LOSSES` has it.
REGRESSOR_LOSSES: tuple[str, ...] = ("squared_error", "poisson") if "poisson" in LOSSES else ("squared_error",)

#: MLPRegressor's: the base ones, then its loss.
REGRESSOR_CONSTRAINTS: dict[str, Constraint] = {**BASE_CONSTRAINTS, "loss": Options(REGRESSOR_LOSSES)}


def validate_params(est: Any, constraints: dict[str, Constraint]) -> dict[str, Any]:
    """Check the estimator's parameters against ``constraints``, in the table's order.

    Parameters
    ----------
    est : estimator
        Its attributes of the table's names are checked.
    constraints : dict of str to Constraint
        The table.

    Returns
    -------
    dict
        Every parameter's normalised value (e.g. ``hidden_layer_sizes`` as a list of ints, ``dtype`` as a
        numpy dtype).

    Raises
    ------
    InvalidParameterError
        For the first parameter that breaks its constraint (ValueError for a hidden layer size <= 0).
    """
    ctx = _Context(est)
    for name, constraint in constraints.items():
        ctx.done[name] = constraint.check(name, getattr(est, name), ctx)
    return ctx.done
