r"""Reference implementation of the forward pass and backpropagation in NumPy.

This module is "the equations in NumPy": it is written for clarity, not speed,
and it does not depend on the rest of swiftprop (only on NumPy), so it can be
read on its own and used as an independent reference in tests.  Function
names mirror those of the Swift core.

Notation
--------
The network has ``L`` layers, numbered ``i = 0, ..., L-1`` (the derivation in
the documentation numbers them ``1, ..., n``).  ``sizes = [n_0, ..., n_L]``.
Layer ``i`` has weights ``W[i]`` of shape ``(sizes[i+1], sizes[i])``, biases
``B[i]`` of shape ``(sizes[i+1],)`` and an activation function ``f_i``.

Samples are the *rows* of a batch ``X`` of shape ``(batch, sizes[0])``, so
every per-layer quantity below is a ``(batch, sizes[i+1])`` array whose row
``b`` belongs to sample ``b``.

Forward pass
------------
With ``S_out_prev = X`` for ``i = 0`` and ``S_out_prev = S_out[i-1]``
otherwise::

    S_in[i]  = S_out_prev @ W[i].T + B[i]
    S_out[i] = f_i(S_in[i])

The network output is ``S_out[L-1]`` (written ŷ below).  The cost of a batch
is the **mean** over the batch of the per-sample cost.

Backpropagation
---------------
``deltas[i]`` is ``d cost / d S_in[i]`` for the batch cost, so it includes the
``1/batch`` factor of the mean.  Starting from ``deltas[L-1]`` (given by the
loss, see below), the three equations are::

    (1)  deltas[i] = (deltas[i+1] @ W[i+1]) * f_i'(S_in[i])
    (2)  dW[i]     = deltas[i].T @ S_out_prev
    (3)  dB[i]     = deltas[i].sum(axis=0)

Equation (1) is the batched form of ``δ^i = (W^(i+1))ᵀ δ^(i+1) ⊙ f'(S_in^i)``
(a row of ``deltas[i+1] @ W[i+1]`` is ``(W^(i+1))ᵀ δ^(i+1)`` for one sample).
For softmax, which is not element-wise, ``⊙ f'`` becomes the product with the
transposed Jacobian, row by row (see :func:`activation_backward`).

Losses and the last delta
-------------------------
With ``z = S_in[L-1]`` (the logits), ``ŷ = S_out[L-1]`` and target rows ``y``:

``"mse"``
    per-sample cost ``½‖ŷ − y‖²``; ``deltas[L-1] = (ŷ − y)/batch ⊙ f'(z)``
    (for softmax: ``Jᵀ g`` row-wise, i.e. ``ŷ * (g − sum(g*ŷ))`` with
    ``g = (ŷ − y)/batch``).  Any last activation.
``"cross_entropy"``
    needs a softmax last layer; per-sample cost ``−Σ_k y_k log ŷ_k``,
    computed stably as ``−Σ_k y_k (z_k − logsumexp(z))``; ``Y`` is either
    integer labels of shape ``(batch,)`` (meaning one-hot rows) or rows of
    probabilities ``(batch, n_L)``; ``deltas[L-1] = (ŷ − y)/batch``.
``"binary_cross_entropy"``
    needs a sigmoid last layer (independent, multi-label outputs); per-element
    cost ``−[y log ŷ + (1 − y) log(1 − ŷ)]``, computed stably as
    ``softplus(z) − y z`` and summed over the outputs;
    ``deltas[L-1] = (σ(z) − y)/batch``.
``"poisson"``
    needs an exp last layer (``ŷ = e^z``) and targets ``y >= 0``; per-element
    cost ``y log(y/ŷ) − y + ŷ`` (half the Poisson deviance, as scikit-learn's
    ``MLPRegressor(loss="poisson")``), summed over the outputs;
    ``deltas[L-1] = (ŷ − y)/batch``.

Sparse input
------------
``X`` may be a scipy.sparse matrix (read as CSR): the first layer's product
``X @ W[0].T`` and its gradient ``deltas[0].T @ X`` (equation (2)) read only
the stored entries (:func:`input_product`, :func:`input_gradient`); nothing
else changes, since the first layer needs no gradient with respect to X.

Everything is computed in the floating dtype of the inputs: float32 inputs
give float32 results.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Trace",
    "activation_forward",
    "activation_backward",
    "loss_forward",
    "loss_backward",
    "forward",
    "backward",
    "one_hot",
    "input_product",
    "input_gradient",
]

#: Names of the activation functions.  All are element-wise except
#: ``"softmax"`` (row-wise), which is allowed on the last layer only.
ACTIVATIONS: tuple[str, ...] = (
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
    "gelu",
    "softmax",
    "exp",
)

#: Names of the losses.
LOSSES: tuple[str, ...] = ("mse", "cross_entropy", "binary_cross_entropy", "poisson")

#: Slope of ``"leaky_relu"`` for ``z <= 0``.
LEAKY_RELU_SLOPE = 0.01

# Constants of the tanh form of GELU.  Python floats (not NumPy scalars), so
# that float32 arrays stay float32.
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


# ---------------------------------------------------------------------------
# Small numerically stable building blocks
# ---------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))`` without overflow for any sign.

    With ``e = exp(-|z|)`` (always in ``(0, 1]``)::

        σ(z) = 1 / (1 + e)   for z >= 0
        σ(z) = e / (1 + e)   for z <  0
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))`` computed as ``max(z, 0) + log1p(exp(-|z|))``."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _logsumexp_rows(z: np.ndarray) -> np.ndarray:
    """``log Σ_k exp(z_k)`` of each row, shape ``(batch, 1)``.

    The row maximum ``m`` is subtracted first, so every ``exp`` is ``<= 1``.
    """
    m = np.max(z, axis=1, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax ``exp(z_k) / Σ_j exp(z_j)``, shifted by the row max."""
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def _check_loss(name: str) -> None:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {LOSSES}")


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def activation_forward(name: str, S_in: np.ndarray) -> np.ndarray:
    """Apply the activation ``f``: ``S_out = f(S_in)``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    S_in : ndarray, shape (batch, width)
        Pre-activations (for softmax each row is one sample).  Element-wise
        activations accept any shape.

    Returns
    -------
    S_out : ndarray, same shape and dtype as `S_in`
        ``identity``: ``z``;
        ``sigmoid``: ``1 / (1 + exp(-z))`` (stable for both signs);
        ``tanh``: ``tanh(z)``;
        ``relu``: ``max(z, 0)``;
        ``leaky_relu``: ``z`` if ``z > 0`` else ``0.01 z``;
        ``elu``: ``z`` if ``z > 0`` else ``expm1(z)`` (alpha = 1);
        ``softplus``: ``max(z, 0) + log1p(exp(-|z|))``;
        ``gelu``: ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z³)))``;
        ``softmax``: ``exp(z_k - max z) / Σ_j exp(z_j - max z)`` per row;
        ``exp``: ``e^z`` (the output of ``"poisson"``).
    """
    _check_activation(name)
    z = np.asarray(S_in)
    if name == "identity":
        return z.copy()
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)
    if name == "elu":
        # expm1 only sees z <= 0, so large positive z cannot overflow.
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
    if name == "softplus":
        return _softplus(z)
    if name == "gelu":
        return 0.5 * z * (1.0 + np.tanh(_GELU_C * (z + _GELU_A * z**3)))
    if name == "exp":
        return np.exp(z)
    # softmax
    if z.ndim != 2:
        raise ValueError(f"softmax expects a 2-D (batch, width) array, got shape {z.shape}")
    return _softmax_rows(z)


