"""swiftprop.plot renders 1 to 6 layers with one legend and no overlapping text (matplotlib text extents)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import swiftprop as sp

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _drawn_texts(ax):
    """The texts matplotlib draws for an Axes: titles, axis labels, offset texts, the legend's, and the
    tick labels of ticks inside the view (those outside are not drawn)."""
    texts = [ax.title, ax._left_title, ax._right_title]
    for axis in (ax.xaxis, ax.yaxis):
        texts += [axis.label, axis.get_offset_text()]
        lo, hi = sorted(axis.get_view_interval())
        for tick in axis.get_major_ticks():
            if lo - 1e-9 * abs(hi - lo) <= tick.get_loc() <= hi + 1e-9 * abs(hi - lo):
                texts += [tick.label1, tick.label2]
    if ax.get_legend() is not None:
        texts += list(ax.get_legend().get_texts())
    return texts


def _texts(fig):
    """Every visible, non-empty text of the figure with its extent in pixels (after a draw)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for t in [*fig.texts, *(t for ax in fig.axes for t in _drawn_texts(ax))]:
        if t.get_visible() and t.get_text().strip():
            bb = t.get_window_extent(renderer)
            if bb.width > 0 and bb.height > 0:
                out.append((t.get_text(), bb))
    return out


def _assert_no_overlap(fig):
    texts = _texts(fig)
    assert texts
    fb = fig.bbox
    for text, bb in texts:  # inside the figure
        assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1 and bb.y0 >= fb.y0 - 1 and bb.y1 <= fb.y1 + 1, text
    bad = [(a, b) for (a, ba), (b, bb) in itertools.combinations(texts, 2) if ba.overlaps(bb)]
    assert not bad, f"overlapping text: {bad[:5]}"


def _fitted(n_layers, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [8] + [16] * (n_layers - 1) + [3]
    net = sp.Network(sizes, "relu", "cross_entropy", seed=seed)
    X, y = rng.normal(size=(48, 8)), rng.integers(0, 3, 48)
    h = net.fit(X, y, epochs=6, validation_data=(X, y), optimizer=sp.optim.Adam(net, lr=0.01), seed=seed)
    return net, h


@pytest.mark.parametrize("n_layers", [1, 2, 3, 4, 5, 6])
def test_weights_plot_has_no_overlapping_text(n_layers):
    net, _ = _fitted(n_layers)
    axes = sp.plot.weights(net)
    assert axes.shape == (2, n_layers)
    fig = axes.flat[0].figure
    assert fig.get_layout_engine() is not None  # constrained
    _assert_no_overlap(fig)
    plt.close(fig)


@pytest.mark.parametrize("validation", [True, False])
def test_loss_curve_has_one_legend_and_no_overlapping_text(validation):
    net, h = _fitted(2)
    if not validation:
        h = sp.History(loss=h.loss)
    ax = sp.plot.loss_curve(h)
    fig = ax.figure
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert len(legends) == 1
    labels = [t.get_text() for t in legends[0].get_texts()]
    assert labels == (["training loss", "validation loss", "validation score"] if validation else ["training loss"])
    _assert_no_overlap(fig)
    plt.close(fig)


def test_plots_accept_an_estimator():
    pytest.importorskip("sklearn")
    from swiftprop.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 2, 60)
    est = MLPClassifier(hidden_layer_sizes=(7, 6), max_iter=5, random_state=0).fit(X, y)
    axes = sp.plot.weights(est)
    if getattr(est, "network_", None) is not None:
        assert axes.shape == (2, 3)
    else:  # through coefs_: weights only
        assert axes.shape == (1, 3)
        np.testing.assert_array_equal(axes[0, 0].images[0].get_array(), est.coefs_[0].T)
    _assert_no_overlap(axes.flat[0].figure)
    ax = sp.plot.loss_curve(est)
    _assert_no_overlap(ax.figure)
    plt.close("all")


def test_weights_plot_through_network_attribute():
    net, _ = _fitted(3)

    class Fitted:
        network_ = net

    axes = sp.plot.weights(Fitted())
    assert axes.shape == (2, 3)
    np.testing.assert_array_equal(axes[0, 1].images[0].get_array(), net.weights[1])
    plt.close("all")
    with pytest.raises(TypeError, match="Network or a fitted estimator"):
        sp.plot.weights(object())
