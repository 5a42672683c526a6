"""Sparse (scipy.sparse CSR) input to Network and the poisson loss.

The core's sparse path against the NumPy reference's sparse path and against the dense path on
``X.toarray()``: forward, backward, cost, trace and an epoch of fit with shuffling, in both dtypes, with
int32 and int64 indices, empty rows, a full row, 1 and 2 threads and batches larger than a block. Bad
sparse input raises ValueError/TypeError and leaves the network unchanged. Poisson against the reference,
scikit-learn's loss and finite differences.
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

sp_sparse = pytest.importorskip("scipy.sparse")

import swiftprop as sp  # noqa: E402
from swiftprop import reference as ref  # noqa: E402

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-9, np.float32: 2e-4}


def _csr(rows, cols, density, seed, dtype, index=np.int32, kind="matrix", full_row=True):
    """A random CSR with row 1 empty and (if asked) row 2 full."""
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((rows, cols)) < density, rng.normal(size=(rows, cols)), 0).astype(dtype)
    if rows > 1:
        dense[1] = 0
    if rows > 2 and full_row:
        dense[2] = rng.normal(size=cols)
    X = (sp_sparse.csr_matrix if kind == "matrix" else sp_sparse.csr_array)(dense)
    X.indices = X.indices.astype(index)
    X.indptr = X.indptr.astype(index)
    return X


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    old = sp.get_num_threads()
    sp.set_num_threads(request.param)
    yield request.param
    sp.set_num_threads(old)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("index", [np.int32, np.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("kind", ["matrix", "array"])
@pytest.mark.parametrize("shape", [(7, 5, 4, 3), (60, 40, 33, 5), (300, 120, 70, 4)])
def test_passes_match_reference_and_dense(threads, dtype, index, kind, shape):
    rows, n0, n1, n2 = shape
    X = _csr(rows, n0, 0.15, seed=rows, dtype=dtype, index=index, kind=kind)
    y = np.random.default_rng(1).integers(0, n2, rows)
    net = sp.Network([n0, n1, n2], ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=0)
    tol = TOL[dtype]
    expected = ref.backward(net.weights, net.biases, net.activations, net.loss, X, y)

    assert _rel(net.forward(X), expected.S_out[-1]) < tol
    assert _rel(net.forward(X), net.forward(X.toarray())) < tol
    assert abs(net.cost(X, y) - expected.loss) < tol * max(1, abs(expected.loss))
    loss = net.backward(X, y)
    assert abs(loss - expected.loss) < tol * max(1, abs(expected.loss))
    for got, want in zip(net.weight_grads + net.bias_grads, expected.dW + expected.dB):
        assert _rel(got, want) < tol
    sparse_grads = net.grads.copy()
    net.backward(X.toarray(), y)
    assert _rel(sparse_grads, net.grads) < tol
    tr = net.trace(X, y)
    for name in ("S_in", "S_out", "deltas", "dW", "dB"):
        for got, want in zip(getattr(tr, name), getattr(expected, name)):
            assert _rel(got, want) < tol, name


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_batches_larger_than_a_block(threads, dtype):
    # n_1 = 22 000 brings the core's rows per block down to 64: 150 rows stream as 64 + 64 + 22, and
    # 150 rows of 2 000 columns at 10 % hold several tiles of entries
    X = _csr(150, 2000, 0.1, seed=3, dtype=dtype)
    y = np.random.default_rng(2).integers(0, 2, 150)
    net = sp.Network([2000, 22000, 2], ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=0)
    tol = TOL[dtype]
    expected = ref.backward(net.weights, net.biases, net.activations, net.loss, X, y)
    assert abs(net.backward(X, y) - expected.loss) < tol
    assert _rel(net.weight_grads[0], expected.dW[0]) < tol
    assert _rel(net.bias_grads[1], expected.dB[1]) < tol
    assert _rel(net.forward(X), expected.S_out[-1]) < tol


def test_a_row_wider_than_a_tile():
    # one row with every one of 20 000 columns: more entries than a tile holds
    X = _csr(4, 20000, 0.001, seed=4, dtype=np.float64)
    assert X.getnnz(axis=1)[2] == 20000
    y = np.array([[0.5], [1.0], [-1.0], [2.0]])
    net = sp.Network([20000, 6, 1], "relu", "mse", seed=0)
    expected = ref.backward(net.weights, net.biases, net.activations, net.loss, X, y)
    assert abs(net.backward(X, y) - expected.loss) < 1e-9
    assert _rel(net.weight_grads[0], expected.dW[0]) < 1e-9


def test_empty_matrix_and_empty_rows():
    X = sp_sparse.csr_matrix((5, 8))  # no stored value at all
    net = sp.Network([8, 4, 2], "relu", "mse", seed=0)
    y = np.ones((5, 2))
    np.testing.assert_allclose(net.forward(X), net.forward(np.zeros((5, 8))))
    net.backward(X, y)
    assert not net.weight_grads[0].any()  # X is 0: dW^1 = δᵀ X = 0


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("index", [np.int32, np.int64], ids=["int32", "int64"])
def test_fit_one_shuffled_epoch_matches_reference_and_dense(threads, dtype, index):
    X = _csr(90, 30, 0.2, seed=5, dtype=dtype, index=index)
    y = np.random.default_rng(3).integers(0, 3, 90)
    sizes, acts = [30, 12, 3], ["relu", "softmax"]
    sparse_net = sp.Network(sizes, acts, "cross_entropy", dtype=dtype, seed=0)
    dense_net = sp.Network(sizes, acts, "cross_entropy", dtype=dtype, seed=0)
    W = [w.copy() for w in sparse_net.weights]
    B = [b.copy() for b in sparse_net.biases]
    h = sparse_net.fit(X, y, epochs=1, batch_size=16, optimizer=sp.optim.SGD(sparse_net, lr=0.1), seed=7)
    dense_net.fit(X.toarray(), y, epochs=1, batch_size=16, optimizer=sp.optim.SGD(dense_net, lr=0.1), seed=7)
    order = np.random.default_rng(7).permutation(90)  # the order fit visits the samples in

    def step(params, grads):
        ref.sgd_step(params, grads, [np.zeros_like(p) for p in params], lr=0.1)

    loss = ref.train_epoch(W, B, acts, "cross_entropy", X, y, order, 16, step)
    tol = 10 * TOL[dtype]
    assert abs(h.loss[0] - loss) < tol
    for got, want, dense in zip(sparse_net.weights + sparse_net.biases, W + B, dense_net.weights + dense_net.biases):
        assert _rel(got, want) < tol
        assert _rel(got, dense) < tol


def test_fit_validation_data_and_score_take_sparse():
    X = _csr(80, 20, 0.3, seed=6, dtype=np.float64)
    y = np.random.default_rng(4).integers(0, 2, 80)
    net = sp.Network([20, 8, 2], "relu", "cross_entropy", seed=0)
    h = net.fit(X, y, epochs=2, batch_size=10, validation_data=(X[:20], y[:20]), seed=0)
    assert len(h.val_score) == 2
    assert net.score(X, y) == net.score(X.toarray(), y)


def test_data_read_in_place_or_converted_once():
    from swiftprop._sparse import as_csr_input

    X = _csr(10, 6, 0.5, seed=7, dtype=np.float64, index=np.int64)
    data, indices, indptr, rows, cols = as_csr_input(X, np.dtype(np.float64))
    assert data is X.data and indices is X.indices and indptr is X.indptr and (rows, cols) == (10, 6)
    data32 = as_csr_input(X, np.dtype(np.float32))[0]  # another dtype: converted once
    assert data32.dtype == np.float32 and not np.shares_memory(data32, X.data)
    X.indices = X.indices.astype(np.int16)  # other integer types: converted to int64
    _, indices, indptr, *_ = as_csr_input(X, np.dtype(np.float64))
    assert indices.dtype == indptr.dtype == np.int64


# ---- bad input: a clear error, the network unchanged ----------------------------------------------------

def _broken(kind):
    X = _csr(6, 5, 0.5, seed=8, dtype=np.float64, full_row=False)
    X.sort_indices()
    if kind == "index out of range":
        X.indices[0] = 5
    elif kind == "negative index":
        X.indices[0] = -1
    elif kind == "indptr not monotone":
        X.indptr[2], X.indptr[3] = X.indptr[3], X.indptr[2] - 1
    elif kind == "indptr too short":
        X.indptr = X.indptr[:-1]
    elif kind == "indptr[0] not 0":
        X.indptr = X.indptr + 1
    elif kind == "indptr[-1] not nnz":
        X.indptr[-1] -= 1
    elif kind == "wrong column count":
        X._shape = (6, 7)
    elif kind == "claims 10**12 rows":
        X._shape = (10**12, 5)
    elif kind == "claims 10**6 rows":
        X._shape = (10**6, 5)
    return X


BROKEN = {
    "index out of range": "indices\\[.*\\] = 5 is not a column in \\[0, 5\\)",
    "negative index": "indices\\[0\\] = -1",
    "indptr not monotone": "non-decreasing",
    "indptr too short": "indptr has 6 entries, expected rows \\+ 1 = 7",
    "indptr[0] not 0": "indptr\\[0\\] must be 0",
    "indptr[-1] not nnz": "must equal the number of stored values",
    "wrong column count": "7 columns, expected 5",
    "claims 10**12 rows": "a batch of 1000000000000 rows is too large",
    "claims 10**6 rows": "indptr has 7 entries, expected rows \\+ 1 = 1000001",
}


@pytest.mark.parametrize("kind", list(BROKEN))
@pytest.mark.parametrize("call", ["forward", "backward", "cost", "trace", "fit"])
def test_bad_sparse_input_is_refused_and_changes_nothing(kind, call):
    X = _broken(kind)
    net = sp.Network([5, 4, 2], "relu", "cross_entropy", seed=0)
    net.backward(np.ones((3, 5)), np.array([0, 1, 0]))
    params, grads = net.params.copy(), net.grads.copy()
    y = np.zeros(6, dtype=np.int64)
    args = {"forward": (X,), "fit": (X, y, 1, 2)}.get(call, (X, y))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=BROKEN[kind]):
        getattr(net, call)(*args)
    assert time.perf_counter() - start < 5  # no allocation from a claimed size (a claimed 10**12 rows)
    np.testing.assert_array_equal(net.params, params)
    np.testing.assert_array_equal(net.grads, grads)
    assert net.optimizer is None


def test_bad_dtypes_and_formats():
    net = sp.Network([5, 3], "relu", "mse", seed=0)
    X = _csr(4, 5, 0.5, seed=9, dtype=np.float64)
    with pytest.raises(TypeError, match="coo.*pass X.tocsr\\(\\)"):
        net.forward(X.tocoo())
    with pytest.raises(TypeError, match="csc.*pass X.tocsr\\(\\)"):
        net.forward(X.tocsc())
    bad = X.copy()
    bad.indices = bad.indices.astype(np.float64)
    with pytest.raises(ValueError, match="X.indices must be a 1-D array of integers"):
        net.forward(bad)
    bad = X.copy()
    bad.data = bad.data.astype(np.complex128)
    with pytest.raises(ValueError, match="X.data must be a 1-D array of real numbers"):
        net.forward(bad)
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.forward(bad)
    with pytest.raises(ValueError, match="Y has 3 rows, expected 4"):
        net.backward(X, np.ones((3, 3)))
    with pytest.raises(ValueError, match="X_val: X \\(sparse\\) has 4 columns, expected 5"):
        net.fit(X, np.ones((4, 3)), validation_data=(X[:, :4], np.ones((4, 3))))


def test_scipy_stays_optional():
    # with scipy unimportable, swiftprop imports and runs on dense input without trying to load it
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import numpy as np, swiftprop as sp\n"
            "net = sp.Network([3, 2], 'relu', 'mse', seed=0)\n"
            "net.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1)\n"
            "print(net.forward(np.ones((1, 3))).shape, 'scipy.sparse' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(1,", "2)", "False"]


# ---- poisson --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_poisson_matches_reference_and_scikit_learn(dtype):
    _base = pytest.importorskip("sklearn.neural_network._base")
    rng = np.random.default_rng(10)
    X = rng.normal(size=(25, 6)).astype(dtype)
    Y = rng.poisson(2.0, size=(25, 2)).astype(dtype)
    net = sp.Network([6, 9, 2], "tanh", "poisson", dtype=dtype, seed=0)
    assert net.activations == ("tanh", "exp")
    tol = TOL[dtype]
    expected = ref.backward(net.weights, net.biases, net.activations, "poisson", X, Y)
    loss = net.backward(X, Y)
    assert abs(loss - expected.loss) < tol * max(1, expected.loss)
    # scikit-learn's half Poisson deviance (mean over samples, sum over outputs) of the same predictions
    assert abs(loss - _base.poisson_loss(Y.astype(np.float64), net.forward(X).astype(np.float64))) < tol * loss
    for got, want in zip(net.weight_grads + net.bias_grads, expected.dW + expected.dB):
        assert _rel(got, want) < tol
    # the last delta is scikit-learn's (ŷ − y) / n
    np.testing.assert_allclose(net.trace(X, Y).deltas[-1], (net.forward(X) - Y) / len(X), rtol=tol, atol=tol)
    # and a sparse X gives the same
    Xs = sp_sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    assert abs(net.cost(Xs, Y) - net.cost(Xs.toarray(), Y)) < tol * loss


def test_poisson_gradient_against_finite_differences():
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(8, 4)), rng.poisson(1.5, size=(8, 3)).astype(np.float64)
    net = sp.Network([4, 5, 3], "tanh", "poisson", seed=1)
    net.backward(X, Y)
    analytic = net.grads.copy()
    numeric = np.empty_like(analytic)
    for j in range(net.params.size):
        old = net.params[j]
        h = 1e-6 * max(1.0, abs(old))
        net.params[j] = old + h
        up = net.cost(X, Y)
        net.params[j] = old - h
        down = net.cost(X, Y)
        net.params[j] = old
        numeric[j] = (up - down) / (2 * h)
    assert _rel(analytic, numeric) < 1e-6


def test_poisson_targets_must_be_non_negative():
    net = sp.Network([3, 2], "relu", "poisson", seed=0)
    params = net.params.copy()
    with pytest.raises(ValueError, match="loss='poisson' needs targets >= 0, got -1.0 at flat index 3"):
        net.backward(np.ones((2, 3)), np.array([[0.0, 1], [2, -1]]))
    with pytest.raises(ValueError, match="needs targets >= 0"):
        net.fit(np.ones((2, 3)), np.array([[0.0, 1], [2, -1]]))
    np.testing.assert_array_equal(net.params, params)
    with pytest.raises(ValueError, match="loss='poisson' needs an exp output layer, got activations\\[-1\\]='identity'"):
        sp.Network([3, 2], ["identity"], "poisson")
    # it fits count data: the loss goes down
    rng = np.random.default_rng(12)
    X = rng.normal(size=(200, 3))
    Y = rng.poisson(np.exp(X @ [0.5, -0.3, 0.2]))[:, None].astype(np.float64)
    net = sp.Network([3, 8, 1], "tanh", "poisson", seed=0)
    h = net.fit(X, Y, epochs=20, batch_size=20, seed=0)
    assert h.loss[-1] < h.loss[0]
