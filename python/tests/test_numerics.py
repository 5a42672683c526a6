"""Numerical tests: ``swiftprop.Network`` against the NumPy reference and
against central finite differences, and the reference against finite
differences on its own.

Tests named ``test_reference_*`` only need ``swiftprop/reference.py`` (pure
NumPy; if ``swiftprop`` itself cannot be imported, the file next to these
tests is loaded directly); ``-k "not network"`` runs just those.  Tests named
``test_network_*`` need the compiled package and fail (they are not skipped)
when it cannot be imported.

Errors are measured per array as ``max|actual - expected| / max(max|expected|, tiny)``.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pytest


def _import_reference():
    """``swiftprop.reference``; if the package cannot be imported (e.g. its
    extension is not built), the pure-NumPy file next to these tests."""
    try:
        from swiftprop import reference

        return reference
    except ImportError:
        path = Path(__file__).resolve().parents[1] / "swiftprop" / "reference.py"
        spec = importlib.util.spec_from_file_location("_swiftprop_reference", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look the module up here
        spec.loader.exec_module(module)
        return module


ref = _import_reference()


def _network_class():
    """``swiftprop.Network``.  An ImportError here fails the test, on purpose."""
    import swiftprop

    return swiftprop.Network


# ---------------------------------------------------------------------------
# Tolerances and comparison helpers
# ---------------------------------------------------------------------------

TINY = np.finfo(np.float64).tiny
TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
FD_TOL_FLOAT64 = 1e-7  # network / reference gradients vs central differences
FD_TOL_FLOAT32 = 1e-3  # float32 network gradients vs float64 central differences
# Central-difference step.  The error is ~ h² |f'''| (truncation) + eps |f| / h
# (rounding); h = 1e-5 balances the two for float64 (measured: ~1e-8 relative).
FD_STEP = 1e-5
# Pre-activations closer than this to 0 could let a step cross a kink of
# relu / leaky_relu (or elu's second derivative); such draws are rejected.
KINK_MARGIN = 1e-3

# Raise on overflow, division by zero and invalid operations (underflow to 0
# is fine: it is how exp(-large) is meant to end up).
STRICT = dict(over="raise", divide="raise", invalid="raise")


def rel_err(actual, expected) -> float:
    """``max|actual - expected| / max(max|expected|, tiny)``, in float64."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if b.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(b))), TINY)
    return float(np.max(np.abs(a - b))) / scale


def assert_close(actual, expected, tol: float, what: str) -> None:
    """Fail with e.g. ``"dW[2]: rel err 0.003 > 1e-10"``."""
    a = np.asarray(actual)
    b = np.asarray(expected)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, expected {b.shape}"
    assert np.all(np.isfinite(b)), f"{what}: the expected value is not finite"
    err = rel_err(a, b)
    assert err <= tol, f"{what}: rel err {err:.3g} > {tol:g}"


def assert_all_finite(arrays: Sequence, what: str) -> None:
    for i, a in enumerate(arrays):
        assert np.all(np.isfinite(np.asarray(a))), f"{what}[{i}] is not finite: {a}"


def central_differences(loss: Callable[[], float], arrays: Sequence[np.ndarray], h: float = FD_STEP):
    """d loss / d entry for every entry of every array, perturbing in place.

    ``loss()`` must read the arrays (or views of them).  The quotient uses the
    step actually taken, ``(x + h) - (x - h)`` after rounding.
    """
    grads = []
    for A in arrays:
        G = np.zeros(A.shape, dtype=np.float64)
        for idx in np.ndindex(A.shape):
            old = A[idx]
            A[idx] = old + h
            x_plus, f_plus = float(A[idx]), loss()
            A[idx] = old - h
            x_minus, f_minus = float(A[idx]), loss()
            A[idx] = old
            G[idx] = (f_plus - f_minus) / (x_plus - x_minus)
        grads.append(G)
    return grads


def test_assert_close_names_quantity_and_error():
    assert_close(np.array([1.0, -2.0]), np.array([1.0, -2.0]), 1e-10, "dW[0]")
    with pytest.raises(AssertionError, match=r"dW\[2\]: rel err 0\.25 > 1e-10"):
        assert_close(np.array([1.5, 2.0]), np.array([1.0, 2.0]), 1e-10, "dW[2]")
    with pytest.raises(AssertionError, match="rel err nan"):
        assert_close(np.array([np.nan]), np.array([1.0]), 1e-4, "loss")
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.zeros((2, 3)), np.zeros((3, 2)), 1e-4, "S_in[0]")


# ---------------------------------------------------------------------------
# Test cases: architectures, parameters, data
# ---------------------------------------------------------------------------

# hidden activations (exp is poisson's output: e^x overflows in a hidden layer of a deep random network)
ELEMENTWISE = tuple(a for a in ref.ACTIVATIONS if a not in ("softmax", "exp"))
# (loss, last activation, kind of targets): every loss with every valid last activation.
OUTPUTS = tuple(
    [("mse", a, "real") for a in ref.ACTIVATIONS]
    + [
        ("cross_entropy", "softmax", "labels"),
        ("cross_entropy", "softmax", "probs"),
        ("binary_cross_entropy", "sigmoid", "binary"),
        ("poisson", "exp", "counts"),
    ]
)
DTYPES = (np.float64, np.float32)
_SHORT = {
    "identity": "id",
    "sigmoid": "sig",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "lrelu",
    "elu": "elu",
    "softplus": "splus",
    "gelu": "gelu",
    "softmax": "smax",
    "exp": "exp",
    "mse": "mse",
    "cross_entropy": "ce",
    "binary_cross_entropy": "bce",
    "poisson": "pois",
}


