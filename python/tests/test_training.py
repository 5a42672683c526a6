"""Training tests: ``swiftprop.optim`` and ``Network.fit`` against the NumPy reference.

What is covered
---------------
* parity of every optimizer (SGD plain / momentum / Nesterov / weight decay, Adam, AdamW),
  used by hand (``net.backward(...); opt.step()``) and through ``Network.fit``, with the
  NumPy twins in :mod:`swiftprop.reference` (``sgd_step``, ``adam_step``, ``train_epoch``);
  with L2 (``alpha``), sample weights, seeded shuffling, a short last batch, integer labels
  and dense targets, in float64 (relative error <= 1e-9) and float32 (<= 1e-4);
* the optimizer state: zero-copy views, step count, carry-over between ``fit`` calls,
  the ``lr`` setter and ``reset()``;
* determinism of ``fit`` for a given seed;
* divergence (FloatingPointError, parameters of the last finite step);
* KeyboardInterrupt during a long ``fit`` (prompt, consistent, reproducible);
* callbacks, validation data, ``History`` and ``verbose``;
* argument errors, which must leave the parameters and the optimizer state untouched;
* the GIL being released during ``fit``.

Errors are measured per array as ``max|actual - expected| / max(max|expected|, tiny)``.

Run against the installed package, from the repository root (as scripts/test.sh does)::

    python -m pytest python/tests/test_training.py -q
"""

from __future__ import annotations

import _thread
import importlib.util
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import swiftprop as sp
from swiftprop.optim import SGD, Adam, AdamW


def _load_reference():
    """``swiftprop.reference``; if the installed copy predates the optimizer functions, the
    file of this source tree (the reference is pure NumPy and independent of the package)."""
    from swiftprop import reference

    if all(hasattr(reference, f) for f in ("sgd_step", "adam_step", "train_epoch")):
        return reference
    path = Path(__file__).resolve().parents[1] / "swiftprop" / "reference.py"
    spec = importlib.util.spec_from_file_location("_swiftprop_reference_training", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up here
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
TINY = np.finfo(np.float64).tiny
TOL = {F64: 1e-9, F32: 1e-4}
DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]


def rel_err(actual, expected) -> float:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (a.shape, e.shape)
    return float(np.max(np.abs(a - e)) / max(float(np.max(np.abs(e))), TINY))


# --------------------------------------------------------------------------------------------
# Problems, and NumPy twins of a network and of its optimizer
# --------------------------------------------------------------------------------------------

