"""Batches larger than one block: every streamed path against the NumPy reference.

The core runs a batch in blocks of ``rows_per_block(sizes)`` rows (``Network.rowsPerBlock`` in
Sources/SwiftProp/Network.swift: ``max(64, 2**22 // (3 * sum(sizes[1:])))``), so that its workspace
stays bounded; the inference forward also shares the rows of each block out among the threads
(``swiftprop.set_num_threads``), in ranges whose bounds are multiples of 8. A block that re-read the
first block's rows, a cost that summed only one block, or gradients that were overwritten instead of
accumulated across blocks pass every test on batches of one block; these use batches of several blocks,
the last one partial, with block sizes that are not multiples of the thread split's alignment.

* forward, cost (plain and weighted), backward (gradients accumulated across blocks, plain and
  weighted) and trace (the whole batch at once, after and before streamed calls on the same network);
* one epoch of fit whose mini-batches are larger than a block, against the reference's step-by-step
  training (:func:`reference.train_epoch`);
* float64 at 1e-9 relative, float32 against the float64 reference run on the float32 network's own
  parameters and data (its exact answer; see test_numerics.reference_trace) at 1e-4 relative;
* 1 and 2 threads.

Errors are ``max|actual - expected| / max|expected|`` per array.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import swiftprop as sp
from swiftprop.optim import SGD, Adam

from swiftprop import reference as ref

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
TOL = {F64: 1e-9, F32: 1e-4}
DTYPES = [pytest.param(F64, id="f64"), pytest.param(F32, id="f32")]
THREADS = [pytest.param(1, id="1thread"), pytest.param(2, id="2threads")]
TINY = np.finfo(np.float64).tiny


def rows_per_block(sizes) -> int:
    """Rows per block of the core's streamed passes (Network.rowsPerBlock in Network.swift)."""
    return max(64, 2**22 // (3 * sum(sizes[1:])))


def rel_err(actual, expected) -> float:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (a.shape, e.shape)
    assert np.isfinite(e).all()
    return float(np.max(np.abs(a - e)) / max(float(np.max(np.abs(e))), TINY))


def assert_close(actual, expected, tol, what):
    err = rel_err(actual, expected)
    assert err <= tol, f"{what}: rel err {err:.3g} > {tol:g}"


#: name -> architecture and a batch of several blocks whose last block is partial. The thread split
#: of a block (ranges aligned to 8 rows) does not fall on a block boundary: 64-row blocks split 32/32
#: and a 45-row last block 24/21; 155-row blocks split 80/75 (155 is odd, so the second block starts at
#: row 155, not a multiple of 8); 232-row blocks split 112/120.
ARCHS = {
    # 3 * (22000 + 3) values per row: 64-row blocks; 173 = 64 + 64 + 45
    "wide_tanh_ce": dict(sizes=(10, 22000, 3), acts=("tanh", "softmax"), loss="cross_entropy",
                         targets="labels", batch=173, fit=dict(n=337, batch_size=150)),
    # 155-row blocks; 401 = 155 + 155 + 91
    "wide_sigmoid_mse": dict(sizes=(7, 9000, 1), acts=("sigmoid", "identity"), loss="mse",
                             targets="real", batch=401, fit=dict(n=400, batch_size=170)),
    # 232-row blocks; 300 = 232 + 68. (Not relu: over an epoch of float32 training, a pre-activation
    # within rounding of 0 takes relu's other branch, a difference of a whole term in a bias gradient,
    # ~1e-3 of the parameters measured; smooth activations keep float32 at ~1e-6.)
    "deep_gelu_bce": dict(sizes=(8, 6000, 16, 4), acts=("gelu", "tanh", "sigmoid"),
                          loss="binary_cross_entropy", targets="binary", batch=300,
                          fit=dict(n=520, batch_size=250)),
    # 5398-row blocks; 2 full blocks and 17 rows; probability targets
    "narrow_elu_ce_probs": dict(sizes=(4, 256, 3), acts=("elu", "softmax"), loss="cross_entropy",
                                targets="probs", batch=2 * 5398 + 17, fit=None),
}


def test_cases_span_several_blocks_with_a_partial_last_one():
    for name, a in ARCHS.items():
        block = rows_per_block(a["sizes"])
        assert a["batch"] > block and a["batch"] % block != 0, name
        if a["fit"]:
            bs, n = a["fit"]["batch_size"], a["fit"]["n"]
            assert bs > block and bs % block != 0 and n % bs != 0, name
    assert rows_per_block(ARCHS["wide_tanh_ce"]["sizes"]) == 64  # the minimum block


@pytest.fixture(params=THREADS)
def threads(request):
    old = sp.get_num_threads()
    sp.set_num_threads(request.param)
    yield request.param
    sp.set_num_threads(old)


def _targets(rng, kind, n, n_out, dtype):
    if kind == "labels":
        return rng.integers(0, n_out, size=n).astype(np.int64)
    if kind == "probs":
        p = rng.random((n, n_out)) + 0.05
        return (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    if kind == "binary":
        return (rng.random((n, n_out)) < 0.5).astype(dtype)
    return rng.normal(size=(n, n_out)).astype(dtype)


def _as64(arrays):
    return [np.array(a, dtype=np.float64) for a in arrays]


@functools.lru_cache(maxsize=None)
def problem(name: str, dtype: np.dtype):
    """Network parameters, data, and the float64 reference on exactly those (rounded) values."""
    a = ARCHS[name]
    rng = np.random.default_rng(17)
    n, sizes = a["batch"], a["sizes"]
    X = np.ascontiguousarray(rng.normal(size=(n, sizes[0])).astype(dtype))
    Y = _targets(rng, a["targets"], n, sizes[-1], dtype)
    w = rng.uniform(0.2, 3.0, size=n).astype(dtype)
    net = sp.Network(list(sizes), list(a["acts"]), a["loss"], dtype=dtype, seed=3)
    W64, B64 = _as64(net.weights), _as64(net.biases)
    X64 = X.astype(np.float64)
    Y64 = Y if Y.dtype == np.int64 else Y.astype(np.float64)
    expected = ref.backward(W64, B64, list(a["acts"]), a["loss"], X64, Y64)
    weighted = ref.backward(W64, B64, list(a["acts"]), a["loss"], X64, Y64, sample_weight=w.astype(np.float64))
    return net.params.copy(), X, Y, w, expected, weighted


def _net(name, dtype, params):
    a = ARCHS[name]
    net = sp.Network(list(a["sizes"]), list(a["acts"]), a["loss"], dtype=dtype, seed=3)
    net.params[...] = params
    return net


def _assert_grads(net, expected, tol, what):
    for i in range(net.n_layers):
        assert_close(net.weight_grads[i], expected.dW[i], tol, f"{what}: weight_grads[{i}]")
        assert_close(net.bias_grads[i], expected.dB[i], tol, f"{what}: bias_grads[{i}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ARCHS))
def test_streamed_forward_cost_backward_match_reference(name, dtype, threads):
    params, X, Y, w, expected, weighted = problem(name, dtype)
    tol = TOL[dtype]
    net = _net(name, dtype, params)
    out = net.forward(X)
    assert out.dtype == dtype
    assert_close(out, expected.S_out[-1], tol, "forward")
    # every block's rows, not only the first block's, against its own single-block forward
    block = rows_per_block(net.sizes)
    last = X[(X.shape[0] - 1) // block * block:]
    assert_close(out[-last.shape[0]:], net.forward(np.ascontiguousarray(last)), tol,
                 "last partial block")
    assert_close(net.cost(X, Y), expected.loss, tol, "cost")
    assert_close(net.cost(X, Y, sample_weight=w), weighted.loss, tol, "weighted cost")
    assert_close(net.backward(X, Y), expected.loss, tol, "backward loss")
    _assert_grads(net, expected, tol, "backward")
    assert_close(net.backward(X, Y, sample_weight=w), weighted.loss, tol, "weighted backward loss")
    _assert_grads(net, weighted, tol, "weighted backward")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in ARCHS if n != "narrow_elu_ce_probs"])
def test_trace_of_a_batch_of_several_blocks_between_streamed_calls(name, dtype, threads):
    """trace keeps the whole batch in the workspace; the streamed calls before and after it on the
    same network (which then reuse the larger workspace in blocks) still give the reference's values."""
    params, X, Y, _, expected, _ = problem(name, dtype)
    tol = TOL[dtype]
    net = _net(name, dtype, params)
    L = net.n_layers
    net.backward(X[:5], Y[:5])  # a small workspace first
    assert_close(net.forward(X), expected.S_out[-1], tol, "forward before trace")
    t = net.trace(X, Y)
    assert_close(t.loss, expected.loss, tol, "trace.loss")
    for q in ("S_in", "S_out", "deltas", "dW", "dB"):
        got, want = getattr(t, q), getattr(expected, q)
        assert len(got) == L
        for i in range(L):
            assert_close(got[i], want[i], tol, f"trace.{q}[{i}]")
    assert_close(net.backward(X, Y), expected.loss, tol, "backward after trace")
    _assert_grads(net, expected, tol, "backward after trace")
    assert_close(net.forward(X), expected.S_out[-1], tol, "forward after trace")


class _RefStep:
    """step_fn for reference.train_epoch: the NumPy twin of SGD(momentum) or Adam, in float64."""

    def __init__(self, cls, kwargs, params):
        self.cls, self.kwargs, self.t = cls, kwargs, 0
        self.a = [np.zeros_like(p) for p in params]
        self.b = [np.zeros_like(p) for p in params]

    def __call__(self, params, grads):
        self.t += 1
        k = self.kwargs
        if self.cls is SGD:
            ref.sgd_step(params, grads, self.a, k["lr"], k.get("momentum", 0.0), k.get("nesterov", False))
        else:
            ref.adam_step(params, grads, self.a, self.b, self.t, k["lr"])


FIT_OPTIMIZERS = {"sgd_momentum": (SGD, dict(lr=0.05, momentum=0.9)), "adam": (Adam, dict(lr=0.002))}


@pytest.mark.parametrize("opt_name", list(FIT_OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in ARCHS if ARCHS[n]["fit"]])
def test_fit_with_batches_larger_than_a_block_matches_reference(name, dtype, opt_name, threads):
    a = ARCHS[name]
    n, bs = a["fit"]["n"], a["fit"]["batch_size"]
    cls, kwargs = FIT_OPTIMIZERS[opt_name]
    rng = np.random.default_rng(23)
    X = np.ascontiguousarray(rng.normal(size=(n, a["sizes"][0])).astype(dtype))
    Y = _targets(rng, a["targets"], n, a["sizes"][-1], dtype)
    net = sp.Network(list(a["sizes"]), list(a["acts"]), a["loss"], dtype=dtype, seed=5)
    W, B = _as64(net.weights), _as64(net.biases)
    opt = cls(net, **kwargs)
    hist = net.fit(X, Y, epochs=1, batch_size=bs, optimizer=opt, shuffle=True, seed=29)
    # fit's shuffle: the first draw of default_rng(seed) (no dropout, so no other draw)
    order = np.random.default_rng(29).permutation(n)
    step = _RefStep(cls, kwargs, [p for wb in zip(W, B) for p in wb])
    ref_loss = ref.train_epoch(W, B, list(a["acts"]), a["loss"], X.astype(np.float64),
                               Y if Y.dtype == np.int64 else Y.astype(np.float64), order, bs, step)
    assert opt.t == step.t == -(-n // bs)
    # float32: three steps of float32 rounding against the float64 reference (measured: SGD <= 1.1e-6,
    # within TOL). Adam divides by sqrt(v): where a gradient is small (the biases of a layer, whose
    # sums over the batch cancel), its float32 rounding is scaled up towards lr itself (measured:
    # <= 3e-4, on deep_gelu_bce's weights[1] and wide_tanh_ce's biases[0]), hence the wider bound for float32 Adam.
    tol = TOL[dtype] if not (dtype == F32 and cls is Adam) else 1e-3
    assert_close(hist.loss[0], ref_loss, tol, "History.loss")
    for i in range(net.n_layers):
        assert_close(net.weights[i], W[i], tol, f"weights[{i}]")
        assert_close(net.biases[i], B[i], tol, f"biases[{i}]")