@dataclass(frozen=True)
class Case:
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    targets: str  # "real", "labels", "probs" or "binary"
    dtype: type
    batch: int
    seed: int
    own_init: bool = False  # keep the network's initial parameters

    def __str__(self) -> str:
        dt = "f64" if self.dtype is np.float64 else "f32"
        acts = ".".join(_SHORT[a] for a in self.activations)
        arch = "x".join(map(str, self.sizes))
        init = "-init" if self.own_init else ""
        return f"{dt}-b{self.batch}-{arch}-{acts}-{_SHORT[self.loss]}_{self.targets}{init}"


def make_targets(rng, kind: str, batch: int, n_out: int, dtype) -> np.ndarray:
    if kind == "labels":
        return rng.integers(0, n_out, size=batch, dtype=np.int64)
    if kind == "probs":  # rows of probabilities that sum to 1
        p = rng.random((batch, n_out)) + 0.05
        return (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    if kind == "binary":  # multi-label targets in [0, 1], about half exactly 0 or 1
        y = rng.random((batch, n_out))
        hard = rng.random((batch, n_out)) < 0.5
        y[hard] = np.round(y[hard])
        return y.astype(dtype)
    if kind == "counts":  # poisson targets: counts >= 0, some 0
        return rng.poisson(1.5, size=(batch, n_out)).astype(dtype)
    return rng.normal(size=(batch, n_out)).astype(dtype)


def make_params(rng, sizes: Sequence[int], dtype, gain: float = 1.5):
    """Weights ~ N(0, gain²/fan_in) and biases ~ N(0, 0.5²), in `dtype`."""
    W = [
        (rng.normal(size=(n_out, n_in)) * (gain / np.sqrt(n_in))).astype(dtype)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    B = [(0.5 * rng.normal(size=n_out)).astype(dtype) for n_out in sizes[1:]]
    return W, B


def make_data(rng, case: Case):
    X = rng.normal(size=(case.batch, case.sizes[0])).astype(case.dtype)
    Y = make_targets(rng, case.targets, case.batch, case.sizes[-1], case.dtype)
    return X, Y


def _draw_width(rng) -> int:
    r = rng.random()
    if r < 0.1:
        return 1
    if r < 0.2:
        return 64
    return int(rng.integers(1, 65))


def _architecture_cases() -> list[Case]:
    """Every dtype x (no hidden layer, or each hidden activation) x each
    (loss, last activation, targets): depth 1-5, widths 1-64, batch 1-257."""
    rng = np.random.default_rng(20240601)
    batches = (1, 257, 2, 7, 32, 100, 3, 64, 257, 1, 15, 128, 5)
    cases: list[Case] = []
    for dtype in DTYPES:
        for hidden in (None,) + ELEMENTWISE:
            for loss, last, targets in OUTPUTS:
                k = len(cases)
                depth = 1 if hidden is None else int(rng.integers(2, 6))
                acts = [str(rng.choice(ELEMENTWISE)) for _ in range(depth - 1)] + [last]
                if hidden is not None:
                    acts[int(rng.integers(0, depth - 1))] = hidden
                sizes = [_draw_width(rng) for _ in range(depth + 1)]
                if last == "softmax":  # a 1-wide softmax is the constant 1
                    sizes[-1] = max(sizes[-1], 2)
                cases.append(
                    Case(
                        sizes=tuple(sizes),
                        activations=tuple(acts),
                        loss=loss,
                        targets=targets,
                        dtype=dtype,
                        batch=batches[k % len(batches)],
                        seed=1000 + k,
                        own_init=(k % 5 == 4),
                    )
                )
    return cases


ARCH_CASES = _architecture_cases()


def make_net(case: Case, W=None, B=None):
    """A Network for `case`; its parameters are overwritten by W, B if given."""
    Network = _network_class()
    net = Network(
        list(case.sizes),
        activations=list(case.activations),
        loss=case.loss,
        dtype=case.dtype,
        seed=case.seed,
    )
    if W is not None:
        for i in range(len(W)):
            net.weights[i][...] = W[i]
            net.biases[i][...] = B[i]
    return net


def reference_trace(net, case: Case, X, Y):
    """The reference run on float64 copies of the network's parameters and data.

    For a float32 network this is the exact answer for its (float32) inputs, so
    the test measures the network's own rounding error, not the sum of its and a
    float32 reference's: a sum over the batch with heavy cancellation (equation
    (3) on a one-unit layer, where sum |dS_in| is ~1000x |sum dS_in|) moves both
    float32 results ~5e-5 from the truth, in opposite directions.
    """
    X64 = np.asarray(X, dtype=np.float64)
    Y64 = Y if case.targets == "labels" else np.asarray(Y, dtype=np.float64)
    return ref.backward(_as64(net.weights), _as64(net.biases), list(case.activations), case.loss, X64, Y64)


# ---------------------------------------------------------------------------
# Network vs reference, many architectures
# ---------------------------------------------------------------------------


def test_architecture_cases_cover_the_contract():
    """The parametrisation below really covers what it claims to."""
    hidden_used = {a for c in ARCH_CASES for a in c.activations[:-1]}
    outputs_used = {(c.loss, c.activations[-1], c.targets) for c in ARCH_CASES}
    depths = {len(c.activations) for c in ARCH_CASES}
    widths = {n for c in ARCH_CASES for n in c.sizes}
    batches = {c.batch for c in ARCH_CASES}
    assert hidden_used == set(ELEMENTWISE)
    assert outputs_used == set(OUTPUTS)
    assert depths == {1, 2, 3, 4, 5}
    assert {1, 64} <= widths and max(widths) == 64 and min(widths) == 1
    assert {1, 257} <= batches and max(batches) == 257
    assert {c.dtype for c in ARCH_CASES} == set(DTYPES)
    assert any(c.own_init for c in ARCH_CASES) and not all(c.own_init for c in ARCH_CASES)


@pytest.mark.parametrize("case", ARCH_CASES, ids=str)
def test_network_matches_reference(case: Case):
    rng = np.random.default_rng(case.seed)
    tol = TOL[np.dtype(case.dtype)]
    W, B = make_params(rng, case.sizes, case.dtype)
    X, Y = make_data(rng, case)
    net = make_net(case, None if case.own_init else W, None if case.own_init else B)
    L = len(case.activations)
    expected = reference_trace(net, case, X, Y)
    if not case.own_init:  # writes through net.weights / net.biases were kept
        for i in range(L):
            assert net.weights[i].dtype == np.dtype(case.dtype)
            np.testing.assert_array_equal(net.weights[i], W[i], err_msg=f"weights[{i}]")
            np.testing.assert_array_equal(net.biases[i], B[i], err_msg=f"biases[{i}]")

    out = net.forward(X)
    assert out.dtype == np.dtype(case.dtype)
    assert_close(out, expected.S_out[-1], tol, "forward output")

    loss = net.backward(X, Y)
    assert isinstance(loss, float)
    assert_close(loss, expected.loss, tol, "loss")
    for i in range(L):
        assert net.weight_grads[i].dtype == np.dtype(case.dtype)
        assert_close(net.weight_grads[i], expected.dW[i], tol, f"weight_grads[{i}]")
        assert_close(net.bias_grads[i], expected.dB[i], tol, f"bias_grads[{i}]")

    t = net.trace(X, Y)
    assert_close(t.loss, expected.loss, tol, "trace.loss")
    for name in ("S_in", "S_out", "deltas", "dW", "dB"):
        got, want = getattr(t, name), getattr(expected, name)
        assert len(got) == L, f"trace.{name} has {len(got)} layers, expected {L}"
        for i in range(L):
            assert_close(got[i], want[i], tol, f"{name}[{i}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes, batch", [((3, 10), 1000), ((3, 1), 5), ((3, 5000), 3), ((3, 4096), 2)])
def test_network_softmax_over_blocks_of_rows(sizes, batch, dtype):
    """The softmax exponentials run over blocks of ~4096 values spanning several rows: batches
    that cross block boundaries (and rows longer than a block) give the reference's values and
    gradients."""
    case = Case(sizes, ("softmax",), "cross_entropy", "labels", dtype, batch, seed=5)
    rng = np.random.default_rng(5)
    W, B = make_params(rng, sizes, dtype, gain=4.0)
    X, Y = make_data(rng, case)
    net = make_net(case, W, B)
    expected = reference_trace(net, case, X, Y)
    tol = TOL[np.dtype(dtype)]
    assert_close(net.forward(X), expected.S_out[-1], tol, "forward output")
    assert_close(net.backward(X, Y), expected.loss, tol, "loss")
    assert_close(net.weight_grads[0], expected.dW[0], tol, "weight_grads[0]")
    assert_close(net.bias_grads[0], expected.dB[0], tol, "bias_grads[0]")


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_backward_overwrites_gradients(dtype):
    """backward fills the gradient buffer: a second call on other data gives
    that data's gradients, not a sum."""
    case = Case((5, 7, 3), ("tanh", "softmax"), "cross_entropy", "labels", dtype, 9, seed=7)
    rng = np.random.default_rng(7)
    W, B = make_params(rng, case.sizes, dtype)
    net = make_net(case, W, B)
    tol = TOL[np.dtype(dtype)]
    X1, Y1 = make_data(rng, case)
    X2, Y2 = make_data(rng, case)
    net.backward(X1, Y1)
    loss2 = net.backward(X2, Y2)
    expected = reference_trace(net, case, X2, Y2)
    assert_close(loss2, expected.loss, tol, "loss")
    for i in range(2):
        assert_close(net.weight_grads[i], expected.dW[i], tol, f"weight_grads[{i}]")
        assert_close(net.bias_grads[i], expected.dB[i], tol, f"bias_grads[{i}]")
    net.backward(X2, Y2)  # the same batch again: the same gradients
    for i in range(2):
        assert_close(net.weight_grads[i], expected.dW[i], tol, f"weight_grads[{i}] (repeat)")


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_parameter_and_gradient_views(dtype):
    sizes = [4, 6, 5, 3]
    acts = ["relu", "sigmoid", "identity"]
    case = Case(tuple(sizes), tuple(acts), "mse", "real", dtype, 6, seed=3)
    net = make_net(case)
    assert list(net.sizes) == sizes
    assert tuple(net.activations) == tuple(acts)
    assert net.loss == "mse"
    assert np.dtype(net.dtype) == np.dtype(dtype)
    n_params = sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    assert net.params.shape == (n_params,) and net.grads.shape == (n_params,)
    assert net.params.dtype == np.dtype(dtype) and net.grads.dtype == np.dtype(dtype)
    for i in range(len(acts)):
        assert net.weights[i].shape == (sizes[i + 1], sizes[i])
        assert net.biases[i].shape == (sizes[i + 1],)
        assert net.weight_grads[i].shape == (sizes[i + 1], sizes[i])
        assert net.bias_grads[i].shape == (sizes[i + 1],)
        assert np.shares_memory(net.weights[i], net.params)
        assert np.shares_memory(net.biases[i], net.params)
        assert np.shares_memory(net.weight_grads[i], net.grads)
        assert np.shares_memory(net.bias_grads[i], net.grads)

    # A write through the flat view is seen by the per-layer views and by forward.
    rng = np.random.default_rng(3)
    net.params[...] = rng.normal(size=n_params).astype(dtype)
    flat = np.concatenate([np.ravel(a) for a in list(net.weights) + list(net.biases)])
    np.testing.assert_array_equal(np.sort(flat), np.sort(np.asarray(net.params)))
    X, Y = make_data(rng, case)
    expected = reference_trace(net, case, X, Y)
    assert_close(net.forward(X), expected.S_out[-1], TOL[np.dtype(dtype)], "forward output")

    # The gradient views see what backward wrote into the flat buffer.
    net.backward(X, Y)
    flat_grads = np.concatenate(
        [np.ravel(a) for a in list(net.weight_grads) + list(net.bias_grads)]
    )
    np.testing.assert_array_equal(np.sort(flat_grads), np.sort(np.asarray(net.grads)))
    assert np.any(np.asarray(net.grads) != 0)


def test_network_accepts_int32_labels():
    """Integer labels of another integer dtype mean the same thing."""
    case = Case((3, 4), ("softmax",), "cross_entropy", "labels", np.float64, 6, seed=11)
    rng = np.random.default_rng(11)
    W, B = make_params(rng, case.sizes, np.float64)
    net = make_net(case, W, B)
    X, Y = make_data(rng, case)
    loss64 = net.backward(X, Y)
    grads64 = np.array(net.grads, copy=True)
    loss32 = net.backward(X, Y.astype(np.int32))
    assert_close(loss32, loss64, 1e-15, "loss")
    assert_close(net.grads, grads64, 1e-15, "grads")


@pytest.mark.parametrize("hidden", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_network_derivative_at_zero_matches_reference(hidden, dtype):
    """At S_in == 0 exactly: relu'(0) = 0, leaky_relu'(0) = 0.01, ..."""
    case = Case((3, 4, 2), (hidden, "identity"), "mse", "real", dtype, 4, seed=5)
    rng = np.random.default_rng(5)
    W, B = make_params(rng, case.sizes, dtype)
    B[0][...] = 0
    X, Y = make_data(rng, case)
    X[0] = 0  # the first sample has S_in[0] == 0 in every unit
    net = make_net(case, W, B)
    expected = reference_trace(net, case, X, Y)
    assert np.all(expected.S_in[0][0] == 0)
    assert np.any(expected.deltas[1][0] != 0)
    t = net.trace(X, Y)
    tol = TOL[np.dtype(dtype)]
    assert_close(t.S_in[0], expected.S_in[0], tol, "S_in[0]")
    assert_close(t.deltas[0], expected.deltas[0], tol, "deltas[0]")
    net.backward(X, Y)
    assert_close(net.weight_grads[0], expected.dW[0], tol, "weight_grads[0]")


# ---------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------

# (hidden activation or None for a single layer) x (loss, last activation, targets)
FD_CASES = [(hidden, out) for hidden in (None,) + ELEMENTWISE for out in OUTPUTS]


def _fd_ids(param) -> str:
    if param is None:
        return "none"
    if isinstance(param, tuple):
        return f"{_SHORT[param[0]]}-{_SHORT[param[1]]}-{param[2]}"
    return _SHORT[param]


def fd_problem(hidden, output, seed: int, dtype=np.float64):
    """A small network, parameters and data with every pre-activation at
    least KINK_MARGIN away from 0 (so a finite-difference step never crosses
    a kink)."""
    loss, last, targets = output
    n_out = 3
    if hidden is None:
        sizes, acts = (4, n_out), (last,)
    else:
        sizes, acts = (3, 4, 3, n_out), (hidden, hidden, last)
    case = Case(sizes, acts, loss, targets, dtype, batch=5, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(200):
        W, B = make_params(rng, sizes, dtype)
        X, Y = make_data(rng, case)
        S_in, _ = ref.forward(W, B, list(acts), X)
        if min(np.min(np.abs(s)) for s in S_in) > KINK_MARGIN:
            return case, W, B, X, Y
    raise AssertionError("could not draw pre-activations away from 0")


def _as64(arrays):
    return [np.array(a, dtype=np.float64, copy=True) for a in arrays]


@pytest.mark.parametrize("hidden,output", FD_CASES, ids=_fd_ids)
def test_reference_gradients_match_finite_differences(hidden, output):
    case, W, B, X, Y = fd_problem(hidden, output, seed=FD_CASES.index((hidden, output)))
    acts = list(case.activations)
    trace = ref.backward(W, B, acts, case.loss, X, Y)

    def loss() -> float:
        S_in, S_out = ref.forward(W, B, acts, X)
        return ref.loss_forward(case.loss, S_in[-1], S_out[-1], Y)

    assert_close(loss(), trace.loss, 1e-15, "loss")
    numeric = central_differences(loss, list(W) + list(B))
    L = len(acts)
    for i in range(L):
        assert_close(trace.dW[i], numeric[i], FD_TOL_FLOAT64, f"dW[{i}] vs finite differences")
        assert_close(trace.dB[i], numeric[L + i], FD_TOL_FLOAT64, f"dB[{i}] vs finite differences")

    # deltas[i] = d cost / d S_in[i]: differentiate w.r.t. offsets E[i] added to S_in[i].
    E = [np.zeros_like(s) for s in trace.S_in]

    def loss_with_offsets() -> float:
        S_out_prev = X
        for Wi, Bi, Ei, f in zip(W, B, E, acts):
            S_in = S_out_prev @ Wi.T + Bi + Ei
            S_out_prev = ref.activation_forward(f, S_in)
        return ref.loss_forward(case.loss, S_in, S_out_prev, Y)

    numeric_deltas = central_differences(loss_with_offsets, E)
    for i in range(L):
        assert_close(trace.deltas[i], numeric_deltas[i], FD_TOL_FLOAT64, f"deltas[{i}] vs finite differences")


@pytest.mark.parametrize("hidden,output", FD_CASES, ids=_fd_ids)
def test_network_gradients_match_finite_differences_float64(hidden, output):
    case, W, B, X, Y = fd_problem(hidden, output, seed=500 + FD_CASES.index((hidden, output)))
    net = make_net(case, W, B)
    net.backward(X, Y)
    analytic = [np.array(g, copy=True) for g in list(net.weight_grads) + list(net.bias_grads)]
    # Perturb the parameters through the network's own (writable) views.
    numeric = central_differences(lambda: net.backward(X, Y), list(net.weights) + list(net.biases))
    L = len(case.activations)
    for i in range(L):
        assert_close(analytic[i], numeric[i], FD_TOL_FLOAT64, f"weight_grads[{i}] vs finite differences")
        assert_close(
            analytic[L + i], numeric[L + i], FD_TOL_FLOAT64, f"bias_grads[{i}] vs finite differences"
        )


FD_FLOAT32_CASES = [
    ("tanh", ("cross_entropy", "softmax", "labels")),
    ("relu", ("binary_cross_entropy", "sigmoid", "binary")),
    ("gelu", ("mse", "softmax", "real")),
    ("elu", ("mse", "identity", "real")),
    ("leaky_relu", ("cross_entropy", "softmax", "probs")),
]


@pytest.mark.parametrize("hidden,output", FD_FLOAT32_CASES, ids=_fd_ids)
def test_network_float32_gradients_match_float64_finite_differences(hidden, output):
    """float32 network gradients vs central differences of the float64
    reference, evaluated at the network's float32 parameters cast to float64."""
    seed = 900 + FD_FLOAT32_CASES.index((hidden, output))
    case, W, B, X, Y = fd_problem(hidden, output, seed=seed, dtype=np.float32)
    net = make_net(case, W, B)
    net.backward(X, Y)
    analytic = [np.array(g, copy=True) for g in list(net.weight_grads) + list(net.bias_grads)]
    W64, B64 = _as64(net.weights), _as64(net.biases)
    X64 = X.astype(np.float64)
    Y64 = Y if case.targets == "labels" else Y.astype(np.float64)
    acts = list(case.activations)

    def loss64() -> float:
        S_in, S_out = ref.forward(W64, B64, acts, X64)
        return ref.loss_forward(case.loss, S_in[-1], S_out[-1], Y64)

    numeric = central_differences(loss64, W64 + B64)
    L = len(acts)
    for i in range(L):
        assert_close(analytic[i], numeric[i], FD_TOL_FLOAT32, f"weight_grads[{i}] vs finite differences")
        assert_close(
            analytic[L + i], numeric[L + i], FD_TOL_FLOAT32, f"bias_grads[{i}] vs finite differences"
        )


# ---------------------------------------------------------------------------
# The reference on its own
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ref.ACTIVATIONS)
def test_reference_activation_backward_matches_finite_differences(name):
    """d/dz Σ g ⊙ f(z) == activation_backward(name, g, z, f(z))."""
    rng = np.random.default_rng(ref.ACTIVATIONS.index(name))
    z = 2.5 * rng.normal(size=(6, 5))
    z[np.abs(z) < KINK_MARGIN] = 0.5
    g = rng.normal(size=z.shape)
    analytic = ref.activation_backward(name, g, z, ref.activation_forward(name, z))
    (numeric,) = central_differences(lambda: float(np.sum(g * ref.activation_forward(name, z))), [z])
    assert_close(analytic, numeric, FD_TOL_FLOAT64, f"{name}: dS_in")


@pytest.mark.parametrize("loss,last,targets", OUTPUTS, ids=lambda p: _SHORT.get(p, p))
def test_reference_loss_backward_matches_finite_differences(loss, last, targets):
    """deltas[L-1] == d loss_forward / d S_in[L-1] (S_out = f(S_in))."""
    rng = np.random.default_rng(OUTPUTS.index((loss, last, targets)))
    z = 2.0 * rng.normal(size=(7, 4))
    z[np.abs(z) < KINK_MARGIN] = 0.5
    Y = make_targets(rng, targets, 7, 4, np.float64)

    def cost() -> float:
        return ref.loss_forward(loss, z, ref.activation_forward(last, z), Y)

    analytic = ref.loss_backward(loss, last, z, ref.activation_forward(last, z), Y)
    (numeric,) = central_differences(cost, [z])
    assert_close(analytic, numeric, FD_TOL_FLOAT64, f"{loss}/{last}: deltas[L-1]")


def test_reference_activation_values():
    """Values against independent formulas / known numbers."""
    z = np.linspace(-6, 6, 97).reshape(1, -1)
    act = ref.activation_forward
    assert_close(act("identity", z), z, 0, "identity")
    assert_close(act("sigmoid", z), 1 / (1 + np.exp(-z)), 1e-15, "sigmoid")
    assert_close(act("tanh", z), np.tanh(z), 0, "tanh")
    assert_close(act("relu", z), np.where(z > 0, z, 0), 0, "relu")
    assert_close(act("leaky_relu", z), np.where(z > 0, z, 0.01 * z), 0, "leaky_relu")
    assert_close(act("elu", z), np.where(z > 0, z, np.exp(z) - 1), 1e-15, "elu")
    assert_close(act("softplus", z), np.logaddexp(0, z), 1e-15, "softplus")
    c = np.sqrt(2 / np.pi)
    assert_close(act("gelu", z), 0.5 * z * (1 + np.tanh(c * (z + 0.044715 * z**3))), 1e-15, "gelu")
    # The tanh form stays within 1e-3 of the exact GELU z Φ(z) = ½ z (1 + erf(z / √2)).
    exact_gelu = np.array([[0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in z[0]]])
    assert np.max(np.abs(act("gelu", z) - exact_gelu)) < 1e-3
    Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-5.0, 0.0, 5.0]])
    assert_close(act("softmax", Z), np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True), 1e-15, "softmax")
    np.testing.assert_allclose(act("softmax", Z).sum(axis=1), 1.0, rtol=1e-15)


