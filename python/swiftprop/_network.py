"""The user-facing Network: architecture, buffer views, forward/backward/cost/trace/score and reprs.

A thin layer over the C extension with friendly argument checks. Training (:meth:`Network.fit`) lives in
:mod:`swiftprop._fit`, the data-parallel epoch in :mod:`swiftprop.distributed`, saving and pickling in
:mod:`swiftprop._io`; the methods here delegate to them. The calls into ``swiftprop._core.Net`` are all in
this module: the package-internal functions at its end give the other modules what they need.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _core  # type: ignore[no-redef]  # mypy false positive in the _network <-> _fit import cycle
from ._sparse import sparse_input

if TYPE_CHECKING:
    from ._fit import History

#: Activation names, in the order of their codes in the Swift core (which names them).
ACTIVATIONS: tuple[str, ...] = tuple(_core.ACTIVATIONS)
#: Loss names, in the order of their codes in the Swift core (which names them).
LOSSES: tuple[str, ...] = tuple(_core.LOSSES)

_ALIASES = {"logistic": "sigmoid", "linear": "identity"}
_OUTPUT_FOR_LOSS = {"mse": "identity", "cross_entropy": "softmax", "binary_cross_entropy": "sigmoid",
                    "poisson": "exp"}
_HE = {"relu", "leaky_relu", "elu", "gelu"}
#: Names of the weight initialisations ``Network(init=...)`` takes (None: the default scheme).
INITS = ("he", "glorot", "lecun")


@dataclass(repr=False)
class Trace:
    """Every quantity of the derivation for one batch, per layer (index i = layer i+1 of the math).

    Attributes
    ----------
    S_in, S_out : list of ndarray
        ``S_in[i]`` (n, sizes[i+1]) and ``S_out[i] = f_i(S_in[i])``.
    deltas : list of ndarray
        ``deltas[i]`` = dcost/dS_in[i] for the batch cost (mean over samples), equation (1).
    dW, dB : list of ndarray
        dcost/dW[i] = ``deltas[i].T @ S_out[i-1]`` (2) and dcost/dB[i] = ``deltas[i].sum(0)`` (3).
    loss : float
        The mean cost over the batch.
    """

    S_in: list = field(default_factory=list)
    S_out: list = field(default_factory=list)
    deltas: list = field(default_factory=list)
    dW: list = field(default_factory=list)
    dB: list = field(default_factory=list)
    loss: float = 0.0

    def __repr__(self) -> str:
        def shapes(arrays: list) -> str:
            return "[" + ", ".join(str(tuple(getattr(a, "shape", ()))) for a in arrays) + "]"

        return (f"Trace(loss={self.loss:.6g}, layers={len(self.S_in)}, S_in={shapes(self.S_in)}, "
                f"S_out={shapes(self.S_out)}, deltas={shapes(self.deltas)}, dW={shapes(self.dW)}, "
                f"dB={shapes(self.dB)})")


# ---- conversions of the constructor's arguments ---------------------------------------------------------
# Names become codes and sequences lists here; the rules on their values (sizes >= 1, one activation per
# layer, softmax only last and matching the loss, dropout rates) are the Swift core's, which raises them
# with its own message (Sources/SwiftProp/Rules.swift).

def _check_sizes(sizes: Any) -> list[int]:
    """Layer widths as a list of Python ints (their values are checked by the core)."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}") from None
    for i, s in enumerate(sizes):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"sizes[{i}] must be an int, got {type(s).__name__}")
    return [int(s) for s in sizes]


def _check_loss(loss: Any) -> str:
    """A loss name."""
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    return loss


def _activation_name(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{where} must be an activation name (str), got {type(name).__name__}")
    name = _ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return name


def _check_activations(activations: Any, n_layers: int, loss: str) -> list[str]:
    """Activation names, aliases resolved; a single name stands for every hidden layer, followed by the
    loss's output activation."""
    if activations is None or not isinstance(activations, (str, Sequence)):
        raise TypeError(f"activations must be a name or a sequence of names, got {type(activations).__name__}")
    if isinstance(activations, str):
        hidden = _activation_name(activations, "activations")
        return [hidden] * max(0, n_layers - 1) + [_OUTPUT_FOR_LOSS[loss]]
    return [_activation_name(a, f"activations[{i}]") for i, a in enumerate(activations)]


def _check_dtype(dtype: Any) -> np.dtype:
    """float32 or float64."""
    if dtype is None:
        raise TypeError("dtype must be float32 or float64, got None")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_dropout(rates: Union[float, Sequence[float]], n_hidden: int) -> list[float]:
    """One rate for every hidden layer, or a sequence of rates (count and range: the core's rules)."""
    if isinstance(rates, (int, float, np.integer, np.floating)) and not isinstance(rates, bool):
        return [float(rates)] * n_hidden
    try:
        return [float(r) for r in rates]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"dropout must be a rate or a sequence of rates, got {rates!r}") from None


def _check_labels(Y: NDArray, name: str = "Y") -> None:
    """1-D class labels must be integers (their range is the core's rule)."""
    if not np.issubdtype(Y.dtype, np.integer):
        raise TypeError(f"{name}: 1-D targets are class labels and must be integers, got dtype {Y.dtype}; "
                        f"pass {name}.astype(np.int64) if they are whole numbers, or (n_samples, n_classes) "
                        "probability rows")


def _check_target_values(loss: str, dtype: np.dtype, Y: NDArray) -> None:
    """Targets of binary_cross_entropy in [0, 1]; of cross_entropy, rows of probabilities."""
    if not np.isfinite(Y).all():
        return  # the extension names it
    if loss == "binary_cross_entropy" and (Y.min() < 0 or Y.max() > 1):
        raise ValueError("Y: binary_cross_entropy targets must lie in [0, 1]")
    if loss == "cross_entropy":
        tol = np.sqrt(np.finfo(dtype).eps) * max(1, Y.shape[1])
        if Y.min() < 0 or np.abs(Y.sum(axis=1) - 1).max() > tol:
            raise ValueError("Y: cross_entropy target rows must be probabilities (>= 0, summing to 1); "
                             "pass integer labels as a 1-D array")