#: name -> (optimizer class, constructor keyword arguments)
OPTIMIZERS = {
    "sgd": (SGD, dict(lr=0.1)),
    "sgd_wd": (SGD, dict(lr=0.1, weight_decay=0.05)),
    "sgd_momentum": (SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov_wd": (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
    "adam": (Adam, dict(lr=0.01)),
    "adam_wd_betas": (Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    "adamw": (AdamW, dict(lr=0.01, weight_decay=0.1)),
}

#: name -> problem of Network.fit parity tests (n is not a multiple of batch_size, so the
#: last batch of each epoch is shorter).
PROBLEMS = {
    "ce_labels_l2_weights_shuffle": dict(
        sizes=[5, 8, 3], acts=["tanh", "softmax"], loss="cross_entropy", n=23, batch_size=8,
        alpha=0.3, weighted=True, shuffle=True, epochs=3),
    "mse_targets_in_order": dict(
        sizes=[4, 6, 2], acts=["gelu", "identity"], loss="mse", n=21, batch_size=5,
        alpha=0.0, weighted=False, shuffle=False, epochs=3),
    "mse_targets_3layers_l2_weights_shuffle": dict(
        sizes=[4, 6, 5, 2], acts=["elu", "tanh", "sigmoid"], loss="mse", n=30, batch_size=7,
        alpha=0.05, weighted=True, shuffle=True, epochs=2),
    "bce_shuffle": dict(
        sizes=[3, 7, 4], acts=["leaky_relu", "sigmoid"], loss="binary_cross_entropy", n=19,
        batch_size=4, alpha=0.1, weighted=False, shuffle=True, epochs=2),
}


def make_data(loss: str, n: int, n_in: int, n_out: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in)).astype(dtype)
    if loss == "cross_entropy":
        Y = rng.integers(0, n_out, size=n).astype(np.int64)
    elif loss == "binary_cross_entropy":
        Y = (rng.random((n, n_out)) < 0.5).astype(dtype)
    else:
        Y = rng.normal(size=(n, n_out)).astype(dtype)
    return X, Y


def ce_net(dtype=np.float64, seed=1, sizes=(5, 8, 3)):
    return sp.Network(list(sizes), ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=seed)


def flat(arrays) -> np.ndarray:
    """Arrays in swiftprop's documented parameter layout (W[0], B[0], W[1], B[1], ...)."""
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


class RefNet:
    """Copies of a network's parameters, trained with the NumPy reference."""

    def __init__(self, net: sp.Network):
        self.W = [np.array(w) for w in net.weights]
        self.B = [np.array(b) for b in net.biases]
        self.activations = list(net.activations)
        self.loss = net.loss
        # the documented layout of the flat buffer, which the optimizer state shares
        assert np.array_equal(flat(self.param_list()), net.params)

    def param_list(self):
        return [a for w, b in zip(self.W, self.B) for a in (w, b)]

    def params(self) -> np.ndarray:
        return flat(self.param_list())

    def backward(self, X, Y):
        tr = ref.backward(self.W, self.B, self.activations, self.loss, X, Y)
        return tr.loss, [a for dw, db in zip(tr.dW, tr.dB) for a in (dw, db)]

    def epoch(self, X, Y, order, batch_size, opt, alpha=0.0, sample_weight=None) -> float:
        return ref.train_epoch(self.W, self.B, self.activations, self.loss, X, Y, order, batch_size,
                               opt, alpha=alpha, sample_weight=sample_weight)


class RefOptimizer:
    """The NumPy twin of ``cls(net, **kwargs)``; a ``step_fn`` for :func:`reference.train_epoch`.

    Hyper-parameter defaults are those documented by swiftprop.optim."""

    def __init__(self, cls, kwargs: dict, rnet: RefNet):
        self.cls = cls
        self.hyper = dict(kwargs)
        self.t = 0
        n_buffers = 1 if cls is SGD else 2
        self.buffers = [[np.zeros_like(p) for p in rnet.param_list()] for _ in range(n_buffers)]

    @property
    def lr(self):
        return self.hyper.get("lr", 0.01 if self.cls is SGD else 0.001)

    def __call__(self, params, grads):
        self.t += 1
        h = self.hyper
        if self.cls is SGD:
            ref.sgd_step(params, grads, self.buffers[0], self.lr, h.get("momentum", 0.0),
                         h.get("nesterov", False), h.get("weight_decay", 0.0))
        else:
            b1, b2 = h.get("betas", (0.9, 0.999))
            wd = h.get("weight_decay", 0.01 if self.cls is AdamW else 0.0)
            ref.adam_step(params, grads, self.buffers[0], self.buffers[1], self.t, self.lr, b1, b2,
                          h.get("eps", 1e-8), weight_decay=wd, decoupled=self.cls is AdamW)

    def state(self) -> dict:
        names = ("velocity",) if self.cls is SGD else ("m", "v")
        return {name: flat(buf) for name, buf in zip(names, self.buffers)}


def snapshot(net: sp.Network, opt) -> dict:
    return {"params": net.params.copy(), "t": opt.t, "lr": opt.lr,
            **{k: v.copy() for k, v in opt.state.items()}}


def assert_unchanged(net: sp.Network, opt, snap: dict) -> None:
    assert np.array_equal(net.params, snap["params"]), "parameters changed"
    assert opt.t == snap["t"], "step count changed"
    assert opt.lr == snap["lr"]
    for k, v in opt.state.items():
        assert np.array_equal(v, snap[k]), f"optimizer state {k!r} changed"


# --------------------------------------------------------------------------------------------
# 0. The reference optimizers themselves (hand-computed values)
# --------------------------------------------------------------------------------------------


def test_reference_sgd_step_by_hand():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    v = np.array([0.1, 0.2])
    ref.sgd_step([p], [g], [v], lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.1)
    d = np.array([0.5 + 0.1, 0.25 - 0.2])
    v_exp = 0.9 * np.array([0.1, 0.2]) + d
    np.testing.assert_allclose(v, v_exp, rtol=1e-15)
    np.testing.assert_allclose(p, np.array([1.0, -2.0]) - 0.1 * v_exp, rtol=1e-15)
    p, v = np.array([1.0, -2.0]), np.array([0.1, 0.2])
    ref.sgd_step(p, g, v, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    np.testing.assert_allclose(p, np.array([1.0, -2.0]) - 0.1 * (d + 0.9 * v_exp), rtol=1e-15)
    p, v = np.array([1.0, -2.0]), np.zeros(2)
    ref.sgd_step(p, g, v, lr=0.1)
    np.testing.assert_allclose(p, [0.95, -2.025], rtol=1e-15)


@pytest.mark.parametrize("decoupled", [False, True])
def test_reference_adam_step_by_hand(decoupled):
    p0, g = np.array([1.0, -2.0]), np.array([0.5, -0.25])
    p, m, v = p0.copy(), np.zeros(2), np.zeros(2)
    lr, wd = 0.1, 0.2
    ref.adam_step(p, g, m, v, 1, lr, 0.9, 0.999, 1e-8, weight_decay=wd, decoupled=decoupled)
    d = g if decoupled else g + wd * p0
    np.testing.assert_allclose(m, 0.1 * d, rtol=1e-15)
    np.testing.assert_allclose(v, 0.001 * d * d, rtol=1e-12)
    # first step: bias-corrected m̂ = d and v̂ = d², so the update is about lr·sign(d) (eps aside)
    step = lr * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-8)
    expected = ((1 - lr * wd) * p0 if decoupled else p0) - step
    np.testing.assert_allclose(p, expected, rtol=1e-15)
    np.testing.assert_allclose(step, lr * np.sign(d), rtol=1e-5)


# --------------------------------------------------------------------------------------------
# 1. Parity with the NumPy reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_backward_and_step_match_reference(opt_name, dtype):
    cls, kwargs = OPTIMIZERS[opt_name]
    dt = np.dtype(dtype)
    net = ce_net(dt)
    X, y = make_data("cross_entropy", 40, 5, 3, dt, seed=2)
    opt = cls(net, **kwargs)
    rnet = RefNet(net)
    ropt = RefOptimizer(cls, kwargs, rnet)
    rng = np.random.default_rng(3)
    for k, rows in enumerate([8, 8, 5, 13, 1, 8], start=1):
        idx = rng.choice(40, size=rows, replace=False)
        xb, yb = np.ascontiguousarray(X[idx]), y[idx]
        loss = net.backward(xb, yb)
        opt.step()
        ref_loss, ref_grads = rnet.backward(xb, yb)
        ropt(rnet.param_list(), ref_grads)
        assert loss == pytest.approx(ref_loss, rel=TOL[dt])
        assert opt.t == k
        assert rel_err(net.params, rnet.params()) <= TOL[dt], f"step {k}"
    for name, value in ropt.state().items():
        assert rel_err(opt.state[name], value) <= TOL[dt], name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_fit_matches_reference(opt_name, problem, dtype):
    cls, kwargs = OPTIMIZERS[opt_name]
    pb = PROBLEMS[problem]
    dt = np.dtype(dtype)
    n, bs = pb["n"], pb["batch_size"]
    assert n % bs != 0  # the last batch is shorter
    sizes = pb["sizes"]
    X, Y = make_data(pb["loss"], n, sizes[0], sizes[-1], dt, seed=4)
    sw = np.random.default_rng(5).uniform(0.2, 3.0, size=n).astype(dt) if pb["weighted"] else None
    net = sp.Network(sizes, pb["acts"], pb["loss"], dtype=dt, seed=6)
    rnet = RefNet(net)
    opt = cls(net, **kwargs)
    ropt = RefOptimizer(cls, kwargs, rnet)
    seed = 11
    after_epoch = []
    hist = net.fit(X, Y, epochs=pb["epochs"], batch_size=bs, optimizer=opt, shuffle=pb["shuffle"],
                   seed=seed, sample_weight=sw, alpha=pb["alpha"],
                   callbacks=[lambda net_, e, h: after_epoch.append(net_.params.copy())])
    assert hist.epochs == pb["epochs"] == len(after_epoch)
    rng = np.random.default_rng(seed)
    for e in range(pb["epochs"]):
        order = rng.permutation(n) if pb["shuffle"] else None
        ref_loss = rnet.epoch(X, Y, order, bs, ropt, alpha=pb["alpha"], sample_weight=sw)
        assert hist.loss[e] == pytest.approx(ref_loss, rel=TOL[dt]), f"History.loss[{e}]"
        assert rel_err(after_epoch[e], rnet.params()) <= TOL[dt], f"parameters after epoch {e + 1}"
    n_batches = -(-n // bs)
    assert opt.t == ropt.t == pb["epochs"] * n_batches
    assert rel_err(net.params, rnet.params()) <= TOL[dt]
    for name, value in ropt.state().items():
        assert rel_err(opt.state[name], value) <= TOL[dt], name


def test_fit_default_optimizer_is_a_persistent_adam():
    """Without an optimizer, fit uses Adam(lr=0.001), kept across calls."""
    net = ce_net()
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=7)
    rnet = RefNet(net)
    ropt = RefOptimizer(Adam, {}, rnet)
    net.fit(X, y, epochs=2, batch_size=6, shuffle=False)
    net.fit(X, y, epochs=1, batch_size=6, shuffle=False)
    for _ in range(3):
        rnet.epoch(X, y, None, 6, ropt)
    assert ropt.t == 12
    assert rel_err(net.params, rnet.params()) <= 1e-9


def test_reference_train_epoch_matches_hand_written_loop():
    """train_epoch itself: batches in `order`, short last batch, L2 and weights, loss formula."""
    net = ce_net(seed=3)
    X, y = make_data("cross_entropy", 10, 5, 3, np.float64, seed=8)
    w = np.linspace(0.5, 2.0, 10)
    order = np.random.default_rng(0).permutation(10)
    a, b = RefNet(net), RefNet(net)
    loss = a.epoch(X, y, order, 4, lambda p, g: ref.sgd_step(p, g, [np.zeros_like(x) for x in p], 0.1),
                   alpha=0.5, sample_weight=w)
    total = 0.0
    for start in range(0, 10, 4):
        idx = order[start:start + 4]
        S_in, S_out = ref.forward(b.W, b.B, b.activations, X[idx])
        logp = S_in[-1] - np.log(np.exp(S_in[-1]).sum(axis=1, keepdims=True))
        c = -(w[idx] * logp[np.arange(len(idx)), y[idx]]).sum() / w[idx].sum()
        # with sample weights the L2 term is divided by the batch's weight sum (as scikit-learn)
        c += 0.5 * 0.5 * sum((W ** 2).sum() for W in b.W) / w[idx].sum()
        # gradient by central differences of that batch cost
        params = b.param_list()
        grads = []
        for p in params:
            g = np.zeros_like(p)
            for j in np.ndindex(p.shape):
                old = p[j]
                vals = []
                for h in (1e-6, -1e-6):
                    p[j] = old + h
                    si, _ = ref.forward(b.W, b.B, b.activations, X[idx])
                    lp = si[-1] - np.log(np.exp(si[-1]).sum(axis=1, keepdims=True))
                    cc = -(w[idx] * lp[np.arange(len(idx)), y[idx]]).sum() / w[idx].sum()
                    vals.append(cc + 0.25 * sum((W ** 2).sum() for W in b.W) / w[idx].sum())
                p[j] = old
                g[j] = (vals[0] - vals[1]) / 2e-6
            grads.append(g)
        for p, g in zip(params, grads):
            p -= 0.1 * g
        total += c * len(idx)
    # (the hand-written loop steps with finite-difference gradients, good to ~1e-9)
    assert loss == pytest.approx(total / 10, rel=1e-8)
    assert rel_err(a.params(), b.params()) <= 1e-7


# --------------------------------------------------------------------------------------------
# 2. Optimizer state
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opt_name", ["sgd_nesterov_wd", "adam_wd_betas", "adamw"])
def test_state_views_are_zero_copy_and_match_reference(opt_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    net = ce_net()
    X, y = make_data("cross_entropy", 16, 5, 3, np.float64, seed=9)
    opt = cls(net, **kwargs)
    views = opt.state
    names = ["velocity"] if cls is SGD else ["m", "v"]
    assert sorted(views) == sorted(names)
    for name in names:
        assert views[name].shape == net.params.shape and views[name].dtype == net.dtype
        assert not views[name].any()
        assert np.shares_memory(views[name], opt.state[name])
    if len(names) == 2:
        assert not np.shares_memory(views["m"], views["v"])
    rnet = RefNet(net)
    ropt = RefOptimizer(cls, kwargs, rnet)
    for k in range(3):
        net.backward(X, y)
        opt.step()
        ropt(rnet.param_list(), rnet.backward(X, y)[1])
        # the views taken before the steps see the new state (no copies)
        for name, value in ropt.state().items():
            assert rel_err(views[name], value) <= 1e-9, name
    assert opt.t == 3
    # writing through a view changes the state the next step uses
    rng = np.random.default_rng(1)
    for name, bufs in zip(names, ropt.buffers):
        new = np.abs(rng.normal(size=net.n_params))  # >= 0 also suits Adam's v
        views[name][...] = new
        for arr, part in zip(bufs, np.split(new, np.cumsum([b.size for b in bufs])[:-1])):
            arr[...] = part.reshape(arr.shape)
    net.backward(X, y)
    opt.step()
    ropt(rnet.param_list(), rnet.backward(X, y)[1])
    assert rel_err(net.params, rnet.params()) <= 1e-9
    for name, value in ropt.state().items():
        assert rel_err(opt.state[name], value) <= 1e-9, name


@pytest.mark.parametrize("opt_name", ["sgd_nesterov_wd", "adam", "adamw"])
def test_state_carries_over_between_fit_calls(opt_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    X, y = make_data("cross_entropy", 22, 5, 3, np.float64, seed=10)
    # in order: 2 epochs at once == 1 + 1 with the same optimizer
    a, b = ce_net(), ce_net()
    oa, ob = cls(a, **kwargs), cls(b, **kwargs)
    a.fit(X, y, epochs=2, batch_size=5, optimizer=oa, shuffle=False)
    b.fit(X, y, epochs=1, batch_size=5, optimizer=ob, shuffle=False)
    assert ob.t == 5
    b.fit(X, y, epochs=1, batch_size=5, optimizer=ob, shuffle=False)
    assert oa.t == ob.t == 10
    assert np.array_equal(a.params, b.params)
    for name in oa.state:
        assert np.array_equal(oa.state[name], ob.state[name]), name
    # shuffled, with one Generator passed to both calls: it continues its stream
    c, d = ce_net(), ce_net()
    oc, od = cls(c, **kwargs), cls(d, **kwargs)
    c.fit(X, y, epochs=2, batch_size=5, optimizer=oc, seed=np.random.default_rng(3))
    g = np.random.default_rng(3)
    d.fit(X, y, epochs=1, batch_size=5, optimizer=od, seed=g)
    d.fit(X, y, epochs=1, batch_size=5, optimizer=od, seed=g)
    assert np.array_equal(c.params, d.params)
    # a fresh optimizer for the second call is not the same thing (the state did matter)
    e = ce_net()
    e.fit(X, y, epochs=1, batch_size=5, optimizer=cls(e, **kwargs), shuffle=False)
    e.fit(X, y, epochs=1, batch_size=5, optimizer=cls(e, **kwargs), shuffle=False)
    assert not np.array_equal(e.params, a.params)


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "adam"])
def test_lr_setter_takes_effect(opt_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    net = ce_net()
    X, y = make_data("cross_entropy", 16, 5, 3, np.float64, seed=11)
    opt = cls(net, **kwargs)
    rnet = RefNet(net)
    ropt = RefOptimizer(cls, kwargs, rnet)

    def both_step():
        net.backward(X, y)
        opt.step()
        ropt(rnet.param_list(), rnet.backward(X, y)[1])

    both_step()
    both_step()
    opt.lr = kwargs["lr"] / 7
    ropt.hyper["lr"] = kwargs["lr"] / 7
    assert opt.lr == kwargs["lr"] / 7
    both_step()
    assert rel_err(net.params, rnet.params()) <= 1e-9
    # a rejected value keeps the old one
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    with pytest.raises(TypeError, match="lr"):
        opt.lr = "0.1"
    assert opt.lr == kwargs["lr"] / 7
    both_step()
    assert rel_err(net.params, rnet.params()) <= 1e-9
    # and through fit
    opt.lr = 0.0123
    ropt.hyper["lr"] = 0.0123
    net.fit(X, y, epochs=1, batch_size=16, optimizer=opt, shuffle=False)
    rnet.epoch(X, y, None, 16, ropt)
    assert rel_err(net.params, rnet.params()) <= 1e-9


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "adam_wd_betas", "adamw"])
def test_reset_zeroes_state_and_step_count(opt_name):
    cls, kwargs = OPTIMIZERS[opt_name]
    net = ce_net()
    X, y = make_data("cross_entropy", 16, 5, 3, np.float64, seed=12)
    opt = cls(net, **kwargs)
    net.fit(X, y, epochs=2, batch_size=4, optimizer=opt, seed=0)
    assert opt.t == 8 and all(v.any() for v in opt.state.values())
    views = opt.state
    opt.reset()
    assert opt.t == 0
    for name, v in views.items():
        assert not v.any(), name
    # the next steps are those of a fresh optimizer from the current parameters (Adam: t = 1)
    rnet = RefNet(net)
    ropt = RefOptimizer(cls, kwargs, rnet)
    net.fit(X, y, epochs=1, batch_size=8, optimizer=opt, shuffle=False)
    rnet.epoch(X, y, None, 8, ropt)
    assert opt.t == 2
    assert rel_err(net.params, rnet.params()) <= 1e-9


