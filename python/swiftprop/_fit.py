"""The training loop of :meth:`swiftprop.Network.fit`: argument checks, epochs, validation, progress,
callbacks and :class:`History`. How an epoch runs (here or over MPI) is :mod:`swiftprop.distributed`'s."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._network import as_input, as_sample_weight, as_target, check_data, input_hints
from ._sparse import CSRInput
from .distributed import EpochData, epoch_strategy
from .optim import Adam, Optimizer

if TYPE_CHECKING:
    from ._network import Network

__all__ = ["History", "fit"]


@dataclass
class History:
    """What :meth:`Network.fit` measured, one entry per completed epoch.

    Attributes
    ----------
    loss : list of float
        Mean training cost over the epoch's mini-batches (weighted by their sizes, L2 term included).
    val_loss : list of float
        Cost on ``validation_data`` after each epoch (empty without validation data).
    val_score : list of float
        Accuracy (cross_entropy, binary_cross_entropy) or R² (mse) on ``validation_data``.
    epoch_time : list of float
        Seconds spent in each epoch's training (excluding validation).
    penalty : list of float
        The L2 part of ``loss`` (0 without ``alpha``).
    """

    loss: list = field(default_factory=list)
    penalty: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def as_dict(self) -> dict[str, list]:
        """The recorded lists by name (copies).

        Returns
        -------
        dict of str to list of float
            ``loss``, ``penalty``, ``val_loss``, ``val_score`` and ``epoch_time``.

        Examples
        --------
        >>> import swiftprop as sp
        >>> sp.History(loss=[0.5, 0.25]).as_dict()["loss"]
        [0.5, 0.25]
        """
        return {name: list(getattr(self, name)) for name in _FIELDS}

    def to_pandas(self) -> Any:
        """The history as a pandas DataFrame, one row per epoch (index ``epoch`` from 1); lists that were
        not recorded (no validation data) are left out. Needs pandas.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import swiftprop as sp
        >>> df = sp.History(loss=[0.5, 0.25], penalty=[0.0, 0.0], epoch_time=[0.1, 0.1]).to_pandas()
        >>> list(df.columns), list(df.index)
        (['loss', 'penalty', 'epoch_time'], [1, 2])
        """
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("History.to_pandas needs pandas: `pip install pandas` (or use as_dict())") from e
        n = self.epochs
        data = {k: v for k, v in self.as_dict().items() if len(v) == n}
        return pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="epoch"))


_FIELDS = ("loss", "penalty", "val_loss", "val_score", "epoch_time")


# ---- progress ---------------------------------------------------------------------------------------------

def _progress_bar(total: int) -> Any:
    """A tqdm bar over epochs (a widget in Jupyter when ipywidgets is there, else text), or None without tqdm."""
    try:
        from tqdm.std import tqdm as text_bar
    except ImportError:
        return None
    bar: Any = text_bar
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm.auto would warn and fall back without it)
            from tqdm.notebook import tqdm as widget_bar

            bar = widget_bar
        except ImportError:
            pass
    return bar(total=total, unit="epoch", desc="fit")


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where tqdm.auto would pick its widget)."""
    import sys

    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _epoch_summary(history: History) -> dict:
    out = {"loss": f"{history.loss[-1]:.4g}"}
    if history.val_loss:
        out["val_loss"] = f"{history.val_loss[-1]:.4g}"
        out["val_score"] = f"{history.val_score[-1]:.4f}"
    return out


def _report(bar: Any, verbose: bool, progress: bool, epoch: int, epochs: int, history: History) -> None:
    """The progress bar's step, or one printed line per epoch."""
    if bar is not None:
        bar.update(1)
        bar.set_postfix(_epoch_summary(history), refresh=False)
    if verbose or (progress and bar is None):
        line = f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v}" for k, v in _epoch_summary(history).items())
        print(line + f"  ({history.epoch_time[-1]:.3f} s)", flush=True)


# ---- argument checks --------------------------------------------------------------------------------------

def _check_counts(epochs: Any, batch_size: Any, alpha: Any) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
            or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")


def _resolve_optimizer(net: "Network", optimizer: Any) -> Optimizer:
    """The optimizer argument, the network's last one, or a new Adam."""
    if optimizer is None:
        return net.optimizer if net.optimizer is not None else Adam(net)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a swiftprop.optim optimizer, got {type(optimizer).__name__}")
    if optimizer.network is not net:
        raise ValueError("optimizer was created for another network")
    return optimizer


def _validation_pair(net: "Network", validation_data: Optional[tuple]) -> Optional[tuple[NDArray, NDArray]]:
    """(X_val, Y_val) converted and checked by the extension, before any training step."""
    if validation_data is None:
        return None
    try:
        X_val, Y_val = validation_data
    except (TypeError, ValueError):
        raise TypeError("validation_data must be a pair (X_val, Y_val)") from None
    X_val = as_input(net, X_val, "X_val")
    Y_val = as_target(net, Y_val, X_val.shape[0] if X_val.ndim == 2 else 0, "Y_val")
    with input_hints(net, X_val=X_val, Y_val=Y_val):
        check_data(net, X_val, Y_val, "X_val", "Y_val")
    return X_val, Y_val


def _check_callbacks(callbacks: Iterable[Callable[..., Any]]) -> list[Callable[..., Any]]:
    callbacks = list(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables, got {type(cb).__name__}")
    return callbacks


# ---- the loop ---------------------------------------------------------------------------------------------

def fit(net: "Network", X: ArrayLike, Y: ArrayLike, epochs: int = 1, batch_size: int = 32, optimizer: Any = None,
        *, shuffle: bool = True, seed: Union[int, np.random.Generator, None] = None,
        validation_data: Optional[tuple] = None, callbacks: Iterable[Callable[..., Any]] = (),
        sample_weight: Optional[ArrayLike] = None, alpha: float = 0.0, verbose: bool = False,
        progress: bool = False, comm: Any = None, check_finite: bool = True) -> History:
    """:meth:`swiftprop.Network.fit` (see there): every argument is checked before anything changes."""
    X = as_input(net, X)
    if comm is not None and isinstance(X, CSRInput):
        raise ValueError("a sparse X is not supported with comm (pass X.toarray() per rank)")
    n = X.shape[0] if X.ndim == 2 else 0
    Y = as_target(net, Y, n)
    _check_counts(epochs, batch_size, alpha)
    optimizer = _resolve_optimizer(net, optimizer)
    weights = as_sample_weight(net, sample_weight, n)
    validation = _validation_pair(net, validation_data)
    callbacks = _check_callbacks(callbacks)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    data = EpochData(X, Y, weights, shuffle, rng, batch_size, alpha)
    strategy = epoch_strategy(comm)
    with input_hints(net, X=X, Y=Y):
        strategy.start(net, optimizer, data, epochs, check_finite)  # with MPI the ranks check together
    net.optimizer = optimizer

    history = History()
    bar = _progress_bar(epochs) if progress else None
    try:
        for epoch in range(1, epochs + 1):
            strategy.run_epoch(net, optimizer, epoch, data, history)
            if validation is not None:
                history.val_loss.append(net.cost(*validation))
                history.val_score.append(net.score(*validation))
            _report(bar, verbose, progress, epoch, epochs, history)
            if any([bool(cb(net, epoch, history)) for cb in callbacks]):
                break
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        end = getattr(cb, "on_train_end", None)
        if callable(end):
            end(net, history)
    strategy.finish(net)
    return history