def _elementwise_derivative(name: str, S_in: np.ndarray, S_out: np.ndarray) -> np.ndarray:
    """``f'(S_in)`` for an element-wise activation (``S_out = f(S_in)`` is given
    because some derivatives are simplest in terms of it)."""
    z, s = S_in, S_out
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        return s * (1.0 - s)  # σ' = σ (1 − σ)
    if name == "tanh":
        return 1.0 - s * s  # tanh' = 1 − tanh²
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0).astype(z.dtype)  # f'(0) = 0
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(z.dtype)  # f'(0) = 0.01
    if name == "elu":
        return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))).astype(z.dtype)
    if name == "softplus":
        return _sigmoid(z)  # softplus' = σ
    if name == "gelu":
        # f = ½ z (1 + t),  t = tanh(u),  u = c (z + a z³)
        # f' = ½ (1 + t) + ½ z (1 − t²) c (1 + 3 a z²)
        t = np.tanh(_GELU_C * (z + _GELU_A * z**3))
        du_dz = _GELU_C * (1.0 + 3.0 * _GELU_A * z * z)
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du_dz
    if name == "exp":
        return s  # (e^z)' = e^z
    raise ValueError(f"{name!r} is not an element-wise activation")


def activation_backward(
    name: str, dS_out: np.ndarray, S_in: np.ndarray, S_out: np.ndarray
) -> np.ndarray:
    """Pull a gradient back through the activation: ``dS_in`` from ``dS_out``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    dS_out : ndarray, shape (batch, width)
        Gradient of the cost with respect to ``S_out``.
    S_in : ndarray, shape (batch, width)
        The pre-activations of the forward pass.
    S_out : ndarray, shape (batch, width)
        ``f(S_in)``, as returned by :func:`activation_forward`.

    Returns
    -------
    dS_in : ndarray, shape (batch, width)
        For element-wise ``f``: ``dS_out ⊙ f'(S_in)``.  For softmax, row by
        row, ``Jᵀ dS_out`` with the Jacobian ``J = diag(s) − s sᵀ`` of
        ``s = softmax(z)``, which simplifies to ``s ⊙ (dS_out − (dS_out · s))``.
    """
    _check_activation(name)
    g = np.asarray(dS_out)
    if name == "softmax":
        s = np.asarray(S_out)
        return s * (g - np.sum(g * s, axis=1, keepdims=True))
    return g * _elementwise_derivative(name, np.asarray(S_in), np.asarray(S_out))


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------


