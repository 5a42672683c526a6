"""API-contract tests for ``swiftprop.Network`` and the ``swiftprop._core`` extension.

They cover zero-copy semantics (parameter / gradient views, ``forward(X, out=...)``),
argument validation (exception type, the argument named in the message, and that a
rejected call leaves the network untouched), constructor checks, seeded initialisation,
pickling, the GIL being released during computation, concurrent use of one network, and
the thread-count functions.

Run them against the installed package, from the repository root (as scripts/test.sh does)::

    python -m pytest python/tests/test_network_api.py -q
"""

from __future__ import annotations

import math
import pickle
import sys
import threading
import time

import numpy as np
import pytest

import swiftprop as sp

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

CALL_TIMEOUT = 30.0  # seconds; a call that takes longer than this is taken to be deadlocked


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _numpy_forward_tanh_softmax(net: sp.Network, X: np.ndarray) -> np.ndarray:
    """Forward pass of a [n0, n1, n2] tanh/softmax network, written out by hand."""
    W0, W1 = (np.array(w, dtype=np.float64) for w in net.weights)
    B0, B1 = (np.array(b, dtype=np.float64) for b in net.biases)
    H = np.tanh(X @ W0.T + B0)
    return _softmax_rows(H @ W1.T + B1)


def _numpy_grads_tanh_softmax_ce(net: sp.Network, X: np.ndarray, labels: np.ndarray):
    """dW, dB of the mean cross-entropy of a [n0, n1, n2] tanh/softmax network, by hand."""
    W0, W1 = (np.array(w, dtype=np.float64) for w in net.weights)
    B0, B1 = (np.array(b, dtype=np.float64) for b in net.biases)
    n = len(X)
    H = np.tanh(X @ W0.T + B0)
    P = _softmax_rows(H @ W1.T + B1)
    onehot = np.zeros_like(P)
    onehot[np.arange(n), labels] = 1.0
    d1 = (P - onehot) / n
    d0 = (d1 @ W1) * (1.0 - H**2)
    loss = -np.mean(np.log(P[np.arange(n), labels]))
    return [d0.T @ X, d1.T @ H], [d0.sum(0), d1.sum(0)], loss


def _ce_net(dtype=np.float64, seed=0, sizes=(4, 16, 3)) -> sp.Network:
    return sp.Network(list(sizes), activations=["tanh", "softmax"], loss="cross_entropy", dtype=dtype, seed=seed)


