"""Property-based fuzzing of every public entry point of swiftprop.

Each test draws a small network and arguments that are mostly valid, or broken in one way (dtype,
byte order, strides, alignment, writeability, shape, size, values, types), calls the entry point
through :func:`attempt`, and checks, for every call:

* the process survives (a crash would end the whole pytest run);
* the call either raises TypeError / ValueError / MemoryError / FloatingPointError / OverflowError
  with a non-empty message, or returns a correct result: forward, backward, cost, trace, fit and
  optimizer steps are compared with :mod:`swiftprop.reference` (plain NumPy) within tolerance;
* whether it raises is what the documented contract says: arguments the contract accepts must
  succeed, arguments it rejects must raise (see :func:`x_ok` and :func:`y_ok`);
* after a failed call the network's params and grads and the optimizer state (buffer, step count,
  hyper-parameters) are byte-identical to before.

Hypothesis runs with ``derandomize=True`` (the same examples on every run, no example database) and
no deadline. The calls are counted; :func:`test_zz_call_count` asserts at least 10 000 of them.
``SWIFTPROP_FUZZ_SCALE`` (default 1) scales every example count and that minimum, e.g. 0.05 for a
run under valgrind (scripts/sanitize.sh).

The last section holds regression tests of the defects this fuzzing found (see docs/reliability.md).

Run against the installed package, from the repository root (as scripts/test.sh does)::

    python -m pytest python/tests/test_fuzz.py -q
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import swiftprop as sp  # noqa: E402
from swiftprop import optim  # noqa: E402
from swiftprop import reference as ref  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning",
                                        "ignore::PendingDeprecationWarning")

#: What a rejected call may raise (OverflowError: absurd Python ints that fit no C integer).
ALLOWED = (TypeError, ValueError, MemoryError, FloatingPointError, OverflowError)
SCALE = float(os.environ.get("SWIFTPROP_FUZZ_SCALE", "1"))
MIN_CALLS = int(10_000 * SCALE)

CALLS = {"n": 0}
#: Fuzz tests that ran to completion in this session (the count is only checked after all of them).
COMPLETED: set[str] = set()
FUZZ_TESTS = {"test_fuzz_constructor", "test_fuzz_forward", "test_fuzz_loss_calls", "test_fuzz_fit",
              "test_fuzz_optimizers"}


def fuzz(max_examples: int):
    return settings(max_examples=max(1, round(max_examples * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def attempt(fn, *args, **kwargs):
    """Call fn; (True, result) or (False, exception) for an allowed exception with a message.
    Any other exception propagates and fails the test."""
    CALLS["n"] += 1
    try:
        return True, fn(*args, **kwargs)
    except ALLOWED as e:
        assert str(e).strip(), f"{type(e).__name__} without a message from {getattr(fn, '__name__', fn)}"
        return False, e


def snapshot(net, *opts) -> list:
    """Bytes of everything a failed call must leave as it was."""
    s = [net.params.tobytes(), net.grads.tobytes()]
    for o in opts:
        if o is not None:
            s += [o._opt.state.tobytes(), o.t, repr(o._describe())]
    return s


def tolerance(dtype) -> tuple[float, float]:
    return (1e-7, 1e-9) if np.dtype(dtype) == np.float64 else (2e-3, 2e-4)


def close(actual, expected, dtype, what: str) -> None:
    rtol, atol = tolerance(dtype)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol * scale,
                               err_msg=what)


# --------------------------------------------------------------------------------------------
# Networks and the contract of the inputs
# --------------------------------------------------------------------------------------------

HIDDEN = [a for a in sp.ACTIVATIONS if a not in ("softmax", "exp")]  # exp: poisson's output (e^x overflows)


@st.composite
def networks(draw, max_layers: int = 3, max_width: int = 6):
    loss = draw(st.sampled_from(sp.LOSSES))
    n_layers = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_width)) for _ in range(n_layers + 1)]
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(n_layers - 1)]
    acts.append({"mse": draw(st.sampled_from([a for a in sp.ACTIVATIONS if a != "exp"])),
                 "cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "poisson": "exp"}[loss])
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    ok, net = attempt(sp.Network, sizes, acts, loss, dtype=dtype, seed=seed)
    assert ok, net
    if draw(st.booleans()):  # non-zero biases, larger weights: every code path of the activations
        net.params[...] = np.random.default_rng(seed).uniform(-1.5, 1.5, net.n_params)
    return net


def _layout(net, A):
    """The input policy's re-layout: a float array of the network's precision is copied once into C order
    (aligned, native); a broadcast view is refused (None); other dtypes are left for the extension."""
    if A.dtype.kind != "f" or A.dtype.itemsize != np.dtype(net.dtype).itemsize:
        return A
    if A.size > 1 and any(st == 0 and n > 1 for n, st in zip(A.shape, A.strides)):
        return None
    return np.require(A, net.dtype, ["C_CONTIGUOUS", "ALIGNED"])


def as_input(net, X):
    """What the input policy makes of X (None if it raises)."""
    if isinstance(X, np.ndarray):
        return _layout(net, X)
    try:
        return np.asarray(X, dtype=net.dtype)
    except (TypeError, ValueError, OverflowError):
        return None


def x_ok(net, X) -> bool:
    """The documented contract of X: an ndarray of shape (n >= 1, sizes[0]) with the network's dtype,
    native byte order, C-contiguous, aligned and finite; or a sequence that converts to one."""
    A = as_input(net, X)
    return (A is not None and A.dtype == net.dtype and A.dtype.isnative and A.ndim == 2 and A.shape[0] >= 1
            and A.shape[1] == net.sizes[0] and A.flags.c_contiguous and A.flags.aligned
            and bool(np.isfinite(A).all()))


def as_target(net, Y):
    """What Network._target makes of Y before the extension sees it (None if it raises)."""
    labels = net.loss == "cross_entropy"
    if not isinstance(Y, np.ndarray):
        try:
            Y = np.asarray(Y)
            if not (labels and Y.ndim == 1 and np.issubdtype(Y.dtype, np.integer)):
                Y = np.asarray(Y.tolist(), dtype=net.dtype)
        except (TypeError, ValueError, OverflowError):
            return None
    if Y.ndim == 1 and labels:  # 1-D targets are labels for cross_entropy, even with one output
        return Y
    if Y.ndim == 1 and net.sizes[-1] == 1:
        Y = Y.reshape(-1, 1)
    return _layout(net, Y)


def y_ok(net, Y, n: int) -> bool:
    """Targets the contract accepts: int labels in [0, n_out) of shape (n,) (cross_entropy, any int
    dtype and layout), or (n, n_out) rows ((n,) for one output) of the network's dtype, native,
    C-contiguous, aligned, finite, in [0, 1] (binary_cross_entropy) or probability rows (cross_entropy)."""
    A = as_target(net, Y)
    if A is None:
        return False
    n_out = net.sizes[-1]
    if A.ndim == 1:  # Network._target converts labels of any integer dtype and layout
        return (net.loss == "cross_entropy" and np.issubdtype(A.dtype, np.integer) and A.shape == (n,)
                and (A.size == 0 or (int(A.min()) >= 0 and int(A.max()) < n_out)))
    if not (A.ndim == 2 and A.shape == (n, n_out) and A.dtype == net.dtype and A.dtype.isnative
            and A.flags.c_contiguous and A.flags.aligned and np.isfinite(A).all()):
        return False
    if net.loss == "binary_cross_entropy":
        return bool(A.min() >= 0 and A.max() <= 1)
    if net.loss == "poisson":
        return bool(A.min() >= 0)
    if net.loss == "cross_entropy":
        tol = math.sqrt(np.finfo(net.dtype).eps) * max(1, n_out)
        return bool(A.min() >= 0 and np.abs(A.sum(axis=1) - 1).max() <= tol)
    return True


# --------------------------------------------------------------------------------------------
# Array variants
# --------------------------------------------------------------------------------------------

#: Variants that keep the values of the base array (in another dtype, layout or container); whether
#: they are accepted depends on the dtype and shape (e.g. Fortran order of one row is C order), which
#: x_ok / y_ok decide from the array itself.
SAME_VALUES = ["valid", "valid", "valid", "valid", "list", "tuple", "readonly", "fortran", "negstride_rows",
               "negstride_cols", "noncontig_rows", "noncontig_cols", "unaligned", "byteswap", "float16",
               "float32", "float64", "int64", "complex", "object", "subclass"]
#: Variants with other values or shapes.
OTHER = ["broadcast_rows", "nan", "inf", "neginf", "huge_value", "subnormal", "bool", "int32", "uint8",
         "empty_rows", "empty_cols", "extra_col", "one_d", "three_d", "scalar", "transposed",
         "huge_broadcast", "huge_broadcast_cols", "none", "string", "ragged", "str_array", "structured",
         "datetime", "complex_list", "huge_int_list"]
KINDS = SAME_VALUES + OTHER
#: Variants the contract accepts whatever the shape (with finite values).
ACCEPTED = ["valid"] * 4 + ["list", "tuple", "readonly", "subclass"]
#: Variants whose accepted values are too extreme to compare with the reference (overflow, or
#: subnormal pre-activations at the kink of relu).
EXTREME = {"huge_value", "subnormal", "huge_int_list"}


class Sub(np.ndarray):
    """An ndarray subclass (views of it are still ndarrays to the C-API)."""


def variant(kind: str, base: np.ndarray, dtype, rng: np.random.Generator):
    """base (float64, C order) turned into the variant `kind`, of `dtype` where it keeps one."""
    dtype = np.dtype(dtype)
    a = np.array(base, dtype=dtype)
    if kind == "valid":
        return a
    if kind == "list":
        return base.tolist()
    if kind == "tuple":
        return tuple(tuple(r) for r in base.tolist()) if base.ndim == 2 else tuple(base.tolist())
    if kind == "readonly":
        a.flags.writeable = False
        return a
    if kind == "fortran":
        return np.asfortranarray(a)
    if kind == "negstride_rows":
        return np.array(a[::-1])[::-1]
    if kind == "negstride_cols":
        return np.array(a[..., ::-1])[..., ::-1] if a.ndim else a
    if kind == "noncontig_rows":
        big = np.zeros((2 * a.shape[0],) + a.shape[1:], dtype) if a.ndim else a
        if a.ndim:
            big[::2] = a
            return big[::2]
        return a
    if kind == "noncontig_cols":
        if a.ndim < 2:
            return a
        big = np.zeros((a.shape[0], 2 * a.shape[1]), dtype)
        big[:, ::2] = a
        return big[:, ::2]
    if kind == "unaligned":
        buf = np.zeros(a.nbytes + 1, np.uint8)
        u = np.ndarray(a.shape, dtype, buffer=buf, offset=1)
        u[...] = a
        return u
    if kind == "byteswap":
        return a.astype(dtype.newbyteorder())
    if kind in ("float16", "float32", "float64", "int64", "int32", "uint8"):
        return base.astype(kind)
    if kind == "bool":
        return base > 0
    if kind == "complex":
        return base.astype(np.complex128)
    if kind == "object":
        return base.astype(object)
    if kind == "subclass":
        return a.view(Sub)
    if kind == "broadcast_rows":
        return np.broadcast_to(a[:1], a.shape) if a.ndim else a
    if kind in ("nan", "inf", "neginf", "huge_value"):
        value = {"nan": np.nan, "inf": np.inf, "neginf": -np.inf, "huge_value": np.finfo(dtype).max
                 if dtype.kind == "f" else 1e300}[kind]
        if a.size:
            a.flat[rng.integers(a.size)] = value
        return a
    if kind == "subnormal":
        return a * np.asarray(np.finfo(dtype).tiny / 4 if dtype.kind == "f" else 0, dtype=dtype)
    if kind == "empty_rows":
        return np.zeros((0,) + a.shape[1:], dtype)
    if kind == "empty_cols":
        return np.zeros(a.shape[:1] + (0,), dtype)
    if kind == "extra_col":
        return np.zeros(a.shape[:1] + ((a.shape[1] + 1),) if a.ndim == 2 else (a.shape[0] + 1,), dtype)
    if kind == "one_d":
        return np.array(a.reshape(-1))
    if kind == "three_d":
        return a[None]
    if kind == "scalar":
        return np.asarray(1.0, dtype) if rng.integers(2) else 1.0
    if kind == "transposed":
        return np.array(a.T)
    if kind == "huge_broadcast":  # 2**40 rows, 0-stride: never read (non-contiguous)
        return np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * max(a.ndim, 1)),
                               (2**40,) + a.shape[1:] if a.ndim == 2 else (2**40,))
    if kind == "huge_broadcast_cols":  # 2**40 columns
        return np.broadcast_to(np.zeros((1, 1), dtype), (a.shape[0] if a.ndim else 1, 2**40))
    if kind == "none":
        return None
    if kind == "string":
        return "not an array"
    if kind == "ragged":
        return [[1.0], [1.0, 2.0]]
    if kind == "str_array":
        return base.astype(str)
    if kind == "structured":
        return np.zeros(a.shape, dtype=[("v", dtype)])
    if kind == "datetime":
        return np.zeros(a.shape, dtype="datetime64[s]")
    if kind == "complex_list":
        return (base + 1j).tolist()
    if kind == "huge_int_list":
        return [[10**400] * (a.shape[1] if a.ndim == 2 else 1)]
    raise AssertionError(kind)


LABEL_KINDS = ["valid", "valid", "valid", "list", "int8", "int16", "int32", "uint8", "uint64", "byteswap",
               "noncontig", "negstride", "readonly", "unaligned", "too_big", "negative", "int64_max",
               "uint64_max", "float", "bool", "object", "two_d", "wrong_length", "empty", "nan_list"]
#: Integer labels of any dtype and layout are converted by Network._target.
ACCEPTED_LABELS = LABEL_KINDS[:LABEL_KINDS.index("too_big")]


def label_variant(kind: str, labels: np.ndarray, n_out: int, rng: np.random.Generator):
    a = labels.astype(np.int64)
    if kind == "valid":
        return a
    if kind == "list":
        return a.tolist()
    if kind in ("int8", "int16", "int32", "uint8", "uint64"):
        return a.astype(kind)
    if kind == "byteswap":
        return a.astype(np.dtype(np.int64).newbyteorder())
    if kind == "noncontig":
        big = np.zeros(2 * len(a), np.int64)
        big[::2] = a
        return big[::2]
    if kind == "negstride":
        return np.array(a[::-1])[::-1]
    if kind == "readonly":
        a.flags.writeable = False
        return a
    if kind == "unaligned":
        buf = np.zeros(a.nbytes + 3, np.uint8)
        u = np.ndarray(a.shape, np.int64, buffer=buf, offset=3)
        u[...] = a
        return u
    if kind in ("too_big", "negative", "int64_max", "uint64_max"):
        b = a.astype(np.uint64 if kind == "uint64_max" else np.int64)
        b[rng.integers(len(b))] = {"too_big": n_out, "negative": -1, "int64_max": np.iinfo(np.int64).max,
                                   "uint64_max": np.iinfo(np.uint64).max}[kind]
        return b
    if kind == "float":
        return a.astype(np.float64)
    if kind == "bool":
        return a > 0
    if kind == "object":
        return a.astype(object)
    if kind == "two_d":
        return a[:, None]
    if kind == "wrong_length":
        return np.concatenate([a, a[:1]])
    if kind == "empty":
        return a[:0]
    if kind == "nan_list":
        return [float("nan")] * len(a)
    raise AssertionError(kind)


def target_base(net, n: int, rng: np.random.Generator) -> np.ndarray:
    """Valid dense targets, float64."""
    n_out = net.sizes[-1]
    if net.loss == "mse":
        return rng.uniform(-2, 2, (n, n_out))
    if net.loss == "binary_cross_entropy":
        Y = rng.uniform(0, 1, (n, n_out))
        return np.where(rng.random((n, n_out)) < 0.3, np.round(Y), Y)
    return rng.dirichlet(np.ones(n_out), size=n)


@st.composite
def batch(draw, net, max_rows: int = 9, broken=None):
    """(X, Y, x_kind, y_kind, moderate): X and Y from one variant each; moderate when the values
    are not extreme (a success can be checked against the reference). `broken` ("none", "x", "y" or
    "both"; drawn if None) says which of them may be any variant; the others are accepted ones."""
    if broken is None:
        broken = draw(st.sampled_from(["none"] * 3 + ["x"] * 2 + ["y"] * 2 + ["both"]))
    n = draw(st.integers(1, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x_kind = draw(st.sampled_from(KINDS if broken in ("x", "both") else ACCEPTED))
    any_y = broken in ("y", "both")
    X = variant(x_kind, rng.uniform(-3, 3, (n, net.sizes[0])), net.dtype, rng)
    moderate = x_kind not in EXTREME
    if net.loss == "cross_entropy" and draw(st.booleans()):
        y_kind = "labels:" + draw(st.sampled_from(LABEL_KINDS if any_y else ACCEPTED_LABELS))
        Y = label_variant(y_kind[7:], rng.integers(0, net.sizes[-1], n), net.sizes[-1], rng)
    else:
        y_kind = draw(st.sampled_from(KINDS + ["out_of_range"] * 2 + ["one_d_single"] * 2 if any_y
                                      else ACCEPTED + (["one_d_single"] if net.sizes[-1] == 1 else [])))
        base = target_base(net, n, rng)
        if y_kind == "out_of_range":
            Y = np.array(base, dtype=net.dtype)
            Y.flat[rng.integers(Y.size)] = rng.choice([-0.5, 1.5, 7.0])
        elif y_kind == "one_d_single":  # (n,) targets: valid for a single output
            Y = np.array(base[:, 0], dtype=net.dtype)
        else:
            Y = variant(y_kind, base, net.dtype, rng)
            moderate = moderate and y_kind not in EXTREME
    return X, Y, x_kind, y_kind, moderate


def ref_params(net):
    ws, bs = net._split(net.params.astype(np.float64))
    return list(ws), list(bs)


def ref_target(net, Y):
    A = as_target(net, Y)
    return A.astype(np.int64) if A.ndim == 1 else np.asarray(A, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Constructor
# --------------------------------------------------------------------------------------------

HUGE_SIZES = [2**31, 2**32, 2**40, 2**62, 2**63 - 1, 2**63, 2**64, 2**70, 10**30]
BAD_SIZES = [0, -1, -(2**63), -(2**70), 1.0, 2.5, float("nan"), "3", None, True, False, np.float64(3), [3],
             np.bool_(True)]


@st.composite
def size_entry(draw):
    branch = draw(st.sampled_from(["small"] * 8 + ["numpy"] * 2 + ["huge", "bad"]))
    if branch == "small":
        return draw(st.integers(1, 8))
    if branch == "numpy":
        return draw(st.sampled_from([np.int8, np.int32, np.int64, np.uint16, np.uint64]))(draw(st.integers(1, 8)))
    if branch == "huge":
        return draw(st.sampled_from(HUGE_SIZES))
    return draw(st.sampled_from(BAD_SIZES))


@st.composite
def sizes_arg(draw):
    entries = draw(st.lists(size_entry(), min_size=0, max_size=5))
    container = draw(st.sampled_from(["list"] * 6 + ["tuple", "array", "generator", "int", "none", "string"]))
    if container == "tuple":
        return tuple(entries)
    if container == "array":
        try:
            return np.array(entries)
        except (ValueError, OverflowError, TypeError):
            return entries
    if container == "generator":
        return (e for e in entries)
    if container == "int":
        return 3
    if container == "none":
        return None
    if container == "string":
        return "34"
    return entries


def sizes_ok(sizes) -> tuple[bool, bool]:
    """(valid, small): the contract of sizes, and whether the network fits in memory."""
    try:
        s = list(sizes)
    except TypeError:
        return False, False
    if len(s) < 2:
        return False, False
    for v in s:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            return False, False
    return True, all(int(v) <= 8 for v in s)


@st.composite
def activations_arg(draw, n_layers: int):
    kind = draw(st.sampled_from(["one"] * 3 + ["list"] * 3 + ["alias", "bad_name", "bad_type", "none",
                                                           "wrong_count", "hidden_softmax", "int_list"]))
    names = list(sp.ACTIVATIONS) + ["logistic", "linear"]
    if kind == "one":
        return draw(st.sampled_from([a for a in names if a != "softmax"]))
    if kind == "list":
        return [draw(st.sampled_from(names)) for _ in range(max(n_layers, 0))]
    if kind == "alias":
        return draw(st.sampled_from(["logistic", "linear"]))
    if kind == "bad_name":
        return draw(st.sampled_from(["", "ReLU", "swish", "softmax ", "relu\0"]))
    if kind == "bad_type":
        return draw(st.sampled_from([3, 1.5, b"relu", {"relu": 1}, object()]))
    if kind == "none":
        return None
    if kind == "wrong_count":
        return ["relu"] * (max(n_layers, 0) + draw(st.sampled_from([-1, 1, 5])))
    if kind == "hidden_softmax":
        return ["softmax"] * max(n_layers, 2)
    return [0] * max(n_layers, 0)


def activations_ok(acts, n_layers: int, loss) -> bool:
    alias = {"logistic": "sigmoid", "linear": "identity"}
    if isinstance(acts, str):
        a = alias.get(acts, acts)
        return a in sp.ACTIVATIONS and (a != "softmax" or n_layers == 1)  # the output layer follows loss
    if not isinstance(acts, (list, tuple)) or len(acts) != n_layers:
        return False
    if not all(isinstance(a, str) and alias.get(a, a) in sp.ACTIVATIONS for a in acts):
        return False
    acts = [alias.get(a, a) for a in acts]
    if "softmax" in acts[:-1]:
        return False
    want = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss)
    return want is None or acts[-1] == want


DTYPES_OK = [np.float32, np.float64, "float32", "f8", np.dtype("float64"), float]
DTYPES_BAD = [np.float16, np.longdouble, np.int64, np.int32, np.bool_, np.complex128, object, None, "foo",
              np.dtype(">f8"), np.dtype(">f4"), "U3", [("a", "f8")], 3]


@fuzz(1200)
@given(sizes=sizes_arg(), data=st.data())
@example(sizes=[2**40, 2**40], data=None)
@example(sizes=[2**31 - 1, 2**31 - 1], data=None)
@example(sizes=[2**20, 2**20], data=None)
@example(sizes=[4, 2**63 - 1, 3], data=None)
@example(sizes=[2**70, 2], data=None)
def _fuzz_constructor(sizes, data):
    if data is None:  # explicit huge examples: valid types, absurd sizes
        ok, err = attempt(sp.Network, sizes)
        assert not ok and isinstance(err, (MemoryError, ValueError, OverflowError)), err
        return
    sizes_for_check = sizes
    if isinstance(sizes, type(x for x in ())):  # consumed once: materialise it, pass on an iterator
        sizes_for_check = list(sizes)
        sizes = iter(sizes_for_check)
    valid, small = sizes_ok(sizes_for_check)
    try:
        n_layers = len(list(sizes_for_check)) - 1
    except TypeError:
        n_layers = 1
    acts = data.draw(activations_arg(n_layers))
    loss = data.draw(st.sampled_from(list(sp.LOSSES) * 3 + ["MSE", "", None, 1, "hinge"]))
    dtype = data.draw(st.sampled_from(DTYPES_OK * 2 + DTYPES_BAD))
    seed = data.draw(st.sampled_from([None, 0, 1, 2**64 - 1, np.random.default_rng(1), -1, 1.5, "x"]))
    ok, net = attempt(sp.Network, sizes, acts, loss, dtype=dtype, seed=seed)
    loss_ok = isinstance(loss, str) and loss in sp.LOSSES
    dtype_ok = any(dtype is d for d in DTYPES_OK)
    seed_ok = seed is None or isinstance(seed, np.random.Generator) or (isinstance(seed, int) and seed >= 0)
    contract = valid and loss_ok and dtype_ok and seed_ok and activations_ok(acts, n_layers, loss)
    if contract and small:
        assert ok, f"valid arguments rejected: {net!r}"
    elif contract:
        assert not ok and isinstance(net, (MemoryError, ValueError, OverflowError)), net
    else:
        assert not ok, f"invalid arguments accepted: sizes={sizes_for_check!r} acts={acts!r} loss={loss!r} dtype={dtype!r}"
    if ok:
        sz = [int(v) for v in sizes_for_check]
        assert net.sizes == tuple(sz)
        assert net.n_params == sum(sz[i] * sz[i + 1] + sz[i + 1] for i in range(len(sz) - 1))
        assert np.isfinite(net.params).all() and not net.grads.any()
        assert all(not b.any() for b in net.biases)
        assert [w.shape for w in net.weights] == [(sz[i + 1], sz[i]) for i in range(len(sz) - 1)]


# --------------------------------------------------------------------------------------------
# forward
# --------------------------------------------------------------------------------------------

OUT_KINDS = ["none", "none", "valid", "valid", "float32", "float64", "readonly", "fortran", "noncontig",
             "unaligned", "byteswap", "wrong_rows", "wrong_cols", "one_d", "list", "alias_x", "alias_params",
             "alias_grads", "broadcast", "int64"]


def out_variant(kind, net, X, n: int, rng):
    """An `out` argument and whether the contract accepts it (None: depends on X)."""
    n_out, dt = net.sizes[-1], net.dtype
    if kind == "none":
        return None, True
    if kind == "valid":
        return np.full((n, n_out), np.nan, dt), True
    if kind in ("float32", "float64", "int64"):
        return np.zeros((n, n_out), kind), np.dtype(kind) == dt
    if kind == "readonly":
        a = np.zeros((n, n_out), dt)
        a.flags.writeable = False
        return a, False
    if kind == "fortran":
        a = np.zeros((n, n_out), dt, order="F")
        return a, bool(a.flags.c_contiguous)
    if kind == "noncontig":
        a = np.zeros((n, 2 * n_out), dt)[:, ::2]
        return a, bool(a.flags.c_contiguous)
    if kind == "unaligned":
        buf = np.zeros(n * n_out * dt.itemsize + 1, np.uint8)
        return np.ndarray((n, n_out), dt, buffer=buf, offset=1), False
    if kind == "byteswap":
        return np.zeros((n, n_out), dt.newbyteorder()), False
    if kind == "wrong_rows":
        return np.zeros((n + 1, n_out), dt), False
    if kind == "wrong_cols":
        return np.zeros((n, n_out + 1), dt), False
    if kind == "one_d":
        return np.zeros(n * n_out, dt), False
    if kind == "list":
        return [[0.0] * n_out] * n, False
    if kind == "alias_x":
        return (X if isinstance(X, np.ndarray) else np.zeros((n, n_out), dt)), not isinstance(X, np.ndarray)
    if kind in ("alias_params", "alias_grads"):
        buf = net.params if kind == "alias_params" else net.grads
        if buf.size >= n * n_out:
            return buf[: n * n_out].reshape(n, n_out), False
        return np.zeros((n, n_out), dt), True
    if kind == "broadcast":
        a = np.broadcast_to(np.zeros((1, n_out), dt), (n, n_out))
        return a, False
    raise AssertionError(kind)


@fuzz(900)
@given(net=networks(), data=st.data())
def _fuzz_forward(net, data):
    for _ in range(data.draw(st.integers(1, 3))):
        X, _, x_kind, _, moderate = data.draw(batch(net))
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        A = as_input(net, X)
        valid = x_ok(net, X)
        n = A.shape[0] if A is not None and A.ndim >= 1 and A.shape[0] <= 1000 else 1
        before = snapshot(net)
        ok, out = attempt(net.forward, X)
        assert ok == valid, f"forward(X of kind {x_kind}): {'accepted' if ok else out!r}"
        assert snapshot(net) == before
        if ok:
            assert out.shape == (n, net.sizes[-1]) and out.dtype == net.dtype and out.flags.c_contiguous
            if moderate:
                ws, bs = ref_params(net)
                expected = ref.forward(ws, bs, net.activations, np.asarray(A, dtype=np.float64))[1][-1]
                close(out, expected, net.dtype, f"forward, X kind {x_kind}")
        # with out=
        out_kind = data.draw(st.sampled_from(OUT_KINDS))
        out_arg, out_valid = out_variant(out_kind, net, X, n, rng)
        # (out aliasing a huge broadcast X views 2**40 rows of one value: not copied, it is read-only)
        keep = out_arg.copy() if isinstance(out_arg, np.ndarray) and out_arg.nbytes <= 1 << 28 else None
        ok2, res = attempt(net.forward, X, out=out_arg)
        assert snapshot(net) == before
        assert ok2 == (valid and out_valid), f"forward(X {x_kind}, out {out_kind}): {'accepted' if ok2 else res!r}"
        if ok2:
            if out_arg is not None:
                assert res is out_arg
            if ok:
                assert np.array_equal(res, out, equal_nan=True), "forward(out=) differs from forward()"
        elif keep is not None and out_kind not in ("alias_params", "alias_grads"):
            assert np.array_equal(out_arg, keep, equal_nan=True), "a rejected out= was written"


# --------------------------------------------------------------------------------------------
# backward, cost, trace, score
# --------------------------------------------------------------------------------------------

@fuzz(650)
@given(net=networks(), data=st.data())
def _fuzz_loss_calls(net, data):
    for _ in range(data.draw(st.integers(1, 2))):
        X, Y, x_kind, y_kind, moderate = data.draw(batch(net))
        A = as_input(net, X)
        valid_x = x_ok(net, X)
        valid = valid_x and y_ok(net, Y, A.shape[0])
        ws, bs = ref_params(net)
        expected = None
        if valid and moderate:
            expected = ref.backward(ws, bs, net.activations, net.loss, np.asarray(A, np.float64), ref_target(net, Y))
        what = f"X {x_kind}, Y {y_kind}"

        before = snapshot(net)
        ok, cost = attempt(net.cost, X, Y)
        assert snapshot(net) == before, f"cost({what}) changed the network"
        assert ok == valid, f"cost({what}): {'accepted' if ok else cost!r}"
        if ok and expected is not None:
            close(cost, expected.loss, net.dtype, f"cost {what}")

        ok, loss = attempt(net.backward, X, Y)
        assert ok == valid, f"backward({what}): {'accepted' if ok else loss!r}"
        if not ok:
            assert snapshot(net) == before, f"failed backward({what}) changed the network"
        else:
            assert snapshot(net)[0] == before[0], "backward changed the parameters"
            if expected is not None:
                close(loss, expected.loss, net.dtype, f"backward loss {what}")
                for i in range(net.n_layers):
                    close(net.weight_grads[i], expected.dW[i], net.dtype, f"dW[{i}] {what}")
                    close(net.bias_grads[i], expected.dB[i], net.dtype, f"dB[{i}] {what}")

        before = snapshot(net)
        ok, tr = attempt(net.trace, X, Y)
        assert ok == valid, f"trace({what}): {'accepted' if ok else tr!r}"
        if not ok:
            assert snapshot(net) == before, f"failed trace({what}) changed the network"
        elif expected is not None:
            close(tr.loss, expected.loss, net.dtype, "trace loss")
            for name in ("S_in", "S_out", "deltas", "dW", "dB"):
                got, want = getattr(tr, name), getattr(expected, name)
                assert len(got) == net.n_layers
                for i in range(net.n_layers):
                    close(got[i], want[i], net.dtype, f"trace {name}[{i}] {what}")

        before = snapshot(net)
        ok, score = attempt(net.score, X, Y)
        assert snapshot(net) == before
        if valid:
            assert ok, score
        if ok and net.loss not in ("mse", "poisson"):  # accuracies; R² may be negative
            assert 0.0 <= score <= 1.0


# --------------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------------

BAD_FLOATS = [-1.0, float("nan"), float("inf"), float("-inf"), "0.1", None, True, [0.1], 2**2000, 1j]


@st.composite
def hyper(draw, good, bad=BAD_FLOATS):
    return draw(good) if draw(st.integers(0, 9)) else draw(st.sampled_from(bad))


def number_ok(v, low, high, low_open=False, high_open=False) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return False
    try:
        f = float(v)
    except OverflowError:
        return False
    if not math.isfinite(f):
        return False
    return (f > low if low_open else f >= low) and (f < high if high_open else f <= high)


@st.composite
def optimizer_spec(draw):
    """(class, kwargs, valid)."""
    cls = draw(st.sampled_from([optim.SGD, optim.Adam, optim.AdamW]))
    kw = {}
    if draw(st.integers(0, 4)):
        kw["lr"] = draw(hyper(st.floats(1e-4, 0.3)))
    if cls is optim.SGD:
        if draw(st.booleans()):
            kw["momentum"] = draw(hyper(st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0, 0.99),
                                        BAD_FLOATS + [1.0, 1.5]))
        if draw(st.booleans()):
            kw["nesterov"] = draw(st.sampled_from([True, False, np.bool_(True), 1, "yes", None]))
        if draw(st.booleans()):
            kw["weight_decay"] = draw(hyper(st.floats(0, 0.1)))
        m = kw.get("momentum", 0.0)
        nest = kw.get("nesterov", False)
        valid = (number_ok(kw.get("lr", 0.01), 0, math.inf, low_open=True) and number_ok(m, 0, 1, high_open=True)
                 and isinstance(nest, (bool, np.bool_)) and not (nest and number_ok(m, 0, 1) and float(m) == 0)
                 and number_ok(kw.get("weight_decay", 0.0), 0, math.inf))
        return cls, kw, valid
    if draw(st.booleans()):
        kw["betas"] = draw(st.sampled_from(["pair"] * 6 + ["bad1", "bad2", "scalar", "triple", "none"]))
        b = kw["betas"]
        kw["betas"] = {"pair": (draw(st.floats(0, 0.99)), draw(st.floats(0.5, 0.9999))), "bad1": (1.0, 0.999),
                       "bad2": (0.9, float("nan")), "scalar": 0.9, "triple": (0.9, 0.99, 0.999), "none": None}[b]
    if draw(st.booleans()):
        kw["eps"] = draw(hyper(st.floats(1e-8, 1e-3), BAD_FLOATS + [0.0]))
    if draw(st.booleans()):
        kw["weight_decay"] = draw(hyper(st.floats(0, 0.1)))
    betas = kw.get("betas", (0.9, 0.999))
    betas_ok = (isinstance(betas, tuple) and len(betas) == 2
                and all(number_ok(b, 0, 1, high_open=True) for b in betas))
    valid = (number_ok(kw.get("lr", 0.001), 0, math.inf, low_open=True) and betas_ok
             and number_ok(kw.get("eps", 1e-8), 0, math.inf, low_open=True)
             and number_ok(kw.get("weight_decay", 0.01), 0, math.inf))
    return cls, kw, valid


def reference_step(opt, P, S, t, g):
    """One step of opt's rule on float64 copies P (params) and S (state), in place."""
    n = P.size
    # the Swift optimizer holds its hyper-parameters in the network's dtype
    h = (lambda v: float(np.float32(v))) if opt.network.dtype == np.float32 else float
    if isinstance(opt, optim.SGD):
        ref.sgd_step(P, g, S, h(opt.lr), h(opt.momentum), opt.nesterov, h(opt.weight_decay))
    else:
        ref.adam_step(P, g, S[:n], S[n:], t, h(opt.lr), h(opt.betas[0]), h(opt.betas[1]), h(opt.eps),
                      h(opt.weight_decay), decoupled=isinstance(opt, optim.AdamW))