def test_reference_derivatives_at_zero():
    """The conventions at z = 0, e.g. relu'(0) = 0 and leaky_relu'(0) = 0.01."""
    expected = {
        "identity": 1.0,
        "sigmoid": 0.25,
        "tanh": 1.0,
        "relu": 0.0,
        "leaky_relu": 0.01,
        "elu": 1.0,
        "softplus": 0.5,
        "gelu": 0.5,
    }
    assert set(expected) == set(ELEMENTWISE)
    z = np.zeros((1, 3))
    for name, value in expected.items():
        d = ref.activation_backward(name, np.ones_like(z), z, ref.activation_forward(name, z))
        np.testing.assert_array_equal(d, np.full_like(z, value), err_msg=name)


@pytest.mark.parametrize(
    "case", [c for c in ARCH_CASES if c.dtype is np.float32], ids=str
)
def test_reference_float32_stays_float32_and_close_to_float64(case: Case):
    rng = np.random.default_rng(case.seed)
    W, B = make_params(rng, case.sizes, np.float32)
    X, Y = make_data(rng, case)
    acts = list(case.activations)
    t32 = ref.backward(W, B, acts, case.loss, X, Y)
    Y64 = Y if case.targets == "labels" else Y.astype(np.float64)
    t64 = ref.backward(_as64(W), _as64(B), acts, case.loss, X.astype(np.float64), Y64)
    assert isinstance(t32.loss, float)
    assert_close(t32.loss, t64.loss, TOL[np.dtype(np.float32)], "loss")
    for name in ("S_in", "S_out", "deltas", "dW", "dB"):
        for i, (a, b) in enumerate(zip(getattr(t32, name), getattr(t64, name))):
            assert a.dtype == np.float32, f"{name}[{i}] is {a.dtype}"
            assert_close(a, b, TOL[np.dtype(np.float32)], f"{name}[{i}] float32 vs float64")