# --------------------------------------------------------------------------------------------
# 3. Determinism
# --------------------------------------------------------------------------------------------


def test_fit_is_deterministic_for_a_seed():
    X, y = make_data("cross_entropy", 600, 20, 5, np.float64, seed=13)

    def run(seed):
        net = sp.Network([20, 64, 64, 5], "tanh", "cross_entropy", seed=1)
        opt = Adam(net, lr=0.005)
        hist = net.fit(X, y, epochs=3, batch_size=32, optimizer=opt, seed=seed, alpha=1e-3)
        return net.params.copy(), opt.state["m"].copy(), hist.loss

    p1, m1, l1 = run(7)
    p2, m2, l2 = run(7)
    p3, _, _ = run(np.random.default_rng(7))
    p4, _, l4 = run(8)
    assert np.array_equal(p1, p2) and np.array_equal(m1, m2) and l1 == l2
    assert np.array_equal(p1, p3)
    assert not np.array_equal(p1, p4) and l1 != l4


# --------------------------------------------------------------------------------------------
# 4. Divergence
# --------------------------------------------------------------------------------------------

EPOCH_BATCH = re.compile(r"epoch (\d+), batch (\d+)")


def test_divergence_in_the_first_batch_leaves_everything_untouched():
    net = sp.Network([3, 4, 2], ["identity", "identity"], "mse", dtype=np.float32, seed=1)
    X, Y = make_data("mse", 20, 3, 2, np.float32, seed=14)
    opt = Adam(net, lr=0.003)
    net.fit(X, Y, epochs=1, batch_size=8, optimizer=opt, seed=0)  # non-trivial state
    huge = (X * np.float32(1e20)).astype(np.float32)
    assert np.isfinite(huge).all()
    assert not np.isfinite(net.cost(huge, Y)), "the setup must really overflow"
    snap = snapshot(net, opt)
    with pytest.raises(FloatingPointError) as info:
        net.fit(huge, Y, epochs=3, batch_size=8, optimizer=opt, seed=0)
    msg = str(info.value)
    assert EPOCH_BATCH.search(msg).groups() == ("1", "0"), msg
    assert "learning rate 0.003" in msg, msg
    assert_unchanged(net, opt, snap)
    assert np.isfinite(net.params).all()
    # still usable
    hist = net.fit(X, Y, epochs=1, batch_size=8, optimizer=opt, seed=0)
    assert np.isfinite(hist.loss[0]) and opt.t == snap["t"] + 3