# ---- the input policy (package-internal: the fit loop converts its arguments the same way) -----------------
# One rule whatever the container (README, "Inputs"): an array is read through NumPy (ndarray as is, DLPack
# producers with numpy.from_dlpack, the array/buffer protocols and pandas with numpy.asarray: all zero-copy
# where the source allows); then a float array of the network's precision that is not C-contiguous, aligned
# and in native byte order is copied once into that layout; any other dtype is left for the extension to
# refuse (a value conversion is never made silently) and the message gets the fix. Python sequences carry no
# dtype: their numbers are converted to the network's dtype.

def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.partition(".")[0] == "pandas"


def _has_array_protocol(obj: Any) -> bool:
    if hasattr(obj, "__array__") or hasattr(obj, "__array_interface__") or hasattr(obj, "__array_struct__"):
        return True
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _read_array(X: Any, name: str) -> Optional[NDArray]:
    """X as an ndarray without converting its values (zero-copy where the source allows), or None for a
    Python sequence (it has no dtype)."""
    if isinstance(X, np.ndarray):
        return X
    if _is_pandas(X):
        dtypes = getattr(X, "dtypes", None) if hasattr(X, "columns") else None  # a DataFrame's, per column
        if dtypes is not None and len(set(dtypes)) > 1:
            kinds = ", ".join(sorted({str(d) for d in dtypes}))
            raise TypeError(f"{name} has columns of several dtypes ({kinds}); convert them to one float "
                            f"dtype first, e.g. {name}.astype(np.float64)")
        return np.asarray(X)
    if hasattr(X, "__dlpack__"):
        try:
            return np.from_dlpack(X)
        except (TypeError, ValueError, RuntimeError, BufferError) as e:
            raise TypeError(f"{name} ({type(X).__name__}) cannot be read through DLPack: {e} (pass a CPU "
                            f"tensor of the network's dtype, detached from autograd: {name}.detach().cpu())") from None
    if _has_array_protocol(X):
        try:
            return np.asarray(X)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be an array of numbers: {e}") from None
    return None


def _fit_layout(A: NDArray, dtype: np.dtype, name: str) -> NDArray:
    """A float array of ``dtype``'s precision in C order, aligned and native (copied once if it is not);
    arrays of any other dtype unchanged (the extension refuses them)."""
    if A.dtype.kind != "f" or A.dtype.itemsize != dtype.itemsize:
        return A
    if A.dtype == dtype and A.flags.c_contiguous and A.flags.aligned:
        return A
    if A.size > 1 and 0 in A.strides and any(s > 1 for s, st in zip(A.shape, A.strides) if st == 0):
        # a broadcast view: copying would allocate what it claims, not what it holds
        raise ValueError(f"{name} is a broadcast view (a stride of 0): materialise it with "
                         f"np.ascontiguousarray({name}) if you mean to")
    return np.require(A, dtype, ["C_CONTIGUOUS", "ALIGNED"])


def as_input(net: "Network", X: ArrayLike, name: str = "X") -> NDArray:
    """X by the input policy: zero-copy when dtype and layout fit, one copy for a re-layout, sequences
    converted; other dtypes left for the extension to refuse (see the README's table). A scipy.sparse CSR
    matrix becomes the extension's CSR input (swiftprop._sparse)."""
    if type(X) is np.ndarray and X.dtype == net.dtype and X.flags.c_contiguous and X.flags.aligned:
        return X  # the usual case, read in place: nothing to decide (a per-call cost of small forwards)
    if (csr := sparse_input(X, net.dtype, name)) is not None:
        return csr  # type: ignore[return-value]  # a CSRInput: has .shape and .ndim, the extension reads it
    A = _read_array(X, name)
    if A is None:
        try:
            return np.asarray(X, dtype=net.dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be a 2-D array of numbers: {e}") from None
    return _fit_layout(A, net.dtype, name)


def _is_text(A: NDArray) -> bool:
    if A.dtype.kind in "US":
        return True
    return A.dtype.kind == "O" and A.size > 0 and isinstance(A.flat[0], (str, bytes))


_LABELS_HINT = ("class labels must be integers 0 .. n_classes-1: encode them with "
                "sklearn.preprocessing.LabelEncoder, or use swiftprop.sklearn.MLPClassifier, which takes "
                "labels of any type")


def as_target(net: "Network", Y: ArrayLike, n: int, name: str = "Y") -> NDArray:
    """Y by the input policy: int64 labels (cross_entropy, any integer dtype and layout: converted, they are
    small) or (n, n_outputs) rows as X."""
    labels = net.loss == "cross_entropy"
    A = _read_array(Y, name)
    if A is None:  # a sequence: labels stay integers, other numbers take the network's dtype
        try:
            A = np.asarray(Y)
        except ValueError as e:
            raise TypeError(f"{name} must be an array of numbers: {e}") from None
        if not (labels and A.ndim == 1 and A.dtype.kind in "iu") and not _is_text(A):
            try:
                A = np.asarray(Y, dtype=net.dtype)
            except (TypeError, ValueError, OverflowError) as e:
                raise TypeError(f"{name} must be an array of numbers: {e}") from None
    if _is_text(A):
        raise TypeError(f"{name} holds text ({A.dtype}); {_LABELS_HINT}")
    Y = A
    n_out = net.sizes[-1]
    if Y.ndim == 1 and not labels and n_out != 1:
        raise ValueError(f"{name} must have shape (n_samples, {n_out}) for loss={net.loss!r}, got {Y.shape}")
    if Y.ndim == 1 and labels:
        _check_labels(Y, name)
        return np.require(Y, np.int64, ["C_CONTIGUOUS", "ALIGNED"])
    if Y.ndim == 1 and n_out == 1:
        Y = Y.reshape(-1, 1)  # a view: one output per sample
    Y = _fit_layout(Y, net.dtype, name)
    if Y.ndim == 2 and Y.dtype == net.dtype and Y.shape == (n, n_out):  # the layout the extension accepts
        _check_target_values(net.loss, net.dtype, Y)
    return Y


def _hint(net: "Network", message: str, arrays: dict[str, Any]) -> Optional[str]:
    """The fix for an extension's message about one of ``arrays`` (by name), or None."""
    for name, A in arrays.items():
        if not isinstance(A, np.ndarray) or not message.startswith(name + " "):
            continue
        rest = message[len(name) + 1:]
        if rest.startswith("must be 2-D") and A.ndim == 1:
            if name.startswith("X"):
                return (f"reshape it: {name}.reshape(1, -1) for a single sample, {name}.reshape(-1, 1) for a "
                        "single feature")
            return f"reshape it: {name}.reshape(-1, 1) for a single output"
        if rest.startswith("must have dtype"):
            if (name.startswith("Y") and net.loss == "cross_entropy" and A.ndim == 2 and A.shape[1] == 1
                    and A.dtype.kind in "iub"):
                return f"class labels must be 1-D: pass {name}.ravel()"
            want = net.dtype.name
            fix = f"convert it with {name}.astype(np.{want}) (a copy)"
            if A.dtype.kind == "f" and A.dtype in (np.float32, np.float64):
                fix += f", or build the network with Network(..., dtype=np.{A.dtype.name})"
            return fix
    return None


class _Hints:
    """Context manager: a TypeError/ValueError of the extension about one of the named arrays gets its fix
    appended (the message and its rule stay the extension's)."""

    def __init__(self, net: "Network", arrays: dict[str, Any]) -> None:
        self.net, self.arrays = net, arrays

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: Any, tb: Any) -> None:
        if kind in (TypeError, ValueError):
            _raise_with_hint(self.net, err, self.arrays)


