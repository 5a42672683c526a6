"""The input policy (README, "Inputs"): the same rule and the same messages whatever the container.

NumPy arrays, DLPack producers (PyTorch CPU tensors), buffer-protocol objects and pandas frames are read
zero-copy when dtype and layout fit; the network's dtype in another layout is copied once; any other dtype
is refused with the fix in the message, never converted. pandas and torch are optional: their cases skip
without them.
"""
from __future__ import annotations

import array

import numpy as np
import pytest

import swiftprop as sp
from swiftprop._network import as_input, as_target

try:
    import pandas as pd
except ImportError:  # pragma: no cover - depends on the environment
    pd = None
try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_pandas = pytest.mark.skipif(pd is None, reason="pandas is not installed (pip install swiftprop[pandas])")
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install swiftprop[torch])")


def _ndarray(a):
    return a


def _frame(a):
    return pd.DataFrame(a) if a.ndim == 2 else pd.Series(a)


def _tensor(a):
    return torch.from_numpy(a)


def _memoryview(a):
    return memoryview(a)


CONTAINERS = [
    pytest.param(_ndarray, id="ndarray"),
    pytest.param(_frame, id="pandas", marks=needs_pandas),
    pytest.param(_tensor, id="torch", marks=needs_torch),
    pytest.param(_memoryview, id="memoryview"),
]


def _net(dtype=np.float64, loss="cross_entropy", n_out=3):
    acts = ["tanh", {"cross_entropy": "softmax", "mse": "identity"}[loss]]
    return sp.Network([4, 6, n_out], acts, loss, dtype=dtype, seed=0)


def _data(n=10, dtype=np.float64):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 4)).astype(dtype), np.arange(n) % 3