@pytest.mark.parametrize("threads", [1, 2])
def test_overflowing_update_of_a_large_network_leaves_everything_untouched(threads):
    """A network large enough (>= 2**15 parameters) for the optimizer's check pass to be split over
    the pool's threads: an update that overflows in float32, with a finite loss and finite
    gradients, is refused and nothing changes."""
    old = sp.get_num_threads()
    sp.set_num_threads(threads)
    try:
        net = sp.Network([200, 200, 2], ["identity", "identity"], "mse", dtype=np.float32, seed=1)
        assert net.params.size >= 2**15
        X, Y = make_data("mse", 64, 200, 2, np.float32, seed=15)
        X *= np.float32(100)  # gradients well above 1: lr · g overflows float32
        opt = SGD(net, lr=3e38)
        snap = snapshot(net, opt)
        assert np.isfinite(net.cost(X, Y)), "the loss must stay finite: the update is what overflows"
        with pytest.raises(FloatingPointError):
            net.fit(X, Y, epochs=1, batch_size=64, optimizer=opt, shuffle=False)
        assert_unchanged(net, opt, snap)
    finally:
        sp.set_num_threads(old)


def _diverging_problem():
    X, Y = make_data("mse", 40, 3, 2, np.float64, seed=3)
    net = sp.Network([3, 4, 2], ["identity", "identity"], "mse", seed=1)
    return net, X, Y, dict(lr=0.5, momentum=0.5)