def _data(n=8, n_in=4, n_out=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)).astype(dtype)
    labels = rng.integers(0, n_out, size=n)
    return X, labels


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _run_with_timeout(fn, *args, timeout=CALL_TIMEOUT):
    """Run fn(*args) in a daemon thread; fail (instead of hanging) if it does not return."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # pragma: no cover - reported below
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} did not return within {timeout} s (deadlock?)"
    if "error" in box:
        raise box["error"]
    return box.get("value")


class _Snapshot:
    """Copies of a network's parameter and gradient buffers, and the buffers' addresses."""

    def __init__(self, net: sp.Network):
        self.net = net
        self.params = net.params.copy()
        self.grads = net.grads.copy()
        self.params_addr = net.params.ctypes.data
        self.grads_addr = net.grads.ctypes.data

    def assert_unchanged(self):
        net = self.net
        assert net.params.ctypes.data == self.params_addr
        assert net.grads.ctypes.data == self.grads_addr
        assert np.array_equal(net.params, self.params), "a rejected call changed the parameters"
        assert np.array_equal(net.grads, self.grads), "a rejected call changed the gradients"


@pytest.fixture
def ce_net():
    """A float64 [4, 16, 3] tanh/softmax cross-entropy network with non-zero gradients."""
    net = _ce_net()
    X, labels = _data(seed=42)
    net.backward(X, labels)
    assert np.abs(net.grads).max() > 0
    return net


@pytest.fixture
def restore_threads():
    before = sp.get_num_threads()
    yield before
    sp.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# 1. Zero-copy views and in-place output
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_views_share_memory_with_buffers(dtype):
    net = _ce_net(dtype=dtype)
    assert net.params.dtype == dtype and net.grads.dtype == dtype
    assert net.params.ndim == 1 and net.params.size == net.n_params == 4 * 16 + 16 + 16 * 3 + 3
    for i in range(net.n_layers):
        assert net.weights[i].shape == (net.sizes[i + 1], net.sizes[i])
        assert net.biases[i].shape == (net.sizes[i + 1],)
        assert net.weight_grads[i].shape == net.weights[i].shape
        assert net.bias_grads[i].shape == net.biases[i].shape
        assert np.shares_memory(net.weights[i], net.params)
        assert np.shares_memory(net.biases[i], net.params)
        assert np.shares_memory(net.weight_grads[i], net.grads)
        assert np.shares_memory(net.bias_grads[i], net.grads)
        assert not np.shares_memory(net.weights[i], net.grads)
        assert net.weights[i].flags.writeable and net.weights[i].flags.c_contiguous
    # the views tile params exactly (no gaps, no overlap)
    covered = np.zeros(net.n_params, dtype=int)
    base = net.params.ctypes.data
    item = net.params.itemsize
    for v in (*net.weights, *net.biases):
        start = (v.ctypes.data - base) // item
        covered[start:start + v.size] += 1
    assert (covered == 1).all()
    assert not np.shares_memory(net.params, net.grads)


def test_params_address_stable_across_calls(ce_net):
    net = ce_net
    X, labels = _data()
    p_addr, g_addr = net.params.ctypes.data, net.grads.ctypes.data
    w_addrs = [w.ctypes.data for w in net.weights]
    params_obj, grads_obj = net.params, net.grads
    net.forward(X)
    net.backward(X, labels)
    net.cost(X, labels)
    net.trace(X, labels)
    net.forward(np.random.default_rng(1).normal(size=(5000, 4)))  # a bigger batch: new workspace
    assert net.params is params_obj and net.grads is grads_obj
    assert net.params.ctypes.data == p_addr
    assert net.grads.ctypes.data == g_addr
    assert [w.ctypes.data for w in net.weights] == w_addrs


def test_forward_matches_numpy_by_hand():
    net = _ce_net(seed=3)
    X, _ = _data(n=11)
    np.testing.assert_allclose(net.forward(X), _numpy_forward_tanh_softmax(net, X), rtol=1e-12, atol=1e-14)


def test_writing_through_weight_and_bias_views_changes_forward():
    net = _ce_net(seed=5)
    X, _ = _data(n=6)
    before = net.forward(X).copy()

    # write through a weight view
    net.weights[0][...] = np.linspace(-1.0, 1.0, net.weights[0].size).reshape(net.weights[0].shape)
    after_w = net.forward(X)
    assert not np.allclose(after_w, before)
    np.testing.assert_allclose(after_w, _numpy_forward_tanh_softmax(net, X), rtol=1e-12, atol=1e-14)

    # write through a bias view: a huge bias on class 2 makes every sample pick it
    net.biases[1][2] = 50.0
    after_b = net.forward(X)
    assert (after_b.argmax(axis=1) == 2).all()
    np.testing.assert_allclose(after_b, _numpy_forward_tanh_softmax(net, X), rtol=1e-12, atol=1e-14)

    # the writes are visible in params (same memory), and writing params is visible in the views
    b1_start = (net.biases[1].ctypes.data - net.params.ctypes.data) // net.params.itemsize
    assert net.params[b1_start + 2] == 50.0
    net.params[...] = 0.0
    assert not net.weights[0].any() and not net.biases[1].any()
    np.testing.assert_allclose(net.forward(X), np.full((6, 3), 1.0 / 3.0), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_out_returns_and_fills_the_buffer(dtype):
    net = _ce_net(dtype=dtype)
    X, _ = _data(n=7, dtype=dtype)
    expected = net.forward(X)
    out = np.full((7, 3), -7.0, dtype=dtype)
    result = net.forward(X, out=out)
    assert result is out
    assert np.array_equal(out, expected)
    # keyword and positional spelling, and a second call overwrites
    out[...] = 0
    assert net.forward(X, out) is out
    assert np.array_equal(out, expected)


def test_forward_out_row_slice_of_larger_array():
    net = _ce_net()
    X, _ = _data(n=4)
    expected = net.forward(X)
    big = np.full((10, 3), -7.0)
    view = big[3:7]
    assert view.flags.c_contiguous and view.base is big
    result = net.forward(X, out=view)
    assert result is view
    assert np.array_equal(big[3:7], expected)
    assert (big[:3] == -7.0).all() and (big[7:] == -7.0).all(), "forward wrote outside out"


def test_forward_reads_row_slice_of_larger_x():
    net = _ce_net()
    X, _ = _data(n=10)
    sub = X[2:6]
    assert sub.flags.c_contiguous and not sub.flags.owndata
    assert np.array_equal(net.forward(sub), net.forward(X)[2:6])


def test_backward_fills_grad_views_in_place():
    net = _ce_net(seed=9)
    X, labels = _data(n=12, seed=2)
    views = (net.weight_grads, net.bias_grads, net.grads)
    ids = [id(v) for v in (*net.weight_grads, *net.bias_grads, net.grads)]
    addrs = [v.ctypes.data for v in (*net.weight_grads, *net.bias_grads)]
    assert not net.grads.any()  # fresh network: zero gradients

    loss = net.backward(X, labels)

    assert net.weight_grads is views[0] and net.bias_grads is views[1] and net.grads is views[2]
    assert [id(v) for v in (*net.weight_grads, *net.bias_grads, net.grads)] == ids
    assert [v.ctypes.data for v in (*net.weight_grads, *net.bias_grads)] == addrs
    dW, dB, ref_loss = _numpy_grads_tanh_softmax_ce(net, X, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for i in range(2):
        # the view objects obtained *before* the call hold the new gradients
        np.testing.assert_allclose(views[0][i], dW[i], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(views[1][i], dB[i], rtol=1e-10, atol=1e-14)

    # cost() leaves the gradients alone; a second backward overwrites (does not accumulate)
    g = net.grads.copy()
    net.cost(X[:3], labels[:3])
    assert np.array_equal(net.grads, g)
    net.backward(X, labels)
    np.testing.assert_allclose(net.grads, g, rtol=1e-13, atol=1e-16)


# --------------------------------------------------------------------------------------------
# 2. Validation of X, Y and out (each rejection leaves the network unchanged)
# --------------------------------------------------------------------------------------------


def _check_rejected(net, call, exc, match):
    snap = _Snapshot(net)
    with pytest.raises(exc, match=match):
        _run_with_timeout(call)
    snap.assert_unchanged()
    # the network still works afterwards (the lock was not left held)
    X, labels = _data(n=3, n_in=net.sizes[0], n_out=net.sizes[-1], dtype=net.dtype, seed=7)
    _run_with_timeout(net.forward, X)


_X64 = _data(n=8)[0]

BAD_X_DTYPES = {
    "float32": _X64.astype(np.float32),
    "int64": _X64.astype(np.int64),
    "float16": _X64.astype(np.float16),
    "complex128": _X64.astype(np.complex128),
    "object": _X64.astype(object),
}


@pytest.mark.parametrize("method", ["forward", "backward", "cost", "trace"])
@pytest.mark.parametrize("kind", list(BAD_X_DTYPES))
def test_x_wrong_dtype_is_type_error(ce_net, method, kind):
    X = BAD_X_DTYPES[kind]
    labels = np.arange(8) % 3
    call = (lambda: ce_net.forward(X)) if method == "forward" else (lambda: getattr(ce_net, method)(X, labels))
    _check_rejected(ce_net, call, TypeError, r"X must have dtype float64, got .*; convert it with X\.astype\(np\.float64\)")


def test_float64_x_to_float32_net_is_type_error():
    net = _ce_net(dtype=np.float32)
    X, labels = _data(n=8)  # float64
    net.backward(X.astype(np.float32), labels)
    _check_rejected(net, lambda: net.forward(X), TypeError, r"X must have dtype float32")
    _check_rejected(net, lambda: net.backward(X, labels), TypeError, r"X must have dtype float32")
    _check_rejected(net, lambda: net.forward(X), TypeError, r"or build the network with Network\(\.\.\., dtype=np\.float64\)")


@pytest.mark.parametrize("method", ["forward", "backward"])
@pytest.mark.parametrize(
    "make_x, match",
    [
        (lambda X: X[0], r"X must be 2-D"),
        (lambda X: X[None], r"X must be 2-D"),
        (lambda X: X.reshape(-1), r"X must be 2-D"),
        (lambda X: np.ascontiguousarray(X[:, :3]), r"X has 3 columns, expected 4"),
        (lambda X: np.ascontiguousarray(np.hstack([X, X])), r"X has 8 columns, expected 4"),
    ],
    ids=["1d", "3d", "flat", "3cols", "8cols"],
)
def test_x_wrong_ndim_or_columns_is_value_error(ce_net, method, make_x, match):
    X = make_x(_X64)
    labels = np.arange(len(X)) % 3 if X.ndim >= 1 else np.zeros(1, int)
    call = (lambda: ce_net.forward(X)) if method == "forward" else (lambda: ce_net.backward(X, labels[: len(X)]))
    _check_rejected(ce_net, call, ValueError, match)


@pytest.mark.parametrize("method", ["backward", "cost", "trace"])
def test_y_rows_must_match_x_rows(ce_net, method):
    X, labels = _data(n=8)
    dense = np.eye(3)[labels]
    f = getattr(ce_net, method)
    _check_rejected(ce_net, lambda: f(X, labels[:5]), ValueError, r"Y \(labels\) has 5 rows, expected 8")
    _check_rejected(ce_net, lambda: f(X, np.concatenate([labels, labels])), ValueError, r"Y \(labels\) has 16 rows")
    _check_rejected(ce_net, lambda: f(X, dense[:5]), ValueError, r"Y has 5 rows, expected 8")
    _check_rejected(ce_net, lambda: f(X, np.ascontiguousarray(dense[:, :2])), ValueError, r"Y has 2 columns, expected 3")


@pytest.mark.parametrize("method", ["forward", "backward"])
@pytest.mark.parametrize(
    "make_x",
    [
        lambda X: np.asfortranarray(X),
        lambda X: np.ascontiguousarray(np.repeat(X, 2, axis=1))[:, ::2],
        lambda X: np.ascontiguousarray(np.repeat(X, 2, axis=0))[::2],
        lambda X: np.ascontiguousarray(X.T).T,
        lambda X: X.astype(">f8"),
    ],
    ids=["fortran", "column-stride", "row-stride", "transposed", "bigendian"],
)
def test_x_of_other_layout_is_copied_once(ce_net, method, make_x):
    """The input policy: the network's dtype in another layout (order, strides, byte order) is copied once
    into C order, whatever the container; the result equals that of the C-ordered array."""
    X = make_x(_X64)
    assert X.shape == (8, 4) and not (X.flags.c_contiguous and X.dtype.isnative)
    labels = np.arange(8) % 3
    if method == "forward":
        np.testing.assert_array_equal(ce_net.forward(X), ce_net.forward(np.ascontiguousarray(X, np.float64)))
    else:
        assert ce_net.backward(X, labels) == ce_net.backward(np.ascontiguousarray(X, np.float64), labels)


def test_dense_y_of_other_layout_is_copied_once():
    net = sp.Network([4, 5, 3], activations=["tanh", "identity"], loss="mse", seed=0)
    X, _ = _data(n=8)
    Y = np.random.default_rng(0).normal(size=(8, 3))
    ref = net.backward(X, Y)
    assert net.backward(X, np.asfortranarray(Y)) == ref
    assert net.backward(X, np.ascontiguousarray(np.repeat(Y, 2, axis=0))[::2]) == ref


def test_broadcast_views_are_refused_not_materialised(ce_net):
    X = np.broadcast_to(_X64[:1], (2**40, 4))
    _check_rejected(ce_net, lambda: ce_net.forward(X), ValueError, r"X is a broadcast view .*np\.ascontiguousarray\(X\)")


@pytest.mark.parametrize("method", ["forward", "backward", "cost"])
def test_empty_x_is_value_error(ce_net, method):
    X = np.empty((0, 4))
    labels = np.empty(0, dtype=np.int64)
    call = (lambda: ce_net.forward(X)) if method == "forward" else (lambda: getattr(ce_net, method)(X, labels))
    _check_rejected(ce_net, call, ValueError, r"X must not be empty")


def test_empty_y_with_nonempty_x_is_value_error(ce_net):
    X, _ = _data(n=8)
    _check_rejected(ce_net, lambda: ce_net.backward(X, np.empty(0, np.int64)), ValueError,
                    r"Y \(labels\) must not be empty")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["forward", "backward", "cost", "trace"])
def test_nonfinite_x_is_value_error(ce_net, bad, method):
    X, labels = _data(n=8)
    X[5, 1] = bad
    call = (lambda: ce_net.forward(X)) if method == "forward" else (lambda: getattr(ce_net, method)(X, labels))
    _check_rejected(ce_net, call, ValueError, r"X contains NaN or infinity")


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_nonfinite_x_is_found_by_every_thread(restore_threads, threads, where):
    """X large enough (>= 2**16 values) for its finiteness scan to be split over the pool's threads:
    a NaN in any thread's part is found."""
    sp.set_num_threads(threads)
    net = _ce_net(sizes=(64, 16, 3))
    X, labels = _data(n=2048, n_in=64)
    flat = X.reshape(-1)
    flat[{"first": 0, "middle": flat.size // 2 + 3, "last": flat.size - 1}[where]] = np.nan
    _check_rejected(net, lambda: net.forward(X), ValueError, r"X contains NaN or infinity")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize(
    "loss, acts", [("cross_entropy", ["tanh", "softmax"]), ("mse", ["tanh", "identity"]),
                   ("binary_cross_entropy", ["tanh", "sigmoid"])]
)
@pytest.mark.parametrize("method", ["backward", "cost", "trace"])
def test_nonfinite_y_is_value_error(bad, loss, acts, method):
    net = sp.Network([4, 5, 3], activations=acts, loss=loss, seed=0)
    X, labels = _data(n=8)
    Y = np.eye(3)[labels] * (0.5 if loss != "cross_entropy" else 1.0)
    net.backward(X, Y)
    Y[6, 0] = bad
    _check_rejected(net, lambda: getattr(net, method)(X, Y), ValueError, r"Y contains NaN or infinity")


@pytest.mark.parametrize("label, shown", [(-1, "-1"), (3, "3"), (-100, "-100"), (2**40, str(2**40))])
@pytest.mark.parametrize("method", ["backward", "cost", "trace"])
def test_labels_out_of_range_are_value_error(ce_net, label, shown, method):
    X, labels = _data(n=8)
    labels = labels.copy()
    labels[4] = label
    _check_rejected(ce_net, lambda: getattr(ce_net, method)(X, labels), ValueError,
                    rf"Y contains label {shown}; labels must be in \[0, 3\)")


@pytest.mark.parametrize("dtype", [np.float64, np.float32, bool])
def test_non_integer_1d_labels_for_cross_entropy_are_type_error(ce_net, dtype):
    X, labels = _data(n=8)
    _check_rejected(ce_net, lambda: ce_net.backward(X, labels.astype(dtype)), TypeError,
                    r"Y: 1-D targets are class labels and must be integers")
    _check_rejected(ce_net, lambda: ce_net.backward(X, labels.astype(dtype).tolist()), TypeError,
                    r"Y: 1-D targets are class labels")


def test_integer_labels_of_any_width_give_the_same_loss(ce_net):
    X, labels = _data(n=8)
    ref = ce_net.cost(X, labels.astype(np.int64))
    for dt in (np.int8, np.int32, np.uint8, np.uint64, ">i8"):
        assert ce_net.cost(X, labels.astype(dt)) == ref
    assert ce_net.cost(X, labels.tolist()) == ref
    assert ce_net.cost(X, np.eye(3)[labels]) == pytest.approx(ref, rel=1e-14)


def test_integer_labels_rejected_for_mse():
    net = sp.Network([4, 5, 3], activations=["tanh", "identity"], loss="mse", seed=0)
    X, labels = _data(n=8)
    _check_rejected(net, lambda: net.backward(X, labels), ValueError, r"Y must have shape \(n_samples, 3\) for loss='mse'")


def test_bad_target_values_are_value_error():
    X, labels = _data(n=8)
    ce = _ce_net()
    bce = sp.Network([4, 5, 3], activations=["tanh", "sigmoid"], loss="binary_cross_entropy", seed=0)
    _check_rejected(ce, lambda: ce.backward(X, np.full((8, 3), 0.5)), ValueError, r"Y: cross_entropy target rows must be probabilities")
    _check_rejected(bce, lambda: bce.backward(X, np.full((8, 3), 1.5)), ValueError, r"Y: binary_cross_entropy targets must lie in \[0, 1\]")
    _check_rejected(bce, lambda: bce.backward(X, np.full((8, 3), 0.5, dtype=np.float32)), TypeError, r"Y must have dtype float64")


@pytest.mark.parametrize("method", ["forward", "backward", "cost", "trace"])
def test_read_only_inputs_are_accepted(ce_net, method):
    X, labels = _data(n=8)
    expected = ce_net.forward(X) if method == "forward" else getattr(ce_net, method)(X, labels)
    Xr, Lr = X.copy(), labels.copy()
    Xr.flags.writeable = False
    Lr.flags.writeable = False
    got = ce_net.forward(Xr) if method == "forward" else getattr(ce_net, method)(Xr, Lr)
    if method == "forward":
        assert np.array_equal(got, expected)
    elif method == "trace":
        assert got.loss == expected.loss
    else:
        assert got == expected
    # a read-only array that is a view of read-only memory (bytes) works too
    Xb = np.frombuffer(X.tobytes(), dtype=np.float64).reshape(8, 4)
    assert not Xb.flags.writeable
    assert np.array_equal(ce_net.forward(Xb), ce_net.forward(X))


def test_read_only_out_is_rejected(ce_net):
    X, _ = _data(n=8)
    out = np.full((8, 3), -1.0)
    out.flags.writeable = False
    _check_rejected(ce_net, lambda: ce_net.forward(X, out=out), ValueError, r"out must be writeable")
    assert (out == -1.0).all()


@pytest.mark.parametrize(
    "out, exc, match",
    [
        (np.empty((8, 4)), ValueError, r"out has 4 columns, expected 3"),
        (np.empty((7, 3)), ValueError, r"out has 7 rows, expected 8"),
        (np.empty((9, 3)), ValueError, r"out has 9 rows, expected 8"),
        (np.empty(24), ValueError, r"out must be 2-D"),
        (np.empty((8, 3), dtype=np.float32), TypeError, r"out must have dtype float64"),
        (np.empty((8, 3), dtype=np.int64), TypeError, r"out must have dtype float64"),
        (np.empty((8, 3), dtype=">f8"), TypeError, r"out must be in native byte order"),
        (np.empty((8, 3), order="F"), ValueError, r"out must be C-contiguous"),
        (np.empty((8, 6))[:, ::2], ValueError, r"out must be C-contiguous"),
        ([[0.0] * 3] * 8, TypeError, r"out must be a numpy.ndarray"),
    ],
    ids=["cols", "fewer-rows", "more-rows", "1d", "float32", "int64", "bigendian", "fortran", "strided", "list"],
)
def test_bad_out_is_rejected(ce_net, out, exc, match):
    X, _ = _data(n=8)
    before = out.copy() if isinstance(out, np.ndarray) else None
    _check_rejected(ce_net, lambda: ce_net.forward(X, out=out), exc, match)
    if before is not None:
        assert np.array_equal(out, before, equal_nan=True), "a rejected out was written to"


def test_out_overlapping_x_is_rejected():
    net = sp.Network([3, 8, 3], activations=["tanh", "identity"], seed=0)
    buf = np.arange(36, dtype=np.float64).reshape(12, 3) / 10.0
    X = buf[:6]
    saved = buf.copy()
    net.forward(X)
    for out in (buf[4:10], buf[:6], buf[5:11]):
        _check_rejected(net, lambda: net.forward(X, out=out), ValueError, r"out must not share memory with X")
        assert np.array_equal(buf, saved)
    # adjacent but disjoint rows are fine
    out = buf[6:12]
    assert net.forward(X, out=out) is out
    assert np.array_equal(buf[6:12], net.forward(saved[:6]))


def _misaligned(shape, dtype, values=None):
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    raw = bytearray(n * dt.itemsize + 1)
    a = np.frombuffer(raw, dtype=dt, count=n, offset=1).reshape(shape)
    if values is not None:
        a[...] = values
    return raw, a


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_misaligned_x_is_copied_and_out_is_value_error(dtype):
    """A misaligned X is a layout to fix (copied once, as every container's); ``out`` is written in place,
    so the extension refuses it."""
    net = _ce_net(dtype=dtype)
    X, labels = _data(n=8, dtype=dtype)
    ref_out, ref_loss = net.forward(X), net.backward(X, labels)
    raw, Xm = _misaligned((8, 4), dtype, X)
    assert not Xm.flags.aligned and Xm.flags.c_contiguous and Xm.flags.writeable
    np.testing.assert_array_equal(net.forward(Xm), ref_out)
    assert net.backward(Xm, labels) == ref_loss
    raw_out, out = _misaligned((8, 3), dtype)
    _check_rejected(net, lambda: net.forward(X, out=out), ValueError, r"out must be aligned")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_list_inputs_are_converted(dtype):
    net = _ce_net(dtype=dtype)
    X, labels = _data(n=8, dtype=dtype)
    out = net.forward(X.tolist())
    assert out.dtype == dtype
    assert np.array_equal(out, net.forward(X))
    assert np.array_equal(net.forward(tuple(map(tuple, X.tolist()))), net.forward(X))
    assert net.backward(X.tolist(), labels.tolist()) == net.backward(X, labels)
    g = net.grads.copy()
    net.backward(X, labels)
    assert np.array_equal(net.grads, g)
    dense = np.eye(3, dtype=dtype)[labels]
    assert net.cost(X.tolist(), dense.tolist()) == net.cost(X, dense)


def test_bad_list_inputs_are_type_errors_naming_x(ce_net):
    _check_rejected(ce_net, lambda: ce_net.forward([[1.0, 2.0], [3.0]]), TypeError, r"X must be a 2-D array of numbers")
    _check_rejected(ce_net, lambda: ce_net.forward([["a", "b", "c", "d"]]), TypeError, r"X must be a 2-D array of numbers")
    _check_rejected(ce_net, lambda: ce_net.forward([[1.0, 2.0, 3.0]]), ValueError, r"X has 3 columns, expected 4")
    _check_rejected(ce_net, lambda: ce_net.forward([]), ValueError, r"X must be 2-D")


# --------------------------------------------------------------------------------------------
# 3. Constructor validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, exc, match",
    [
        ([4, 0, 3], ValueError, r"sizes\[1\] must be >= 1, got 0"),
        ([0, 3], ValueError, r"sizes\[0\] must be >= 1"),
        ([4, -2, 3], ValueError, r"sizes\[1\] must be >= 1, got -2"),
        ([4, 5, 0], ValueError, r"sizes\[2\] must be >= 1"),
        ([4, 2.0, 3], TypeError, r"sizes\[1\] must be an int, got float"),
        ([4, "5", 3], TypeError, r"sizes\[1\] must be an int, got str"),
        ([4, True, 3], TypeError, r"sizes\[1\] must be an int, got bool"),
        ([4, None, 3], TypeError, r"sizes\[1\] must be an int"),
        ([4], ValueError, r"sizes must have at least 2 entries"),
        ([], ValueError, r"sizes must have at least 2 entries"),
        (7, TypeError, r"sizes must be a sequence of ints"),
        (None, TypeError, r"sizes must be a sequence"),
    ],
)
def test_bad_sizes(sizes, exc, match):
    with pytest.raises(exc, match=match):
        sp.Network(sizes, seed=0)


def test_numpy_integer_sizes_accepted():
    net = sp.Network(np.array([4, 5, 3]), seed=0)
    assert net.sizes == (4, 5, 3) and all(type(s) is int for s in net.sizes)
    assert sp.Network((np.int32(2), np.int64(1)), seed=0).sizes == (2, 1)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(activations=["foo", "identity"]), ValueError, r"activations\[0\]: unknown activation 'foo'"),
        (dict(activations=["relu", "bar"]), ValueError, r"activations\[1\]: unknown activation 'bar'"),
        (dict(activations="foo"), ValueError, r"activations: unknown activation 'foo'"),
        (dict(activations=[3, "identity"]), TypeError, r"activations\[0\] must be an activation name"),
        (dict(activations=["softmax", "identity"]), ValueError, r"softmax is only allowed on the last layer"),
        (dict(activations=["softmax", "softmax"], loss="cross_entropy"), ValueError, r"softmax is only allowed on the last"),
        (dict(activations="softmax", loss="cross_entropy"), ValueError, r"softmax is only allowed on the last"),
        (dict(activations=["relu", "sigmoid"], loss="cross_entropy"), ValueError,
         r"loss='cross_entropy' needs a softmax output layer, got activations\[-1\]='sigmoid'"),
        (dict(activations=["relu", "identity"], loss="cross_entropy"), ValueError, r"needs a softmax output"),
        (dict(activations=["relu", "softmax"], loss="binary_cross_entropy"), ValueError,
         r"loss='binary_cross_entropy' needs a sigmoid output layer, got activations\[-1\]='softmax'"),
        (dict(activations=["relu", "tanh"], loss="binary_cross_entropy"), ValueError, r"needs a sigmoid output"),
        (dict(activations=["relu"]), ValueError, r"activations must have 2 entries \(one per layer\), got 1"),
        (dict(activations=["relu"] * 3), ValueError, r"activations must have 2 entries \(one per layer\), got 3"),
        (dict(activations=[]), ValueError, r"activations must have 2 entries"),
        (dict(loss="hinge"), ValueError, r"loss must be one of mse, cross_entropy, binary_cross_entropy"),
        (dict(loss=None), ValueError, r"loss must be one of"),
        (dict(dtype=np.float16), TypeError, r"dtype must be float32 or float64, got float16"),
        (dict(dtype=int), TypeError, r"dtype must be float32 or float64"),
        (dict(dtype=np.int32), TypeError, r"dtype must be float32 or float64, got int32"),
        (dict(dtype=np.complex128), TypeError, r"dtype must be float32 or float64"),
        (dict(dtype=np.longdouble), TypeError, r"dtype must be float32 or float64"),
        (dict(dtype=">f8"), TypeError, r"dtype must be float32 or float64"),
        (dict(dtype="not-a-dtype"), TypeError, r"dtype must be float32 or float64"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sp.Network([4, 5, 3], seed=0, **kwargs)


@pytest.mark.parametrize(
    "loss, out_act", [("mse", "identity"), ("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")]
)
def test_string_activation_sets_hidden_layers_and_loss_output(loss, out_act):
    net = sp.Network([4, 6, 5, 3], activations="relu", loss=loss, seed=0)
    assert net.activations == ("relu", "relu", out_act)
    assert net.loss == loss
    # the output activation is really applied
    out = net.forward(np.random.default_rng(0).normal(size=(5, 4)))
    if out_act == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)
    elif out_act == "sigmoid":
        assert ((out > 0) & (out < 1)).all()
    # a single-layer network has only the output layer
    assert sp.Network([4, 3], activations="relu", loss=loss, seed=0).activations == (out_act,)


