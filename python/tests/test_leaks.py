"""Memory and reference-count stability of swiftprop under many repeated calls.

Each scenario runs a call many times after a warm-up and measures, over two passes of n calls:

* pass 1, ``tracemalloc``: the net growth of memory allocated by Python (objects, NumPy array
  data, the extension's PyMem buffers) that is still alive at the end, after ``gc.collect()``;
* pass 2, without tracemalloc (its own tables would be counted): the process RSS
  (``/proc/self/statm``), which also sees the Swift core's and OpenBLAS's mallocs;
* ``sys.getrefcount`` of the arguments (and of the network, its ``_core.Net``, the extension types
  and the float64 dtype): a missing ``Py_DECREF`` shows as a count that grows by one per call.

Bounds. After the warm-up every allocator pool a call needs exists, so a flat call leaves a growth
that does not depend on the number of calls: the bounds are sized from that noise, and they catch
any leak of a few bytes per call (the smallest leak a C or Swift mistake can make is one object or
one buffer, >= 16 bytes):

* RSS < 2 MiB over a pass: for the 100 000-call passes (forward, backward) that is < 21 bytes per
  call (a leaked empty tuple is 40 bytes, a leaked 64-byte-aligned Swift buffer >= 64), for the
  5 000-call passes (error paths: 10 000 calls in all, network creation) < 420 bytes per call;
* tracemalloc net growth < 100 KiB: < 1 byte per call over 100 000 calls, < 21 over 5 000;
* reference counts, over both passes: unchanged (exactly): a leaked reference shows as +2n.

The "calls" column of the printed summary is n, the calls of one pass (each scenario makes 2n
calls plus the warm-up). The whole file runs in about a minute and a half.

Run against the installed package, from the repository root (as scripts/test.sh does)::

    python -m pytest python/tests/test_leaks.py -q -s
"""
from __future__ import annotations

import gc
import os
import pickle
import sys
import tracemalloc

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import optim

PAGE = os.sysconf("SC_PAGE_SIZE")
RSS_LIMIT = 2 << 20
PY_LIMIT = 100 << 10

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")

