"""Training tools of issue 13: RMSprop and clip_norm against the NumPy reference, gradient accumulation,
the PyTorch-style schedules, EarlyStopping / ModelCheckpoint, init schemes, summary() and History export."""
from __future__ import annotations

import math

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import reference as ref
from swiftprop.callbacks import EarlyStopping, ModelCheckpoint
from swiftprop.optim import (SGD, Adam, AdamW, CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, RMSprop,
                             StepLR)

TOL = {np.float64: 1e-10, np.float32: 1e-4}


def _problem(dtype=np.float64, seed=0, sizes=(5, 7, 3)):
    rng = np.random.default_rng(seed)
    net = sp.Network(list(sizes), ["tanh", "identity"], "mse", dtype=dtype, seed=seed)
    X = rng.normal(size=(16, sizes[0])).astype(dtype)
    Y = rng.normal(size=(16, sizes[-1])).astype(dtype)
    return net, X, Y


# ---- RMSprop --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"weight_decay": 0.01, "alpha": 0.9, "eps": 1e-6},
                                {"momentum": 0.5, "weight_decay": 0.1}])
def test_rmsprop_matches_the_numpy_reference(dtype, kw):
    net, X, Y = _problem(dtype)
    opt = RMSprop(net, lr=0.01, **kw)
    p = net.params.astype(np.float64)
    s, b = np.zeros_like(p), np.zeros_like(p)
    for step in range(6):
        net.backward(X[step:step + 8], Y[step:step + 8])
        g = net.grads.astype(np.float64)
        opt.step()
        ref.rmsprop_step(p, g, s, b, lr=0.01, alpha=kw.get("alpha", 0.99), eps=kw.get("eps", 1e-8),
                         momentum=kw.get("momentum", 0.0), weight_decay=kw.get("weight_decay", 0.0))
        np.testing.assert_allclose(net.params, p, rtol=TOL[dtype], atol=TOL[dtype])
        p = net.params.astype(np.float64)  # follow the network (float32 rounding does not accumulate)
    np.testing.assert_allclose(opt.state["square_avg"], s, rtol=TOL[dtype] * 10, atol=1e-12)


def test_rmsprop_checks_its_arguments_and_persists(tmp_path):
    net, X, Y = _problem()
    for kw, exc in [({"alpha": 1.0}, ValueError), ({"eps": 0}, ValueError), ({"momentum": -0.1}, ValueError),
                    ({"weight_decay": "x"}, TypeError), ({"clip_norm": 0}, ValueError)]:
        with pytest.raises(exc):
            RMSprop(net, **kw)
    opt = RMSprop(net, lr=0.005, momentum=0.5, clip_norm=2.0)
    net.fit(X, Y, epochs=2, optimizer=opt, seed=0)
    net.save(tmp_path / "r.npz")
    back = sp.Network.load(tmp_path / "r.npz")
    assert repr(back.optimizer) == repr(opt) and "clip_norm=2.0" in repr(opt)
    np.testing.assert_array_equal(back.optimizer.state["momentum_buffer"], opt.state["momentum_buffer"])


# ---- clip_norm -------------------------------------------------------------------------------------------