def _error(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return info.type, str(info.value)


#: containers that can hold a 2-D array in C order (a DataFrame stores columns: see the test below)
ROW_MAJOR = [c for c in CONTAINERS if c.id != "pandas"]


@pytest.mark.parametrize("wrap", ROW_MAJOR)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fitting_dtype_and_layout_is_read_zero_copy(wrap, dtype):
    net = _net(dtype)
    X, labels = _data(dtype=dtype)
    A = as_input(net, wrap(X))
    assert np.shares_memory(A, X)
    np.testing.assert_array_equal(net.forward(wrap(X)), net.forward(X))
    assert net.cost(wrap(X), labels) == net.cost(X, labels)


@pytest.mark.parametrize("wrap", ROW_MAJOR)
def test_float_targets_are_read_zero_copy_never_through_lists(wrap):
    net = _net(loss="mse", n_out=4)
    X, _ = _data()
    Y = X[:, ::-1].copy()
    assert np.shares_memory(as_target(net, wrap(Y), len(X)), Y)
    assert net.cost(X, wrap(Y)) == net.cost(X, Y)


@needs_pandas
def test_series_targets_and_labels_are_read_zero_copy():
    X, labels = _data()
    reg = sp.Network([4, 3, 1], ["tanh", "identity"], seed=0)
    y = pd.Series(X[:, 0].copy())
    assert np.shares_memory(as_target(reg, y, len(X)), y.to_numpy())
    assert reg.cost(X, y) == reg.cost(X, X[:, :1].copy())
    s = pd.Series(labels.astype(np.int64))
    assert np.shares_memory(as_target(_net(), s, len(X)), s.to_numpy())


@needs_pandas
def test_dataframe_is_copied_once_into_c_order():
    """A DataFrame stores columns: its values are re-laid-out once (no value changes), as any ndarray in
    Fortran order is."""
    net = _net()
    X, labels = _data()
    df = pd.DataFrame(X, columns=list("abcd"))
    np.testing.assert_array_equal(net.forward(df), net.forward(X))
    np.testing.assert_array_equal(net.forward(np.asfortranarray(X)), net.forward(X))
    assert net.cost(df, pd.Series(labels)) == net.cost(X, labels)
    h = net.fit(df, pd.Series(labels), epochs=2, batch_size=4, seed=0, validation_data=(df, pd.Series(labels)))
    assert h.epochs == 2


@needs_torch
def test_strided_tensor_is_copied_once_like_a_strided_ndarray():
    net = _net()
    X, _ = _data()
    T = torch.from_numpy(np.ascontiguousarray(X.T)).T  # a transposed view
    assert not T.is_contiguous()
    np.testing.assert_array_equal(net.forward(T), net.forward(X))


@pytest.mark.parametrize("wrap", CONTAINERS)
@pytest.mark.parametrize("bad", [np.float32, np.int64, np.float16])
def test_other_dtypes_are_refused_with_the_same_fix(wrap, bad):
    net = _net()
    X, labels = _data()
    kind, msg = _error(lambda: net.forward(wrap(X.astype(bad))))
    assert kind is TypeError
    assert msg.startswith(f"X must have dtype float64, got {np.dtype(bad).name}")
    assert "X.astype(np.float64)" in msg
    assert ("dtype=np.float32" in msg) == (bad == np.float32)
    assert _error(lambda: net.forward(X.astype(bad))) == (kind, msg)  # as for an ndarray
    assert _error(lambda: net.fit(wrap(X.astype(bad)), labels)) == (kind, msg)


def test_float64_into_a_float32_network_names_both_fixes():
    net = _net(np.float32)
    X, labels = _data()
    kind, msg = _error(lambda: net.backward(X, labels))
    assert kind is TypeError and "X.astype(np.float32)" in msg and "Network(..., dtype=np.float64)" in msg


@pytest.mark.parametrize("wrap", CONTAINERS)
def test_one_sample_as_1d_gets_the_reshape_hint(wrap):
    net = _net()
    X, _ = _data()
    kind, msg = _error(lambda: net.forward(wrap(X[0].copy())))
    assert kind is ValueError and "X must be 2-D" in msg
    assert "X.reshape(1, -1)" in msg and "X.reshape(-1, 1)" in msg
    kind, msg = _error(lambda: net.fit(wrap(X[0].copy()), [0]))
    assert "X.reshape(1, -1)" in msg


@pytest.mark.parametrize("wrap", [c for c in CONTAINERS if c.id != "memoryview"])
def test_column_of_labels_gets_the_ravel_hint(wrap):
    net = _net()
    X, labels = _data()
    col = labels.reshape(-1, 1).copy()
    kind, msg = _error(lambda: net.backward(X, wrap(col)))
    assert kind is TypeError and "class labels must be 1-D: pass Y.ravel()" in msg
    assert _error(lambda: net.fit(X, wrap(col))) == (kind, msg)
    kind, msg = _error(lambda: net.fit(X, labels, validation_data=(X, wrap(col))))
    assert "pass Y_val.ravel()" in msg


@pytest.mark.parametrize("make", [
    pytest.param(lambda y: np.array(y), id="ndarray"),
    pytest.param(lambda y: np.array(y, dtype=object), id="object-ndarray"),
    pytest.param(lambda y: list(y), id="list"),
    pytest.param(lambda y: pd.Series(y), id="series", marks=needs_pandas),
    pytest.param(lambda y: pd.Series(y, dtype="category"), id="categorical", marks=needs_pandas),
])
def test_string_labels_point_to_label_encoder(make):
    net = _net()
    X, labels = _data()
    names = np.array(["a", "b", "c"])[labels].tolist()
    kind, msg = _error(lambda: net.backward(X, make(names)))
    assert kind is TypeError
    assert "LabelEncoder" in msg and "MLPClassifier" in msg


@needs_pandas
def test_mixed_dtype_frame_is_refused_not_converted():
    net = _net()
    X, _ = _data()
    df = pd.DataFrame(X)
    df[0] = np.arange(len(X))  # an int column
    kind, msg = _error(lambda: net.forward(df))
    assert kind is TypeError and "several dtypes" in msg and "X.astype(np.float64)" in msg


@needs_torch
def test_tensor_needing_grad_is_refused_with_detach_hint():
    net = _net()
    X, _ = _data()
    T = torch.from_numpy(X).requires_grad_()
    kind, msg = _error(lambda: net.forward(T))
    assert kind is TypeError and ".detach()" in msg


def test_buffer_protocol_objects_are_read_by_their_format():
    net = sp.Network([1, 2, 1], ["tanh", "identity"], seed=0)
    buf = array.array("d", [0.5, -1.0, 2.0])
    Y = as_target(net, buf, 3)
    assert Y.shape == (3, 1) and np.shares_memory(Y, np.frombuffer(buf))
    kind, msg = _error(lambda: net.cost(np.ones((3, 1)), array.array("i", [1, 2, 3])))
    assert kind is TypeError and "Y.astype(np.float64)" in msg


def test_broadcast_views_are_refused_in_every_container():
    net = _net()
    X = np.broadcast_to(np.ones((1, 4)), (10, 4))
    kind, msg = _error(lambda: net.forward(X))
    assert kind is ValueError and "broadcast view" in msg
    if torch is not None:
        assert _error(lambda: net.forward(torch.ones(1, 4, dtype=torch.float64).expand(10, 4))) == (kind, msg)