def test_reference_trace_shapes_and_equations():
    """Shapes, and the equations (1)-(3) restated on a trace."""
    rng = np.random.default_rng(42)
    sizes = (5, 4, 6, 3)
    acts = ["tanh", "relu", "softmax"]
    W, B = make_params(rng, sizes, np.float64)
    X = rng.normal(size=(8, 5))
    Y = rng.integers(0, 3, size=8)
    t = ref.backward(W, B, acts, "cross_entropy", X, Y)
    for i in range(3):
        assert t.S_in[i].shape == t.S_out[i].shape == t.deltas[i].shape == (8, sizes[i + 1])
        assert t.dW[i].shape == W[i].shape and t.dB[i].shape == B[i].shape
    S_out_prev = [X, t.S_out[0], t.S_out[1]]
    deriv = [1 - t.S_out[0] ** 2, (t.S_in[1] > 0).astype(float)]
    for i in range(3):
        assert_close(t.S_in[i], S_out_prev[i] @ W[i].T + B[i], 1e-15, f"S_in[{i}]")
        assert_close(t.dW[i], t.deltas[i].T @ S_out_prev[i], 1e-15, f"dW[{i}] (2)")
        assert_close(t.dB[i], t.deltas[i].sum(axis=0), 1e-15, f"dB[{i}] (3)")
    for i in range(2):
        assert_close(t.deltas[i], (t.deltas[i + 1] @ W[i + 1]) * deriv[i], 1e-15, f"deltas[{i}] (1)")
    assert_close(t.deltas[2], (t.S_out[2] - ref.one_hot(Y, 3)) / 8, 1e-15, "deltas[2]")
    # cost = mean over the batch of -log ŷ[label]
    assert_close(t.loss, -np.mean(np.log(t.S_out[2][np.arange(8), Y])), 1e-13, "loss")