def _raise_with_hint(net: "Network", err: Exception, arrays: dict[str, Any]) -> None:
    """Raise ``err`` again with the fix appended, if there is one for it (else return: the caller re-raises)."""
    hint = _hint(net, str(err), arrays)
    if hint is not None:
        raise type(err)(f"{err}; {hint}") from None


def input_hints(net: "Network", **arrays: Any) -> _Hints:
    """Package-internal: ``with input_hints(net, X=X, Y=Y): ...`` appends the fix to the extension's
    message about a dtype or a 1-D array (see :func:`as_input`)."""
    return _Hints(net, arrays)


def as_sample_weight(net: "Network", sample_weight: Optional[ArrayLike], n: int) -> Optional[NDArray]:
    """Per-sample weights as the extension takes them (converted to the network's dtype: they are small)."""
    if sample_weight is None:
        return None
    try:
        w = np.ascontiguousarray(sample_weight, dtype=net.dtype)
    except (TypeError, ValueError):
        raise TypeError("sample_weight must be a 1-D array of numbers") from None
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    return w  # finite (the extension's scan), >= 0 with a positive sum (the core's rule)


def _rows(X: NDArray) -> int:
    return X.shape[0] if X.ndim == 2 else 0


class Network:
    """An n-layer feedforward network trained by backpropagation, computed in Swift.

    Layer i (0-based) has weights ``W[i]`` of shape (sizes[i+1], sizes[i]) and biases ``B[i]`` of
    shape (sizes[i+1],). Samples are rows: ``S_in[i] = S_out[i-1] @ W[i].T + B[i]``,
    ``S_out[i] = f_i(S_in[i])``, ``S_out[-1] = X``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_inputs, n_hidden..., n_outputs]``, each >= 1, at least two entries.
    activations : str or sequence of str, default "relu"
        One name per layer, or one name for every hidden layer, in which case the output layer gets
        the activation that goes with ``loss`` (identity for mse, softmax for cross_entropy,
        sigmoid for binary_cross_entropy, exp for poisson). Names: identity, sigmoid (alias logistic),
        tanh, relu, leaky_relu (slope 0.01), elu, softplus, gelu (tanh form), softmax (last layer
        only), exp.
    loss : {"mse", "cross_entropy", "binary_cross_entropy", "poisson"}, default "mse"
        The per-sample cost, averaged over the batch: ½‖ŷ−y‖², −Σ y log ŷ (softmax output),
        −Σ[y log ŷ + (1−y) log(1−ŷ)] (sigmoid output, multi-label), or Σ[y log(y/ŷ) − y + ŷ] (exp
        output, targets >= 0: half the Poisson deviance, scikit-learn's ``MLPRegressor(loss="poisson")``).
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Precision of parameters, data and arithmetic.
    seed : int, numpy.random.Generator or None
        Seed of the initialisation: Glorot-uniform weights (He-uniform before relu-like activations),
        zero biases.
    dropout : float or sequence of float, default 0
        Dropout rate of each hidden layer's output (one rate for all, or one per hidden layer), in
        [0, 1). Applied only while training with :meth:`fit` (inverted dropout: kept units are scaled
        by 1/(1 − rate), so :meth:`forward`, :meth:`backward` and :meth:`cost` need no rescaling and
        stay deterministic).
    init : {"he", "glorot", "lecun"}, callable or None, default None
        Weight initialisation (biases are zero). None: Glorot-uniform, He-uniform before relu-like
        activations, scikit-learn's bound before a sigmoid (see :meth:`init_params`). "he":
        U(±sqrt(6 / fan_in)); "glorot": U(±sqrt(6 / (fan_in + fan_out))); "lecun": U(±sqrt(3 / fan_in)),
        for every layer. A callable is called as ``init(shape, rng)`` for each W (shape (fan_out,
        fan_in), ``rng`` a numpy.random.Generator) and returns its values.

    Attributes
    ----------
    params, grads : ndarray
        The whole parameter / gradient buffer, 1-D, zero-copy views of the Swift buffers.
    weights, biases : tuple of ndarray
        Per-layer views into ``params``; writing into them changes the network.
    weight_grads, bias_grads : tuple of ndarray
        dcost/dW[i] and dcost/dB[i] from the last :meth:`backward`, views into ``grads``.

    Notes
    -----
    Inputs of :meth:`forward`, :meth:`backward`, :meth:`cost`, :meth:`trace`, :meth:`score` and
    :meth:`fit` follow one policy whatever the container (NumPy array, DLPack tensor, buffer, pandas):
    the network's dtype in C order is read in place (zero-copy), in another layout it is copied once,
    any other dtype raises TypeError naming the fix (``X.astype(...)`` or ``dtype=``). Plain sequences
    (lists, tuples) are converted.

    X may also be a ``scipy.sparse`` CSR matrix or array (``csr_matrix``, ``csr_array``) in every
    method that takes X, :meth:`fit` included: the first layer then computes ``X @ W[0].T`` and
    ``dW[0] = δᵀ X`` from the stored entries only, and X is never made dense (mini-batches are gathered
    as CSR rows). ``data`` is read in place when it has the network's dtype and ``indices``/``indptr``
    when both are int32 or both int64; otherwise each is converted once (values to the network's
    dtype, indices to int64). Other sparse formats raise TypeError (convert with ``X.tocsr()``). The
    Swift core checks the CSR structure (indptr of length rows + 1, starting at 0, non-decreasing,
    ending at nnz; indices in [0, sizes[0])) before computing anything: ValueError otherwise. Calls on one network
    from several threads are serialised; the GIL is released during the computation.

    Examples
    --------
    >>> import numpy as np, swiftprop as sp
    >>> net = sp.Network([4, 16, 3], activations=["tanh", "softmax"], loss="cross_entropy", seed=0)
    >>> X = np.random.default_rng(0).normal(size=(8, 4))
    >>> net.forward(X).shape
    (8, 3)
    >>> loss = net.backward(X, np.array([0, 1, 2, 0, 1, 2, 0, 1]))
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activations: Union[str, Sequence[str]] = "relu",
        loss: str = "mse",
        *,
        dtype: DTypeLike = np.float64,
        seed: Union[int, np.random.Generator, None] = None,
        dropout: Union[float, Sequence[float]] = 0.0,
        init: Union[str, Callable[..., Any], None] = None,
    ) -> None:
        if not (init is None or callable(init) or init in INITS):
            if isinstance(init, str):
                raise ValueError(f"init must be one of {', '.join(INITS)}, a callable or None, got {init!r}")
            raise TypeError(f"init must be a name, a callable or None, got {type(init).__name__}")
        self._build(sizes, activations, loss, dtype, dropout)
        self._init: Union[str, Callable[..., Any], None] = init
        self.init_params(seed)

    def _build(self, sizes: Any, activations: Any, loss: Any, dtype: Any, dropout: Any) -> None:
        """The architecture and its buffers, parameters not initialised (loading fills them)."""
        sizes = _check_sizes(sizes)
        loss = _check_loss(loss)
        acts = _check_activations(activations, len(sizes) - 1, loss)
        dt = _check_dtype(dtype)

        self._sizes = tuple(sizes)
        self._activations = tuple(acts)
        self._loss = loss
        self._net = _core.Net(list(sizes), [_core.ACTIVATIONS[a] for a in acts], _core.LOSSES[loss], dt)
        self._make_views()
        self._init = None
        self.dropout = dropout  # the setter takes a float or a sequence
        #: The optimizer the last :meth:`fit` used (saved and pickled with the network); None before.
        self.optimizer: Any = None

    def _split(self, buf: NDArray) -> tuple[tuple, tuple]:
        """Per-layer (W, B) views of a buffer in the parameter layout."""
        off = self._offsets
        shapes = [(self._sizes[i + 1], self._sizes[i]) for i in range(self.n_layers)]
        ws = tuple(buf[off[2 * i]: off[2 * i] + r * c].reshape(r, c) for i, (r, c) in enumerate(shapes))
        bs = tuple(buf[off[2 * i + 1]: off[2 * i + 1] + r] for i, (r, _) in enumerate(shapes))
        return ws, bs

    def _make_views(self) -> None:
        self._offsets = self._net.offsets
        self._params = self._net.params
        self._grads = self._net.grads
        self._weights, self._biases = self._split(self._params)
        self._weight_grads, self._bias_grads = self._split(self._grads)

    # ---- architecture -------------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths, inputs first."""
        return self._sizes

    @property
    def activations(self) -> tuple[str, ...]:
        """Activation name of each layer."""
        return self._activations

    @property
    def loss(self) -> str:
        """Name of the loss."""
        return self._loss

    @property
    def dtype(self) -> np.dtype:
        """Precision of parameters and data."""
        return self._net.dtype

    @property
    def dropout(self) -> tuple[float, ...]:
        """Dropout rate of each hidden layer's output during :meth:`fit`."""
        return self._dropout

    @dropout.setter
    def dropout(self, rates: Union[float, Sequence[float]]) -> None:
        values = _check_dropout(rates, self.n_layers - 1)
        self._net.set_dropout(values)
        self._dropout = tuple(values)

    @property
    def n_layers(self) -> int:
        """Number of layers (weight matrices)."""
        return len(self._sizes) - 1

    @property
    def n_params(self) -> int:
        """Number of parameters (weights and biases)."""
        return int(self._params.size)

    # ---- buffers ------------------------------------------------------------------------------

    @property
    def params(self) -> NDArray:
        """All parameters, layer by layer (W[0], B[0], W[1], ...), a zero-copy 1-D view."""
        return self._params

    @property
    def grads(self) -> NDArray:
        """All gradients, same layout as :attr:`params`, a zero-copy 1-D view."""
        return self._grads

    @property
    def weights(self) -> tuple[NDArray, ...]:
        """``W[i]`` of shape (sizes[i+1], sizes[i]), zero-copy views into :attr:`params`."""
        return self._weights

    @property
    def biases(self) -> tuple[NDArray, ...]:
        """``B[i]`` of shape (sizes[i+1],), zero-copy views into :attr:`params`."""
        return self._biases

    @property
    def weight_grads(self) -> tuple[NDArray, ...]:
        """dcost/dW[i] from the last backward pass, views into :attr:`grads`."""
        return self._weight_grads

    @property
    def bias_grads(self) -> tuple[NDArray, ...]:
        """dcost/dB[i] from the last backward pass, views into :attr:`grads`."""
        return self._bias_grads

    def init_params(self, seed: Union[int, np.random.Generator, None] = None) -> None:
        """(Re)initialise the parameters in place, by the constructor's ``init``.

        By default weights are drawn uniformly in ±sqrt(6 / (fan_in + fan_out)) (Glorot; ±sqrt(2 /
        (fan_in + fan_out)) before a sigmoid, as scikit-learn), or ±sqrt(6 / fan_in) before relu,
        leaky_relu, elu and gelu (He); biases are zero.

        Parameters
        ----------
        seed : int, numpy.random.Generator or None
            Source of randomness; the same seed gives the same parameters.

        Examples
        --------
        >>> import swiftprop as sp
        >>> net = sp.Network([4, 8, 1], init="lecun", seed=0)
        >>> bool(abs(net.weights[0]).max() <= (3 / 4) ** 0.5)
        True
        >>> net.init_params(seed=1)  # new draws, same scheme
        """
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        init = self._init
        for i, (W, B, f) in enumerate(zip(self._weights, self._biases, self._activations)):
            fan_out, fan_in = W.shape
            if callable(init):
                values = np.asarray(init(W.shape, rng))
                if values.shape != W.shape:
                    raise ValueError(f"init returned shape {values.shape} for W[{i}], expected {W.shape}")
                if not np.isfinite(values).all():
                    raise ValueError(f"init returned NaN or infinity for W[{i}]")
                W[...] = values
                B[...] = 0
                continue
            if init == "he" or (init is None and f in _HE):
                bound = np.sqrt(6.0 / fan_in)
            elif init == "lecun":
                bound = np.sqrt(3.0 / fan_in)
            else:
                bound = np.sqrt((2.0 if f == "sigmoid" and init is None else 6.0) / (fan_in + fan_out))
            W[...] = rng.uniform(-bound, bound, size=W.shape)
            B[...] = 0

    # ---- computation --------------------------------------------------------------------------

    def forward(self, X: ArrayLike, out: NDArray | None = None) -> NDArray:
        """Compute the network's output ``S_out[-1]`` for the rows of X.

        Parameters
        ----------
        X : ndarray or scipy.sparse CSR matrix of shape (n_samples, sizes[0])
            Of the network's dtype, finite; read in place when C-contiguous (see the Notes above; a CSR
            matrix: its stored entries only).
        out : ndarray of shape (n_samples, sizes[-1]), optional
            Where to write the result (C-contiguous, writeable, network dtype).

        Returns
        -------
        ndarray of shape (n_samples, sizes[-1])
            ``out`` when given.

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([4, 8, 2], seed=0)
        >>> net.forward(np.zeros((5, 4))).shape
        (5, 2)
        >>> net.forward(np.zeros(4))  # one sample must be a row
        Traceback (most recent call last):
        ...
        ValueError: X must be 2-D, got a 1-D array; reshape it: X.reshape(1, -1) for a single sample, X.reshape(-1, 1) for a single feature
        """
        if type(X) is np.ndarray:  # the usual case first: the extension reads it in place if it can
            try:
                return self._net.forward(X, out)
            except (TypeError, ValueError):
                pass  # another layout or dtype: the input policy decides (copy once, or refuse with the fix)
        X = as_input(self, X)
        try:  # (not `with input_hints`: a context manager costs a tiny forward a third of its time)
            return self._net.forward(X, out)
        except (TypeError, ValueError) as e:  # not out: it is written in place, a converted copy would not help
            _raise_with_hint(self, e, {"X": X})
            raise

    def backward(self, X: ArrayLike, Y: ArrayLike, sample_weight: Optional[ArrayLike] = None, *,
                 accumulate: bool = False) -> float:
        """Forward and backward pass: fill :attr:`grads` with the gradient of the mean cost.

        Parameters
        ----------
        X : ndarray or scipy.sparse CSR matrix of shape (n_samples, sizes[0])
            Of the network's dtype, finite; read in place when C-contiguous (see the Notes above; a CSR
            matrix: its stored entries only).
        Y : ndarray
            Targets: (n_samples, sizes[-1]) of the network's dtype; for cross_entropy also integer
            class labels of shape (n_samples,); for a single output also shape (n_samples,).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights with a positive sum: the cost becomes Σ w·cost / Σ w.
        accumulate : bool, default False
            Add this batch's gradient to :attr:`grads` instead of overwriting it (gradient
            accumulation: each call adds the gradient of its own batch's mean cost; divide, or scale
            the learning rate, to average over k calls).

        Returns
        -------
        float
            The mean cost over the batch.

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([3, 5, 1], seed=0)
        >>> X, y = np.random.default_rng(0).normal(size=(8, 3)), np.zeros((8, 1))
        >>> whole = net.backward(X, y)
        >>> g = net.grads.copy()
        >>> a = net.backward(X[:4], y[:4])
        >>> b = net.backward(X[4:], y[4:], accumulate=True)  # grads = sum of both halves' gradients
        >>> bool(np.allclose(net.grads / 2, g))
        True
        """
        if not isinstance(accumulate, (bool, np.bool_)):
            raise TypeError(f"accumulate must be a bool, got {type(accumulate).__name__}")
        X = as_input(self, X)
        n = _rows(X)
        Y = as_target(self, Y, n)
        with input_hints(self, X=X, Y=Y):
            return self._net.backward(X, Y, sample_weight=as_sample_weight(self, sample_weight, n),
                                      accumulate=bool(accumulate))

    def cost(self, X: ArrayLike, Y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> float:
        """Mean cost over the batch, without touching the gradients.

        Parameters
        ----------
        X, Y, sample_weight
            As for :meth:`backward`.

        Returns
        -------
        float
            Σ w·cost / Σ w over the samples (the mean without weights).

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([2, 3], activations=["softmax"], loss="cross_entropy", seed=0)
        >>> net.params[:] = 0  # uniform predictions: the cost is log(3)
        >>> round(net.cost(np.ones((4, 2)), np.array([0, 1, 2, 0])), 6) == round(float(np.log(3)), 6)
        True
        """
        X = as_input(self, X)
        n = _rows(X)
        Y = as_target(self, Y, n)
        with input_hints(self, X=X, Y=Y):
            return self._net.cost(X, Y, sample_weight=as_sample_weight(self, sample_weight, n))

    def trace(self, X: ArrayLike, Y: ArrayLike, sample_weight: Optional[ArrayLike] = None) -> Trace:
        """Run :meth:`backward` and return every quantity of the derivation, layer by layer.

        Parameters
        ----------
        X, Y, sample_weight : ndarray
            As for :meth:`backward`.

        Returns
        -------
        Trace
            ``S_in``, ``S_out``, ``deltas``, ``dW``, ``dB`` (lists of copies, one per layer) and ``loss``.

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([4, 16, 3], activations="tanh", loss="cross_entropy", seed=0)
        >>> net.trace(np.zeros((8, 4)), np.zeros(8, dtype=int))
        Trace(loss=1.09861, layers=2, S_in=[(8, 16), (8, 3)], S_out=[(8, 16), (8, 3)], deltas=[(8, 16), (8, 3)], dW=[(16, 4), (3, 16)], dB=[(16,), (3,)])
        """
        X = as_input(self, X)
        n = _rows(X)
        Y = as_target(self, Y, n)
        with input_hints(self, X=X, Y=Y):
            loss, s_in, s_out, deltas, grads = self._net.trace(X, Y, sample_weight=as_sample_weight(self, sample_weight, n))
        dW, dB = self._split(grads)
        return Trace(S_in=s_in, S_out=s_out, deltas=deltas, dW=list(dW), dB=list(dB), loss=loss)

    def score(self, X: ArrayLike, Y: ArrayLike) -> float:
        """Accuracy (cross_entropy: argmax vs label; binary_cross_entropy: ŷ > 0.5 per output) or,
        for mse and poisson, the coefficient of determination R² averaged over outputs (as scikit-learn).

        Parameters
        ----------
        X, Y : ndarray
            As for :meth:`backward`.

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> net = sp.Network([1, 1], activations=["identity"], seed=0)
        >>> net.weights[0][:] = 2.0
        >>> X = np.arange(5.0).reshape(-1, 1)
        >>> net.score(X, 2 * X)  # a perfect fit: R² = 1
        1.0
        """
        X = as_input(self, X)
        out = self.forward(X)
        Y = as_target(self, Y, _rows(X))
        with input_hints(self, X=X, Y=Y):
            check_data(self, X, Y)
        if self._loss == "cross_entropy":
            truth = Y if Y.ndim == 1 else Y.argmax(axis=1)
            return float((out.argmax(axis=1) == truth).mean())
        if self._loss == "binary_cross_entropy":
            return float(((out > 0.5) == (Y > 0.5)).mean())
        resid = ((Y - out) ** 2).sum(axis=0)
        total = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(total > 0, 1 - resid / np.where(total > 0, total, 1), np.where(resid > 0, 0.0, 1.0))
        return float(r2.mean())

    def fit(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer: Any = None,
        *,
        shuffle: bool = True,
        seed: Union[int, np.random.Generator, None] = None,
        validation_data: Optional[tuple] = None,
        callbacks: Iterable[Callable[..., Any]] = (),
        sample_weight: Optional[ArrayLike] = None,
        alpha: float = 0.0,
        verbose: bool = False,
        progress: bool = False,
        comm: Any = None,
        check_finite: bool = True,
    ) -> History:
        """Train with mini-batch gradient steps; whole epochs run in Swift with the GIL released.

        Parameters
        ----------
        X : ndarray or scipy.sparse CSR matrix of shape (n_samples, sizes[0])
            Read in place (zero-copy) when C-contiguous with the network dtype (another layout is
            copied once). Shuffled mini-batches are gathered into a reused buffer (a CSR X: as CSR rows,
            never made dense; not with ``comm``).
        Y : ndarray
            Targets, as for :meth:`backward`.
        epochs : int, default 1
        batch_size : int, default 32
            Clipped to n_samples.
        optimizer : swiftprop.optim.Optimizer, optional
            Bound to this network; its state carries over between calls. Default: :attr:`optimizer`,
            the one the previous ``fit`` used, or a new ``Adam(lr=0.001)`` on the first call.
        shuffle : bool, default True
            Visit the samples in a new random order each epoch.
        seed : int or numpy.random.Generator, optional
            Seed of the shuffling; same seed, data and thread count give bit-identical parameters.
        validation_data : (X_val, Y_val), optional
            Evaluated after each epoch into ``History.val_loss`` / ``val_score``.
        callbacks : iterable of callables
            Each called as ``callback(net, epoch, history)`` after every epoch, ``epoch`` counting from 1;
            returning True stops. A callback's ``on_train_end(net, history)``, if it has one, is called
            when training ends without an exception. See :mod:`swiftprop.callbacks`
            (:class:`~swiftprop.callbacks.EarlyStopping`, :class:`~swiftprop.callbacks.ModelCheckpoint`)
            and the schedules of :mod:`swiftprop.optim` (``StepLR``, ``CosineAnnealingLR``, ...), which
            step once per epoch.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; a batch's cost is Σ w·cost / Σ w over its samples.
        alpha : float, default 0
            L2 penalty as scikit-learn's: ½·alpha·Σ‖W‖² / batch rows added to each batch's cost
            (weights only, not biases). Its gradient ``alpha·W / batch rows`` is added inside the
            optimizer's step, so after `fit` on one process :attr:`grads` holds the last batch's
            gradient of the cost without the penalty term (with ``comm``, each rank adds the penalty term to
            its gradient before the reduction, and :attr:`grads` includes it).
        verbose : bool, default False
            Print one line per epoch.
        progress : bool, default False
            Show a progress bar over the epochs with the loss and validation score (tqdm: a widget in
            Jupyter when ipywidgets is installed, else a text bar, without a warning). Without tqdm
            installed, one line per epoch.
        comm : mpi4py.MPI.Comm, optional
            Data-parallel training: each rank passes its own shard of the data and the same
            arguments; ``batch_size`` is per rank (the global batch is ``batch_size × comm.size``).
            Parameters and optimizer state are broadcast from rank 0 first; after every mini-batch
            backward the flat gradient buffer is averaged in place with ``Allreduce`` (the buffer the
            Swift core wrote is the one MPI reads) and every rank takes the same step. Every rank must
            have the same number of mini-batches per epoch. A hash of the parameters is compared across
            ranks at the end (``RuntimeError`` if they differ). ``sample_weight`` is not supported here.
        check_finite : bool, default True
            Scan X and Y for NaN/Inf before training (skip it only for data already checked).

        Returns
        -------
        History

        Raises
        ------
        FloatingPointError
            When the loss, a gradient or an update becomes NaN or infinite; the parameters and the
            optimizer state are those of the last finite step, and :attr:`grads` holds the failing
            batch's gradient (to see where it blew up). KeyboardInterrupt stops training within a
            fraction of a second, after a completed step, and propagates.
        TypeError, ValueError
            For invalid arguments, before anything changes.

        Examples
        --------
        >>> import numpy as np, swiftprop as sp
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 2)); y = (X[:, 0] > 0).astype(int)
        >>> net = sp.Network([2, 8, 2], loss="cross_entropy", seed=0)
        >>> opt = sp.optim.Adam(net, lr=0.05)
        >>> h = net.fit(X, y, epochs=20, optimizer=opt, seed=0,
        ...             callbacks=[sp.optim.CosineAnnealingLR(opt, T_max=20)])
        >>> h.epochs, h.loss[-1] < h.loss[0], net.score(X, y) > 0.9
        (20, True, True)
        """
        from ._fit import fit

        return fit(self, X, Y, epochs, batch_size, optimizer, shuffle=shuffle, seed=seed,
                   validation_data=validation_data, callbacks=callbacks, sample_weight=sample_weight,
                   alpha=alpha, verbose=verbose, progress=progress, comm=comm, check_finite=check_finite)

    def summary(self) -> str:
        """A text table of the architecture: per layer the shapes of W and B, the parameter count, the
        activation and the dropout after it; the total; the loss and dtype.

        Returns
        -------
        str

        Examples
        --------
        >>> import swiftprop as sp
        >>> print(sp.Network([4, 16, 3], activations="tanh", loss="cross_entropy").summary())
        layer  W (out, in)  B      params  activation  dropout
        -----  -----------  -----  ------  ----------  -------
        1      (16, 4)      (16,)      80  tanh        0
        2      (3, 16)      (3,)       51  softmax     -
        -----  -----------  -----  ------  ----------  -------
        total                         131
        loss cross_entropy, dtype float64, 2.05 KiB for parameters and gradients
        """
        head = ("layer", "W (out, in)", "B", "params", "activation", "dropout")
        rows = []
        for i, (W, f) in enumerate(zip(self._weights, self._activations)):
            drop = f"{self._dropout[i]:g}" if i < len(self._dropout) else "-"
            rows.append((str(i + 1), f"({W.shape[0]}, {W.shape[1]})", f"({W.shape[0]},)",
                         f"{W.size + W.shape[0]:,}", f, drop))
        total = ("total", "", "", f"{self.n_params:,}", "", "")
        widths = [max(len(r[k]) for r in [head, total, *rows]) for k in range(len(head))]

        def line(cells: Sequence[str]) -> str:
            out = [c.rjust(w) if k == 3 else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(out).rstrip()

        rule = "  ".join("-" * w for w in widths)
        nbytes = 2 * self._params.nbytes
        size = f"{nbytes / 2**10:.2f} KiB" if nbytes < 2**20 else f"{nbytes / 2**20:.2f} MiB"
        return "\n".join([line(head), rule, *(line(r) for r in rows), rule, line(total),
                          f"loss {self._loss}, dtype {self.dtype.name}, {size} for parameters and gradients"])

    def param_hash(self) -> str:
        """A short hash of the parameters (e.g. to confirm MPI ranks hold identical networks).

        Returns
        -------
        str
            32 hexadecimal digits (BLAKE2b of the parameter bytes).

        Examples
        --------
        >>> import swiftprop as sp
        >>> sp.Network([2, 3], seed=0).param_hash() == sp.Network([2, 3], seed=0).param_hash()
        True
        """
        import hashlib

        return hashlib.blake2b(self._params.tobytes(), digest_size=16).hexdigest()

    # ---- Python protocol ----------------------------------------------------------------------

    def __repr__(self) -> str:
        layers = ", ".join(f"{a}" for a in self._activations)
        drop = f", dropout={list(self._dropout)}" if any(self._dropout) else ""
        return (f"Network(sizes={list(self._sizes)}, activations=[{layers}], loss={self._loss!r}, "
                f"dtype={self.dtype.name}{drop}, n_params={self.n_params})")

    def _repr_html_(self) -> str:
        rows = []
        for i, (W, f) in enumerate(zip(self._weights, self._activations)):
            rows.append(f"<tr><td>{i + 1}</td><td>{W.shape[0]} × {W.shape[1]}</td><td>{f}</td>"
                        f"<td>{W.size + W.shape[0]:,}</td></tr>")
        nbytes = 2 * self._params.nbytes
        return ("<div><b>swiftprop.Network</b> "
                f"(loss <code>{self._loss}</code>, dtype <code>{self.dtype.name}</code>)"
                "<table><thead><tr><th>layer</th><th>W shape (out × in)</th><th>activation</th>"
                "<th>parameters</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
                f"{self.n_params:,} parameters; {nbytes / 2**20:.2f} MiB for parameters and gradients</div>")

    # ---- persistence (in swiftprop._io) -------------------------------------------------------

    def save(self, path: Union[str, os.PathLike, IO[bytes]]) -> None:
        """Save architecture, dtype, parameters and :attr:`optimizer` state to a NumPy ``.npz`` file.

        To a path, the file is written to a temporary name beside ``path`` and renamed over it, so an
        interrupted save never destroys a previous file; a binary file object is written directly.

        Parameters
        ----------
        path : str, path-like or binary file object
            Destination; the ``.npz`` suffix is not added. Its folder must exist.

        Raises
        ------
        FileNotFoundError
            If the folder of ``path`` does not exist (the message names it).

        Examples
        --------
        >>> import io, swiftprop as sp
        >>> net = sp.Network([3, 4, 2], seed=0)
        >>> buf = io.BytesIO()
        >>> net.save(buf)
        >>> _ = buf.seek(0)
        >>> sp.Network.load(buf).param_hash() == net.param_hash()
        True
        """
        from . import _io

        _io.save(self, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike, IO[bytes]]) -> "Network":
        """Load a network written by :meth:`save` (bit-exact parameters and optimizer state).

        Parameters
        ----------
        path : str, path-like or binary file object
            The file; a file object is read from its current position (a non-seekable stream is
            buffered in memory first).

        Returns
        -------
        Network
            With :attr:`optimizer` restored when one was saved.

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            If the file is truncated, corrupt, or not a swiftprop network file.

        Examples
        --------
        >>> import os, tempfile, swiftprop as sp
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> sp.Network([3, 4, 2], loss="cross_entropy", seed=0).save(path)
        >>> sp.Network.load(path)
        Network(sizes=[3, 4, 2], activations=[relu, softmax], loss='cross_entropy', dtype=float64, n_params=26)
        """
        from . import _io

        return _io.load(cls, path)

    # ---- export (in swiftprop.export) ------------------------------------------------------------

    def to_onnx(self, path: Union[str, os.PathLike, None] = None) -> Any:
        """The network as an ONNX model (needs ``pip install "swiftprop[onnx]"``).

        Input ``X`` of shape (batch, sizes[0]), output ``Y`` of shape (batch, sizes[-1]), in the
        network's dtype, with a dynamic batch dimension; one ``Gemm`` per layer and its activation
        (gelu in its tanh form). Opset :data:`swiftprop.export.ONNX_OPSET`.

        Parameters
        ----------
        path : str or path-like, optional
            Where to write the model as well.

        Returns
        -------
        onnx.ModelProto
        """
        from . import export

        return export.to_onnx(self, path)

    def to_torch(self) -> Any:
        """The network as ``torch.nn.Sequential`` of ``Linear`` and activation modules, same weights
        and dtype (needs ``pip install "swiftprop[torch]"``).

        Returns
        -------
        torch.nn.Sequential
        """
        from . import export

        return export.to_torch(self)

    @classmethod
    def from_torch(cls, module: Any, loss: Optional[str] = None) -> "Network":
        """A network with the layers and weights of a ``torch.nn.Sequential``.

        Parameters
        ----------
        module : torch.nn.Sequential
            ``Linear`` layers (float32 or float64), each followed by at most one activation module:
            Identity, Sigmoid, Tanh, ReLU, LeakyReLU(0.01), ELU(1), Softplus(1), GELU(approximate="tanh"),
            Softmax(dim=-1).
        loss : str, optional
            The loss; by default the one that goes with the output activation (softmax:
            cross_entropy, sigmoid: binary_cross_entropy, otherwise mse).

        Returns
        -------
        Network

        Raises
        ------
        ValueError
            Naming the first module that is not supported, or shapes that do not chain; checked before
            anything is allocated.
        """
        from . import export

        return export.from_torch(module, loss)

    def __getstate__(self) -> dict:
        from . import _io

        return _io.get_state(self)

    def __setstate__(self, state: dict) -> None:
        from . import _io

        _io.set_state(self, state)


# ---- package-internal access (for swiftprop's own modules; not public API) ---------------------------------

def core_handle(net: Network) -> Any:
    """Package-internal: the extension handle (``swiftprop._core.Net``) of ``net``.

    :mod:`swiftprop.optim` binds its optimizers to it; other modules call the functions below instead.
    """
    return net._net


def build_uninitialised(net: Network, sizes: Any, activations: Any, loss: Any, dtype: Any, dropout: Any) -> None:
    """Package-internal: (re)build ``net``'s architecture and buffers without drawing initial parameters
    (loading overwrites them: no random initialisation on the way to stored values)."""
    net._build(sizes, activations, loss, dtype, dropout)


def check_data(net: Network, X: NDArray, Y: NDArray, x_name: str = "X", y_name: str = "Y", *,
               check_finite: bool = True, sample_weight: Optional[NDArray] = None) -> None:
    """Package-internal: the extension's and the core's checks of a data set (shapes, dtypes, layout,
    finiteness, labels, sample weights), without computing anything; ``x_name`` and ``y_name`` name X and
    Y in the messages."""
    net._net.check(X, Y, x_name, y_name, check_finite=check_finite, sample_weight=sample_weight)


def train_epoch(net: Network, optimizer_handle: Any, X: NDArray, Y: NDArray, sample_weight: Optional[NDArray],
                order: Optional[NDArray], batch_size: int, alpha: float, masks: Optional[int]) -> tuple:
    """Package-internal: one epoch of mini-batch steps in the extension (GIL released).

    Returns the extension's ``(loss_sum, steps, penalty_sum)``; raises FloatingPointError with the batch
    index as its second argument when training diverges.
    """
    return net._net.train(optimizer_handle, X, Y, sample_weight, order, batch_size, alpha, False, masks)


def backward_unchecked(net: Network, X: NDArray, Y: NDArray) -> float:
    """Package-internal: :meth:`Network.backward` on data already checked (no NaN/Inf scan)."""
    return net._net.backward(X, Y, check_finite=False)


def add_l2(net: Network, alpha: float, norm: float) -> float:
    """Package-internal: add ``alpha·W / norm`` to the weight gradients (not the biases); returns the
    penalty ``½·alpha·Σ‖W‖² / norm``."""
    return net._net.add_l2(alpha, norm)


if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        # History moved to swiftprop._fit; pickles that name swiftprop._network.History still load
        if name == "History":
            from ._fit import History

            return History
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