@pytest.mark.parametrize("shuffle", [False, True])
def test_divergence_later_keeps_the_last_finite_step(shuffle):
    net, X, Y, kwargs = _diverging_problem()
    rnet = RefNet(net)
    opt = SGD(net, **kwargs)
    ropt = RefOptimizer(SGD, kwargs, rnet)
    bs, n_batches = 12, 4
    with pytest.raises(FloatingPointError) as info:
        net.fit(X, Y, epochs=50, batch_size=bs, optimizer=opt, shuffle=shuffle, seed=0)
    msg = str(info.value)
    m = EPOCH_BATCH.search(msg)
    assert m, msg
    epoch, batch = int(m.group(1)), int(m.group(2))
    assert epoch >= 2, "the setup should diverge after the first epoch"
    assert "learning rate 0.5" in msg, msg
    assert opt.t == (epoch - 1) * n_batches + batch
    assert np.isfinite(net.params).all()
    # the reference diverges at the same batch, with the same parameters
    rng = np.random.default_rng(0)
    with pytest.raises(FloatingPointError) as rinfo:
        for e in range(1, 51):
            rnet.epoch(X, Y, rng.permutation(40) if shuffle else None, bs, ropt)
    assert (e, rinfo.value.args[1]) == (epoch, batch)
    assert ropt.t == opt.t
    assert rel_err(net.params, rnet.params()) <= 1e-9
    assert rel_err(opt.state["velocity"], ropt.state()["velocity"]) <= 1e-9
    if not shuffle:
        # bit for bit: re-run exactly the steps before the failure
        net2, _, _, _ = _diverging_problem()
        opt2 = SGD(net2, **kwargs)
        if epoch > 1:
            net2.fit(X, Y, epochs=epoch - 1, batch_size=bs, optimizer=opt2, shuffle=False)
        if batch > 0:
            net2.fit(X[:batch * bs], Y[:batch * bs], epochs=1, batch_size=bs, optimizer=opt2, shuffle=False)
        assert opt2.t == opt.t
        assert np.array_equal(net2.params, net.params)
        assert np.array_equal(opt2.state["velocity"], opt.state["velocity"])


# --------------------------------------------------------------------------------------------
# 5. KeyboardInterrupt, 9. the GIL (a long fit)
# --------------------------------------------------------------------------------------------

BIG_SIZES = [64, 256, 256, 10]
BIG_BATCH = 64


@pytest.fixture(scope="module")
def big_data():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(65536, 64))
    y = rng.integers(0, 10, size=65536).astype(np.int64)
    return X, y


@pytest.fixture
def one_thread():
    old = sp.get_num_threads()
    sp.set_num_threads(1)
    yield
    sp.set_num_threads(old)


def test_keyboard_interrupt_stops_fit_promptly(big_data, one_thread):
    """Ctrl-C during an epoch stops fit between two batches of that epoch, not at its end.

    Event-based, with no clock: a helper thread watches the step count (opt.t, readable while the GIL
    is released) and interrupts the main thread once a quarter of the first epoch's batches are done.
    fit must then stop inside the first epoch (the core checks for signals between chunks of batches,
    each a few tens of ms of steps; an epoch here is 1024 batches), with opt.t counting exactly the
    steps whose updates are in the parameters."""
    X, y = big_data
    net = sp.Network(BIG_SIZES, "tanh", "cross_entropy", seed=2)
    opt = SGD(net, lr=0.01, momentum=0.9)
    n_batches = len(X) // BIG_BATCH
    trigger = n_batches // 4

    fired = {}
    finished = threading.Event()  # fit is over: do not interrupt the rest of the test session

    def interrupt():
        while not finished.is_set():
            t = opt.t
            if t >= trigger:
                fired["t"] = t
                _thread.interrupt_main()
                return
            finished.wait(0.001)

    helper = threading.Thread(target=interrupt, daemon=True)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            try:
                net.fit(X, y, epochs=3, batch_size=BIG_BATCH, optimizer=opt, shuffle=False)
            finally:
                finished.set()
    finally:
        finished.set()
        helper.join()
    assert "t" in fired, "fit ended before the helper saw a quarter of an epoch done"
    t = opt.t
    assert fired["t"] <= t, "steps were undone"
    assert fired["t"] < n_batches, f"the helper fired only at step {fired['t']}"  # the premise
    # where fit stopped: inside the epoch in which the interrupt came, so between two of its batches
    assert t < n_batches, f"fit stopped at step {t}, after the end of the epoch interrupted at {fired['t']}"
    assert t % n_batches != 0, "fit stopped only between epochs, not between batches"
    assert np.isfinite(net.params).all() and np.isfinite(opt.state["velocity"]).all()
    # opt.t steps were completed, no more, no less: re-run exactly t steps on a copy
    copy = sp.Network(BIG_SIZES, "tanh", "cross_entropy", seed=2)
    copt = SGD(copy, lr=0.01, momentum=0.9)
    full, rest = divmod(t, n_batches)
    if full:
        copy.fit(X, y, epochs=full, batch_size=BIG_BATCH, optimizer=copt, shuffle=False)
    if rest:
        copy.fit(X[:rest * BIG_BATCH], y[:rest * BIG_BATCH], epochs=1, batch_size=BIG_BATCH,
                 optimizer=copt, shuffle=False)
    assert copt.t == t
    assert np.array_equal(copy.params, net.params)
    assert np.array_equal(copt.state["velocity"], opt.state["velocity"])
    # the network is usable
    assert np.isfinite(net.forward(X[:10])).all()
    assert np.isfinite(net.backward(X[:10], y[:10]))
    hist = net.fit(X[:256], y[:256], epochs=1, batch_size=BIG_BATCH, optimizer=opt, shuffle=False)
    assert np.isfinite(hist.loss[0]) and opt.t == t + 4