def test_default_and_alias_activations():
    assert sp.Network([4, 6, 3], seed=0).activations == ("relu", "identity")
    assert sp.Network([4, 6, 3], seed=0).loss == "mse"
    assert sp.Network([4, 6, 3], activations=["logistic", "linear"], seed=0).activations == ("sigmoid", "identity")


def test_constructor_records_architecture():
    net = sp.Network([4, 6, 3], activations=["tanh", "softmax"], loss="cross_entropy", dtype=np.float32, seed=0)
    assert net.sizes == (4, 6, 3)
    assert net.n_layers == 2
    assert net.dtype == np.float32
    assert "float32" in repr(net) and "cross_entropy" in repr(net)


# --------------------------------------------------------------------------------------------
# 4. Seeded initialisation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_same_params_different_seed_different(dtype):
    def make(seed):
        return sp.Network([10, 20, 7, 3], activations=["tanh", "relu", "softmax"], loss="cross_entropy",
                          dtype=dtype, seed=seed)

    a, b, c = make(123), make(123), make(124)
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    for w_a, w_c in zip(a.weights, c.weights):
        assert not np.array_equal(w_a, w_c)
    # a Generator seed draws from that generator
    g1 = make(np.random.default_rng(5))
    g2 = make(np.random.default_rng(5))
    assert np.array_equal(g1.params, g2.params)
    # init_params re-initialises in place (same buffer) with the same result for the same seed
    addr = a.params.ctypes.data
    a.params[...] = 0
    a.init_params(123)
    assert a.params.ctypes.data == addr
    assert np.array_equal(a.params, b.params)
    # seed=None gives (almost surely) different networks
    assert not np.array_equal(make(None).params, make(None).params)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_init_bounds_and_zero_biases(dtype):
    acts = ["tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "softplus", "identity"]
    sizes = [30, 40, 50, 35, 45, 25, 30, 20, 10]
    net = sp.Network(sizes, activations=acts, loss="mse", dtype=dtype, seed=11)
    for i, (W, B, f) in enumerate(zip(net.weights, net.biases, acts)):
        fan_out, fan_in = W.shape
        assert (fan_out, fan_in) == (sizes[i + 1], sizes[i])
        if f in ("relu", "leaky_relu", "elu", "gelu"):
            bound = np.sqrt(6.0 / fan_in)
        elif f == "sigmoid":
            bound = np.sqrt(2.0 / (fan_in + fan_out))
        else:
            bound = np.sqrt(6.0 / (fan_in + fan_out))
        bound = dtype(bound)
        assert np.abs(W).max() <= bound, f"layer {i} ({f}): weights exceed ±{bound}"
        # uniform over the whole interval: close to the bound on both sides, mean near 0
        assert W.max() > 0.9 * bound and W.min() < -0.9 * bound, f"layer {i} ({f}): range too narrow"
        assert abs(float(W.mean())) < 0.1 * bound
        assert np.unique(W).size > 0.99 * W.size
        assert not B.any(), f"layer {i}: biases are not zero"


# --------------------------------------------------------------------------------------------
# 5. Pickle
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "acts, loss",
    [(["tanh", "softmax"], "cross_entropy"), (["gelu", "sigmoid"], "binary_cross_entropy"), ("elu", "mse")],
)
def test_pickle_round_trip(dtype, acts, loss):
    net = sp.Network([5, 9, 3], activations=acts, loss=loss, dtype=dtype, seed=21)
    net.weights[0][0, 0] = 0.123  # a modified (not freshly initialised) state survives
    net.biases[1][...] = [0.5, -0.25, 1.0]
    X = np.random.default_rng(3).normal(size=(10, 5)).astype(dtype)
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        clone = pickle.loads(pickle.dumps(net, protocol=protocol))
        assert type(clone) is sp.Network
        assert clone.sizes == net.sizes
        assert clone.activations == net.activations
        assert clone.loss == net.loss
        assert clone.dtype == net.dtype == dtype
        assert clone.params.dtype == dtype
        assert np.array_equal(clone.params, net.params)
        assert not np.shares_memory(clone.params, net.params)
        assert np.array_equal(clone.forward(X), net.forward(X))
        # the clone's views point into its own buffer and are independent of the original
        assert np.shares_memory(clone.weights[0], clone.params)
        clone.weights[0][...] = 0
        assert net.weights[0][0, 0] == dtype(0.123)