def test_reference_losses_known_values():
    z = np.array([[0.0, 0.0], [1.0, -1.0]])
    y_hat = np.array([[0.5, 0.5], [0.25, 1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    # mse: mean of ½‖ŷ − y‖² = mean(½·0.5, ½·0.0625)
    assert ref.loss_forward("mse", z, y_hat, y) == pytest.approx((0.25 + 0.03125) / 2, rel=1e-15)
    # cross-entropy of softmax([0,0]) = log 2 and of softmax([1,-1]) vs label 1 = log(1+e²)
    s = ref.activation_forward("softmax", z)
    ce = ref.loss_forward("cross_entropy", z, s, np.array([0, 1]))
    assert ce == pytest.approx((np.log(2) + np.log1p(np.exp(2))) / 2, rel=1e-15)
    assert ref.loss_forward("cross_entropy", z, s, y) == pytest.approx(ce, rel=1e-15)
    # binary cross-entropy: Σ_k −[y log σ + (1−y) log(1−σ)], mean over the batch
    sig = 1 / (1 + np.exp(-z))
    bce = -(y * np.log(sig) + (1 - y) * np.log(1 - sig)).sum(axis=1).mean()
    assert ref.loss_forward("binary_cross_entropy", z, sig, y) == pytest.approx(bce, rel=1e-14)


def test_reference_one_hot_and_validation():
    np.testing.assert_array_equal(
        ref.one_hot(np.array([2, 0, 1]), 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    )
    assert ref.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError):
        ref.one_hot(np.array([3]), 3)
    rng = np.random.default_rng(0)
    W, B = make_params(rng, (2, 3, 2), np.float64)
    X = rng.normal(size=(4, 2))
    labels = np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match="last layer"):
        ref.forward(W, B, ["softmax", "softmax"], X)
    with pytest.raises(ValueError, match="softmax"):
        ref.backward(W, B, ["tanh", "sigmoid"], "cross_entropy", X, labels)
    with pytest.raises(ValueError, match="sigmoid"):
        ref.backward(W, B, ["tanh", "softmax"], "binary_cross_entropy", X, np.zeros((4, 2)))
    with pytest.raises(ValueError):
        ref.backward(W, B, ["tanh", "identity"], "mse", X, labels)  # labels: cross_entropy only
    with pytest.raises(ValueError):
        ref.forward(W, B, ["tanh"], X)  # one activation per layer
    with pytest.raises(ValueError):
        ref.forward(W, B, ["tanh", "nope"], X)
    assert ref.LOSSES == ("mse", "cross_entropy", "binary_cross_entropy", "poisson")
    assert ref.ACTIVATIONS == (
        "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "softmax", "exp"
    )


# ---------------------------------------------------------------------------
# Numerical robustness (reference and network)
# ---------------------------------------------------------------------------

# Logits with ±1e4: a naive exp overflows, a naive log(softmax) gives -inf.
BIG_LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, -1e4, 1e4]])
BIG_LABELS = np.array([1, 0, 2])
# -log softmax(z)[label] = lse(z) - z[label] = 1e4 - z[label] (exactly, in float32 too)
BIG_CE = float(np.mean([2e4, 2e4, 0.0]))
BIG_PROBS = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [0.0, 0.0, 1.0]])
BIG_CE_PROBS = float(np.mean(-np.sum(BIG_PROBS * (BIG_LOGITS - 1e4), axis=1)))  # (1e4 + 7500 + 0) / 3


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_softmax_cross_entropy_huge_logits(dtype):
    z = BIG_LOGITS.astype(dtype)
    with np.errstate(**STRICT):
        s = ref.activation_forward("softmax", z)
        np.testing.assert_array_equal(s, np.eye(3, dtype=dtype))
        loss = ref.loss_forward("cross_entropy", z, s, BIG_LABELS)
        loss_p = ref.loss_forward("cross_entropy", z, s, BIG_PROBS.astype(dtype))
        delta = ref.loss_backward("cross_entropy", "softmax", z, s, BIG_LABELS)
        delta_mse = ref.loss_backward("mse", "softmax", z, s, np.zeros_like(z))
    assert loss == pytest.approx(BIG_CE, rel=1e-6)
    assert loss_p == pytest.approx(BIG_CE_PROBS, rel=1e-6)
    assert_close(delta, (np.eye(3) - np.eye(3)[BIG_LABELS]) / 3, 1e-7, "deltas[L-1]")
    assert_all_finite([delta_mse], "mse softmax delta")