@fuzz(650)
@given(net=networks(), spec=optimizer_spec(), data=st.data())
def _fuzz_optimizers(net, spec, data):
    cls, kw, valid = spec
    ok, opt = attempt(cls, net, **kw)
    assert ok == valid, f"{cls.__name__}({kw}): {'accepted' if ok else opt!r}"
    if not ok:
        ok2, err = attempt(cls, "not a network", **kw)
        assert not ok2
        return
    assert opt.t == 0 and not opt._opt.state.any() and opt.network is net
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 6))
    X = rng.uniform(-2, 2, (n, net.sizes[0])).astype(net.dtype)
    Y = np.ascontiguousarray(target_base(net, n, rng), dtype=net.dtype)
    for _ in range(data.draw(st.integers(1, 3))):
        ok, _ = attempt(net.backward, X, Y)
        assert ok
        P = net.params.astype(np.float64)
        S = opt._opt.state.astype(np.float64)
        g = net.grads.astype(np.float64)
        t = opt.t + 1
        ok, _ = attempt(opt.step)
        assert ok and opt.t == t
        reference_step(opt, P, S, t, g)
        close(net.params, P, net.dtype, f"{opt!r} step params")
        close(opt._opt.state, S, net.dtype, f"{opt!r} step state")
        # error paths: step with arguments, bad learning rates
        before = snapshot(net, opt)
        ok, _ = attempt(opt.step, 1)
        assert not ok and snapshot(net, opt) == before
        new_lr = data.draw(hyper(st.floats(1e-4, 0.3), BAD_FLOATS + [0.0]))
        lr_before = opt.lr
        ok, _ = attempt(setattr, opt, "lr", new_lr)
        assert ok == number_ok(new_lr, 0, math.inf, low_open=True), f"lr = {new_lr!r}"
        if ok:
            assert opt.lr == float(new_lr)
        else:
            assert opt.lr == lr_before and snapshot(net, opt) == before
    opt.reset()
    assert opt.t == 0 and not opt._opt.state.any()


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------