# --------------------------------------------------------------------------------------------
# 6. The GIL is released during computation
# --------------------------------------------------------------------------------------------


def _big_problem(batch, seed):
    net = sp.Network([512, 512, 512, 10], activations="relu", loss="cross_entropy", dtype=np.float32, seed=seed)
    rng = np.random.default_rng(seed)
    return net, rng.normal(size=(batch, 512)).astype(np.float32), rng.integers(0, 10, size=batch)


@pytest.mark.parametrize("method", ["backward", "forward"])
def test_gil_released_other_thread_progresses_during_one_long_call(restore_threads, method):
    """Thread A makes ONE long call on a [512, 512, 512, 10] float32 network; thread B loops
    short backward calls on another such network and timestamps each completed call. We count
    B's calls that complete strictly inside A's call.

    No speed threshold is involved. If the extension held the GIL during A's computation, B
    could only complete calls in the slack between A taking its start time and entering C (or
    leaving C and taking its end time); each of those windows lasts at most about one GIL switch
    interval, so B would finish at most ~2 * (switch interval / B's call time + 1) calls inside.
    With the GIL released, B runs during all of A's call (hundreds of ms) and finishes many."""
    sp.set_num_threads(1)  # one BLAS thread per call, so the two Python threads can use two cores
    net_a, Xa, ya = _big_problem(4096 if method == "backward" else 8192, seed=1)
    net_b, Xb, yb = _big_problem(16, seed=2)
    net_a.forward(Xa[:16])  # warm up (workspaces, BLAS buffers)
    b_call = min(_timed(net_b.backward, Xb, yb) for _ in range(5))
    slack_bound = 2 * (math.ceil(sys.getswitchinterval() / b_call) + 1)
    needed = max(10, 2 * slack_bound)

    a_started, a_done = threading.Event(), threading.Event()
    a_interval = []
    b_finish_times = []
    errors = []

    def run_a():
        try:
            a_started.set()
            t0 = time.perf_counter()
            if method == "backward":
                net_a.backward(Xa, ya)
            else:
                net_a.forward(Xa)
            a_interval.extend([t0, time.perf_counter()])
        except BaseException as e:  # pragma: no cover
            errors.append(e)
        finally:
            a_done.set()

    def run_b():
        try:
            a_started.wait()
            while not a_done.is_set():
                net_b.backward(Xb, yb)
                b_finish_times.append(time.perf_counter())
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    tb = threading.Thread(target=run_b)
    ta = threading.Thread(target=run_a)
    tb.start()
    ta.start()
    ta.join(CALL_TIMEOUT)
    tb.join(CALL_TIMEOUT)
    assert not ta.is_alive() and not tb.is_alive()
    assert not errors, errors
    start, end = a_interval
    inside = sum(1 for t in b_finish_times if start < t < end)
    assert inside >= needed, (
        f"only {inside} of thread B's calls ({b_call * 1e3:.1f} ms each) completed during thread A's "
        f"{end - start:.3f} s {method} call (needed {needed}): the GIL seems to be held during the computation"
    )