#: (scenario, calls, RSS growth, tracemalloc growth), printed at the end with -s.
RESULTS: list[tuple[str, int, int, int]] = []


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def flat(name: str, fn, n: int, *, refs=(), warmup: int | None = None, rss_limit: int = RSS_LIMIT,
         py_limit: int = PY_LIMIT, dtype_refs: bool = True) -> None:
    """Run fn 2n times after a warm-up and assert that memory and reference counts stay flat: n calls
    under tracemalloc, then n calls measuring the RSS, reference counts over all 2n.

    dtype_refs=False leaves out the reference counts of the float dtypes, for scenarios that build a
    Network: its init_params calls Generator.uniform(size=...), which in NumPy 2.4.6 leaks one
    reference to the float64 dtype per call (a NumPy defect, seen without swiftprop:
    ``rng.uniform(-1, 1, size=(8, 3))`` in a loop raises ``sys.getrefcount(np.dtype("f8"))`` by one
    per call; the dtype is immortal in practice, so no memory is lost)."""
    for _ in range(warmup if warmup is not None else max(n // 10, 50)):
        fn()
    gc.collect()
    watched = tuple(refs) + (sp._core.Net, sp._core.Optimizer)
    if dtype_refs:
        watched += (np.dtype(np.float64), np.dtype(np.float32))
    counts = [sys.getrefcount(o) for o in watched]
    # pass 1: Python allocations still alive after n calls
    tracemalloc.start()
    py0 = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        fn()
    gc.collect()
    py1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # pass 2, without tracemalloc (whose own tables would count): the RSS growth over n more calls
    rss0 = rss()
    for _ in range(n):
        fn()
    gc.collect()
    rss1 = rss()
    after = [sys.getrefcount(o) for o in watched]
    RESULTS.append((name, n, rss1 - rss0, py1 - py0))
    print(f"\n{name}: {n} calls, RSS {(rss1 - rss0) / 1024:+.0f} KiB, tracemalloc {(py1 - py0) / 1024:+.1f} KiB",
          end="")
    assert after == counts, f"{name}: reference counts {counts} -> {after}"
    assert rss1 - rss0 < rss_limit, f"{name}: RSS grew by {rss1 - rss0} bytes over {n} calls"
    assert py1 - py0 < py_limit, f"{name}: Python allocations grew by {py1 - py0} bytes over {n} calls"


def raises(exc, fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except exc:
        return
    raise AssertionError(f"{fn} did not raise {exc}")


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if RESULTS:
        print("\n\nscenario                          calls     RSS KiB   tracemalloc KiB")
        for name, n, r, p in RESULTS:
            print(f"{name:32s} {n:7d} {r / 1024:+10.0f} {p / 1024:+14.1f}")


def small_net(loss="mse", dtype=np.float64, sizes=(3, 8, 2)):
    acts = {"mse": "tanh", "cross_entropy": "relu", "binary_cross_entropy": "tanh"}[loss]
    return sp.Network(list(sizes), acts, loss, dtype=dtype, seed=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 3))
    Y = rng.normal(size=(4, 2))
    labels = np.array([0, 1, 1, 0])
    return X, Y, labels


# --------------------------------------------------------------------------------------------
# Successful calls
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward(data, dtype):
    net = small_net(dtype=dtype)
    X = data[0].astype(dtype)
    out = np.empty((4, 2), dtype)
    flat(f"forward {np.dtype(dtype).name}", lambda: net.forward(X), 100_000, refs=(X, net, net._net))
    flat(f"forward(out=) {np.dtype(dtype).name}", lambda: net.forward(X, out=out), 100_000,
         refs=(X, out, net, net._net))
    flat("forward(list)", lambda: net.forward([[0.1, 0.2, 0.3]]), 20_000, refs=(net, net._net))


def test_backward(data):
    X, Y, labels = data
    net = small_net()
    flat("backward dense", lambda: net.backward(X, Y), 100_000, refs=(X, Y, net, net._net))
    ce = small_net("cross_entropy")
    flat("backward labels", lambda: ce.backward(X, labels), 100_000, refs=(X, labels, ce, ce._net))


def test_cost_trace_score(data):
    X, Y, labels = data
    net = small_net()
    ce = small_net("cross_entropy")
    flat("cost", lambda: net.cost(X, Y), 20_000, refs=(X, Y, net, net._net))
    flat("cost labels", lambda: ce.cost(X, labels), 20_000, refs=(X, labels, ce, ce._net))
    flat("trace", lambda: net.trace(X, Y), 10_000, refs=(X, Y, net, net._net))
    flat("trace labels", lambda: ce.trace(X, labels), 10_000, refs=(X, labels, ce, ce._net))
    flat("score", lambda: ce.score(X, labels), 10_000, refs=(X, labels, ce, ce._net))


def test_buffers_and_properties():
    net = small_net()
    opt = optim.Adam(net)

    def touch():
        net._net.params, net._net.grads, net._net.offsets, net._net.dtype  # noqa: B018
        opt._opt.state, opt.t, opt.state  # noqa: B018

    flat("params/grads/state views", touch, 50_000, refs=(net, net._net, opt, opt._opt))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
def test_optimizer_step(data, cls):
    X, Y, _ = data
    net = small_net()
    opt = cls(net, lr=1e-4)
    net.backward(X, Y)

    def step():
        opt.step()
        opt.lr = 1e-4

    flat(f"{cls.__name__}.step + lr", step, 50_000, refs=(net, net._net, opt, opt._opt))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
def test_fit(cls):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3))
    Y = rng.normal(size=(64, 2))
    net = small_net()
    opt = cls(net, lr=1e-3)
    flat(f"fit {cls.__name__} 64x3, batch 16", lambda: net.fit(X, Y, 1, 16, opt, seed=0), 2_000,
         refs=(X, Y, net, net._net, opt, opt._opt))
    sw = np.ones(64)
    flat(f"fit {cls.__name__} + weights, val", lambda: net.fit(X, Y, 1, 16, opt, sample_weight=sw, alpha=1e-4,
                                                                validation_data=(X, Y), shuffle=False),
         1_000, refs=(X, Y, sw, net, net._net, opt, opt._opt))