def reference_fit(net, opt, X, Y, order, batch_size, alpha, sample_weight):
    """One epoch by swiftprop.reference, samples in `order`: (params, state, loss, steps)."""
    P = net.params.astype(np.float64)
    S = opt._opt.state.astype(np.float64)
    ws, bs = net._split(P)
    t = [opt.t]

    def step_fn(params, grads):
        t[0] += 1
        reference_step(opt, P, S, t[0], np.concatenate([np.ravel(g) for g in grads]))

    loss = ref.train_epoch(list(ws), list(bs), net.activations, net.loss, X, Y, order, batch_size, step_fn,
                           alpha=alpha, sample_weight=sample_weight)
    return P, S, loss, t[0]


@fuzz(700)
@given(net=networks(max_layers=2), spec=optimizer_spec(), data=st.data())
def _fuzz_fit(net, spec, data):
    cls, kw, opt_valid = spec
    ok, opt = attempt(cls, net, **kw)
    assert ok == opt_valid
    if not ok:
        opt = None
    broken = data.draw(st.sampled_from(["nothing"] * 5 + ["data", "epochs", "batch_size", "alpha", "sample_weight",
                                                          "optimizer", "diverge"]))

    def choose(name, valid_choices, all_choices):
        return data.draw(st.sampled_from(all_choices if broken == name else valid_choices))

    X, Y, x_kind, y_kind, moderate = data.draw(batch(net, max_rows=12, broken=None if broken == "data" else "none"))
    if broken == "diverge" and isinstance(X, np.ndarray):  # finite inputs whose squares overflow
        X = X * np.asarray(1e200 if net.dtype == np.float64 else 1e30, dtype=net.dtype)
        x_kind, moderate = "diverging", False
    A = as_input(net, X)
    valid = x_ok(net, X) and y_ok(net, Y, A.shape[0])
    n = A.shape[0] if valid else 1
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))

    epochs = choose("epochs", [1] * 8 + [0, np.int64(1)], [-1, 1.0, True, "1", None])
    batch_size = choose("batch_size", ["int"] * 6 + ["big", np.int32(2)], [0, -3, 2.0, True, None])
    if batch_size == "int":
        batch_size = data.draw(st.integers(1, max(n, 1)))
    elif batch_size == "big":
        batch_size = 10**6
    alpha = choose("alpha", [0.0] * 6 + [1e-3, 0.05, 1], [-1.0, float("nan"), float("inf"), "0", True, None])
    sw_kind = choose("sample_weight", ["none"] * 4 + ["valid", "zeros_some", "list", "int"],
                     ["negative", "nan", "zero_sum", "wrong_shape", "string"])
    sw = {"none": None, "valid": rng.uniform(0.1, 2, n), "zeros_some": np.where(rng.random(n) < 0.3, 0.0, 1.0),
          "negative": -np.ones(n), "nan": np.full(n, np.nan), "zero_sum": np.zeros(n),
          "wrong_shape": np.ones(n + 1), "list": [1.0] * n, "int": np.ones(n, np.int64),
          "string": "ones"}[sw_kind]
    if sw_kind == "zeros_some" and not sw.any():
        sw[0] = 1.0
    opt_arg_kind = choose("optimizer", ["this"] * 4 + ["none"], ["other_net", "not_opt"])
    opt_arg = {"this": opt, "none": None, "other_net": "other", "not_opt": "sgd"}[opt_arg_kind]
    if opt_arg == "other":
        opt_arg = optim.SGD(sp.Network(list(net.sizes), list(net.activations), net.loss, dtype=net.dtype))
    shuffle = data.draw(st.booleans())

    args_valid = (isinstance(epochs, (int, np.integer)) and not isinstance(epochs, bool) and epochs >= 0
                  and isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool)
                  and batch_size >= 1
                  and isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and math.isfinite(alpha)
                  and alpha >= 0
                  and sw_kind in ("none", "valid", "zeros_some", "list", "int")
                  and opt_arg_kind in ("this", "none"))  # "this" is None when opt failed
    contract = valid and args_valid
    bs_eff = min(batch_size, n) if contract else 1
    single_batch = contract and bs_eff >= n

    expected = None
    chosen = opt_arg if opt_arg_kind == "this" and opt is not None else net.optimizer
    seed = data.draw(st.integers(0, 100))
    # float32 Adam is not compared: m / (sqrt(v) + eps) amplifies rounding noise in near-zero gradients
    if contract and moderate and chosen is not None and epochs == 1 and (
            net.dtype == np.float64 or isinstance(chosen, optim.SGD)):
        w64 = None if sw is None else np.asarray(sw, dtype=np.float64)
        order = np.random.default_rng(seed).permutation(n) if shuffle else None  # as Network.fit draws it
        try:
            expected = reference_fit(net, chosen, np.asarray(A, np.float64), ref_target(net, Y), order, bs_eff,
                                     float(alpha), w64)
        except FloatingPointError:
            expected = "diverges"

    previous = net.optimizer
    others = [o for o in (opt_arg, previous) if isinstance(o, optim.Optimizer) and o is not opt]
    before = snapshot(net, opt, *others)
    ok, hist = attempt(net.fit, X, Y, epochs=epochs, batch_size=batch_size, optimizer=opt_arg, shuffle=shuffle,
                       seed=seed, sample_weight=sw, alpha=alpha)
    what = f"fit(X {x_kind}, Y {y_kind}, epochs={epochs!r}, batch_size={batch_size!r}, alpha={alpha!r}, " \
           f"sample_weight {sw_kind}, optimizer {opt_arg_kind})"
    if not contract:
        assert not ok, f"{what} accepted"
    elif not ok:
        assert isinstance(hist, FloatingPointError), f"{what}: {hist!r}"
    if not ok:
        after = snapshot(net, opt, *others)
        if isinstance(hist, FloatingPointError):
            # documented: the parameters are those of the last finite step. With a single batch no step
            # was taken; the gradient buffer holds the failing batch's gradients (see
            # test_known_fit_divergence_keeps_grads, still open), so it is not compared here.
            if single_batch:
                assert after[0] == before[0] and after[2:] == before[2:], f"{what} took a step"
        else:
            assert after == before, f"failed {what} changed the network or optimizer"
        return
    assert hist.epochs == (epochs if epochs else 0)
    if expected == "diverges":
        pytest.fail(f"{what} succeeded where the reference diverges")
    if expected is not None:
        P, S, loss, steps = expected
        close(net.params, P, net.dtype, f"{what}: params")
        close(chosen._opt.state, S, net.dtype, f"{what}: optimizer state")
        close(hist.loss[0], loss, net.dtype, f"{what}: loss")
        assert chosen.t == steps


