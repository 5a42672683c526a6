"""Callbacks of :meth:`swiftprop.Network.fit`: stop early, save checkpoints.

A callback is any callable ``callback(net, epoch, history)``, called after every epoch (``epoch`` counts
from 1) with the :class:`~swiftprop.History` so far; returning True stops training. A callback may also
define ``on_train_end(net, history)``, called once when :meth:`~swiftprop.Network.fit` returns normally.
The learning-rate schedules of :mod:`swiftprop.optim` are callbacks too.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Union

import numpy as np

__all__ = ["EarlyStopping", "ModelCheckpoint"]


def _check_monitor(monitor: Any) -> str:
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a History attribute name, got {type(monitor).__name__}")
    return monitor


def _check_mode(mode: Any, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if "score" in monitor else "min"
    return str(mode)


def _monitored(history: Any, monitor: str) -> float:
    values = getattr(history, monitor, None)
    if not isinstance(values, list) or not values:
        hint = " (val_loss and val_score need validation_data)" if monitor.startswith("val_") else ""
        raise ValueError(f"monitor={monitor!r} is not recorded by this fit{hint}; History records "
                         "loss, penalty, val_loss, val_score and epoch_time")
    return float(values[-1])


class EarlyStopping:
    """Stop training when a monitored quantity has stopped improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
        The :class:`~swiftprop.History` list to watch: "val_loss", "val_score" (need ``validation_data``)
        or "loss".
    patience : int >= 0, default 5
        Epochs without improvement tolerated; training stops at the next one.
    min_delta : float >= 0, default 0
        An improvement must exceed this.
    mode : {"auto", "min", "max"}, default "auto"
        "auto": "max" for scores, "min" for losses.
    restore_best : bool, default True
        When training ends (stopped or not), put back the parameters of the best epoch.

    Attributes
    ----------
    best : float
        The best value seen.
    best_epoch : int
        The epoch (from 1) of ``best``; 0 before any.
    stopped_epoch : int
        The epoch at which training was stopped; 0 if it was not.

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    >>> net = sp.Network([3, 8, 1], seed=0)
    >>> stop = sp.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    >>> h = net.fit(X[:48], y[:48], epochs=200, optimizer=sp.optim.Adam(net, lr=0.05),
    ...             validation_data=(X[48:], y[48:]), callbacks=[stop], seed=0)
    >>> h.epochs < 200, net.cost(X[48:], y[48:]) == min(h.val_loss)
    (True, True)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, *, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True) -> None:
        self.monitor = _check_monitor(monitor)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        self.patience = int(patience)
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.integer, np.floating)) \
                or not min_delta >= 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.min_delta = float(min_delta)
        self.mode = _check_mode(mode, self.monitor)
        if not isinstance(restore_best, (bool, np.bool_)):
            raise TypeError(f"restore_best must be a bool, got {type(restore_best).__name__}")
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self._wait = 0
        self._best_params: Optional[np.ndarray] = None
        self._seen = 0

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Record the epoch's value; return True to stop.

        Parameters
        ----------
        net : Network
            The network being trained.
        epoch : int
            The epoch just completed, from 1.
        history : History
            What the fit has recorded so far.

        Returns
        -------
        bool
            True when ``patience`` epochs have passed without improvement.
        """
        if len(history.loss) < self._seen:  # a new fit: start again
            self._reset()
        self._seen = len(history.loss)
        value = _monitored(history, self.monitor)
        if self._improved(value):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best:
                self._best_params = np.array(net.params, copy=True)
            return False
        self._wait += 1
        if self._wait > self.patience:
            self.stopped_epoch = epoch
            self.on_train_end(net, history)
            return True
        return False

    def on_train_end(self, net: Any, history: Any) -> None:
        """Put back the best epoch's parameters (``restore_best``).

        Parameters
        ----------
        net : Network
            The network being trained.
        history : History
            What the fit recorded.
        """
        if self.restore_best and self._best_params is not None:
            net.params[...] = self._best_params

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
                f"mode={self.mode!r}, restore_best={self.restore_best})")


class ModelCheckpoint:
    """Save the network (with its optimizer) with :meth:`~swiftprop.Network.save` after epochs.

    Parameters
    ----------
    path : str or path-like
        Destination; may contain ``{epoch}`` and the History names (``{loss}``, ``{val_loss}``, ...) as
        format fields, e.g. ``"ckpt-{epoch:03d}.npz"``. Its folder must exist.
    monitor : str, default "val_loss"
        The History list that decides which epoch is best (with ``save_best_only``).
    save_best_only : bool, default True
        Save only when the monitored value improves on the best so far; False saves after every epoch.
    mode : {"auto", "min", "max"}, default "auto"
        "auto": "max" for scores, "min" for losses.

    Attributes
    ----------
    best : float
        The best monitored value saved.
    saved : list of str
        The paths written, in order.

    Examples
    --------
    >>> import os, tempfile, numpy as np, swiftprop as sp
    >>> folder = tempfile.mkdtemp()
    >>> X, y = np.ones((8, 2)), np.zeros((8, 1))
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> ckpt = sp.callbacks.ModelCheckpoint(os.path.join(folder, "best.npz"), monitor="loss")
    >>> h = net.fit(X, y, epochs=3, callbacks=[ckpt])
    >>> sp.Network.load(ckpt.saved[-1]).sizes
    (2, 4, 1)
    """

    def __init__(self, path: Union[str, os.PathLike], monitor: str = "val_loss", save_best_only: bool = True,
                 *, mode: str = "auto") -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path-like, got {type(path).__name__}")
        self.path = os.fspath(path)
        self.monitor = _check_monitor(monitor)
        if not isinstance(save_best_only, (bool, np.bool_)):
            raise TypeError(f"save_best_only must be a bool, got {type(save_best_only).__name__}")
        self.save_best_only = bool(save_best_only)
        self.mode = _check_mode(mode, self.monitor)
        self.best = np.inf if self.mode == "min" else -np.inf
        self.saved: list[str] = []

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Save the network if due; never stops training.

        Parameters
        ----------
        net : Network
            The network being trained.
        epoch : int
            The epoch just completed, from 1.
        history : History
            What the fit has recorded so far.

        Returns
        -------
        bool
            False.
        """
        if self.save_best_only:
            value = _monitored(history, self.monitor)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return False
            self.best = value
        fields = {k: v[-1] for k, v in history.as_dict().items() if v}
        path = self.path.format(epoch=epoch, **fields)
        net.save(path)
        self.saved.append(path)
        return False

    def __repr__(self) -> str:
        return (f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, save_best_only={self.save_best_only}, "
                f"mode={self.mode!r})")