def test_two_networks_in_two_threads_give_sequential_results(restore_threads):
    """Two threads each running many backward calls on their own [512, 512, 512, 10] network at
    the same time (no lock in common) get exactly the losses and gradients of sequential runs."""
    sp.set_num_threads(1)
    problems = [_big_problem(256, seed=s) for s in (3, 4)]
    expected = []
    for net, X, y in problems:
        expected.append((net.backward(X, y), net.grads.copy()))
    n_calls = 6
    barrier = threading.Barrier(2)
    results = [[], []]
    errors = []

    def worker(k):
        net, X, y = problems[k]
        try:
            barrier.wait()
            for _ in range(n_calls):
                results[k].append(net.backward(X, y))
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    [t.start() for t in threads]
    [t.join(CALL_TIMEOUT) for t in threads]
    assert not any(t.is_alive() for t in threads) and not errors, errors
    for k, (net, _, _) in enumerate(problems):
        assert results[k] == [expected[k][0]] * n_calls
        assert np.array_equal(net.grads, expected[k][1])


# --------------------------------------------------------------------------------------------
# 7. One network from several threads
# --------------------------------------------------------------------------------------------


def _thread_data(n_threads=4):
    rng = np.random.default_rng(17)
    return [(rng.normal(size=(50 + 37 * k, 32)), rng.integers(0, 5, size=50 + 37 * k)) for k in range(n_threads)]