def test_fit_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3))
    labels = rng.integers(0, 2, 64)
    net = small_net("cross_entropy")
    flat("fit labels", lambda: net.fit(X, labels, 1, 8, seed=0), 2_000, refs=(X, labels, net, net._net))


def test_save_load(tmp_path):
    net = small_net()
    net.fit(np.ones((8, 3)), np.ones((8, 2)), optimizer=optim.Adam(net))
    path = tmp_path / "net.npz"

    def roundtrip():
        net.save(path)
        back = sp.Network.load(path)
        assert back.optimizer.t == net.optimizer.t

    # 500 round trips per pass (each save fsyncs): the bounds are < 4 KiB RSS and < 200 bytes of
    # Python memory per round trip
    flat("save/load", roundtrip, 500, refs=(net, net._net), warmup=200, dtype_refs=False)
    flat("pickle round trip", lambda: pickle.loads(pickle.dumps(net)), 3_000, refs=(net, net._net),
         warmup=1_000, dtype_refs=False)


def test_create_and_drop():
    flat("Network(float32) + drop", lambda: sp.Network([3, 8, 2], "tanh", dtype=np.float32, seed=0), 5_000,
         dtype_refs=False)

    def with_optimizers():
        net = sp.Network([3, 8, 2], "relu", seed=0)
        optim.SGD(net, momentum=0.9)
        optim.AdamW(net)
        net.optimizer = optim.Adam(net)  # a reference cycle, collected by gc
        return net

    flat("Network + optimizers + drop", with_optimizers, 5_000, dtype_refs=False)
    flat("big Network + drop", lambda: sp.Network([256, 256, 10], seed=0), 300, dtype_refs=False)
    # the extension type alone: here the dtype reference counts are watched too
    flat("_core.Net + Optimizer + drop", lambda: sp._core.Optimizer(
        sp._core.Net([3, 8, 2], [3, 0], 0, np.float64), 1, lr=0.1).state, 5_000)


# --------------------------------------------------------------------------------------------
# Calls that raise (each path in the extension that sets an exception, and the Python checks)
# --------------------------------------------------------------------------------------------

def test_error_paths_forward(data):
    X, Y, labels = data
    net = small_net()
    X32 = X.astype(np.float32)
    Xf = np.asfortranarray(np.ones((4, 5)))  # copied into C order (the input policy), then refused
    Xw = np.ones((4, 5))
    Xnan = X.copy()
    Xnan[1, 1] = np.nan
    out_ro = np.empty((4, 2))
    out_ro.flags.writeable = False
    alias = net.params[:8].reshape(4, 2)
    for name, args, exc in [
        ("forward wrong dtype", (X32,), TypeError),
        ("forward Fortran, wrong shape", (Xf,), ValueError),
        ("forward broadcast view", (np.broadcast_to(X[:1], X.shape),), ValueError),
        ("forward wrong shape", (Xw,), ValueError),
        ("forward NaN", (Xnan,), ValueError),
        ("forward out read-only", (X, out_ro), ValueError),
        ("forward out aliases params", (X, alias), ValueError),
        ("forward ragged list", ([[1.0], [1.0, 2.0]],), TypeError),
    ]:
        flat(name, lambda: raises(exc, net.forward, *args), 5_000,
             refs=tuple(a for a in args if isinstance(a, np.ndarray)) + (net, net._net))