def _bce_exact(z, y) -> float:
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    return float(np.mean(np.sum(np.logaddexp(0.0, z) - y * z, axis=1)))


BIG_BCE_Z = np.array([[50.0, -50.0, 1e4, -1e4], [-50.0, 50.0, -1e4, 1e4], [30.0, -30.0, 1e3, -1e3]])
BIG_BCE_Y = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0], [0.5, 0.25, 1.0, 0.0]])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_binary_cross_entropy_huge_logits(dtype):
    z = BIG_BCE_Z.astype(dtype)
    y = BIG_BCE_Y.astype(dtype)
    with np.errstate(**STRICT):
        s = ref.activation_forward("sigmoid", z)
        loss = ref.loss_forward("binary_cross_entropy", z, s, y)
        delta = ref.loss_backward("binary_cross_entropy", "sigmoid", z, s, y)
    assert loss == pytest.approx(_bce_exact(BIG_BCE_Z, BIG_BCE_Y), rel=1e-6)
    sig = np.where(BIG_BCE_Z > 0, 1.0, 0.0)  # σ(±30 or more) to 1e-13
    assert_close(delta, (sig - BIG_BCE_Y) / 3, 1e-6, "deltas[L-1]")


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [a for a in ref.ACTIVATIONS if a != "exp"])  # e^x overflows by definition
def test_reference_activations_extreme_inputs(name, dtype):
    z = np.array([[-1e4, -800.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 800.0, 1e4]], dtype=dtype)
    with np.errstate(**STRICT):
        s = ref.activation_forward(name, z)
        d = ref.activation_backward(name, np.ones_like(z), z, s)
    assert s.dtype == dtype and d.dtype == dtype
    assert_all_finite([s, d], name)
    if name == "sigmoid":
        assert s[0, 0] == 0.0 and s[0, -1] == 1.0 and s[0, 5] == 0.5
        assert np.all(np.diff(s[0]) >= 0)
    if name == "softplus":
        assert s[0, -1] == 1e4 and s[0, 0] == 0.0 and s[0, -2] == 800.0
    if name == "softmax":
        np.testing.assert_array_equal(s[0], np.eye(z.shape[1], dtype=dtype)[-1])