def one_hot(labels: np.ndarray, n_classes: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """Rows of zeros with a single one at each label.

    Parameters
    ----------
    labels : ndarray of int, shape (batch,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of classes (columns).
    dtype : dtype, optional
        dtype of the result (default float64).

    Returns
    -------
    ndarray, shape (batch, n_classes)
        ``out[b, labels[b]] = 1``, all other entries 0.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    out = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def _is_labels(Y: np.ndarray) -> bool:
    return Y.ndim == 1 and np.issubdtype(Y.dtype, np.integer)


def _target_rows(name: str, S_out_last: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Targets as ``(batch, n_L)`` rows in the dtype of the output."""
    Y = np.asarray(Y)
    batch, width = S_out_last.shape
    if _is_labels(Y):
        if name != "cross_entropy":
            raise ValueError(f"integer labels are only accepted by 'cross_entropy', not {name!r}")
        if Y.shape[0] != batch:
            raise ValueError(f"got {Y.shape[0]} labels for a batch of {batch}")
        return one_hot(Y, width, dtype=S_out_last.dtype)
    if Y.shape != (batch, width):
        raise ValueError(f"targets of shape {Y.shape} do not match the output shape {(batch, width)}")
    return Y.astype(S_out_last.dtype, copy=False)


def loss_forward(
    name: str, S_in_last: np.ndarray, S_out_last: np.ndarray, Y: np.ndarray
) -> float:
    """Cost of a batch: the mean over the batch of the per-sample cost.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`.
    S_in_last : ndarray, shape (batch, n_L)
        Pre-activations ``z`` of the last layer (the logits; used by the
        cross-entropies, which assume softmax resp. sigmoid).
    S_out_last : ndarray, shape (batch, n_L)
        Network output ``ŷ = f(z)`` (used by ``"mse"``).
    Y : ndarray
        Targets, shape ``(batch, n_L)``; for ``"cross_entropy"`` also integer
        labels of shape ``(batch,)``.

    Returns
    -------
    float
        ``mse``: ``mean_b ½ Σ_k (ŷ_bk − y_bk)²``;
        ``cross_entropy``: ``mean_b −Σ_k y_bk (z_bk − logsumexp(z_b))``;
        ``binary_cross_entropy``: ``mean_b Σ_k softplus(z_bk) − y_bk z_bk``;
        ``poisson``: ``mean_b Σ_k y_bk log(y_bk / ŷ_bk) − y_bk + ŷ_bk`` (half the
        Poisson deviance, scikit-learn's ``poisson_loss``; ``y log y = 0`` at
        ``y = 0``, ``log ŷ = z``).
    """
    _check_loss(name)
    z = np.asarray(S_in_last)
    y_hat = np.asarray(S_out_last)
    y = _target_rows(name, y_hat, Y)
    if name == "mse":
        per_sample = 0.5 * np.sum((y_hat - y) ** 2, axis=1)
    elif name == "cross_entropy":
        log_probs = z - _logsumexp_rows(z)  # log ŷ, without ever taking log(0)
        per_sample = -np.sum(y * log_probs, axis=1)
    elif name == "poisson":
        # y log(y/ŷ) − y + ŷ with log ŷ = z (an exp output), and y log y = 0 at y = 0
        y_log_y = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0)
        per_sample = np.sum(y_log_y - y * z - y + y_hat, axis=1)
    else:  # binary_cross_entropy
        # −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y z
        per_sample = np.sum(_softplus(z) - y * z, axis=1)
    return float(np.mean(per_sample))


def loss_backward(
    name: str, activation: str, S_in_last: np.ndarray, S_out_last: np.ndarray, Y: np.ndarray
) -> np.ndarray:
    """The last delta, ``deltas[L-1] = d cost / d S_in[L-1]``.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`.
    activation : str
        Activation of the last layer.  ``"cross_entropy"`` requires
        ``"softmax"`` and ``"binary_cross_entropy"`` requires ``"sigmoid"``.
    S_in_last, S_out_last : ndarray, shape (batch, n_L)
        Pre-activations ``z`` and output ``ŷ = f(z)`` of the last layer.
    Y : ndarray
        Targets, as for :func:`loss_forward`.

    Returns
    -------
    ndarray, shape (batch, n_L)
        ``mse``: ``activation_backward(activation, (ŷ − y)/batch, z, ŷ)``,
        i.e. ``(ŷ − y)/batch ⊙ f'(z)`` (``Jᵀ g`` row-wise for softmax);
        ``cross_entropy``: ``(ŷ − y)/batch``;
        ``binary_cross_entropy``: ``(σ(z) − y)/batch``;
        ``poisson``: ``(ŷ − y)/batch`` with ``ŷ = e^z`` (needs an ``"exp"`` last layer).

    Notes
    -----
    The cross-entropy delta ``(ŷ − y)/batch`` is the exact gradient when each
    target row sums to 1 (one-hot rows or probability rows).
    """
    _check_loss(name)
    _check_activation(activation)
    z = np.asarray(S_in_last)
    y_hat = np.asarray(S_out_last)
    y = _target_rows(name, y_hat, Y)
    batch = y_hat.shape[0]
    if name == "mse":
        g = (y_hat - y) / batch  # d cost / d ŷ
        return activation_backward(activation, g, z, y_hat)
    if name == "cross_entropy":
        if activation != "softmax":
            raise ValueError(f"'cross_entropy' needs a softmax last layer, not {activation!r}")
        return (y_hat - y) / batch
    if name == "poisson":
        if activation != "exp":
            raise ValueError(f"'poisson' needs an exp last layer, not {activation!r}")
        return (y_hat - y) / batch  # d/dz (e^z − y z) = ŷ − y
    # binary_cross_entropy
    if activation != "sigmoid":
        raise ValueError(f"'binary_cross_entropy' needs a sigmoid last layer, not {activation!r}")
    return (y_hat - y) / batch  # ŷ = σ(z)


# ---------------------------------------------------------------------------
# The whole network
# ---------------------------------------------------------------------------


