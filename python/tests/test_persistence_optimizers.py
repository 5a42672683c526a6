"""Save/load and pickling with every optimizer whose state is not trivial, after training steps.

SGD without momentum keeps no state, so round trips of it say nothing about the state: here SGD with
momentum, SGD with Nesterov momentum and weight decay, Adam (own betas, eps, coupled decay) and AdamW
are trained for some steps, then saved/loaded (``Network.save``/``Network.load``) or pickled (the
network, or the optimizer alone, which pickles with its network). After the round trip every state
array (``opt.state``) and ``opt.t`` must be bit-exact, the hyper-parameters the same, and continuing
training must give bit-identical parameters and state to continuing without the round trip.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import swiftprop as sp
from swiftprop.optim import SGD, Adam, AdamW

OPTIMIZERS = {
    "sgd_momentum": (SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov_wd": (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    "adam": (Adam, dict(lr=0.01, betas=(0.85, 0.99), eps=1e-7, weight_decay=0.02)),
    "adamw": (AdamW, dict(lr=0.01, weight_decay=0.1)),
}
DTYPES = [pytest.param(np.float64, id="f64"), pytest.param(np.float32, id="f32")]
ROUND_TRIPS = ["save_load", "pickle_network", "pickle_optimizer"]


def _data(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 5)).astype(dtype)
    y = rng.integers(0, 3, 70)
    return X, y


def _trained(opt_name, dtype):
    cls, kwargs = OPTIMIZERS[opt_name]
    X, y = _data(dtype)
    net = sp.Network([5, 9, 7, 3], "tanh", "cross_entropy", dtype=dtype, seed=1)
    opt = cls(net, **kwargs)
    net.fit(X, y, epochs=2, batch_size=16, optimizer=opt, seed=0)  # 2 × 5 steps
    assert opt.t == 10
    for name, arr in opt.state.items():  # the state is really there to lose
        assert np.count_nonzero(arr) > 0.9 * arr.size, name
    return net, opt, X, y


def _round_trip(kind, net, opt, tmp_path):
    """(network, optimizer) after the round trip."""
    if kind == "save_load":
        net.save(tmp_path / "net.npz")
        back = sp.Network.load(tmp_path / "net.npz")
        return back, back.optimizer
    if kind == "pickle_network":
        back = pickle.loads(pickle.dumps(net))
        return back, back.optimizer
    bopt = pickle.loads(pickle.dumps(opt))  # the optimizer pickles with its network
    return bopt.network, bopt


def _snapshot(net, opt):
    return net.params.copy(), {k: v.copy() for k, v in opt.state.items()}, opt.t


def _assert_identical(a, b, what):
    pa, sa, ta = a
    pb, sb, tb = b
    assert pa.dtype == pb.dtype and np.array_equal(pa, pb), f"{what}: parameters differ"
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and np.array_equal(sa[k], sb[k]), f"{what}: state {k!r} differs"
    assert ta == tb, f"{what}: t {ta} != {tb}"


@pytest.mark.parametrize("kind", ROUND_TRIPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_round_trip_keeps_optimizer_state_and_continues_bit_identically(opt_name, dtype, kind, tmp_path):
    net, opt, X, y = _trained(opt_name, dtype)
    before = _snapshot(net, opt)
    back, bopt = _round_trip(kind, net, opt, tmp_path)
    assert back is not net and bopt is not opt
    assert type(bopt) is type(opt) and repr(bopt) == repr(opt)  # class and every hyper-parameter
    assert bopt.network is back
    if kind != "pickle_optimizer":  # (see test_unpickled_optimizer_is_its_networks_optimizer)
        assert back.optimizer is bopt
    _assert_identical(_snapshot(back, bopt), before, "right after the round trip")
    _assert_identical(_snapshot(net, opt), before, "the original, after the round trip")
    assert not np.shares_memory(back.params, net.params)
    assert not any(np.shares_memory(bopt.state[k], opt.state[k]) for k in opt.state)

    # continue both: fit (the optimizer the network remembers), then hand-made steps
    for n_, o_ in ((net, opt), (back, bopt)):
        n_.fit(X, y, epochs=2, batch_size=16, seed=5, optimizer=o_)
        for k in range(3):
            n_.backward(X[k * 20:(k + 1) * 20], y[k * 20:(k + 1) * 20])
            o_.step()
    assert opt.t == 10 + 10 + 3
    _assert_identical(_snapshot(back, bopt), _snapshot(net, opt), "after continuing training")
    # and the continuation did move: the state is live, not a frozen copy
    assert not np.array_equal(net.params, before[0])


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_saved_file_holds_the_state_and_step_count(opt_name, tmp_path):
    """What the file holds: the state buffer bit for bit (in the network's dtype) and t."""
    import json

    net, opt, _, _ = _trained(opt_name, np.float32)
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as f:
        meta = json.loads(str(f["meta"]))
        stored = f["optimizer_state"]
    assert meta["optimizer"]["class"] == type(opt).__name__ and meta["optimizer"]["t"] == opt.t
    assert stored.dtype == np.float32
    flat = np.concatenate([opt.state[k] for k in opt.state])
    assert np.array_equal(stored, flat)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_round_trip_without_it_continuing_differs(opt_name):
    """The control: a fresh optimizer (state and t lost) on the same parameters continues differently,
    so the bit-identical continuation above does depend on the restored state."""
    net, opt, X, y = _trained(opt_name, np.float64)
    cls, kwargs = OPTIMIZERS[opt_name]
    twin = pickle.loads(pickle.dumps(net))
    twin.optimizer = cls(twin, **kwargs)  # same hyper-parameters, zero state, t = 0
    net.fit(X, y, epochs=1, batch_size=16, seed=5)
    twin.fit(X, y, epochs=1, batch_size=16, seed=5)
    assert not np.array_equal(net.params, twin.params)


def test_unpickled_optimizer_is_its_networks_optimizer():
    net, opt, X, y = _trained("adam", np.float64)
    bopt = pickle.loads(pickle.dumps(opt))
    assert bopt.network.optimizer is bopt
    assert bopt.t == opt.t and all(np.array_equal(bopt.state[k], opt.state[k]) for k in opt.state)
    # an optimizer that is not its network's comes back beside the network's own, as a separate one
    other = SGD(net, lr=0.1, momentum=0.5)
    bother = pickle.loads(pickle.dumps(other))
    assert bother.network.optimizer is not bother and type(bother.network.optimizer) is type(opt)
    assert bother.momentum == 0.5
