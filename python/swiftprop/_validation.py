"""Package-internal: the one number/range check that :mod:`swiftprop.optim` and :mod:`swiftprop.sklearn` share.

:func:`check_number` raises with the messages of :mod:`swiftprop.optim` (``TypeError: lr must be a number,
got str``; ``ValueError: lr must be in (0.0, inf], got -1``); the estimators' ``_params`` module describes
the same :class:`Interval` in scikit-learn's words and raises its ``InvalidParameterError``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Interval", "check_number", "is_bool", "is_int", "is_real"]


def is_bool(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy bool."""
    return isinstance(value, (bool, np.bool_))


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), bools excluded."""
    return isinstance(value, numbers.Integral) and not is_bool(value)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy int or float), bools excluded."""
    return isinstance(value, numbers.Real) and not is_bool(value)


@dataclass(frozen=True)
class Interval:
    """A range of finite real numbers, each end closed unless marked open.

    Parameters
    ----------
    low, high : float
        The ends; ``high`` defaults to infinity.
    low_open, high_open : bool
        Whether the end itself is excluded.
    """

    low: float
    high: float = np.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite real number inside the interval."""
        if not is_real(value):
            return False
        v = float(value)
        too_low = v <= self.low if self.low_open else v < self.low
        too_high = v >= self.high if self.high_open else v > self.high
        return bool(np.isfinite(v)) and not too_low and not too_high

    def __str__(self) -> str:
        """``[0.0, 1.0)`` (an infinite end keeps its bracket: ``[0.0, inf]``), as optim's messages."""
        lo, hi = ("(" if self.low_open else "["), (")" if self.high_open else "]")
        return f"{lo}{self.low}, {self.high}{hi}"

    def describe(self, kind: str) -> str:
        """``'a float in the range [0.0, inf)'`` for ``kind='a float'``, as scikit-learn's messages."""
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or self.high == np.inf else "]"
        return f"{kind} in the range {left}{self.low}, {self.high}{right}"


def check_number(name: str, value: Any, interval: Interval) -> float:
    """``value`` as a float, after checking that it is a finite number in ``interval``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : object
        The value to check.
    interval : Interval
        Where the value must lie.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools are not numbers here).
    ValueError
        If it is not finite or lies outside ``interval``.
    """
    if not is_real(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not interval.contains(value):
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)