def _thread_net():
    return sp.Network([32, 64, 48, 5], activations=["tanh", "elu", "softmax"], loss="cross_entropy", seed=8)


def test_one_network_from_four_threads_matches_single_thread():
    net = _thread_net()
    data = _thread_data()
    ref = [(net.backward(X, y), net.cost(X, y), net.forward(X).copy()) for X, y in data]
    params = net.params.copy()
    barrier = threading.Barrier(4)
    mismatches, errors = [], []

    def worker(k):
        X, y = data[k]
        out = np.empty_like(ref[k][2])
        try:
            barrier.wait()
            for it in range(60):
                loss = net.backward(X, y)
                cost = net.cost(X, y)
                f = net.forward(X, out=out)
                if loss != ref[k][0] or cost != ref[k][1] or f is not out or not np.array_equal(out, ref[k][2]):
                    mismatches.append((k, it))
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join(CALL_TIMEOUT) for t in threads]
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors
    assert not mismatches, f"{len(mismatches)} results differ from the single-threaded ones: {mismatches[:5]}"
    assert np.array_equal(net.params, params)
    # the gradient buffer holds the gradient of one of the four batches, complete (not a mixture)
    final = net.grads.copy()
    singles = []
    for X, y in data:
        net.backward(X, y)
        singles.append(net.grads.copy())
    assert any(np.array_equal(final, g) for g in singles)


