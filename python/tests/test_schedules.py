"""Learning-rate schedules (swiftprop.optim), the shared number check (swiftprop._validation), the
estimators' constraint table (swiftprop.sklearn._params), and the rule that no swiftprop module reads
another module's extension handle."""
import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import optim
from swiftprop._validation import Interval, check_number


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ rng.normal(size=(3, 2))


def test_invscaling_callback_sets_the_rate_after_every_epoch():
    X, Y = _data()
    net = sp.Network([3, 5, 2], activations="tanh", seed=0)
    opt = optim.SGD(net, lr=0.3)
    sched = optim.InvScalingLR(opt, power_t=0.25, samples_per_epoch=len(X))
    net.fit(X, Y, epochs=4, batch_size=8, optimizer=opt, seed=0, callbacks=[sched])
    assert sched.t == 4 * len(X)
    assert opt.lr == 0.3 / (4 * len(X) + 1) ** 0.25  # bit-identical to the formula


def test_invscaling_epoch_end_uses_the_given_sample_count():
    net = sp.Network([2, 1], seed=0)
    opt = optim.SGD(net, lr=0.2)
    sched = optim.InvScalingLR(opt, 0.5, lr_init=0.1)
    sched.epoch_end(99)
    assert opt.lr == 0.1 / 100 ** 0.5
    assert not sched.reduces_on_plateau and not sched.on_plateau()


def test_adaptive_on_plateau_divides_then_stops_at_min_lr():
    net = sp.Network([2, 1], seed=0)
    opt = optim.SGD(net, lr=1e-5)
    sched = optim.AdaptiveLR(opt)
    assert sched.reduces_on_plateau
    assert sched.on_plateau() and opt.lr == 1e-5 / 5.0  # 2e-6
    assert sched.on_plateau() and opt.lr == 1e-5 / 5.0 / 5.0  # 2e-6 > 1e-6: divided once more
    assert not sched.on_plateau() and opt.lr == 1e-5 / 5.0 / 5.0  # 4e-7 <= 1e-6: stop, rate unchanged


def test_adaptive_callback_follows_scikit_learns_rule():
    # a loss that never improves: after patience + 1 epochs the rate is divided, the count starts again
    net = sp.Network([2, 1], seed=0)
    opt = optim.SGD(net, lr=0.5)
    sched = optim.AdaptiveLR(opt, patience=2, tol=1e-4)
    history = sp.History()
    stops = []
    for epoch in range(1, 8):
        history.loss.append(1.0)
        stops.append(sched(net, epoch, history))
    # epoch 1 sets the best; epochs 2, 3, 4 do not improve: the third exceeds patience=2
    assert opt.lr == 0.5 / 5 / 5 and not any(stops)


def test_adaptive_callback_stops_fit_below_min_lr():
    X, Y = _data()
    net = sp.Network([3, 2], seed=0)
    opt = optim.SGD(net, lr=1e-6)
    history = net.fit(X, np.zeros_like(Y), epochs=50, optimizer=opt, seed=0,
                      callbacks=[optim.AdaptiveLR(opt, patience=1, tol=1e9)])
    # epoch 1 sets the best, epochs 2 and 3 do not improve by tol: a plateau at min_lr stops after 3
    assert history.epochs == 3 and opt.lr == 1e-6


def test_constant_schedule_changes_nothing():
    net = sp.Network([2, 1], seed=0)
    opt = optim.Adam(net, lr=0.01)
    sched = optim.ConstantLR(opt)
    sched.epoch_end(1000)
    assert opt.lr == 0.01 and not sched.on_plateau() and sched(net, 1, sp.History()) is False


def test_schedule_arguments_are_checked():
    net = sp.Network([2, 1], seed=0)
    opt = optim.SGD(net)
    with pytest.raises(TypeError, match="optimizer must be"):
        optim.ConstantLR(net)
    with pytest.raises(ValueError, match=r"power_t must be in \[0.0, inf\]"):
        optim.InvScalingLR(opt, -1)
    with pytest.raises(ValueError, match="samples_per_epoch"):
        optim.InvScalingLR(opt, samples_per_epoch=0)
    with pytest.raises(ValueError, match="patience"):
        optim.AdaptiveLR(opt, patience=0)
    with pytest.raises(ValueError, match=r"factor must be in \(1.0, inf\]"):
        optim.AdaptiveLR(opt, factor=1)


def test_check_number_messages_are_optims():
    assert check_number("x", 3, Interval(0.0)) == 3.0
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        check_number("lr", "1", Interval(0.0, low_open=True))
    with pytest.raises(TypeError, match="got bool"):
        check_number("lr", True, Interval(0.0))
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\), got 1"):
        check_number("momentum", 1, Interval(0.0, 1.0, high_open=True))
    with pytest.raises(ValueError, match=r"lr must be in \(0.0, inf\], got nan"):
        check_number("lr", float("nan"), Interval(0.0, low_open=True))
    assert Interval(0.0, 1.0, high_open=True).describe("a float") == "a float in the range [0.0, 1.0)"
    assert Interval(1).describe("an int") == "an int in the range [1, inf)"


def test_constraint_tables_cover_every_parameter():
    pytest.importorskip("sklearn")
    from swiftprop.sklearn import MLPClassifier, MLPRegressor
    from swiftprop.sklearn._params import BASE_CONSTRAINTS, REGRESSOR_CONSTRAINTS

    assert set(inspect.signature(MLPRegressor).parameters) == set(REGRESSOR_CONSTRAINTS)
    # class_weight is checked with the targets (it depends on them), in MLPClassifier._prepare
    assert set(inspect.signature(MLPClassifier).parameters) == set(BASE_CONSTRAINTS) | {"class_weight"}


def test_no_module_reads_another_modules_extension_handle():
    # net._net belongs to _network.py and opt._opt to optim.py; the other modules use their accessors
    root = Path(sp.__file__).parent
    owners = {"_net": "_network.py", "_opt": "optim.py"}
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in owners and path.name != owners[node.attr]:
                found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
    assert not found, found