def test_gil_is_released_during_fit(big_data, one_thread):
    """A Python thread keeps running while fit trains.

    The bound comes from this test's own measurements, not from a speed threshold: the other thread's
    counting rate with the main thread idle, and the interpreter's switch interval. If the extension
    held the GIL while training, the counter could only advance while fit runs Python code (between
    epochs, and at its start and end): at each such point the main thread hands the GIL over for at most
    one switch interval before taking it back, so the counter would gain at most
    rate × switch interval × 2 × (epochs + 2). With the GIL released it runs throughout the fit."""
    X, y = np.ascontiguousarray(big_data[0][:16384]), big_data[1][:16384]
    net = sp.Network(BIG_SIZES, "tanh", "cross_entropy", seed=3)
    opt = SGD(net, lr=0.01)
    # as many epochs as make the fit last about two seconds on this machine, today (sizing only)
    t0 = time.perf_counter()
    net.fit(X[:2048], y[:2048], epochs=1, batch_size=BIG_BATCH, optimizer=opt, shuffle=False)
    epoch_estimate = (time.perf_counter() - t0) * len(X) / 2048
    epochs = max(1, int(np.ceil(2.0 / epoch_estimate)))
    count = [0]
    stop = [False]

    def spin():
        c = 0
        while not stop[0]:
            c += 1
            count[0] = c

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        time.sleep(0.05)
        c0, t0 = count[0], time.perf_counter()
        time.sleep(0.25)  # the main thread idles: the counter's full rate
        rate = (count[0] - c0) / (time.perf_counter() - t0)
        c0 = count[0]
        net.fit(X, y, epochs=epochs, batch_size=BIG_BATCH, optimizer=opt, shuffle=False)
        during = count[0] - c0
    finally:
        stop[0] = True
        th.join()
    assert rate > 0
    held_bound = rate * sys.getswitchinterval() * 2 * (epochs + 2)
    assert during > 2 * held_bound, (
        f"the other thread counted {during} during fit, no more than the {held_bound:.0f} it could reach "
        f"at the {2 * (epochs + 2)} GIL hand-overs of a fit that held the GIL ({epochs} epochs)")


# --------------------------------------------------------------------------------------------
# 6. Callbacks
# --------------------------------------------------------------------------------------------


def test_callbacks_called_once_per_epoch():
    net = ce_net()
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=16)
    calls = []

    def cb(net_, epoch, history):
        calls.append((net_, epoch, history, history.epochs, net_.params.copy()))

    opt = SGD(net, lr=0.1)
    hist = net.fit(X, y, epochs=4, batch_size=6, optimizer=opt, callbacks=[cb], seed=0)
    assert [c[1] for c in calls] == [1, 2, 3, 4]
    assert all(c[0] is net and c[2] is hist for c in calls)
    assert [c[3] for c in calls] == [1, 2, 3, 4]  # the history is filled before the call
    assert np.array_equal(calls[-1][4], net.params)
    assert not np.array_equal(calls[0][4], calls[1][4])


def test_callback_returning_true_stops():
    net = ce_net()
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=17)
    opt = SGD(net, lr=0.1)
    seen = []

    def stop_at_2(net_, epoch, history):
        seen.append(epoch)
        return epoch == 2

    hist = net.fit(X, y, epochs=10, batch_size=6, optimizer=opt, callbacks=[stop_at_2], seed=0)
    assert seen == [1, 2]
    assert hist.epochs == 2 and len(hist.epoch_time) == 2
    assert opt.t == 2 * 4
    # returning None / False goes on
    hist = net.fit(X, y, epochs=3, batch_size=6, optimizer=opt, callbacks=[lambda *a: None], seed=0)
    assert hist.epochs == 3


def test_exception_in_callback_propagates_and_leaves_network_consistent():
    class Boom(Exception):
        pass

    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=18)
    net = ce_net()
    opt = Adam(net, lr=0.01)

    def cb(net_, epoch, history):
        if epoch == 2:
            raise Boom("from the callback")

    with pytest.raises(Boom, match="from the callback"):
        net.fit(X, y, epochs=5, batch_size=6, optimizer=opt, callbacks=[cb], shuffle=False)
    assert opt.t == 2 * 4
    assert np.isfinite(net.params).all()
    ref_net = ce_net()
    ref_opt = Adam(ref_net, lr=0.01)
    ref_net.fit(X, y, epochs=2, batch_size=6, optimizer=ref_opt, shuffle=False)
    assert np.array_equal(net.params, ref_net.params)
    # usable, and the optimizer continues where it stopped
    net.fit(X, y, epochs=1, batch_size=6, optimizer=opt, shuffle=False)
    ref_net.fit(X, y, epochs=1, batch_size=6, optimizer=ref_opt, shuffle=False)
    assert np.array_equal(net.params, ref_net.params) and opt.t == 12


