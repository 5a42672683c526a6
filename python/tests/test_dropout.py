"""Dropout: applied in fit only, reproducible from the seed, validated, persisted.

The gradient with dropout masks is checked against finite differences in the Swift tests
(DropoutTests.swift), where the masks can be redrawn identically."""
import pickle

import numpy as np
import pytest

import swiftprop as sp


def _data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


def _net(dropout, seed=0):
    return sp.Network([6, 16, 12, 3], "tanh", "cross_entropy", seed=seed, dropout=dropout)


def _fit(net, X, y, seed=0, epochs=3):
    return net.fit(X, y, epochs=epochs, batch_size=16, optimizer=sp.optim.SGD(net, lr=0.1), seed=seed)


def test_zero_dropout_is_bit_identical_to_none():
    X, y = _data()
    a, b = _net(0.0), _net([0.0, 0.0])
    _fit(a, X, y)
    _fit(b, X, y)
    c = sp.Network([6, 16, 12, 3], "tanh", "cross_entropy", seed=0)
    _fit(c, X, y)
    assert np.array_equal(a.params, c.params) and np.array_equal(b.params, c.params)


def test_dropout_changes_training_and_is_reproducible():
    X, y = _data()
    plain, d1, d2, d3 = _net(0.0), _net(0.5), _net(0.5), _net(0.5)
    _fit(plain, X, y)
    _fit(d1, X, y, seed=1)
    _fit(d2, X, y, seed=1)
    _fit(d3, X, y, seed=2)
    assert np.array_equal(d1.params, d2.params)           # same seed: same masks
    assert not np.array_equal(d1.params, d3.params)       # another seed: other masks
    assert not np.allclose(d1.params, plain.params)       # the masks did something


def test_dropout_leaves_inference_and_gradients_deterministic():
    X, y = _data()
    net = _net(0.5)
    out1, out2 = net.forward(X), net.forward(X)
    assert np.array_equal(out1, out2)
    g = (net.backward(X, y), net.grads.copy())
    assert net.backward(X, y) == g[0] and np.array_equal(net.grads, g[1])
    ref = sp.Network([6, 16, 12, 3], "tanh", "cross_entropy", seed=0)
    assert np.allclose(net.forward(X), ref.forward(X))  # inverted dropout: no rescaling at inference


def test_inverted_dropout_keeps_the_expected_training_loss():
    """With kept units scaled by 1/(1-p), a linear hidden layer's expected output is unchanged, so
    the mean training loss over many masks approaches the loss without dropout (mse, identity)."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(400, 4)), rng.normal(size=(400, 2))
    net = sp.Network([4, 64, 2], ["identity", "identity"], "mse", seed=0, dropout=0.0)
    base = net.cost(X, Y)
    # train with an optimizer step so tiny it changes nothing measurable: loss_sum reflects the masks
    net.dropout = 0.2
    tiny = sp.optim.SGD(net, lr=1e-300)
    h = net.fit(X, Y, epochs=30, batch_size=400, optimizer=tiny, seed=0, shuffle=False)
    # E[loss] = base + variance term >= base; and it is close (p small, many units)
    assert min(h.loss) > 0 and np.mean(h.loss) >= base * 0.98
    assert np.mean(h.loss) < base * 1.5
    assert len(set(h.loss)) > 1  # each epoch drew new masks


@pytest.mark.parametrize("bad, exc", [(1.0, ValueError), (-0.1, ValueError), ([0.1], ValueError),
                                      ([0.1, 0.2, 0.3], ValueError), ("0.1", TypeError),
                                      ([0.1, float("nan")], ValueError)])
def test_dropout_validation(bad, exc):
    with pytest.raises(exc, match="dropout"):
        _net(bad)
    net = _net(0.1)
    with pytest.raises(exc, match="dropout"):
        net.dropout = bad
    assert net.dropout == (0.1, 0.1)  # unchanged after the failed assignment


def test_dropout_survives_save_load_and_pickle(tmp_path):
    net = _net([0.3, 0.1])
    net.save(tmp_path / "n.npz")
    assert sp.Network.load(tmp_path / "n.npz").dropout == (0.3, 0.1)
    assert pickle.loads(pickle.dumps(net)).dropout == (0.3, 0.1)
    assert "dropout=[0.3, 0.1]" in repr(net)


def test_estimator_dropout():
    pytest.importorskip("sklearn")
    X, y = _data(200)
    a = sp.MLPClassifier(hidden_layer_sizes=(16, 8), dropout=0.3, max_iter=5, random_state=0).fit(X, y)
    b = sp.MLPClassifier(hidden_layer_sizes=(16, 8), dropout=0.3, max_iter=5, random_state=0).fit(X, y)
    c = sp.MLPClassifier(hidden_layer_sizes=(16, 8), dropout=0.0, max_iter=5, random_state=0).fit(X, y)
    assert np.array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    assert a._network.dropout == (0.3, 0.3)
    with pytest.raises(ValueError, match="dropout"):
        sp.MLPClassifier(hidden_layer_sizes=(16, 8), dropout=(0.1,)).fit(X, y)
    with pytest.raises(ValueError, match="dropout"):
        sp.MLPRegressor(solver="lbfgs", dropout=0.2).fit(X, y.astype(float))
