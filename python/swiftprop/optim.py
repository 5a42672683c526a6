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

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "LRSchedule", "ConstantLR", "InvScalingLR", "AdaptiveLR",
           "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


_POSITIVE = Interval(0.0, low_open=True)
_NON_NEGATIVE = Interval(0.0)
_UNIT = Interval(0.0, 1.0, high_open=True)  # [0, 1): momentum, betas


def _check_clip_norm(clip_norm: Optional[float]) -> Optional[float]:
    return None if clip_norm is None else check_number("clip_norm", clip_norm, _POSITIVE)


class Optimizer:
    """Base class: a Swift optimizer bound to one network. Subclasses define the update.

    Parameters
    ----------
    net : Network
        The network whose parameters the optimizer updates (its state has their layout).
    lr : float > 0
        Learning rate.
    clip_norm : float > 0, optional
        Clip the gradient's global L2 norm to this value in each step.

    Every optimizer takes ``clip_norm``: when set, each step scales the gradient by
    ``min(1, clip_norm / (‖g‖₂ + 1e-6))``, ‖g‖₂ the L2 norm of the whole gradient buffer (PyTorch's
    ``clip_grad_norm_``), computed in Swift inside the step; :attr:`Network.grads` keeps the unclipped
    gradient.

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 3, 1], seed=0)
    >>> opt = sp.optim.Adam(net, lr=0.01, clip_norm=1.0)
    >>> loss = net.backward(np.ones((4, 2)), np.full((4, 1), 100.0))  # a large gradient
    >>> before = net.params.copy()
    >>> opt.step()
    >>> bool(np.abs(net.params - before).max() <= 0.01 + 1e-12)  # Adam moves each parameter by at most ~lr
    True
    """

    _kind = ""  # the name of its kind in _core.OPTIMIZERS
    _state_names: tuple[str, ...] = ()

    def __init__(self, net: Any, lr: float, clip_norm: Optional[float] = None) -> None:
        if not isinstance(net, Network):
            raise TypeError(f"net must be a swiftprop.Network, got {type(net).__name__}")
        self._network = net
        self._lr = check_number("lr", lr, _POSITIVE)
        self._clip_norm = _check_clip_norm(clip_norm)
        self._opt = _core.Optimizer(core_handle(net), _core.OPTIMIZERS[self._kind], **self._all_hyper())

    def _hyper(self) -> dict[str, Any]:
        """The keywords of _core.Optimizer and its set() that are the subclass's."""
        raise NotImplementedError

    def _all_hyper(self) -> dict[str, Any]:
        return {**self._hyper(), "clip_norm": self._clip_norm or 0.0}

    def _push(self) -> None:
        self._opt.set(**self._all_hyper())

    @property
    def clip_norm(self) -> Optional[float]:
        """Largest global L2 norm of the gradient a step uses (None: no clipping); may be changed."""
        return self._clip_norm

    @clip_norm.setter
    def clip_norm(self, value: Optional[float]) -> None:
        self._clip_norm = _check_clip_norm(value)
        self._push()

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
        """Update the network's parameters from its gradient buffer (after :meth:`Network.backward`).

        Raises
        ------
        FloatingPointError
            If a parameter would become NaN or infinite (nothing is changed).

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([2, 3, 1], seed=0)
        >>> opt = sp.optim.SGD(net, lr=0.1, clip_norm=1.0)
        >>> loss = net.backward(np.ones((4, 2)), np.zeros((4, 1)))
        >>> opt.step()
        >>> opt.t
        1
        """
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
        args = ", ".join(f"{k}={v!r}" for k, v in self._arguments().items())
        return f"{type(self).__name__}({args})"

    def _describe(self) -> dict[str, Any]:
        return {"lr": self._lr}

    def _arguments(self) -> dict[str, Any]:
        """The constructor's keyword arguments (``clip_norm`` only when set)."""
        out = self._describe()
        if self._clip_norm is not None:
            out["clip_norm"] = self._clip_norm
        return out


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
    clip_norm : float > 0, optional
        Clip the gradient's global L2 norm to this value in each step (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> opt = sp.optim.SGD(net, lr=0.05, momentum=0.9)
    >>> X, y = np.ones((8, 2)), np.zeros((8, 1))
    >>> for _ in range(3):
    ...     loss = net.backward(X, y)
    ...     opt.step()
    >>> opt
    SGD(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.0)
    """

    _kind = "sgd"
    _state_names = ("velocity",)

    def __init__(self, net: Any, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, *, clip_norm: Optional[float] = None) -> None:
        self.momentum = check_number("momentum", momentum, _UNIT)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_number("weight_decay", weight_decay, _NON_NEGATIVE)
        super().__init__(net, lr, clip_norm)

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
    clip_norm : float > 0, optional
        Clip the gradient's global L2 norm to this value in each step (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> opt = sp.optim.Adam(net, lr=0.01)
    >>> history = net.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=2, optimizer=opt)
    >>> opt.t  # one step per mini-batch
    2
    """

    _kind = "adam"
    _state_names = ("m", "v")

    def __init__(self, net: Any, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, clip_norm: Optional[float] = None) -> None:
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair of floats, got {betas!r}") from None
        self.betas = (check_number("betas[0]", b1, _UNIT), check_number("betas[1]", b2, _UNIT))
        self.eps = check_number("eps", eps, _POSITIVE)
        self.weight_decay = check_number("weight_decay", weight_decay, _NON_NEGATIVE)
        super().__init__(net, lr, clip_norm)

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self._lr, "weight_decay": self.weight_decay, "beta1": self.betas[0], "beta2": self.betas[1],
                "eps": self.eps}

    def _describe(self) -> dict[str, Any]:
        return {"lr": self._lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first scales p by (1 − lr · weight_decay).

    Parameters
    ----------
    net : Network
    lr : float, default 0.001
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float >= 0, default 0.01
        Decoupled: ``p ← (1 − lr · weight_decay) p`` before the Adam update.
    clip_norm : float > 0, optional
        Clip the gradient's global L2 norm to this value in each step (see :class:`Optimizer`).

    Examples
    --------
    >>> import swiftprop as sp
    >>> sp.optim.AdamW(sp.Network([2, 1], seed=0), lr=0.01)
    AdamW(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)
    """

    _kind = "adamw"

    def __init__(self, net: Any, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, *, clip_norm: Optional[float] = None) -> None:
        super().__init__(net, lr, betas, eps, weight_decay, clip_norm=clip_norm)


class RMSprop(Optimizer):
    """RMSprop as PyTorch's ``torch.optim.RMSprop`` (not centered), in one fused Swift pass.

    With g = dcost/dp + weight_decay · p: ``s ← α s + (1−α) g²``; without momentum
    ``p ← p − lr · g / (√s + eps)``; with momentum ``b ← μ b + g / (√s + eps)``, ``p ← p − lr · b``.

    Parameters
    ----------
    net : Network
    lr : float > 0, default 0.01
    alpha : float in [0, 1), default 0.99
        Smoothing constant of the running mean of g².
    eps : float > 0, default 1e-8
        Added to √s.
    momentum : float in [0, 1), default 0
    weight_decay : float >= 0, default 0
        Coupled (added to the gradient).
    clip_norm : float > 0, optional
        Clip the gradient's global L2 norm to this value in each step (see :class:`Optimizer`).

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> opt = sp.optim.RMSprop(net, lr=0.01, momentum=0.5)
    >>> history = net.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=3, optimizer=opt)
    >>> sorted(opt.state)
    ['momentum_buffer', 'square_avg']
    """

    _kind = "rmsprop"
    _state_names = ("square_avg", "momentum_buffer")

    def __init__(self, net: Any, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 weight_decay: float = 0.0, *, clip_norm: Optional[float] = None) -> None:
        self.alpha = check_number("alpha", alpha, _UNIT)
        self.eps = check_number("eps", eps, _POSITIVE)
        self.momentum = check_number("momentum", momentum, _UNIT)
        self.weight_decay = check_number("weight_decay", weight_decay, _NON_NEGATIVE)
        super().__init__(net, lr, clip_norm)

    def _hyper(self) -> dict[str, Any]:
        return {"lr": self._lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum,
                "weight_decay": self.weight_decay}

    def _describe(self) -> dict[str, Any]:
        return self._hyper()


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
    return {"class": type(opt).__name__, "kwargs": opt._arguments(), "t": opt.t, "state": opt._opt.state.copy()}


def _saved_class(name: Any) -> type[Optimizer]:
    cls = {c.__name__: c for c in (SGD, Adam, AdamW, RMSprop)}.get(str(name))
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

    Examples
    --------
    >>> import swiftprop as sp
    >>> class Halve(sp.optim.LRSchedule):  # a schedule of your own: halve the rate every epoch
    ...     def __call__(self, net, epoch, history):
    ...         self.optimizer.lr /= 2
    ...         return False
    >>> net = sp.Network([2, 1], seed=0)
    >>> opt = sp.optim.SGD(net, lr=0.8)
    >>> h = net.fit([[0.0, 1.0]], [[1.0]], epochs=3, optimizer=opt, callbacks=[Halve(opt)])
    >>> opt.lr
    0.1
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
        """The :meth:`swiftprop.Network.fit` callback form; the base class never stops training.

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
            True to stop training.
        """
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r})"


class ConstantLR(LRSchedule):
    """The learning rate stays as it is (scikit-learn's ``learning_rate='constant'``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate is left unchanged.

    Examples
    --------
    >>> import swiftprop as sp
    >>> opt = sp.optim.SGD(sp.Network([2, 1], seed=0), lr=0.1)
    >>> sp.optim.ConstantLR(opt)(None, 1, None), opt.lr
    (False, 0.1)
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
        """Set the learning rate to ``lr_init / (t + 1) ** power_t``.

        Parameters
        ----------
        t : int
            The number of training samples seen so far.
        """
        self.optimizer.lr = self.lr_init / (t + 1) ** self.power_t

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Count ``samples_per_epoch`` more samples and set the learning rate; never stops training.

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
            True to stop training.
        """
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

    Examples
    --------
    >>> import swiftprop as sp
    >>> opt = sp.optim.SGD(sp.Network([2, 1], seed=0), lr=0.1)
    >>> sched = sp.optim.AdaptiveLR(opt)
    >>> sched.on_plateau(), round(opt.lr, 6)  # what the estimators call when the loss stops improving
    (True, 0.02)
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
        """Divide the learning rate by ``factor`` and return True, or return False (stop) at ``min_lr``.

        Returns
        -------
        bool
            True if the learning rate was lowered, False if training should stop.
        """
        opt = self.optimizer
        if opt.lr <= self.min_lr:
            return False
        opt.lr = opt.lr / self.factor
        return True

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """Track ``history.loss``; on a plateau lower the learning rate, or return True to stop.

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
            True to stop training.
        """
        last = history.loss[-1]
        self._count = self._count + 1 if last > self._best - self.tol else 0
        self._best = min(self._best, last)
        if self._count > self.patience:
            self._count = 0
            return not self.on_plateau()
        return False


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


class _EpochSchedule(LRSchedule):
    """A schedule that sets ``lr = f(epoch)`` from the learning rate it found (PyTorch's ``LRScheduler``):
    made at epoch 0, :meth:`step` moves to the next epoch. As a :meth:`~swiftprop.Network.fit` callback it
    steps once after every epoch."""

    def __init__(self, optimizer: Optimizer) -> None:
        super().__init__(optimizer)
        #: The learning rate the schedule starts from (the optimizer's when the schedule was made).
        self.base_lr = optimizer.lr
        #: Number of :meth:`step` calls so far (PyTorch's ``last_epoch``).
        self.last_epoch = 0
        self._apply()

    def _lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def _apply(self) -> None:
        self.optimizer.lr = self._lr_at(self.last_epoch)

    def step(self) -> None:
        """Move to the next epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> float:
        """The learning rate the schedule set last.

        Returns
        -------
        float
        """
        return self.optimizer.lr

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """The :meth:`~swiftprop.Network.fit` callback form: :meth:`step`; never stops training.

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
            True to stop training.
        """
        self.step()
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r}, last_epoch={self.last_epoch})"