# --------------------------------------------------------------------------------------------
# 7. Validation data, History, verbose
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_validation_data_fills_history(loss):
    sizes = [5, 8, 3]
    acts = ["tanh", "softmax" if loss == "cross_entropy" else "identity"]
    X, Y = make_data(loss, 30, 5, 3, np.float64, seed=19)
    Xv, Yv = make_data(loss, 11, 5, 3, np.float64, seed=20)
    net = sp.Network(sizes, acts, loss, seed=1)
    measured = []

    def cb(net_, epoch, history):
        measured.append((net_.cost(Xv, Yv), net_.score(Xv, Yv)))

    hist = net.fit(X, Y, epochs=3, batch_size=8, optimizer=SGD(net, lr=0.1), seed=0,
                   validation_data=(Xv, Yv), callbacks=[cb])
    assert hist.epochs == 3
    assert len(hist.loss) == len(hist.val_loss) == len(hist.val_score) == len(hist.epoch_time) == 3
    assert hist.val_loss == [m[0] for m in measured]
    assert hist.val_score == [m[1] for m in measured]
    assert len(set(hist.val_loss)) == 3  # changes from epoch to epoch
    assert all(t >= 0 for t in hist.epoch_time)
    rnet = RefNet(net)
    tr = ref.backward(rnet.W, rnet.B, rnet.activations, loss, Xv, Yv)
    assert hist.val_loss[-1] == pytest.approx(tr.loss, rel=1e-12)
    if loss == "cross_entropy":
        assert hist.val_score[-1] == np.mean(tr.S_out[-1].argmax(axis=1) == Yv)
    hist = net.fit(X, Y, epochs=2, batch_size=8, optimizer=SGD(net, lr=0.1), seed=0)
    assert hist.val_loss == [] and hist.val_score == [] and hist.epochs == 2


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=21)
    net = ce_net()
    hist = net.fit(X, y, epochs=3, batch_size=6, optimizer=SGD(net), seed=0, verbose=True,
                   validation_data=(X[:5], y[:5]))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for e, line in enumerate(lines, start=1):
        assert f"epoch {e}/3" in line, line
        # the numbers printed are those of the History (to the digits shown)
        loss = re.search(r"(?<![\w])loss[ =:]+([-+0-9.eE]+)", line)
        val_loss = re.search(r"val_loss[ =:]+([-+0-9.eE]+)", line)
        assert loss and val_loss, line
        assert float(loss.group(1)) == pytest.approx(hist.loss[e - 1], rel=1e-3)
        assert float(val_loss.group(1)) == pytest.approx(hist.val_loss[e - 1], rel=1e-3)
    net.fit(X, y, epochs=2, batch_size=6, optimizer=SGD(net), seed=0)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------------------------
# 8. Argument errors
# --------------------------------------------------------------------------------------------


def _other_network_optimizer(net):
    return SGD(ce_net(seed=9))


FIT_ERRORS = [
    # (id, function net, opt, X, y -> fit keyword arguments, exception, pattern)
    ("epochs_negative", lambda *a: dict(epochs=-1), ValueError, "epochs"),
    ("epochs_float", lambda *a: dict(epochs=2.0), ValueError, "epochs"),
    ("epochs_bool", lambda *a: dict(epochs=True), ValueError, "epochs"),
    ("epochs_str", lambda *a: dict(epochs="2"), ValueError, "epochs"),
    ("batch_size_zero", lambda *a: dict(batch_size=0), ValueError, "batch_size"),
    ("batch_size_negative", lambda *a: dict(batch_size=-4), ValueError, "batch_size"),
    ("batch_size_float", lambda *a: dict(batch_size=4.0), ValueError, "batch_size"),
    ("alpha_negative", lambda *a: dict(alpha=-0.1), ValueError, "alpha"),
    ("alpha_nan", lambda *a: dict(alpha=float("nan")), ValueError, "alpha"),
    ("alpha_inf", lambda *a: dict(alpha=float("inf")), ValueError, "alpha"),
    ("alpha_str", lambda *a: dict(alpha="0.1"), ValueError, "alpha"),
    ("optimizer_other_network", lambda net, *a: dict(optimizer=_other_network_optimizer(net)),
     ValueError, "another network"),
    ("optimizer_wrong_type", lambda *a: dict(optimizer="adam"), TypeError, "optimizer"),
    ("optimizer_class", lambda *a: dict(optimizer=SGD), TypeError, "optimizer"),
    ("sample_weight_shape", lambda net, opt, X, y: dict(sample_weight=np.ones(len(X) - 1)),
     ValueError, "sample_weight"),
    ("sample_weight_2d", lambda net, opt, X, y: dict(sample_weight=np.ones((len(X), 1))),
     ValueError, "sample_weight"),
    ("sample_weight_negative", lambda net, opt, X, y: dict(sample_weight=np.r_[-1.0, np.ones(len(X) - 1)]),
     ValueError, "sample_weight"),
    ("sample_weight_nan", lambda net, opt, X, y: dict(sample_weight=np.r_[np.nan, np.ones(len(X) - 1)]),
     ValueError, "sample_weight"),
    ("sample_weight_inf", lambda net, opt, X, y: dict(sample_weight=np.r_[np.inf, np.ones(len(X) - 1)]),
     ValueError, "sample_weight"),
    ("sample_weight_all_zero", lambda net, opt, X, y: dict(sample_weight=np.zeros(len(X))),
     ValueError, "sample_weight"),
    ("validation_data_not_a_pair", lambda net, opt, X, y: dict(validation_data=(X,)),
     TypeError, "validation_data"),
    ("validation_labels_out_of_range", lambda net, opt, X, y: dict(validation_data=(X, y + 3)),
     ValueError, "label"),
    ("callback_not_callable", lambda *a: dict(callbacks=[1]), TypeError, "callbacks"),
    ("Y_wrong_length", lambda net, opt, X, y: dict(Y=y[:-1]), ValueError, "Y"),
    ("Y_label_out_of_range", lambda net, opt, X, y: dict(Y=np.r_[y[:-1], 7]), ValueError, "label"),
    ("X_wrong_dtype", lambda net, opt, X, y: dict(X=X.astype(np.float32)), TypeError, "X"),
    ("X_nan", lambda net, opt, X, y: dict(X=np.where(np.arange(len(X))[:, None] == 3, np.nan, X)),
     ValueError, "X"),
]