def _single_layer_net(dtype, n_in, activation, loss, Z):
    """A 1-layer network whose pre-activations for X = I are exactly Z."""
    n_out = Z.shape[1]
    case = Case((n_in, n_out), (activation,), loss, "real", dtype, Z.shape[0], seed=0)
    W = [np.ascontiguousarray(Z.T).astype(dtype)]
    B = [np.zeros(n_out, dtype=dtype)]
    net = make_net(case, W, B)
    X = np.eye(Z.shape[0], n_in, dtype=dtype)
    return case, net, X


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_softmax_cross_entropy_huge_logits(dtype):
    case, net, X = _single_layer_net(dtype, 3, "softmax", "cross_entropy", BIG_LOGITS)
    tol = TOL[np.dtype(dtype)]
    for Y, exact in ((BIG_LABELS, BIG_CE), (BIG_PROBS.astype(dtype), BIG_CE_PROBS)):
        loss = net.backward(X, Y)
        assert np.isfinite(loss)
        assert loss == pytest.approx(exact, rel=tol)
        assert_all_finite(net.weight_grads, "weight_grads")
        assert_all_finite(net.bias_grads, "bias_grads")
        y = np.eye(3)[BIG_LABELS] if Y is BIG_LABELS else BIG_PROBS
        delta = (np.eye(3) - y) / 3  # softmax(BIG_LOGITS) is the identity matrix
        assert_close(net.weight_grads[0], delta.T @ np.eye(3), tol, "weight_grads[0]")
        assert_close(net.bias_grads[0], delta.sum(axis=0), tol, "bias_grads[0]")
        out = net.forward(X)
        assert_close(out, np.eye(3), tol, "forward output")


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_binary_cross_entropy_huge_logits(dtype):
    case, net, X = _single_layer_net(dtype, 3, "sigmoid", "binary_cross_entropy", BIG_BCE_Z)
    tol = TOL[np.dtype(dtype)]
    loss = net.backward(X, BIG_BCE_Y.astype(dtype))
    assert np.isfinite(loss)
    assert loss == pytest.approx(_bce_exact(BIG_BCE_Z, BIG_BCE_Y), rel=tol)
    sig = np.where(BIG_BCE_Z > 0, 1.0, 0.0)
    delta = (sig - BIG_BCE_Y) / 3
    assert_close(net.weight_grads[0], delta.T @ np.eye(3), 1e-6, "weight_grads[0]")
    assert_close(net.bias_grads[0], delta.sum(axis=0), 1e-6, "bias_grads[0]")
    out = net.forward(X)
    assert np.all((out >= 0) & (out <= 1))
    assert_close(out, sig, 1e-6, "forward output")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ELEMENTWISE)