OPTIMIZERS = [
    (SGD, {"lr": 0.1, "momentum": 0.9}, lambda p, g, st, t: ref.sgd_step(p, g, st[0], 0.1, 0.9)),
    (Adam, {"lr": 0.01}, lambda p, g, st, t: ref.adam_step(p, g, st[0], st[1], t, 0.01)),
    (AdamW, {"lr": 0.01}, lambda p, g, st, t: ref.adam_step(p, g, st[0], st[1], t, 0.01, weight_decay=0.01,
                                                            decoupled=True)),
    (RMSprop, {"lr": 0.01}, lambda p, g, st, t: ref.rmsprop_step(p, g, st[0], st[1], 0.01)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, kw, step", OPTIMIZERS, ids=[c[0].__name__ for c in OPTIMIZERS])
@pytest.mark.parametrize("clip", [0.05, 1e6])
def test_clip_norm_matches_the_reference(dtype, cls, kw, step, clip):
    net, X, Y = _problem(dtype, seed=3)
    opt = cls(net, clip_norm=clip, **kw)
    p = net.params.astype(np.float64)
    state = [np.zeros_like(p), np.zeros_like(p)]
    for t in range(1, 5):
        net.backward(X, Y * 10)
        raw = net.grads.copy()
        opt.step()
        np.testing.assert_array_equal(net.grads, raw)  # the buffer keeps the unclipped gradient
        (g,), norm = ref.clip_grad_norm([raw.astype(np.float64)], clip)
        assert (norm > clip) == (clip < 1)
        step(p, g, state, t)
        np.testing.assert_allclose(net.params, p, rtol=TOL[dtype] * 10, atol=TOL[dtype])
        p = net.params.astype(np.float64)


def test_clip_norm_in_fit_and_setter():
    net, X, Y = _problem()
    opt = SGD(net, lr=0.1, clip_norm=0.5)
    before = net.params.copy()
    net.fit(X, Y, epochs=1, batch_size=16, optimizer=opt, shuffle=False)
    net2, _, _ = _problem()
    net2.backward(X, Y)
    (g,), _ = ref.clip_grad_norm([net2.grads.copy()], 0.5)
    np.testing.assert_allclose(net.params, before - 0.1 * g, rtol=1e-12, atol=1e-14)
    opt.clip_norm = None
    assert opt.clip_norm is None and "clip_norm" not in repr(opt)
    with pytest.raises(ValueError, match="clip_norm"):
        opt.clip_norm = -1.0


# ---- accumulate ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_accumulate_adds_to_the_gradient(dtype):
    net, X, Y = _problem(dtype)
    parts = [(X[:5], Y[:5]), (X[5:11], Y[5:11]), (X[11:], Y[11:])]
    want = np.zeros(net.n_params)
    for xb, yb in parts:
        net.backward(xb, yb)
        want += net.grads
    net.grads[...] = 123.0
    net.backward(*parts[0])  # overwrites
    for xb, yb in parts[1:]:
        net.backward(xb, yb, accumulate=True)
    np.testing.assert_allclose(net.grads, want, rtol=TOL[dtype], atol=TOL[dtype])
    with pytest.raises(TypeError, match="accumulate must be a bool"):
        net.backward(X, Y, accumulate=1)


def test_accumulated_step_equals_the_whole_batch_step():
    """k equal parts, accumulated, then a step with lr/k: the same update as one step on the whole batch."""
    a, X, Y = _problem()
    b, _, _ = _problem()
    a.backward(X, Y)
    SGD(a, lr=0.1).step()
    b.backward(X[:8], Y[:8])
    b.backward(X[8:], Y[8:], accumulate=True)
    SGD(b, lr=0.05).step()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-14)


# ---- schedules -------------------------------------------------------------------------------------------

def _lrs(sched, opt, n):
    out = []
    for _ in range(n):
        sched.step()
        out.append(opt.lr)
    return out


def test_step_and_exponential_lr_follow_pytorch():
    net, _, _ = _problem()
    opt = SGD(net, lr=1.0)
    assert _lrs(StepLR(opt, step_size=3, gamma=0.5), opt, 7) == pytest.approx([1, 1, .5, .5, .5, .25, .25])
    opt.lr = 2.0
    assert _lrs(ExponentialLR(opt, gamma=0.9), opt, 3) == pytest.approx([1.8, 1.62, 1.458])
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="step_size"):
        StepLR(opt, step_size=1.5)


def test_cosine_annealing_closed_form_and_warmup():
    net, _, _ = _problem()
    opt = SGD(net, lr=0.1)
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    got = _lrs(sched, opt, 10)
    want = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(1, 11)]
    assert got == pytest.approx(want)
    opt.lr = 0.1
    sched = CosineAnnealingLR(opt, T_max=4, warmup=2)
    assert opt.lr == pytest.approx(0.1 / 3)  # epoch 0 of 2 warm-up epochs: a linear ramp to the base rate
    got = _lrs(sched, opt, 6)
    assert got[:2] == pytest.approx([0.2 / 3, 0.1])
    assert got[2:5] == pytest.approx([0.1 * (1 + math.cos(math.pi * t / 4)) / 2 for t in (1, 2, 3)])
    assert 0 < got[5] < 1e-300  # T_max: eta_min 0, kept positive


def test_reduce_on_plateau_follows_pytorch():
    net, _, _ = _problem()
    opt = SGD(net, lr=1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]:
        sched.step(metric)
        lrs.append(opt.lr)
    # bad epochs 1, 2, 3 > patience -> 0.5; cooldown 1; then 3 more bad -> 0.25; then min_lr 0.2
    assert lrs == pytest.approx([1, 1, 1, 1, .5, .5, .5, .5, .25, .25, .25])
    for _ in range(8):
        sched.step(4)
    assert opt.lr == pytest.approx(0.2)


def test_schedules_step_once_per_epoch_in_fit():
    net, X, Y = _problem()
    opt = SGD(net, lr=0.1)
    h = net.fit(X, Y, epochs=5, batch_size=4, optimizer=opt, callbacks=[StepLR(opt, 2, gamma=0.1)])
    assert h.epochs == 5 and opt.lr == pytest.approx(0.1 * 0.1 ** 2)
    opt.lr = 0.1
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=0)
    net.fit(X, Y, epochs=3, optimizer=opt, validation_data=(X, Y), callbacks=[plateau])
    assert plateau.best == pytest.approx(min(net.cost(X, Y), plateau.best))
    with pytest.raises(ValueError, match="val_loss"):
        net.fit(X, Y, epochs=1, optimizer=opt, callbacks=[ReduceLROnPlateau(opt, monitor="val_loss")])


