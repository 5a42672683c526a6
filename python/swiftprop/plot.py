"""Plots for notebooks: training curves and weight maps. matplotlib is optional and imported lazily."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("swiftprop.plot needs matplotlib: pip install matplotlib") from None
    return plt


def loss_curve(source: Any, ax: Optional[Any] = None) -> Any:
    """Plot the training (and validation) loss per epoch.

    Parameters
    ----------
    source : History, or a fitted MLPClassifier / MLPRegressor
        A :class:`swiftprop.History` (``loss``, ``val_loss``), or an estimator with ``loss_curve_``
        (and ``validation_scores_`` when early stopping was on, drawn on a second axis).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if hasattr(source, "loss") and hasattr(source, "val_loss"):
        train, val, score = list(source.loss), list(source.val_loss), list(getattr(source, "val_score", []))
    elif hasattr(source, "loss_curve_"):
        train, val = list(source.loss_curve_), []
        score = list(getattr(source, "validation_scores_", None) or [])
    else:
        raise TypeError("source must be a swiftprop History or a fitted estimator with loss_curve_, "
                        f"got {type(source).__name__}")
    if not train:
        raise ValueError("nothing to plot: no completed epoch")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training loss")
    if val:
        ax.plot(epochs[:len(val)], val, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if min(train) > 0:
        ax.set_yscale("log")
    if score:
        ax2 = ax.twinx()
        ax2.plot(epochs[:len(score)], score, color="tab:green", linestyle="--", label="validation score")
        ax2.set_ylabel("validation score")
        ax2.legend(loc="upper center")
    ax.legend(loc="upper right")
    ax.grid(True, alpha=0.3)
    return ax


def weights(net: Any, axes: Optional[Any] = None) -> Any:
    """Heat maps of each layer's W^i and of its last gradient dcost/dW^i.

    Parameters
    ----------
    net : Network, or a fitted MLPClassifier / MLPRegressor
        An estimator is drawn through its fitted network, ``network_``.
    axes : array of matplotlib Axes of shape (2, n_layers), optional

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes, shape (2, n_layers)
        Row 0: weights, row 1: gradients.
    """
    net = getattr(net, "network_", net)  # a fitted estimator: its Network
    if not hasattr(net, "weight_grads"):
        raise TypeError("net must be a swiftprop Network or a fitted estimator with network_, got "
                        f"{type(net).__name__}")
    plt = _pyplot()
    n = net.n_layers
    if axes is None:
        _, axes = plt.subplots(2, n, figsize=(3.2 * n, 5.5), squeeze=False)
    axes = np.asarray(axes).reshape(2, n)
    for i in range(n):
        for row, (M, name) in enumerate(((net.weights[i], "W"), (net.weight_grads[i], "dcost/dW"))):
            ax = axes[row, i]
            lim = float(np.abs(M).max()) or 1.0
            im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
            ax.set_title(f"{name}^{i + 1} {M.shape[0]}×{M.shape[1]}")
            ax.set_xlabel("input")
            ax.set_ylabel("output")
            plt.colorbar(im, ax=ax, fraction=0.046)
    return axes