def test_network_hidden_activation_huge_inputs(hidden, dtype):
    """Pre-activations up to ±1e4 in a hidden layer stay finite and agree
    with the reference (evaluated with overflow as an error)."""
    case = Case((2, 4, 2), (hidden, "identity"), "mse", "real", dtype, 3, seed=21)
    rng = np.random.default_rng(21)
    W, B = make_params(rng, case.sizes, dtype)
    W[0][...] = np.array([[1e4, -1e4], [-1e4, 1e4], [800.0, 1.0], [-100.0, -800.0]], dtype=dtype)
    B[1][...] = 0
    W[1] = (W[1] * 1e-3).astype(dtype)  # keep the outputs moderate
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.25]], dtype=dtype)
    Y = rng.normal(size=(3, 2)).astype(dtype)
    net = make_net(case, W, B)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(**STRICT):
            expected = reference_trace(net, case, X, Y)
    t = net.trace(X, Y)
    tol = TOL[np.dtype(dtype)]
    for name in ("S_in", "S_out", "deltas", "dW", "dB"):
        assert_all_finite(getattr(t, name), f"trace.{name}")
        for i in range(2):
            assert_close(getattr(t, name)[i], getattr(expected, name)[i], tol, f"{name}[{i}]")
    assert np.isfinite(t.loss)
    assert_close(t.loss, expected.loss, tol, "loss")


# ---------------------------------------------------------------------------
# Sample weights: Network.backward/trace(sample_weight=) against reference.backward(sample_weight=)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("loss, acts, labels", [
    ("mse", ["tanh", "identity"], False),
    ("cross_entropy", ["relu", "softmax"], True),
    ("binary_cross_entropy", ["gelu", "sigmoid"], False),
])
def test_weighted_backward_matches_reference(dtype, tol, loss, acts, labels):
    import swiftprop as sp

    rng = np.random.default_rng(17)
    n, sizes = 37, [5, 9, 4]
    net = sp.Network(sizes, acts, loss, dtype=dtype, seed=3)
    X = rng.normal(size=(n, 5)).astype(dtype)
    if labels:
        Y = rng.integers(0, 4, n)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n, 4)).astype(dtype)
    else:
        Y = rng.normal(size=(n, 4)).astype(dtype)
    w = rng.uniform(0, 2, n).astype(dtype)
    w[[3, 10]] = 0  # zero weights drop those samples
    cost = net.backward(X, Y, sample_weight=w)
    t = ref.backward([W.copy() for W in net.weights], [B.copy() for B in net.biases], acts, loss, X, Y,
                     sample_weight=w)
    assert_close(cost, t.loss, tol, "weighted cost")
    for i in range(len(acts)):
        assert_close(net.weight_grads[i], t.dW[i], tol, f"weighted dW[{i}]")
        assert_close(net.bias_grads[i], t.dB[i], tol, f"weighted dB[{i}]")
    tr = net.trace(X, Y, sample_weight=w)
    assert_close(tr.deltas[-1], t.deltas[-1], tol, "weighted deltas[-1]")
    assert_close(net.cost(X, Y, sample_weight=w), t.loss, tol, "weighted cost via cost()")