def test_trace_from_four_threads_matches_single_thread():
    """trace() returns dW/dB of *its own* batch even when other threads use the network."""
    net = _thread_net()
    data = _thread_data()
    ref = [net.trace(X, y) for X, y in data]
    barrier = threading.Barrier(4)
    mismatches, errors = [], []

    def worker(k):
        X, y = data[k]
        try:
            barrier.wait()
            for it in range(200):
                t = net.trace(X, y)
                same = (t.loss == ref[k].loss
                        and all(np.array_equal(a, b) for a, b in zip(t.S_out, ref[k].S_out))
                        and all(np.array_equal(a, b) for a, b in zip(t.deltas, ref[k].deltas))
                        and all(np.array_equal(a, b) for a, b in zip(t.dW, ref[k].dW))
                        and all(np.array_equal(a, b) for a, b in zip(t.dB, ref[k].dB)))
                if not same:
                    mismatches.append((k, it))
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join(CALL_TIMEOUT) for t in threads]
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors
    assert not mismatches, (
        f"{len(mismatches)} of 800 concurrent trace() calls returned dW/dB (or other quantities) that "
        f"differ from the single-threaded trace of the same batch, e.g. {mismatches[:5]}"
    )


# --------------------------------------------------------------------------------------------
# 8. Thread-count functions
# --------------------------------------------------------------------------------------------