@pytest.mark.parametrize("make_kwargs, exc, pattern",
                         [pytest.param(f, e, p, id=i) for i, f, e, p in FIT_ERRORS])
def test_fit_argument_errors_leave_network_and_optimizer_untouched(make_kwargs, exc, pattern):
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=22)
    net = ce_net()
    opt = Adam(net, lr=0.01)
    net.fit(X, y, epochs=1, batch_size=6, optimizer=opt, seed=0)  # non-trivial state
    snap = snapshot(net, opt)
    kwargs = dict(X=X, Y=y, epochs=2, batch_size=6, optimizer=opt, seed=0)
    kwargs.update(make_kwargs(net, opt, X, y))
    with pytest.raises(exc, match=pattern):
        net.fit(**kwargs)
    assert_unchanged(net, opt, snap)


def _bad_validation(kind, X, y):
    if kind == "columns":
        return np.ascontiguousarray(X[:5, :4]), y[:5]
    if kind == "dtype":
        return X[:5].astype(np.float32), y[:5]
    if kind == "nan":
        return np.full((5, 5), np.nan), y[:5]
    return X[:5], y[:4]  # lengths


@pytest.mark.parametrize("kind", ["columns", "dtype", "nan", "lengths"])
def test_invalid_validation_data_is_rejected_before_training(kind):
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=23)
    net = ce_net()
    opt = SGD(net, lr=0.1, momentum=0.9)
    snap = snapshot(net, opt)
    with pytest.raises((TypeError, ValueError), match="X_val|Y_val|validation"):
        net.fit(X, y, epochs=2, batch_size=6, optimizer=opt, validation_data=_bad_validation(kind, X, y))
    assert_unchanged(net, opt, snap)


def test_batch_of_zero_sample_weights_is_not_divergence():
    X, y = make_data("cross_entropy", 20, 5, 3, np.float64, seed=24)
    net = ce_net()
    w = np.ones(20)
    w[:5] = 0.0  # valid: >= 0 with a positive sum; the first batch has zero weight
    net.fit(X, y, epochs=1, batch_size=5, optimizer=SGD(net, lr=0.1), shuffle=False, sample_weight=w)
    assert np.isfinite(net.params).all()


OPTIMIZER_ERRORS = [
    ("sgd_lr_zero", SGD, dict(lr=0.0), ValueError, "lr"),
    ("sgd_lr_negative", SGD, dict(lr=-0.1), ValueError, "lr"),
    ("sgd_lr_nan", SGD, dict(lr=float("nan")), ValueError, "lr"),
    ("sgd_lr_inf", SGD, dict(lr=float("inf")), ValueError, "lr"),
    ("sgd_lr_str", SGD, dict(lr="0.1"), TypeError, "lr"),
    ("sgd_lr_bool", SGD, dict(lr=True), TypeError, "lr"),
    ("sgd_momentum_negative", SGD, dict(momentum=-0.1), ValueError, "momentum"),
    ("sgd_momentum_one", SGD, dict(momentum=1.0), ValueError, "momentum"),
    ("sgd_momentum_nan", SGD, dict(momentum=float("nan")), ValueError, "momentum"),
    ("sgd_nesterov_without_momentum", SGD, dict(nesterov=True), ValueError, "nesterov"),
    ("sgd_nesterov_not_bool", SGD, dict(momentum=0.9, nesterov="yes"), TypeError, "nesterov"),
    ("sgd_weight_decay_negative", SGD, dict(weight_decay=-1e-3), ValueError, "weight_decay"),
    ("adam_lr_zero", Adam, dict(lr=0.0), ValueError, "lr"),
    ("adam_beta1_one", Adam, dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
    ("adam_beta1_negative", Adam, dict(betas=(-0.1, 0.999)), ValueError, r"betas\[0\]"),
    ("adam_beta2_one", Adam, dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    ("adam_beta2_nan", Adam, dict(betas=(0.9, float("nan"))), ValueError, r"betas\[1\]"),
    ("adam_betas_not_a_pair", Adam, dict(betas=(0.9,)), TypeError, "betas"),
    ("adam_betas_scalar", Adam, dict(betas=0.9), TypeError, "betas"),
    ("adam_eps_zero", Adam, dict(eps=0.0), ValueError, "eps"),
    ("adam_eps_negative", Adam, dict(eps=-1e-8), ValueError, "eps"),
    ("adam_weight_decay_nan", Adam, dict(weight_decay=float("nan")), ValueError, "weight_decay"),
    ("adamw_weight_decay_negative", AdamW, dict(weight_decay=-0.01), ValueError, "weight_decay"),
    ("adamw_lr_negative", AdamW, dict(lr=-1.0), ValueError, "lr"),
]


@pytest.mark.parametrize("cls, kwargs, exc, pattern",
                         [pytest.param(c, k, e, p, id=i) for i, c, k, e, p in OPTIMIZER_ERRORS])
def test_optimizer_constructor_errors(cls, kwargs, exc, pattern):
    net = ce_net()
    with pytest.raises(exc, match=pattern):
        cls(net, **kwargs)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_optimizer_needs_a_network(cls):
    with pytest.raises(TypeError, match="net"):
        cls("not a network")
    with pytest.raises(TypeError, match="net"):
        cls(ce_net()._net)  # the low-level handle is not a Network either


@pytest.mark.parametrize("n", [10, 40], ids=["last_step", "mid_epoch"])
def test_step_overflowing_the_parameters_is_divergence(n):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    Y = (10 * rng.normal(size=(n, 2))).astype(np.float32)
    net = sp.Network([3, 4, 2], ["identity", "identity"], "mse", dtype=np.float32, seed=1)
    opt = SGD(net, lr=1e38)  # a valid (finite) learning rate; lr·gradient overflows float32
    with pytest.raises(FloatingPointError, match="learning rate"):
        net.fit(X, Y, epochs=2, batch_size=10, optimizer=opt, shuffle=False)
    assert np.isfinite(net.params).all(), "the parameters must be those of the last finite step"