# ---- callbacks -------------------------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))  # noise: validation loss soon rises
    net = sp.Network([3, 32, 1], seed=0)
    stop = EarlyStopping(monitor="val_loss", patience=3)
    h = net.fit(X[:20], y[:20], epochs=500, batch_size=4, optimizer=Adam(net, lr=0.02),
                validation_data=(X[20:], y[20:]), callbacks=[stop], seed=0)
    assert h.epochs < 500 and stop.stopped_epoch == h.epochs
    assert h.epochs == stop.best_epoch + 4
    assert net.cost(X[20:], y[20:]) == pytest.approx(min(h.val_loss), rel=1e-12)
    assert stop.best == min(h.val_loss) and h.val_loss.index(stop.best) + 1 == stop.best_epoch


def test_early_stopping_restores_at_the_end_too_and_modes():
    net, X, Y = _problem()
    stop = EarlyStopping(monitor="val_score", patience=100)
    assert stop.mode == "max"
    h = net.fit(X, Y, epochs=6, optimizer=Adam(net, lr=0.5), validation_data=(X, Y), callbacks=[stop], seed=0)
    assert h.epochs == 6 and stop.stopped_epoch == 0
    assert net.score(X, Y) == pytest.approx(max(h.val_score), rel=1e-12)
    with pytest.raises(ValueError, match="validation_data"):
        net.fit(X, Y, epochs=1, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_model_checkpoint_saves_best_and_every_epoch(tmp_path):
    net, X, Y = _problem()
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss")
    every = ModelCheckpoint(str(tmp_path / "e{epoch:02d}-{loss:.3f}.npz"), save_best_only=False)
    h = net.fit(X, Y, epochs=4, optimizer=Adam(net, lr=0.3), validation_data=(X[:8], Y[:8]),
                callbacks=[best, every], seed=0)
    assert [p.split("/")[-1][:3] for p in every.saved] == ["e01", "e02", "e03", "e04"]
    assert best.best == min(h.val_loss) and len(best.saved) >= 1
    loaded = sp.Network.load(best.saved[-1])
    assert loaded.cost(X[:8], Y[:8]) == pytest.approx(min(h.val_loss), rel=1e-12)
    with pytest.raises(TypeError, match="path"):
        ModelCheckpoint(3)


# ---- init, summary, History ------------------------------------------------------------------------------

@pytest.mark.parametrize("init, bound", [("he", lambda i, o: math.sqrt(6 / i)),
                                         ("glorot", lambda i, o: math.sqrt(6 / (i + o))),
                                         ("lecun", lambda i, o: math.sqrt(3 / i))])
def test_init_schemes_draw_within_their_bounds(init, bound):
    net = sp.Network([200, 100, 50], ["sigmoid", "identity"], init=init, seed=0)
    for W, B in zip(net.weights, net.biases):
        b = bound(W.shape[1], W.shape[0])
        assert np.abs(W).max() <= b and np.abs(W).max() > 0.95 * b
        assert not B.any()
    default = sp.Network([200, 100, 50], ["sigmoid", "identity"], seed=0)
    assert np.abs(default.weights[0]).max() <= math.sqrt(2 / 300)  # today's scheme stays the default


def test_init_callable_and_bad_values():
    net = sp.Network([3, 4, 2], init=lambda shape, rng: np.full(shape, 0.5), seed=0)
    assert all((W == 0.5).all() for W in net.weights)
    with pytest.raises(ValueError, match="init must be one of"):
        sp.Network([3, 2], init="xavier")
    with pytest.raises(TypeError, match="init"):
        sp.Network([3, 2], init=3)
    with pytest.raises(ValueError, match="shape"):
        sp.Network([3, 2], init=lambda shape, rng: np.zeros(3))


def test_summary_lists_every_layer_and_the_total():
    net = sp.Network([10, 32, 16, 4], "relu", "cross_entropy", dropout=[0.2, 0.1], dtype=np.float32)
    text = net.summary()
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["layer", "W"]
    assert "(32, 10)" in lines[2] and "352" in lines[2] and "relu" in lines[2] and "0.2" in lines[2]
    assert "(4, 16)" in lines[4] and "softmax" in lines[4]
    assert lines[6].split() == ["total", f"{net.n_params:,}"]
    assert "cross_entropy" in lines[-1] and "float32" in lines[-1]


def test_history_as_dict_and_to_pandas():
    net, X, Y = _problem()
    h = net.fit(X, Y, epochs=3, validation_data=(X, Y))
    d = h.as_dict()
    assert set(d) == {"loss", "penalty", "val_loss", "val_score", "epoch_time"} and d["loss"] == h.loss
    d["loss"].append(0)
    assert len(h.loss) == 3  # a copy
    pd = pytest.importorskip("pandas")
    df = h.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.index) == [1, 2, 3] and df.index.name == "epoch"
    assert df["val_loss"].tolist() == h.val_loss
    assert "val_loss" not in net.fit(X, Y, epochs=2).to_pandas().columns
