"""Plots for notebooks: training curves and weight maps. matplotlib is optional and imported lazily.

Both plots draw into a figure with ``layout="constrained"`` (when they make it), one legend, and no
overlapping text for networks of 1 to 6 layers.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["loss_curve", "weights"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("swiftprop.plot needs matplotlib: pip install matplotlib") from None
    return plt


def _history_lists(source: Any) -> tuple[list, list, list]:
    """(training loss, validation loss, validation score) of a History or a fitted estimator."""
    if hasattr(source, "loss") and hasattr(source, "val_loss"):
        return list(source.loss), list(source.val_loss), list(getattr(source, "val_score", []))
    if hasattr(source, "loss_curve_"):
        return list(source.loss_curve_), [], list(getattr(source, "validation_scores_", None) or [])
    raise TypeError("source must be a swiftprop History or a fitted estimator with loss_curve_, "
                    f"got {type(source).__name__}")


def loss_curve(source: Any, ax: Optional[Any] = None) -> Any:
    """Plot the training (and validation) loss per epoch, and the validation score on a second axis.

    Parameters
    ----------
    source : History, or a fitted MLPClassifier / MLPRegressor
        A :class:`swiftprop.History` (``loss``, ``val_loss``, ``val_score``), or an estimator with
        ``loss_curve_`` (and ``validation_scores_`` when early stopping was on).
    ax : matplotlib Axes, optional
        Where to draw; a new figure (constrained layout) by default.

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes; the legend (one for every curve) sits above it.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import swiftprop as sp
    >>> h = sp.History(loss=[1.0, 0.5, 0.3], val_loss=[1.1, 0.7, 0.6], val_score=[0.5, 0.7, 0.8])
    >>> ax = sp.plot.loss_curve(h)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['training loss', 'validation loss', 'validation score']
    """
    train, val, score = _history_lists(source)
    if not train:
        raise ValueError("nothing to plot: no completed epoch")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    epochs = np.arange(1, len(train) + 1)
    lines = ax.plot(epochs, train, label="training loss", color="tab:blue")
    if val:
        lines += ax.plot(epochs[:len(val)], val, label="validation loss", color="tab:orange")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if min(train + val) > 0:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if score:
        ax2 = ax.twinx()
        lines += ax2.plot(epochs[:len(score)], score, color="tab:green", linestyle="--", label="validation score")
        ax2.set_ylabel("validation score")
    # one legend for both axes, above the plot: it covers neither the curves nor the other axis
    ax.legend(lines, [ln.get_label() for ln in lines], loc="lower left", bbox_to_anchor=(0.0, 1.01, 1.0, 0.1),
              mode="expand", ncol=len(lines), frameon=False, borderaxespad=0.0)
    return ax


def _network_of(source: Any) -> tuple[Any, list, list]:
    """(network or None, weight matrices (out, in), gradient matrices or []) of a Network or an estimator."""
    from ._network import Network

    net = source if isinstance(source, Network) else getattr(source, "network_", None)
    if isinstance(net, Network):
        return net, list(net.weights), list(net.weight_grads)
    coefs = getattr(source, "coefs_", None)
    if coefs is not None:  # an estimator without network_: scikit-learn's (in, out) matrices, no gradients
        return None, [np.asarray(c).T for c in coefs], []
    raise TypeError("weights() needs a swiftprop.Network or a fitted estimator (network_ or coefs_), "
                    f"got {type(source).__name__}")


def _unit_ticks(count: int, most: int) -> Any:
    """At most ``most`` integer tick positions over ``count`` units, first and last included."""
    return np.unique(np.linspace(0, count - 1, min(count, most)).round().astype(int))


def weights(source: Any, axes: Optional[Any] = None) -> Any:
    """Heat maps of each layer's W^i (top row) and of its last gradient dcost/dW^i (bottom row).

    Parameters
    ----------
    source : Network, or a fitted MLPClassifier / MLPRegressor
        An estimator is drawn through its ``network_`` (weights and gradients); one without it, through
        ``coefs_`` (weights only).
    axes : array of matplotlib Axes of shape (2, n_layers) (or (1, n_layers) for weights only), optional
        Where to draw; a new figure (constrained layout) by default.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (2, n_layers) or (1, n_layers)
        Row 0: weights, row 1: gradients (when the source has them).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import swiftprop as sp
    >>> sp.plot.weights(sp.Network([4, 16, 3], seed=0)).shape
    (2, 2)
    """
    _, ws, gs = _network_of(source)
    plt = _pyplot()
    n, rows = len(ws), 2 if gs else 1
    if axes is None:
        _, axes = plt.subplots(rows, n, figsize=(max(4.0, 3.0 * n), 2.9 * rows + 0.3), squeeze=False,
                               layout="constrained")
    axes = np.asarray(axes).reshape(rows, n)
    from matplotlib.ticker import MaxNLocator

    for i in range(n):
        mats = [(ws[i], f"$W^{{{i + 1}}}$")] + ([(gs[i], rf"$\partial c/\partial W^{{{i + 1}}}$")] if gs else [])
        for row, (M, name) in enumerate(mats):
            ax = axes[row, i]
            lim = float(np.abs(M).max()) or 1.0
            im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
            ax.set_title(f"{name}  {M.shape[0]}×{M.shape[1]}", fontsize=10)
            ax.set_xticks(_unit_ticks(M.shape[1], 3))
            ax.set_yticks(_unit_ticks(M.shape[0], 4))
            ax.tick_params(labelsize=8)
            if row == rows - 1:
                ax.set_xlabel("input unit", fontsize=9)
            if i == 0:
                ax.set_ylabel("output unit", fontsize=9)
            cbar = ax.figure.colorbar(im, ax=ax, shrink=0.9, aspect=25)
            cbar.ax.tick_params(labelsize=7)
            cbar.ax.yaxis.set_major_locator(MaxNLocator(3))
            cbar.ax.yaxis.get_offset_text().set_fontsize(7)
    return axes
