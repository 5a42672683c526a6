"""Optimizers whose state lives in Swift beside the parameters (one fused pass per step), and
learning-rate schedules that change an optimizer's rate between epochs.

Use the optimizers in your own loop (``net.backward(xb, yb); opt.step()``) or pass them to
:meth:`swiftprop.Network.fit`; their state carries over between calls. The schedules
(:class:`ConstantLR`, :class:`InvScalingLR`, :class:`AdaptiveLR`) are epoch callbacks of
:meth:`~swiftprop.Network.fit` (``callbacks=[InvScalingLR(opt)]``) and what the scikit-learn estimators'
``learning_rate`` parameter selects.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from . import _core
from ._network import Network, core_handle
from ._validation import Interval, check_number

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LRSchedule", "ConstantLR", "InvScalingLR", "AdaptiveLR"]


_POSITIVE = Interval(0.0, low_open=True)
_NON_NEGATIVE = Interval(0.0)
_UNIT = Interval(0.0, 1.0, high_open=True)  # [0, 1): momentum, betas


class Optimizer:
    """Base class: a Swift optimizer bound to one network. Subclasses define the update."""

    _kind = ""  # the name of its kind in _core.OPTIMIZERS
    _state_names: tuple[str, ...] = ()

    def __init__(self, net: Any, lr: float) -> None:
        if not isinstance(net, Network):
            raise TypeError(f"net must be a swiftprop.Network, got {type(net).__name__}")
        self._network = net
        self._lr = check_number("lr", lr, _POSITIVE)
        self._opt = _core.Optimizer(core_handle(net), _core.OPTIMIZERS[self._kind], **self._hyper())

    def _hyper(self) -> dict[str, Any]:
        """The keywords of _core.Optimizer and its set()."""
        raise NotImplementedError

    def _push(self) -> None:
        self._opt.set(**self._hyper())

    @property
    def network(self) -> Any:
        """The network whose parameters this optimizer updates."""
        return self._network

    @property
    def lr(self) -> float:
        """Learning rate; may be changed between steps (schedules)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number("lr", value, _POSITIVE)
        self._push()

    @property
    def t(self) -> int:
        """Number of steps taken."""
        return self._opt.t

    @property
    def state(self) -> dict[str, NDArray]:
        """The optimizer state, zero-copy views in the parameters' flat layout (e.g. ``{"m": ..., "v": ...}``)."""
        buf = self._opt.state
        n = self._network.n_params
        return {name: buf[i * n:(i + 1) * n] for i, name in enumerate(self._state_names)}

    def step(self) -> None:
        """Update the network's parameters from its gradient buffer (after :meth:`Network.backward`)."""
        self._opt.step()

    def reset(self) -> None:
        """Zero the state and the step count."""
        self._opt.state[...] = 0
        self._opt.t = 0

    def __getstate__(self) -> dict:
        # the network pickles its own optimizer's state too: whether that one is this one is recorded,
        # so that unpickling gives one optimizer, not two copies of the same state
        return {"network": self._network, "saved": save_state(self),
                "is_network_optimizer": self._network.optimizer is self}

    def __setstate__(self, state: dict) -> None:
        net = state["network"]
        if state.get("is_network_optimizer") and net.optimizer is not None:
            self.__dict__.update(net.optimizer.__dict__)  # the network restored this very optimizer
            net.optimizer = self
        else:
            self.__dict__.update(restore(net, state["saved"]).__dict__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._describe().items())
        return f"{type(self).__name__}({args})"

    def _describe(self) -> dict[str, Any]:
        return {"lr": self._lr}


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and (coupled) weight decay.

    With g = dcost/dp + weight_decay · p: ``v ← momentum · v + g``, then ``p ← p − lr · v``
    (Nesterov: ``p ← p − lr · (g + momentum · v)``), as PyTorch's ``torch.optim.SGD``.

    Parameters
    ----------
    net : Network
    lr : float, default 0.01
    momentum : float in [0, 1), default 0
    nesterov : bool, default False
        Needs momentum > 0.
    weight_decay : float >= 0, default 0
    """

    _kind = "sgd"
    _state_names = ("velocity",)

    def __init__(self, net: Any, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        self.momentum = check_number("momentum", momentum, _UNIT)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_number("weight_decay", weight_decay, _NON_NEGATIVE)
        super().__init__(net, lr)

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self._lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _describe(self) -> dict[str, Any]:
        return {"lr": self._lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam, in the form scikit-learn's ``solver='adam'`` uses.

    With g = dcost/dp (+ weight_decay · p): ``m ← β1 m + (1−β1) g``, ``v ← β2 v + (1−β2) g²``,
    ``p ← p − lr · sqrt(1−β2^t)/(1−β1^t) · m / (sqrt(v) + eps)``.

    Parameters
    ----------
    net : Network
    lr : float, default 0.001
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float >= 0, default 0
        Coupled (added to the gradient); see :class:`AdamW` for decoupled decay.
    """

    _kind = "adam"
    _state_names = ("m", "v")

    def __init__(self, net: Any, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair of floats, got {betas!r}") from None
        self.betas = (check_number("betas[0]", b1, _UNIT), check_number("betas[1]", b2, _UNIT))
        self.eps = check_number("eps", eps, _POSITIVE)
        self.weight_decay = check_number("weight_decay", weight_decay, _NON_NEGATIVE)
        super().__init__(net, lr)

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self._lr, "weight_decay": self.weight_decay, "beta1": self.betas[0], "beta2": self.betas[1],
                "eps": self.eps}

    def _describe(self) -> dict[str, Any]:
        return {"lr": self._lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first scales p by (1 − lr · weight_decay).

    Parameters are those of :class:`Adam`, with ``weight_decay`` defaulting to 0.01.
    """

    _kind = "adamw"

    def __init__(self, net: Any, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(net, lr, betas, eps, weight_decay)


# ---- package-internal access (for swiftprop's own modules: fit loop, MPI strategy, persistence) ----------

def core_optimizer(opt: Optimizer) -> Any:
    """Package-internal: the extension handle (``swiftprop._core.Optimizer``) of ``opt``.

    For swiftprop's own modules, which hand it to the extension's training loop; not public API.
    """
    return opt._opt


def state_buffer(opt: Optimizer) -> NDArray:
    """Package-internal: the optimizer's whole state buffer, a writeable zero-copy 1-D view
    (the MPI strategy broadcasts it from rank 0)."""
    return opt._opt.state


def set_step_count(opt: Optimizer, t: int) -> None:
    """Package-internal: set the number of steps taken (after broadcasting the state over MPI)."""
    opt._opt.t = t


def save_state(opt: Optimizer) -> dict:
    """Package-internal: everything needed to rebuild ``opt`` on a copy of its network
    (its class name, constructor arguments, step count and a copy of its state)."""
    return {"class": type(opt).__name__, "kwargs": opt._describe(), "t": opt.t, "state": opt._opt.state.copy()}


def _saved_class(name: Any) -> type[Optimizer]:
    cls = {c.__name__: c for c in (SGD, Adam, AdamW)}.get(str(name))
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}")
    return cls


def state_count(class_name: Any, n_params: int) -> int:
    """Package-internal: the length of the state of optimizer class ``class_name`` on a network of
    ``n_params`` parameters (ValueError for an unknown class), known before anything is allocated."""
    return len(_saved_class(class_name)._state_names) * n_params


def restore(net: Any, saved: dict) -> Optimizer:
    """Package-internal: the optimizer :func:`save_state` described, rebuilt on ``net``.

    Raises
    ------
    ValueError
        For an unknown optimizer class or a state that does not match the network.
    """
    cls = _saved_class(saved.get("class"))
    state = saved["state"]
    # checked before the optimizer allocates a state of its own
    if not isinstance(state, np.ndarray) or state.shape != (state_count(cls.__name__, net.n_params),):
        raise ValueError("optimizer state does not match the network")
    kwargs = dict(saved["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = cls(net, **kwargs)
    opt._opt.state[...] = state
    t = saved["t"]
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
        raise ValueError(f"the optimizer's step count must be an int, got {t!r}")
    try:
        opt._opt.t = int(t)  # its range is the core's rule
    except OverflowError:
        raise ValueError(f"the optimizer's step count {t} is out of range") from None
    return opt


# ---- learning-rate schedules -------------------------------------------------------------------------------

class LRSchedule:
    """Base class of the learning-rate schedules: changes an optimizer's :attr:`~Optimizer.lr` between epochs.

    A schedule is used in one of two ways:

    * as a callback of :meth:`swiftprop.Network.fit` (``callbacks=[schedule]``): it is called as
      ``schedule(net, epoch, history)`` after every epoch and returns True to stop training;
    * by a training loop of its own, such as the estimators' of :mod:`swiftprop.sklearn`, which calls
      :meth:`epoch_end` after every epoch and :meth:`on_plateau` when the loss stopped improving.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.

    Attributes
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.
    reduces_on_plateau : bool
        Whether :meth:`on_plateau` lowers the learning rate (instead of asking to stop at once).
    """

    reduces_on_plateau = False

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a swiftprop.optim optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer

    def epoch_end(self, t: int) -> None:
        """Called after every epoch.

        Parameters
        ----------
        t : int
            The number of training samples seen so far (over all epochs, and all ranks with MPI).
        """

    def on_plateau(self) -> bool:
        """Called when the loss has not improved for a while.

        Returns
        -------
        bool
            True if the schedule lowered the learning rate (training goes on), False if training should
            stop. The base class returns False.
        """
        return False

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """The :meth:`swiftprop.Network.fit` callback form; returns True to stop training."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r})"


class ConstantLR(LRSchedule):
    """The learning rate stays as it is (scikit-learn's ``learning_rate='constant'``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate is left unchanged.
    """


class InvScalingLR(LRSchedule):
    """Inverse scaling: after every epoch ``lr = lr_init / (t + 1) ** power_t``, t the samples seen so far
    (scikit-learn's ``learning_rate='invscaling'``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.
    power_t : float >= 0, default 0.5
        The exponent.
    lr_init : float > 0, optional
        The initial learning rate; default: the optimizer's learning rate when the schedule is made.
    samples_per_epoch : int >= 1, default 1
        By how much t grows per epoch when the schedule is a :meth:`~swiftprop.Network.fit` callback (the
        default counts epochs; pass the number of training samples to count samples, as scikit-learn).

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> opt = sp.optim.SGD(net, lr=0.1)
    >>> X, y = np.zeros((8, 2)), np.zeros((8, 1))
    >>> h = net.fit(X, y, epochs=3, optimizer=opt, callbacks=[sp.optim.InvScalingLR(opt, samples_per_epoch=8)])
    >>> round(opt.lr, 6) == round(0.1 / 25 ** 0.5, 6)
    True
    """

    def __init__(self, optimizer: Optimizer, power_t: float = 0.5, *, lr_init: Optional[float] = None,
                 samples_per_epoch: int = 1) -> None:
        super().__init__(optimizer)
        self.power_t = check_number("power_t", power_t, _NON_NEGATIVE)
        self.lr_init = optimizer.lr if lr_init is None else check_number("lr_init", lr_init, _POSITIVE)
        if isinstance(samples_per_epoch, bool) or not isinstance(samples_per_epoch, (int, np.integer)) \
                or samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be a positive int, got {samples_per_epoch!r}")
        self.samples_per_epoch = int(samples_per_epoch)
        #: Samples seen, as counted by the callback form.
        self.t = 0

    def epoch_end(self, t: int) -> None:
        """Set the learning rate to ``lr_init / (t + 1) ** power_t``."""
        self.optimizer.lr = self.lr_init / (t + 1) ** self.power_t

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Count ``samples_per_epoch`` more samples and set the learning rate; never stops training."""
        self.t += self.samples_per_epoch
        self.epoch_end(self.t)
        return False


class AdaptiveLR(LRSchedule):
    """Divide the learning rate by ``factor`` when the loss stops improving; stop once it is at most
    ``min_lr`` (scikit-learn's ``learning_rate='adaptive'``: factor 5, min_lr 1e-6).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule lowers.
    patience : int >= 1, default 10
        Callback form: epochs without improvement tolerated before a plateau is declared
        (scikit-learn's ``n_iter_no_change``).
    tol : float >= 0, default 1e-4
        Callback form: an epoch improves when its loss is lower than the best by more than ``tol``.
    factor : float > 1, default 5
        The divisor.
    min_lr : float >= 0, default 1e-6
        On a plateau with ``lr <= min_lr``, training stops instead.

    Notes
    -----
    As a :meth:`~swiftprop.Network.fit` callback the schedule watches ``history.loss`` as scikit-learn
    watches its training loss: an epoch whose loss is not below the best so far minus ``tol`` counts as no
    improvement, any other epoch resets the count, and when the count exceeds ``patience`` the learning
    rate is divided (and the count reset) or, at ``min_lr``, training stops.
    """

    reduces_on_plateau = True

    def __init__(self, optimizer: Optimizer, patience: int = 10, tol: float = 1e-4, *, factor: float = 5.0,
                 min_lr: float = 1e-6) -> None:
        super().__init__(optimizer)
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"patience must be a positive int, got {patience!r}")
        self.patience = int(patience)
        self.tol = check_number("tol", tol, _NON_NEGATIVE)
        self.factor = check_number("factor", factor, Interval(1.0, low_open=True))
        self.min_lr = check_number("min_lr", min_lr, _NON_NEGATIVE)
        self._best = np.inf
        self._count = 0

    def on_plateau(self) -> bool:
        """Divide the learning rate by ``factor`` and return True, or return False (stop) at ``min_lr``."""
        opt = self.optimizer
        if opt.lr <= self.min_lr:
            return False
        opt.lr = opt.lr / self.factor
        return True

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Track ``history.loss``; on a plateau lower the learning rate, or return True to stop."""
        last = history.loss[-1]
        self._count = self._count + 1 if last > self._best - self.tol else 0
        self._best = min(self._best, last)
        if self._count > self.patience:
            self._count = 0
            return not self.on_plateau()
        return False


def make_schedule(name: str, optimizer: Optimizer, *, lr_init: float, power_t: float) -> LRSchedule:
    """Package-internal: the schedule of scikit-learn's ``learning_rate`` name ('constant', 'invscaling',
    'adaptive') on ``optimizer``, with scikit-learn's constants."""
    if name == "invscaling":
        return InvScalingLR(optimizer, power_t, lr_init=lr_init)
    if name == "adaptive":
        return AdaptiveLR(optimizer)
    return ConstantLR(optimizer)