def _is_sparse(X: object) -> bool:
    """Whether X is a scipy.sparse matrix or array (without importing scipy when it is not loaded)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(X))


def _as_input(X):
    """X as the passes read it: a scipy.sparse matrix in CSR form (the sparse path), else an ndarray."""
    return X.tocsr() if _is_sparse(X) else np.asarray(X)


def input_product(X, W: np.ndarray) -> np.ndarray:
    """``X @ W.T`` for the first layer: a dense product, or sparse × dense when X is a
    scipy.sparse matrix (only its stored entries are read); always an ndarray."""
    return np.asarray(X @ np.asarray(W).T)


def input_gradient(delta: np.ndarray, X) -> np.ndarray:
    """Equation (2) for the first layer, ``delta.T @ X``: dense × sparse as ``(Xᵀ delta)ᵀ`` when X is
    sparse (only X's stored entries are read); always an ndarray."""
    if _is_sparse(X):
        return np.ascontiguousarray(np.asarray(X.T @ delta).T)
    return delta.T @ X


def _check_network(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    X: np.ndarray,
) -> None:
    if isinstance(activations, str):
        raise TypeError("activations must be a sequence with one name per layer")
    L = len(weights)
    if L == 0:
        raise ValueError("the network needs at least one layer")
    if len(biases) != L or len(activations) != L:
        raise ValueError(
            f"got {L} weight matrices, {len(biases)} bias vectors and {len(activations)} activations"
        )
    for i, name in enumerate(activations):
        _check_activation(name)
        if name == "softmax" and i != L - 1:
            raise ValueError(f"softmax is only allowed on the last layer, found on layer {i}")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D (batch, sizes[0]) array, got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("the batch is empty")
    width = X.shape[1]
    for i, (W, B) in enumerate(zip(weights, biases)):
        W, B = np.asarray(W), np.asarray(B)
        if W.ndim != 2 or W.shape[1] != width or B.shape != (W.shape[0],):
            raise ValueError(
                f"layer {i}: W{W.shape} and B{B.shape} do not fit an input of width {width}"
            )
        width = W.shape[0]


def forward(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    X: np.ndarray,
    masks: Sequence | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Forward pass of a batch.

    Parameters
    ----------
    weights : sequence of ndarray
        ``W[i]``, shape ``(sizes[i+1], sizes[i])``.
    biases : sequence of ndarray
        ``B[i]``, shape ``(sizes[i+1],)``.
    activations : sequence of str
        One activation name per layer; ``"softmax"`` on the last layer only.
    X : ndarray or scipy.sparse matrix, shape (batch, sizes[0])
        One sample per row.  A scipy.sparse X (any format; read as CSR) takes
        the sparse path: ``S_in[0] = X @ W[0].T`` reads only its stored
        entries (:func:`input_product`).

    Returns
    -------
    S_in, S_out : list of ndarray
        Per layer, shape ``(batch, sizes[i+1])``::

            S_in[i]  = S_out_prev @ W[i].T + B[i]
            S_out[i] = f_i(S_in[i])

        with ``S_out_prev = X`` for ``i = 0`` and ``S_out[i-1]`` otherwise
        (``S_out[i-1] * masks[i-1]`` in a training pass with dropout masks).
    """
    X = _as_input(X)
    _check_network(weights, biases, activations, X)
    S_in: list[np.ndarray] = []
    S_out: list[np.ndarray] = []
    for i, (W, B, f) in enumerate(zip(weights, biases, activations)):
        prod = input_product(X, W) if i == 0 else _layer_input(S_out, masks, i) @ np.asarray(W).T
        S_in.append(prod + np.asarray(B))
        S_out.append(activation_forward(f, S_in[-1]))
    return S_in, S_out


def _layer_input(S_out: list[np.ndarray], masks: Sequence | None, i: int) -> np.ndarray:
    """What layer i >= 1 reads: S_out[i-1], times its dropout mask in a training pass with masks."""
    if masks is None or masks[i - 1] is None:
        return S_out[i - 1]
    return S_out[i - 1] * masks[i - 1]


@dataclass
class Trace:
    """Every intermediate quantity of one forward + backward pass.

    Attributes
    ----------
    S_in, S_out : list of ndarray
        Pre-activations and activations per layer, ``(batch, sizes[i+1])``.
    deltas : list of ndarray
        ``deltas[i] = d cost / d S_in[i]`` (includes the ``1/batch``).
    dW : list of ndarray
        ``d cost / d W[i]``, shape ``(sizes[i+1], sizes[i])``.
    dB : list of ndarray
        ``d cost / d B[i]``, shape ``(sizes[i+1],)``.
    loss : float
        Mean cost over the batch.
    """

    S_in: list[np.ndarray] = field(default_factory=list)
    S_out: list[np.ndarray] = field(default_factory=list)
    deltas: list[np.ndarray] = field(default_factory=list)
    dW: list[np.ndarray] = field(default_factory=list)
    dB: list[np.ndarray] = field(default_factory=list)
    loss: float = 0.0


def backward(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    loss: str,
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    masks: Sequence | None = None,
) -> Trace:
    """Forward pass, cost and backpropagation of a batch.

    Parameters
    ----------
    weights, biases, activations, X
        As for :func:`forward`.
    loss : str
        One of :data:`LOSSES`.
    Y : ndarray
        Targets, as for :func:`loss_forward`.
    sample_weight : ndarray of shape (batch,), optional
        Non-negative weights with a positive sum: the cost becomes ``Σ_b w_b c_b / Σ_b w_b`` and
        the last delta's row ``b`` is scaled by ``w_b / Σ w`` instead of ``1 / batch``.
    masks : sequence of ndarray or None, optional
        Dropout masks of a training pass, one per hidden layer (None: no dropout there); see
        :func:`backward_dropout`.

    Returns
    -------
    Trace
        ``S_in``, ``S_out``, ``deltas``, ``dW``, ``dB`` (lists indexed by
        layer) and the mean cost ``loss``, where, going from the last layer
        down::

            deltas[L-1] = loss_backward(...)
            (1) deltas[i] = (deltas[i+1] @ W[i+1]) * f_i'(S_in[i])
            (2) dW[i]     = deltas[i].T @ S_out_prev
            (3) dB[i]     = deltas[i].sum(axis=0)
    """
    _check_loss(loss)
    X = _as_input(X)
    L = len(weights)
    if masks is not None:  # one per hidden layer (None: no dropout there)
        masks = list(masks) + [None] * (L - 1 - len(masks))
        if len(masks) != L - 1:
            raise ValueError(f"got {len(masks)} masks for {L - 1} hidden layers")
    S_in, S_out = forward(weights, biases, activations, X, masks)

    deltas: list[np.ndarray] = [np.empty(0)] * L
    if sample_weight is None:
        cost = loss_forward(loss, S_in[L - 1], S_out[L - 1], Y)
        deltas[L - 1] = loss_backward(loss, activations[L - 1], S_in[L - 1], S_out[L - 1], Y)
    else:
        cost, deltas[L - 1] = _weighted_last_layer(loss, activations[L - 1], S_in[L - 1], S_out[L - 1], Y,
                                                   np.asarray(sample_weight))
    for i in range(L - 2, -1, -1):
        # (1)  deltas[i] = (deltas[i+1] @ W[i+1]) * f_i'(S_in[i])  (times the mask, with dropout)
        back = deltas[i + 1] @ np.asarray(weights[i + 1])
        if masks is not None and masks[i] is not None:
            back = back * masks[i]
        deltas[i] = activation_backward(activations[i], back, S_in[i], S_out[i])

    dW: list[np.ndarray] = []
    dB: list[np.ndarray] = []
    for i in range(L):
        # (2); for i = 0 on a sparse X, dense × sparse (input_gradient)
        dW.append(input_gradient(deltas[i], X) if i == 0 else deltas[i].T @ _layer_input(S_out, masks, i))
        dB.append(deltas[i].sum(axis=0))  # (3)

    return Trace(S_in=S_in, S_out=S_out, deltas=deltas, dW=dW, dB=dB, loss=cost)


# ---------------------------------------------------------------------------
# Optimizers and the training loop
# ---------------------------------------------------------------------------
#
# The optimizers below update lists of NumPy arrays *in place*: ``params``,
# ``grads`` and every state list are sequences of arrays of matching shapes
# (any grouping works, since every update is element-wise; the training loop
# below uses ``[W[0], B[0], W[1], B[1], ...]``, the order of swiftprop's flat
# parameter buffer).  Arithmetic is done in the dtype of the arrays.

__all__ += ["sgd_step", "adam_step", "rmsprop_step", "clip_grad_norm", "train_epoch"]


def _as_array_list(arrays, what: str) -> list[np.ndarray]:
    """A list of ndarrays (a single ndarray counts as a list of one)."""
    if isinstance(arrays, np.ndarray):
        arrays = [arrays]
    out = list(arrays)
    for a in out:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{what} must be ndarrays (updated in place), got {type(a).__name__}")
    return out


def _check_same_shapes(*groups: tuple[str, list[np.ndarray]]) -> None:
    name0, first = groups[0]
    for name, group in groups[1:]:
        if len(group) != len(first) or any(a.shape != b.shape for a, b in zip(first, group)):
            raise ValueError(f"{name} do not have the shapes of {name0}")


def sgd_step(
    params: Sequence[np.ndarray] | np.ndarray,
    grads: Sequence[np.ndarray] | np.ndarray,
    velocity: Sequence[np.ndarray] | np.ndarray,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> None:
    r"""One step of stochastic gradient descent, in place.

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        Parameters ``p``, updated in place.
    grads : ndarray or sequence of ndarray
        Gradients ``g = d cost / d p``, same shapes as `params` (read only).
    velocity : ndarray or sequence of ndarray
        Momentum buffers ``v``, same shapes, updated in place (start at 0).
        Untouched when ``momentum == 0``.
    lr : float
        Learning rate.
    momentum : float, optional
        Momentum ``μ`` (default 0).
    nesterov : bool, optional
        Nesterov momentum (default False).
    weight_decay : float, optional
        Coupled L2 decay ``λ`` (default 0), added to the gradient.

    Notes
    -----
    With ``g' = g + λ p``::

        μ = 0:       p ← p − lr · g'
        otherwise:   v ← μ v + g'
                     p ← p − lr · v                  (classical)
                     p ← p − lr · (g' + μ v)         (Nesterov, with the new v)

    as PyTorch's ``torch.optim.SGD`` (and swiftprop's ``optim.SGD``).
    """
    P = _as_array_list(params, "params")
    G = _as_array_list(grads, "grads")
    V = _as_array_list(velocity, "velocity")
    _check_same_shapes(("params", P), ("grads", G), ("velocity", V))
    for p, g, v in zip(P, G, V):
        d = g + weight_decay * p  # g'
        if momentum == 0:
            p -= lr * d
            continue
        v *= momentum
        v += d  # v ← μ v + g'
        if nesterov:
            p -= lr * (d + momentum * v)
        else:
            p -= lr * v


def adam_step(
    params: Sequence[np.ndarray] | np.ndarray,
    grads: Sequence[np.ndarray] | np.ndarray,
    m: Sequence[np.ndarray] | np.ndarray,
    v: Sequence[np.ndarray] | np.ndarray,
    t: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> None:
    r"""One step of Adam (or AdamW with ``decoupled=True``), in place.

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        Parameters ``p``, updated in place.
    grads : ndarray or sequence of ndarray
        Gradients ``g``, same shapes as `params` (read only).
    m, v : ndarray or sequence of ndarray
        First and second moment estimates, same shapes, updated in place
        (start at 0).
    t : int
        Number of this step, counting from 1 (used by the bias correction).
    lr : float
        Learning rate.
    beta1, beta2 : float, optional
        Decay rates of the moments (default 0.9, 0.999).
    eps : float, optional
        Added to ``sqrt(v)`` in the denominator (default 1e-8).
    weight_decay : float, optional
        ``λ`` (default 0).  Adam: coupled, added to the gradient.  AdamW:
        decoupled, the parameters are scaled by ``1 − lr·λ`` instead.
    decoupled : bool, optional
        AdamW if True (default False).

    Notes
    -----
    With ``d = g + λ p`` (Adam) or ``d = g`` (AdamW)::

        m ← β1 m + (1 − β1) d
        v ← β2 v + (1 − β2) d²
        s = lr · sqrt(1 − β2^t) / (1 − β1^t)
        p ← c · p − s · m / (sqrt(v) + eps)

    with ``c = 1`` (Adam) or ``c = 1 − lr·λ`` (AdamW).  This is the form of
    scikit-learn's ``solver='adam'`` (the bias correction folded into the
    step size, ``eps`` outside it).
    """
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
        raise ValueError(f"t must be the step number, an int >= 1, got {t!r}")
    P = _as_array_list(params, "params")
    G = _as_array_list(grads, "grads")
    M = _as_array_list(m, "m")
    V = _as_array_list(v, "v")
    _check_same_shapes(("params", P), ("grads", G), ("m", M), ("v", V))
    step_size = lr * math.sqrt(1.0 - beta2 ** int(t)) / (1.0 - beta1 ** int(t))
    coupled = 0.0 if decoupled else weight_decay
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    for p, g, mj, vj in zip(P, G, M, V):
        d = g + coupled * p
        mj *= beta1
        mj += (1.0 - beta1) * d
        vj *= beta2
        vj += (1.0 - beta2) * d * d
        update = step_size * mj / (np.sqrt(vj) + eps)
        if decoupled:
            p *= decay
        p -= update


def rmsprop_step(
    params: Sequence[np.ndarray] | np.ndarray,
    grads: Sequence[np.ndarray] | np.ndarray,
    square_avg: Sequence[np.ndarray] | np.ndarray,
    momentum_buffer: Sequence[np.ndarray] | np.ndarray,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> None:
    r"""One step of RMSprop, in place (PyTorch's ``torch.optim.RMSprop``, not centered).

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        Parameters ``p``, updated in place.
    grads : ndarray or sequence of ndarray
        Gradients ``g``, same shapes as `params` (read only).
    square_avg, momentum_buffer : ndarray or sequence of ndarray
        Running mean of ``g²`` and momentum buffer, same shapes, updated in place (start at 0).
    lr : float
        Learning rate.
    alpha : float, optional
        Smoothing constant (default 0.99).
    eps : float, optional
        Added to ``sqrt(s)`` (default 1e-8).
    momentum : float, optional
        ``μ`` (default 0).
    weight_decay : float, optional
        Coupled ``λ`` (default 0), added to the gradient.

    Notes
    -----
    With ``d = g + λ p``::

        s ← α s + (1 − α) d²
        μ = 0:      p ← p − lr · d / (sqrt(s) + eps)
        otherwise:  b ← μ b + d / (sqrt(s) + eps);   p ← p − lr · b
    """
    P = _as_array_list(params, "params")
    G = _as_array_list(grads, "grads")
    S = _as_array_list(square_avg, "square_avg")
    B = _as_array_list(momentum_buffer, "momentum_buffer")
    _check_same_shapes(("params", P), ("grads", G), ("square_avg", S), ("momentum_buffer", B))
    for p, g, s, b in zip(P, G, S, B):
        d = g + weight_decay * p
        s *= alpha
        s += (1.0 - alpha) * d * d
        u = d / (np.sqrt(s) + eps)
        if momentum == 0:
            p -= lr * u
            continue
        b *= momentum
        b += u
        p -= lr * b


def clip_grad_norm(grads: Sequence[np.ndarray] | np.ndarray, max_norm: float) -> tuple[list[np.ndarray], float]:
    r"""Gradients scaled to a global L2 norm of at most `max_norm` (PyTorch's ``clip_grad_norm_``).

    Parameters
    ----------
    grads : ndarray or sequence of ndarray
        The gradients of every parameter (read only).
    max_norm : float
        The largest norm.

    Returns
    -------
    clipped : list of ndarray
        ``g · min(1, max_norm / (‖g‖ + 1e-6))``, ‖g‖ the L2 norm over every array together.
    norm : float
        ‖g‖ before clipping.
    """
    G = _as_array_list(grads, "grads")
    norm = math.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in G))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return [g * g.dtype.type(scale) for g in G], norm


def _weighted_last_layer(loss: str, activation: str, S_in_last: np.ndarray, S_out_last: np.ndarray,
                         Y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted cost ``Σ_b w_b c_b / Σ_b w_b`` and the last delta with row ``b`` scaled by ``w_b / Σ w``.

    Rows of weight 0 do not enter the cost (so an infinite cost there does not make it NaN).
    """
    batch = S_in_last.shape[0]
    norm = float(np.sum(w, dtype=np.float64))
    per_sample = np.array([loss_forward(loss, S_in_last[b:b + 1], S_out_last[b:b + 1], Y[b:b + 1])
                           for b in range(batch)])
    with np.errstate(all="ignore"):  # a batch of weight 0 has the undefined cost 0/0
        cost = float(np.sum(np.where(w != 0, w * per_sample, 0.0)) / norm)
        # loss_backward divides by the batch size; rescale row b to w_b / Σ w.
        scale = (w.astype(np.float64) * batch / norm).astype(S_out_last.dtype)
        delta = loss_backward(loss, activation, S_in_last, S_out_last, Y) * scale[:, None]
    return cost, delta


def train_epoch(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    loss: str,
    X: np.ndarray,
    Y: np.ndarray,
    order: np.ndarray | None,
    batch_size: int,
    step_fn,
    alpha: float = 0.0,
    sample_weight: np.ndarray | None = None,
) -> float:
    r"""One epoch of mini-batch training, updating `weights` and `biases` in place.

    Parameters
    ----------
    weights, biases : sequence of ndarray
        ``W[i]`` and ``B[i]`` as for :func:`forward`; updated in place by
        `step_fn`.
    activations : sequence of str
        One activation name per layer.
    loss : str
        One of :data:`LOSSES`.
    X : ndarray or scipy.sparse matrix, shape (n, sizes[0])
        All training samples, one per row (sparse: read as CSR, mini-batches
        gathered as CSR rows).
    Y : ndarray
        All targets, as for :func:`loss_forward` (``n`` rows or labels).
    order : ndarray of int, shape (n,), or None
        The order in which the samples are visited (a permutation of
        ``range(n)``); None for ``0, 1, ..., n-1``.
    batch_size : int
        Rows per mini-batch; the last batch holds the remaining
        ``n − (number of full batches)·batch_size`` rows.
    step_fn : callable
        ``step_fn(params, grads)`` with ``params = [W[0], B[0], W[1], B[1],
        ...]`` and ``grads`` the matching gradients; it must update `params`
        in place (e.g. a closure over :func:`sgd_step` or :func:`adam_step`).
    alpha : float, optional
        L2 penalty (default 0), as scikit-learn's: each batch of ``rows``
        samples adds ``½·alpha·Σ_i ‖W[i]‖² / rows`` (or / Σ w of the batch with sample weights) to its cost and
        ``alpha·W[i] / rows`` to ``dW[i]`` (weights only, not biases).
    sample_weight : ndarray, shape (n,), optional
        Per-sample weights; a batch's cost is ``Σ w·c / Σ w`` over its
        samples (and its gradient likewise) instead of the mean.

    Returns
    -------
    float
        ``Σ_batches (batch cost incl. the L2 term) · rows / n``, the epoch
        loss as ``History.loss`` reports it.

    Raises
    ------
    FloatingPointError
        When a batch's cost (incl. L2) or one of its gradients is NaN or
        infinite, with ``args == (message, batch index)``.  That batch takes
        no step; the parameters are those after the previous batch.

    Notes
    -----
    Batch ``b`` holds the samples ``order[b·batch_size : (b+1)·batch_size]``.
    For each batch: cost and gradients (:func:`backward`, or the weighted
    form), then the L2 term, then ``step_fn``. A batch whose sample weights
    sum to 0 is skipped.
    """
    X = _as_input(X)  # a sparse X: its rows are gathered as CSR, never densified
    Y = np.asarray(Y)
    n = X.shape[0]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    idx_all = np.arange(n) if order is None else np.asarray(order)
    if idx_all.shape != (n,):
        raise ValueError(f"order must have shape ({n},), got {idx_all.shape}")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sample_weight.shape}")
    W = list(weights)
    B = list(biases)
    L = len(W)
    loss_sum = 0.0
    n_batches = -(-n // batch_size)
    for b in range(n_batches):
        idx = idx_all[b * batch_size : (b + 1) * batch_size]
        rows = len(idx)
        xb, yb = X[idx], Y[idx]
        if sample_weight is not None and float(np.sum(sample_weight[idx])) == 0.0:
            continue  # a batch of zero total weight has no cost and takes no step
        # overflow and NaN are reported below, as FloatingPointError with the batch index
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            tr = backward(W, B, activations, loss, xb, yb,
                          sample_weight=None if sample_weight is None else sample_weight[idx])
            cost, dW, dB = tr.loss, tr.dW, tr.dB
            if alpha != 0:
                # the penalty is divided by the batch's rows, or by its weight sum with sample weights
                c = alpha / (rows if sample_weight is None else float(np.sum(sample_weight[idx])))
                cost += 0.5 * c * sum(float(np.sum(w.astype(np.float64) ** 2)) for w in W)
                dW = [g + c * w for g, w in zip(dW, W)]
        grads = [a for i in range(L) for a in (dW[i], dB[i])]
        if not math.isfinite(cost) or not all(np.isfinite(g).all() for g in grads):
            raise FloatingPointError("the loss or a gradient became NaN or infinite", b)
        step_fn([a for i in range(L) for a in (W[i], B[i])], grads)
        loss_sum += cost * rows
    return loss_sum / n


# ---------------------------------------------------------------------------
# Dropout: the masks' generator and the forward/backward pass with given masks
# ---------------------------------------------------------------------------
#
# Inverted dropout on hidden layer ``i`` while training: the next layer reads
# ``S_out[i] * mask[i]`` instead of ``S_out[i]``, where each entry of ``mask[i]``
# is 0 with probability ``p_i`` and ``1/(1 − p_i)`` otherwise, so that
# ``E[S_out[i] * mask[i]] = S_out[i]`` and inference needs no rescaling.  The
# backward pass multiplies ``d cost / d(dropped S_out[i])`` by the same mask.

__all__ += ["SplitMix64", "dropout_masks", "backward_dropout"]

_SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


class SplitMix64:
    """The SplitMix64 generator (Steele, Lea & Flood 2014), as swiftprop's core draws dropout masks.

    ``state`` is advanced by the golden-ratio increment ``0x9E3779B97F4A7C15`` before each draw and
    the draw is the mixed state::

        z = state;  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
                    return z ^ (z >> 31)                          (all mod 2**64)

    :meth:`uniform` turns a draw into a double in ``[0, 1)`` from its top 53 bits,
    ``(next >> 11) * 2**-53``.  Vectorised: ``count`` draws at once, in order.
    """

    def __init__(self, seed: int) -> None:
        self.state = int(seed) & _MASK64

    def next_uint64(self, count: int) -> np.ndarray:
        """The next ``count`` outputs, as a uint64 array."""
        k = np.arange(1, count + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):  # every product and sum is meant mod 2**64
            z = np.uint64(self.state) + k * np.uint64(_SPLITMIX_GAMMA)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        self.state = (self.state + count * _SPLITMIX_GAMMA) & _MASK64
        return z

    def uniform(self, count: int) -> np.ndarray:
        """The next ``count`` doubles in ``[0, 1)``: ``(next >> 11) * 2**-53``."""
        return (self.next_uint64(count) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def dropout_masks(
    rng: SplitMix64,
    rates: Sequence[float],
    widths: Sequence[int],
    rows: int,
    dtype: np.dtype | type = np.float64,
    rows_per_block: int | None = None,
) -> list:
    """The masks of one training pass over a batch of ``rows`` samples, drawn from ``rng``.

    Parameters
    ----------
    rng : SplitMix64
        The generator; advanced past the draws.
    rates : sequence of float
        Dropout rate ``p_i`` of each hidden layer (``len(widths)`` entries, each in [0, 1)).
    widths : sequence of int
        Width of each hidden layer (``sizes[1:-1]``).
    rows : int
        Samples in the batch.
    dtype : dtype, optional
        dtype of the masks (the network's).
    rows_per_block : int, optional
        The pass runs over blocks of this many rows (the last one shorter); the masks are drawn block
        by block, and within a block layer by layer in forward order, each as ``block_rows × width``
        uniforms in row-major order.  None: one block.

    Returns
    -------
    list
        Per hidden layer, None when ``p_i == 0`` (no draws), else a ``(rows, width)`` array with
        entries 0 where the uniform is ``< p_i`` and ``1/(1 − p_i)`` (rounded once to `dtype`)
        elsewhere.
    """
    if len(rates) != len(widths):
        raise ValueError(f"got {len(rates)} rates for {len(widths)} hidden layers")
    dt = np.dtype(dtype)
    block = rows if rows_per_block is None else int(rows_per_block)
    masks = [None if p == 0 else np.empty((rows, w), dtype=dt) for p, w in zip(rates, widths)]
    for start in range(0, rows, max(block, 1)):
        b = min(block, rows - start)
        for p, w, m in zip(rates, widths, masks):
            if m is None:
                continue
            u = rng.uniform(b * w).reshape(b, w)
            m[start:start + b] = np.where(u < p, dt.type(0), dt.type(1.0 / (1.0 - p)))
    return masks


def backward_dropout(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activations: Sequence[str],
    loss: str,
    X: np.ndarray,
    Y: np.ndarray,
    masks: Sequence,
    sample_weight: np.ndarray | None = None,
) -> Trace:
    """:func:`backward` of a training pass with dropout masks on the hidden layers' outputs.

    ``masks[i]`` (None: no dropout) multiplies ``S_out[i]`` where layer ``i+1`` reads it::

        S_in[i+1]  = (S_out[i] * masks[i]) @ W[i+1].T + B[i+1]
        deltas[i]  = ((deltas[i+1] @ W[i+1]) * masks[i]) ⊙ f_i'(S_in[i])
        dW[i+1]    = deltas[i+1].T @ (S_out[i] * masks[i])

    ``S_out`` in the returned :class:`Trace` are the activations before the masks.
    """
    return backward(weights, biases, activations, loss, X, Y, sample_weight, masks=masks)
