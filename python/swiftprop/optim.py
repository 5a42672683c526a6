"""Optimizers whose state lives in Swift beside the parameters (one fused pass per step).

Use them in your own loop (``net.backward(xb, yb); opt.step()``) or pass them to
:meth:`swiftprop.Network.fit`; their state carries over between calls.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _core

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


def _check_float(name: str, value: Any, low: float, high: float = np.inf, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if not np.isfinite(v) or too_low or too_high:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}, got {value!r}")
    return v


class Optimizer:
    """Base class: a Swift optimizer bound to one network. Subclasses define the update."""

    _kind = ""  # the name of its kind in _core.OPTIMIZERS
    _state_names: tuple[str, ...] = ()

    def __init__(self, net: Any, lr: float) -> None:
        from ._network import Network

        if not isinstance(net, Network):
            raise TypeError(f"net must be a swiftprop.Network, got {type(net).__name__}")
        self._network = net
        self._lr = _check_float("lr", lr, 0.0, low_open=True)
        self._opt = _core.Optimizer(net._net, _core.OPTIMIZERS[self._kind], **self._hyper())

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
        self._lr = _check_float("lr", value, 0.0, low_open=True)
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

    def _save(self) -> dict:
        """Everything needed to rebuild this optimizer on a copy of its network."""
        return {"class": type(self).__name__, "kwargs": self._describe(), "t": self.t,
                "state": self._opt.state.copy()}

    @staticmethod
    def _restore(net: Any, saved: dict) -> "Optimizer":
        classes = {c.__name__: c for c in (SGD, Adam, AdamW)}
        cls = classes.get(str(saved.get("class")))
        if cls is None:
            raise ValueError(f"unknown optimizer {saved.get('class')!r}")
        kwargs = dict(saved["kwargs"])
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        opt = cls(net, **kwargs)
        state = saved["state"]
        if not isinstance(state, np.ndarray) or state.shape != opt._opt.state.shape:
            raise ValueError("optimizer state does not match the network")
        opt._opt.state[...] = state
        opt._opt.t = int(saved["t"])
        return opt

    def __getstate__(self) -> dict:
        return {"network": self._network, "saved": self._save()}

    def __setstate__(self, state: dict) -> None:
        restored = Optimizer._restore(state["network"], state["saved"])
        self.__dict__.update(restored.__dict__)

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
        self.momentum = _check_float("momentum", momentum, 0.0, 1.0, high_open=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_float("weight_decay", weight_decay, 0.0)
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
        self.betas = (_check_float("betas[0]", b1, 0.0, 1.0, high_open=True),
                      _check_float("betas[1]", b2, 0.0, 1.0, high_open=True))
        self.eps = _check_float("eps", eps, 0.0, low_open=True)
        self.weight_decay = _check_float("weight_decay", weight_decay, 0.0)
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
