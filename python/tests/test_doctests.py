"""The Examples sections of the public API run as doctests (Network, optim, callbacks, History)."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["swiftprop._network", "swiftprop._fit", "swiftprop.optim", "swiftprop.callbacks", "swiftprop.plot"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    if name == "swiftprop.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no Examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (output above)"