# --------------------------------------------------------------------------------------------
# The count, and regression tests of the defects found
# --------------------------------------------------------------------------------------------

def _run(name: str, body) -> None:
    start = CALLS["n"]
    body()
    print(f"\n{name}: {CALLS['n'] - start} calls")
    COMPLETED.add(name)


def test_fuzz_constructor():
    _run("test_fuzz_constructor", _fuzz_constructor)


def test_fuzz_forward():
    _run("test_fuzz_forward", _fuzz_forward)


def test_fuzz_loss_calls():
    _run("test_fuzz_loss_calls", _fuzz_loss_calls)


def test_fuzz_optimizers():
    _run("test_fuzz_optimizers", _fuzz_optimizers)


def test_fuzz_fit():
    _run("test_fuzz_fit", _fuzz_fit)


def test_zz_call_count():
    """At least MIN_CALLS fuzzed calls in total (checked when every fuzz test of the module ran)."""
    if not FUZZ_TESTS <= COMPLETED:
        pytest.skip(f"only {sorted(COMPLETED)} of the fuzz tests ran")
    print(f"\nswiftprop fuzz: {CALLS['n']} calls")
    assert CALLS["n"] >= MIN_CALLS, CALLS["n"]


def _run_isolated(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


def test_regression_optimizer_step_count_overflow(tmp_path):
    """A file whose optimizer step count is 2**63-1 used to load; the next step trapped in Swift
    (t += 1 overflow) and killed the process. It must be rejected (or at least not crash)."""
    path = tmp_path / "net.npz"
    net = sp.Network([2, 3, 1], seed=0)
    net.optimizer = optim.Adam(net)
    net.save(path)
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    meta["optimizer"]["t"] = 2**63 - 1
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    proc = _run_isolated(f"""
        import numpy as np, swiftprop as sp
        try:
            net = sp.Network.load({str(path)!r})
            net.backward(np.ones((2, 2)), np.ones((2, 1)))
            net.optimizer.step()
        except (ValueError, OverflowError) as e:
            print("rejected:", e)
        """)
    assert proc.returncode == 0, f"process died with status {proc.returncode}: {proc.stderr[-500:]}"


def test_regression_backward_input_aliasing_grads():
    """backward reads X while it writes the gradient buffer: X viewing net.grads used to give wrong
    gradients; it must be rejected (or give the gradients of a copy)."""
    net = sp.Network([2, 3, 1], activations="tanh", seed=0)
    X = net.grads[:4].reshape(2, 2)
    X[...] = [[0.5, -1.0], [2.0, 0.3]]
    Y = np.array([[0.1], [0.2]])
    twin = sp.Network([2, 3, 1], activations="tanh", seed=0)
    twin.backward(X.copy(), Y)
    try:
        net.backward(X, Y)
    except ValueError:
        return  # rejected: fine
    np.testing.assert_array_equal(net.grads, twin.grads)


def test_regression_failed_fit_keeps_optimizer():
    """A fit() that raised before training (bad X) used to replace net.optimizer with a new Adam."""
    net = sp.Network([2, 3, 1], seed=0)
    with pytest.raises(TypeError):
        net.fit(np.ones((4, 2), np.float32), np.ones((4, 1)))
    assert net.optimizer is None


def test_fit_divergence_keeps_params_and_reports_the_failing_gradient():
    """Documented behaviour (Network.fit, Raises): parameters and optimizer state are those of the last
    finite step; net.grads holds the failing batch's gradient, to show where it blew up."""
    net = sp.Network([2, 3, 1], activations="identity", seed=0)
    opt = optim.SGD(net)
    params, state = net.params.copy(), opt._opt.state.copy()
    with pytest.raises(FloatingPointError, match="learning rate"):
        net.fit(np.full((4, 2), 1e200), np.ones((4, 1)), batch_size=4, optimizer=opt)
    np.testing.assert_array_equal(net.params, params)
    np.testing.assert_array_equal(opt._opt.state, state)
    assert opt.t == 0
    assert not np.isfinite(net.grads).all()


def test_regression_unaligned_labels():
    """Integer labels of any dtype and layout are converted, but unaligned C-contiguous int64 labels
    used to be passed on to the extension, which rejected them."""
    net = sp.Network([2, 3], activations=["softmax"], loss="cross_entropy", seed=0)
    X = np.ones((2, 2))
    buf = np.zeros(2 * 8 + 1, np.uint8)
    labels = np.ndarray((2,), np.int64, buffer=buf, offset=1)
    labels[...] = [0, 2]
    assert net.cost(X, labels) == net.cost(X, labels.copy())