class StepLR(_EpochSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs (PyTorch's ``StepLR``):
    ``lr = base_lr · gamma ** (epoch // step_size)``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.
    step_size : int >= 1
        Epochs between two decays.
    gamma : float > 0, default 0.1
        The factor.

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([2, 4, 1], seed=0)
    >>> opt = sp.optim.SGD(net, lr=0.1)
    >>> sched = sp.optim.StepLR(opt, step_size=2, gamma=0.5)
    >>> h = net.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=4, optimizer=opt, callbacks=[sched])
    >>> round(opt.lr, 6)  # halved after epochs 2 and 4
    0.025
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _check_int("step_size", step_size, 1)
        self.gamma = check_number("gamma", gamma, _POSITIVE)
        super().__init__(optimizer)

    def _lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(_EpochSchedule):
    """Multiply the learning rate by ``gamma`` after every epoch (PyTorch's ``ExponentialLR``):
    ``lr = base_lr · gamma ** epoch``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.
    gamma : float > 0
        The factor per epoch.

    Examples
    --------
    >>> import swiftprop as sp
    >>> opt = sp.optim.SGD(sp.Network([2, 1], seed=0), lr=1.0)
    >>> sched = sp.optim.ExponentialLR(opt, gamma=0.9)
    >>> for epoch in range(3):
    ...     sched.step()  # after each epoch of your own loop
    >>> round(opt.lr, 6)
    0.729
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_number("gamma", gamma, _POSITIVE)
        super().__init__(optimizer)

    def _lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(_EpochSchedule):
    """Cosine annealing from the base learning rate to ``eta_min`` over ``T_max`` epochs (PyTorch's
    ``CosineAnnealingLR``, closed form), after an optional linear warm-up.

    Epoch e (0 when the schedule is made) gets ``base_lr · (e + 1) / (warmup + 1)`` while ``e < warmup``, then,
    with ``T = e − warmup``, ``eta_min + (base_lr − eta_min) · (1 + cos(π T / T_max)) / 2`` (periodic
    beyond ``T_max``, as PyTorch's).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule sets.
    T_max : int >= 1
        Epochs of one half period of the cosine.
    eta_min : float >= 0, default 0
        The lowest learning rate. (At exactly 0 the optimizer keeps a tiny positive rate: a learning
        rate must be positive.)
    warmup : int >= 0, default 0
        Epochs of linear warm-up before the cosine starts (not in PyTorch's class).

    Examples
    --------
    >>> import swiftprop as sp
    >>> opt = sp.optim.Adam(sp.Network([2, 1], seed=0), lr=0.01)
    >>> sched = sp.optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.001)
    >>> lrs = []
    >>> for epoch in range(4):
    ...     sched.step()
    ...     lrs.append(round(opt.lr, 5))
    >>> lrs
    [0.00868, 0.0055, 0.00232, 0.001]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, warmup: int = 0) -> None:
        self.T_max = _check_int("T_max", T_max, 1)
        self.eta_min = check_number("eta_min", eta_min, _NON_NEGATIVE)
        self.warmup = _check_int("warmup", warmup, 0)
        super().__init__(optimizer)

    def _lr_at(self, epoch: int) -> float:
        if epoch < self.warmup:
            return self.base_lr * (epoch + 1) / (self.warmup + 1)
        t = epoch - self.warmup
        lr = self.eta_min + (self.base_lr - self.eta_min) * (1 + np.cos(np.pi * t / self.T_max)) / 2
        return max(float(lr), np.finfo(np.float64).tiny)


class ReduceLROnPlateau(LRSchedule):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving for ``patience``
    epochs (PyTorch's ``ReduceLROnPlateau``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rate the schedule lowers.
    factor : float in (0, 1), default 0.1
        The factor.
    patience : int >= 0, default 10
        Epochs without improvement tolerated; the rate is lowered at the next one.
    mode : {"min", "max"}, default "min"
        Whether the metric improves by decreasing or increasing.
    threshold : float >= 0, default 1e-4
        Relative improvement needed: below ``best · (1 − threshold)`` in "min" mode.
    cooldown : int >= 0, default 0
        Epochs to wait after a reduction before counting again.
    min_lr : float >= 0, default 0
        The rate is never lowered below this.
    monitor : str, optional
        Callback form: the :class:`~swiftprop.History` list to watch (e.g. "val_loss", "loss");
        default "val_loss" when the fit has validation data, else "loss".

    Examples
    --------
    >>> import swiftprop as sp
    >>> opt = sp.optim.SGD(sp.Network([2, 1], seed=0), lr=0.1)
    >>> sched = sp.optim.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for val_loss in [1.0, 0.9, 0.9, 0.9]:  # your own loop: step with the metric
    ...     sched.step(val_loss)
    >>> opt.lr
    0.05
    """

    def __init__(self, optimizer: Optimizer, factor: float = 0.1, patience: int = 10, *, mode: str = "min",
                 threshold: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 monitor: Optional[str] = None) -> None:
        super().__init__(optimizer)
        self.factor = check_number("factor", factor, Interval(0.0, 1.0, low_open=True, high_open=True))
        self.patience = _check_int("patience", patience, 0)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.threshold = check_number("threshold", threshold, _NON_NEGATIVE)
        self.cooldown = _check_int("cooldown", cooldown, 0)
        self.min_lr = check_number("min_lr", min_lr, _NON_NEGATIVE)
        if monitor is not None and not isinstance(monitor, str):
            raise TypeError(f"monitor must be a History attribute name, got {type(monitor).__name__}")
        self.monitor = monitor
        self.best = np.inf if mode == "min" else -np.inf
        self.num_bad_epochs = 0
        self._cooldown_left = 0

    def _better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best * (1 - self.threshold) if self.best > 0 else value < self.best - abs(self.best) * self.threshold
        return value > self.best * (1 + self.threshold) if self.best > 0 else value > self.best + abs(self.best) * self.threshold

    def step(self, metric: float) -> None:
        """Record one epoch's metric; lower the learning rate after ``patience`` epochs without improvement.

        Parameters
        ----------
        metric : float
            The epoch's value of the watched quantity (e.g. the validation loss).
        """
        value = float(metric)
        if self._better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self._cooldown_left > 0:
            self._cooldown_left -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.on_plateau()
            self._cooldown_left = self.cooldown
            self.num_bad_epochs = 0

    def on_plateau(self) -> bool:
        """Lower the learning rate by ``factor`` (not below ``min_lr``); training goes on.

        Returns
        -------
        bool
            Always True (this schedule never asks to stop).
        """
        new = max(self.optimizer.lr * self.factor, self.min_lr)
        if new > 0 and self.optimizer.lr - new > 1e-8 * self.optimizer.lr:
            self.optimizer.lr = new
        return True

    def __call__(self, net: Any, epoch: int, history: Any) -> bool:
        """The :meth:`~swiftprop.Network.fit` callback form: :meth:`step` with the monitored value.

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
            True to stop training.
        """
        name = self.monitor or ("val_loss" if getattr(history, "val_loss", None) else "loss")
        values = getattr(history, name, None)
        if not values:
            raise ValueError(f"ReduceLROnPlateau monitors {name!r}, which this fit does not record "
                             "(val_loss needs validation_data)")
        self.step(values[-1])
        return False


def make_schedule(name: str, optimizer: Optimizer, *, lr_init: float, power_t: float) -> LRSchedule:
    """Package-internal: the schedule of scikit-learn's ``learning_rate`` name ('constant', 'invscaling',
    'adaptive') on ``optimizer``, with scikit-learn's constants."""
    if name == "invscaling":
        return InvScalingLR(optimizer, power_t, lr_init=lr_init)
    if name == "adaptive":
        return AdaptiveLR(optimizer)
    return ConstantLR(optimizer)