def test_set_get_num_threads(restore_threads):
    for n in (1, 2, 3, 1):
        sp.set_num_threads(n)
        assert sp.get_num_threads() == n
    assert isinstance(sp.get_num_threads(), int)
    # computation still works with any setting
    net = _ce_net()
    X, labels = _data(n=8)
    sp.set_num_threads(1)
    r1 = net.forward(X).copy()
    sp.set_num_threads(2)
    np.testing.assert_allclose(net.forward(X), r1, rtol=1e-13)


def test_results_do_not_depend_on_the_thread_count(restore_threads):
    """Sizes where every threaded path runs: products cut into slabs of rows and of columns, the
    forward's rows shared out among the threads, the optimizer's and the finiteness check's passes
    split. Every thread count must give the reference's forward and gradients, and a short fit the
    same parameters as one thread (float64)."""
    from swiftprop import reference as R

    sizes = [300, 200, 50, 7]
    rng = np.random.default_rng(44)
    X = rng.normal(size=(1000, sizes[0]))
    labels = rng.integers(0, sizes[-1], 1000)
    first = sp.Network(sizes, "tanh", "cross_entropy", seed=3)
    W = [w.copy() for w in first.weights]
    B = [b.copy() for b in first.biases]
    ref = R.backward(W, B, ["tanh", "tanh", "softmax"], "cross_entropy", X, labels)
    ref_grads = np.concatenate([a.ravel() for dW, dB in zip(ref.dW, ref.dB) for a in (dW, dB)])
    fitted = {}
    for threads in (1, 2, 3):
        sp.set_num_threads(threads)
        net = sp.Network(sizes, "tanh", "cross_entropy", seed=3)
        np.testing.assert_array_equal(net.params, first.params)
        np.testing.assert_allclose(net.forward(X), ref.S_out[-1], rtol=1e-10, atol=1e-14,
                                   err_msg=f"forward, {threads} threads")
        net.backward(X, labels)
        np.testing.assert_allclose(net.grads, ref_grads, rtol=1e-9, atol=1e-14, err_msg=f"gradients, {threads} threads")
        net.fit(X, labels, epochs=2, batch_size=250, optimizer=sp.optim.SGD(net, lr=0.1, momentum=0.9),
                shuffle=True, seed=5)
        fitted[threads] = net.params.copy()
    assert not np.array_equal(fitted[1], first.params)
    for threads in (2, 3):
        np.testing.assert_allclose(fitted[threads], fitted[1], rtol=1e-10, atol=1e-13, err_msg=f"fit, {threads} threads")


def _forward_in_child(net, X, queue):
    queue.put(net.forward(X))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_child_computes_with_its_own_threads(restore_threads):
    """A forked child has none of the parent's worker threads: it must start its own, not wait for
    the parent's (which would hang)."""
    import multiprocessing

    sp.set_num_threads(2)
    net = sp.Network([300, 200, 7], "relu", "cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(1000, 300))
    expected = net.forward(X)  # the parent's pool has run a job
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forward_in_child, args=(net, X, queue))
    child.start()
    try:
        got = queue.get(timeout=60)
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (0, ValueError, r"n must be between 1 and 1024, got 0"),
        (-1, ValueError, r"n must be between 1 and 1024, got -1"),
        (1025, ValueError, r"n must be between 1 and 1024, got 1025"),
        ("2", TypeError, r"n must be an int, got str"),
        (2.0, TypeError, r"n must be an int, got float"),
        (True, TypeError, r"n must be an int, got bool"),
        (None, TypeError, r"n must be an int, got NoneType"),
    ],
)
def test_set_num_threads_rejects_bad_values(restore_threads, value, exc, match):
    sp.set_num_threads(2)
    with pytest.raises(exc, match=match):
        sp.set_num_threads(value)
    assert sp.get_num_threads() == 2, "a rejected set_num_threads changed the thread count"


def test_blas_corename_is_a_nonempty_string():
    name = sp.blas_corename()
    assert isinstance(name, str) and name and name != "unknown"
