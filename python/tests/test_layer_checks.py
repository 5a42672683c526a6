"""Each rule tested where it lives: the extension's own checks and the core's rules, reached directly through
``swiftprop._core`` with what the Python layer would convert or refuse first (its input policy copies a
Fortran-order X, for instance, so the extension's C-contiguity check is never reached from the public API).
Every refusal leaves the network unchanged."""
from __future__ import annotations

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import _core


@pytest.fixture(params=[np.float64, np.float32], ids=["f64", "f32"])
def net(request):
    return sp.Network([4, 5, 3], activations="tanh", loss="cross_entropy", dtype=request.param, seed=0)


def _unchanged(net, call, exc, match):
    params, grads = net.params.copy(), net.grads.copy()
    with pytest.raises(exc, match=match):
        call()
    assert np.array_equal(net.params, params) and np.array_equal(net.grads, grads)


def _data(net, n=6):
    X = np.random.default_rng(0).normal(size=(n, 4)).astype(net.dtype)
    return X, np.arange(n, dtype=np.int64) % 3


def test_extension_refuses_layouts_the_python_layer_would_copy(net):
    core = net._net
    X, y = _data(net)
    fortran = np.asfortranarray(np.repeat(X, 2, axis=1)[:, :4])
    assert not fortran.flags.c_contiguous
    for call in (lambda: core.forward(fortran), lambda: core.backward(fortran, y), lambda: core.check(fortran, y)):
        _unchanged(net, call, ValueError, "X must be C-contiguous")
    raw = np.zeros(X.nbytes + 1, np.uint8)
    misaligned = np.ndarray(X.shape, X.dtype, buffer=raw, offset=1)
    misaligned[...] = X
    _unchanged(net, lambda: core.forward(misaligned), ValueError, "X must be aligned")
    _unchanged(net, lambda: core.forward(X.astype(X.dtype.newbyteorder())), TypeError, "native byte order")
    other = np.float32 if net.dtype == np.float64 else np.float64
    _unchanged(net, lambda: core.backward(X.astype(other), y), TypeError, "X must have dtype")


def test_extension_refuses_outputs_and_aliases(net):
    core = net._net
    X, y = _data(net)
    out = np.zeros((6, 3), net.dtype)
    out.flags.writeable = False
    _unchanged(net, lambda: core.forward(X, out), ValueError, "out must be writeable")
    inside = net.grads[: 2 * 4].reshape(2, 4)
    _unchanged(net, lambda: core.backward(inside, y[:2]), ValueError, "X must not share memory")
    # dense targets and sample weights viewing the gradient buffer (the pass would overwrite them while
    # reading them) are refused by a check of their own
    Y = net.grads[: 6 * 3].reshape(6, 3)
    _unchanged(net, lambda: core.backward(X, Y), ValueError, "Y must not share memory")
    _unchanged(net, lambda: core.cost(X, y, sample_weight=net.grads[:6]), ValueError,
               "sample_weight must not share memory")
    nan = X.copy()
    nan[2, 1] = np.nan
    _unchanged(net, lambda: core.backward(nan, y), ValueError, "X contains NaN")


def test_core_rules_reached_without_the_python_layer(net):
    core = net._net
    X, y = _data(net)
    _unchanged(net, lambda: core.backward(X, np.array([0, 1, 2, 3, 0, 1], np.int64)), ValueError,
               r"Y contains label 3; labels must be in \[0, 3\) for 3 outputs")
    _unchanged(net, lambda: core.backward(X, np.array([0, -1, 2, 0, 0, 1], np.int64)), ValueError, "label -1")
    w = np.ones(6, net.dtype)
    w[3] = -1
    _unchanged(net, lambda: core.backward(X, y, sample_weight=w), ValueError,
               "sample_weight must be finite, >= 0, with a positive sum")
    _unchanged(net, lambda: core.check(X, y, sample_weight=np.zeros(6, net.dtype)), ValueError,
               "positive sum")
    _unchanged(net, lambda: core.set_dropout([1.0]), ValueError, r"dropout rates must be in \[0, 1\), got 1.0")
    _unchanged(net, lambda: core.set_dropout([0.1, 0.2]), ValueError, "dropout needs 1 rates")
    acts = _core.ACTIVATIONS
    with pytest.raises(ValueError, match=r"sizes\[1\] must be >= 1, got 0"):
        _core.Net([4, 0, 3], [acts["tanh"], acts["softmax"]], _core.LOSSES["cross_entropy"], net.dtype)
    with pytest.raises(ValueError, match="softmax is only allowed on the last layer"):
        _core.Net([4, 5, 3], [acts["softmax"], acts["softmax"]], _core.LOSSES["cross_entropy"], net.dtype)
    with pytest.raises(ValueError, match="needs a softmax output layer"):
        _core.Net([4, 5, 3], [acts["tanh"], acts["identity"]], _core.LOSSES["cross_entropy"], net.dtype)
    with pytest.raises(ValueError, match="unknown code 99"):
        _core.Net([4, 3], [99], _core.LOSSES["mse"], net.dtype)