def test_error_paths_losses(data):
    X, Y, labels = data
    net = small_net()
    ce = small_net("cross_entropy")
    bad_labels = np.array([0, 1, 7, 0])
    Y32 = Y.astype(np.float32)
    Ynan = Y.copy()
    Ynan[0, 0] = np.inf
    for name, fn, args, exc in [
        ("backward labels out of range", ce.backward, (X, bad_labels), ValueError),
        ("backward Y wrong dtype", net.backward, (X, Y32), TypeError),
        ("backward Y inf", net.backward, (X, Ynan), ValueError),
        ("backward Y wrong rows", net.backward, (X, Y[:3]), ValueError),
        ("cost labels on mse", net.cost, (X, labels), (TypeError, ValueError)),
        ("trace Y wrong dtype", net.trace, (X, Y32), TypeError),
        ("trace X wrong shape", ce.trace, (X[:, :2], labels), ValueError),
    ]:
        flat(name, lambda: raises(exc, fn, *args), 5_000, refs=args + (net, net._net, ce, ce._net))


def test_error_paths_fit_and_optimizers():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(16, 3))
    Y = rng.normal(size=(16, 2))
    net = small_net()
    opt = optim.SGD(net)
    X32 = X.astype(np.float32)
    big = np.full((16, 3), 1e200)
    ident = sp.Network([3, 2], "identity", seed=0)
    sgd = optim.SGD(ident)
    flat("fit X wrong dtype", lambda: raises(TypeError, net.fit, X32, Y, optimizer=opt), 5_000,
         refs=(X32, Y, net, net._net, opt, opt._opt))
    flat("fit bad batch_size", lambda: raises(ValueError, net.fit, X, Y, batch_size=0, optimizer=opt), 5_000,
         refs=(X, Y, net, opt))
    p = ident.params.copy()

    def diverge():
        raises(FloatingPointError, ident.fit, big, Y, batch_size=16, optimizer=sgd)
        ident.params[...] = p

    flat("fit FloatingPointError", diverge, 5_000, refs=(big, Y, ident, ident._net, sgd, sgd._opt))
    flat("SGD(bad momentum)", lambda: raises(ValueError, optim.SGD, net, momentum=1.5), 5_000, refs=(net,))
    flat("Adam(bad betas)", lambda: raises(TypeError, optim.Adam, net, betas=0.9), 5_000, refs=(net,))
    flat("lr = nan", lambda: raises(ValueError, setattr, opt, "lr", float("nan")), 5_000, refs=(opt, opt._opt))
    flat("_core.Optimizer bad hyper", lambda: raises(TypeError, sp._core.Optimizer, net._net, 0, lr="fast"),
         5_000, refs=(net._net,))
    flat("_core.Optimizer bad kind", lambda: raises(ValueError, sp._core.Optimizer, net._net, 7, lr=0.1),
         5_000, refs=(net._net,))


def test_error_paths_constructor():
    flat("Network(bad activation)", lambda: raises(ValueError, sp.Network, [3, 2], "swish"), 5_000)
    flat("Network(size 0)", lambda: raises(ValueError, sp.Network, [3, 0, 2]), 5_000)
    flat("Network(2**40, 2**40)", lambda: raises(ValueError, sp.Network, [2**40, 2**40]), 5_000)
    flat("Network(2**20, 2**20) MemoryError", lambda: raises(MemoryError, sp.Network, [2**20, 2**20]), 5_000)
    flat("Network(2**70)", lambda: raises(OverflowError, sp.Network, [2**70, 2]), 5_000)
    # the extension's own checks, below the Python ones
    flat("_core.Net bad activation code", lambda: raises(ValueError, sp._core.Net, [3, 2], [99], 0, np.float64),
         5_000)
    flat("_core.Net bad dtype", lambda: raises(TypeError, sp._core.Net, [3, 2], [0], 0, np.int32), 5_000)
    flat("_core.Net size 0", lambda: raises(ValueError, sp._core.Net, [3, 0], [0], 0, np.float64), 5_000)
