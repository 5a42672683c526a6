"""scikit-learn estimators backed by a swiftprop :class:`~swiftprop.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` take the parameters of scikit-learn's classes of the
same names (same names, defaults and meaning) and add a few of their own (``dtype``, ``class_weight``,
``dropout`` and one activation per hidden layer). Forward and backward passes, and whole training epochs, run in
the Swift core; the training logic around each epoch (loss curve, tolerance, learning-rate schedules,
early stopping, convergence warnings) is Python, following scikit-learn's documented behaviour.

Importing this module needs scikit-learn (and SciPy, one of its dependencies, for ``solver='lbfgs'``).
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

try:
    import sklearn  # noqa: F401
except ImportError as _err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "swiftprop.MLPClassifier and swiftprop.MLPRegressor need scikit-learn, which is not "
        "installed; install it with `pip install scikit-learn`"
    ) from _err

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._network import Network
from .optim import SGD, Adam

__all__ = ["MLPClassifier", "MLPRegressor", "InvalidParameterError"]

#: Hidden-layer activations accepted by the estimators (scikit-learn's four, then ours).
HIDDEN_ACTIVATIONS: tuple[str, ...] = (
    "identity", "logistic", "tanh", "relu", "sigmoid", "leaky_relu", "elu", "softplus", "gelu",
)
_SOLVERS = ("sgd", "adam", "lbfgs")
_STOCHASTIC = ("sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")
_MIN_ADAPTIVE_LR = 1e-6  # the adaptive schedule stops once the learning rate is this small


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value (raised by ``fit``, as scikit-learn does).

    It derives from both ValueError and TypeError, like scikit-learn's exception of the same name,
    so code catching either keeps working.
    """


# ---------------------------------------------------------------------------------------------
# Parameter checks
# ---------------------------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_))


class _Checker:
    """Collects scikit-learn-style messages: "The 'alpha' parameter of MLPClassifier must be ..."."""

    def __init__(self, est: BaseEstimator) -> None:
        self.owner = type(est).__name__

    def fail(self, name: str, must: str, got: Any) -> None:
        raise InvalidParameterError(
            f"The {name!r} parameter of {self.owner} must be {must}. Got {got!r} instead.")

    def real(self, name: str, v: Any, low: float, high: float = np.inf, *, low_open: bool = False,
             high_open: bool = False) -> float:
        if not _is_real(v) or not np.isfinite(v):
            self.fail(name, self._range("a float", low, high, low_open, high_open), v)
        bad = (v <= low if low_open else v < low) or (v >= high if high_open else v > high)
        if bad:
            self.fail(name, self._range("a float", low, high, low_open, high_open), v)
        return float(v)

    def integer(self, name: str, v: Any, low: int) -> int:
        if not _is_int(v) or v < low:
            self.fail(name, f"an int in the range [{low}, inf)", v)
        return int(v)

    def boolean(self, name: str, v: Any) -> bool:
        if not _is_bool(v):
            self.fail(name, "an instance of 'bool'", v)
        return bool(v)

    def option(self, name: str, v: Any, options: Sequence[str]) -> str:
        if not isinstance(v, str) or v not in options:
            self.fail(name, "a str among {" + ", ".join(repr(o) for o in options) + "}", v)
        return v

    @staticmethod
    def _range(kind: str, low: float, high: float, low_open: bool, high_open: bool) -> str:
        left = "(" if low_open else "["
        right = ")" if high_open or high == np.inf else "]"
        return f"{kind} in the range {left}{low}, {high}{right}"


# ---------------------------------------------------------------------------------------------
# Shared base
# ---------------------------------------------------------------------------------------------

class _BaseMLP(BaseEstimator):
    """Logic shared by :class:`MLPClassifier` and :class:`MLPRegressor` (not for direct use)."""

    _is_classifier = False

    # fitted state, declared for type checkers (set by fit)
    _network: Network
    _optimizer: Optional[Union[SGD, Adam]]
    _best_params: NDArray
    _no_improvement_count: int
    _schedule: str
    _lr_init: float
    _power_t: float
    coefs_: list[NDArray]
    intercepts_: list[NDArray]
    loss_: float
    loss_curve_: list[float]
    best_loss_: Optional[float]
    validation_scores_: Optional[list[float]]
    best_validation_score_: Optional[float]
    n_iter_: int
    t_: int
    n_layers_: int
    n_outputs_: int
    out_activation_: str

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: Union[str, Sequence[str]] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dtype: DTypeLike = np.float64,
        dropout: Union[float, Sequence[float]] = 0.0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.dropout = dropout

    # ---- parameters ---------------------------------------------------------------------------

    def _check_params(self) -> dict[str, Any]:
        """Validate the constructor parameters; return the normalised ones the fit needs."""
        c = _Checker(self)
        hls: Any = self.hidden_layer_sizes
        hidden: list[int] = []
        if _is_int(hls):
            hidden = [int(hls)]
        else:
            try:
                hidden = list(hls)
            except TypeError:
                c.fail("hidden_layer_sizes", "an int or an array-like of ints", hls)
            if not all(_is_int(h) for h in hidden):
                c.fail("hidden_layer_sizes", "an int or an array-like of ints", hls)
            hidden = [int(h) for h in hidden]
        if any(h <= 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")

        act = self.activation
        if isinstance(act, str):
            c.option("activation", act, HIDDEN_ACTIVATIONS)
            acts = [act] * len(hidden)
        elif isinstance(act, (list, tuple)):
            acts = list(act)
            if len(acts) != len(hidden):
                raise InvalidParameterError(
                    f"activation has {len(acts)} entries but there are {len(hidden)} hidden layers "
                    f"(hidden_layer_sizes={self.hidden_layer_sizes!r}); give one activation per hidden "
                    "layer, or a single name for all of them")
            for i, a in enumerate(acts):
                c.option(f"activation[{i}]", a, HIDDEN_ACTIVATIONS)
        else:
            c.fail("activation", "a str among {" + ", ".join(map(repr, HIDDEN_ACTIVATIONS))
                   + "} or a list/tuple with one such name per hidden layer", act)

        p: dict[str, Any] = {"hidden": hidden, "activations": acts}
        p["solver"] = c.option("solver", self.solver, _SOLVERS)
        c.real("alpha", self.alpha, 0.0)
        if isinstance(self.batch_size, str):
            if self.batch_size != "auto":
                c.fail("batch_size", "an int in the range [1, inf) or 'auto'", self.batch_size)
        elif not _is_int(self.batch_size) or self.batch_size < 1:
            c.fail("batch_size", "an int in the range [1, inf) or 'auto'", self.batch_size)
        c.option("learning_rate", self.learning_rate, _SCHEDULES)
        c.real("learning_rate_init", self.learning_rate_init, 0.0, low_open=True)
        c.real("power_t", self.power_t, 0.0)
        c.integer("max_iter", self.max_iter, 1)
        c.boolean("shuffle", self.shuffle)
        rs = self.random_state
        if not (rs is None or _is_int(rs) or isinstance(rs, np.random.RandomState)):
            c.fail("random_state", "an int, a numpy.random.RandomState instance or None", rs)
        c.real("tol", self.tol, 0.0)
        if not (_is_bool(self.verbose) or _is_int(self.verbose)):
            c.fail("verbose", "a bool or an int", self.verbose)
        c.boolean("warm_start", self.warm_start)
        # swiftprop.optim.SGD needs momentum < 1 (scikit-learn also accepts 1, a non-decaying velocity)
        c.real("momentum", self.momentum, 0.0, 1.0, high_open=True)
        c.boolean("nesterovs_momentum", self.nesterovs_momentum)
        c.boolean("early_stopping", self.early_stopping)
        c.real("validation_fraction", self.validation_fraction, 0.0, 1.0, high_open=True)
        c.real("beta_1", self.beta_1, 0.0, 1.0, high_open=True)
        c.real("beta_2", self.beta_2, 0.0, 1.0, high_open=True)
        c.real("epsilon", self.epsilon, 0.0, low_open=True)
        c.integer("n_iter_no_change", self.n_iter_no_change, 1)
        c.integer("max_fun", self.max_fun, 1)
        try:
            dt = np.dtype(self.dtype) if self.dtype is not None else None
        except TypeError:
            dt = None
        if dt is None or dt not in (np.float32, np.float64):
            c.fail("dtype", "numpy.float32 or numpy.float64", self.dtype)
        p["dtype"] = dt
        n_hidden = len(p["hidden"])
        if _is_bool(self.dropout):
            c.fail("dropout", "a rate in [0, 1) or one rate per hidden layer", self.dropout)
        if isinstance(self.dropout, (int, float, np.integer, np.floating)):
            rates = [c.real("dropout", self.dropout, 0.0, 1.0, high_open=True)] * n_hidden
        else:
            try:
                rates = [float(r) for r in self.dropout]
            except (TypeError, ValueError):
                rates = []
            if len(rates) != n_hidden or not all(0.0 <= r < 1.0 for r in rates):
                c.fail("dropout", f"a rate in [0, 1) or {n_hidden} rates in [0, 1) (one per hidden layer)",
                       self.dropout)
        if any(rates) and self.solver == "lbfgs":
            c.fail("dropout", "0 with solver='lbfgs' (dropout needs a stochastic solver)", self.dropout)
        p["dropout"] = rates
        return p

    # ---- architecture and initialisation --------------------------------------------------------

    def _output(self) -> tuple[str, str]:
        """(output activation in swiftprop's names, loss) for the fitted target kind."""
        raise NotImplementedError

    def _build_network(self, n_features: int, n_outputs: int, p: dict[str, Any],
                       rs: np.random.RandomState) -> None:
        out_act, loss = self._output()
        sizes = [n_features, *p["hidden"], n_outputs]
        net = Network(sizes, [*p["activations"], out_act], loss, dtype=p["dtype"], seed=0, dropout=p["dropout"])
        # scikit-learn's initialisation: for each layer, weights then biases, uniform in ±sqrt(f /
        # (fan_in + fan_out)), f = 2 for a logistic activation and 6 otherwise, from one RandomState.
        # scikit-learn decides f by its single hidden activation for every layer, the output layer
        # included; with one activation per hidden layer, layer i uses hidden layer i's activation and
        # the output layer the last hidden layer's, which is the same rule when all are equal.
        hidden_acts = p["activations"]
        for i, (W, B) in enumerate(zip(net.weights, net.biases)):
            fan_out, fan_in = W.shape
            if hidden_acts:
                a = hidden_acts[min(i, len(hidden_acts) - 1)]
            else:
                a = self.activation if isinstance(self.activation, str) else "relu"
            factor = 2.0 if a in ("logistic", "sigmoid") else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            W[...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
            B[...] = rs.uniform(-bound, bound, fan_out)
        self._network = net
        self._optimizer = None
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(sizes)
        self.out_activation_ = {"sigmoid": "logistic"}.get(out_act, out_act)
        self.n_iter_ = 0
        self.t_ = 0
        self._bind_views()

    def _bind_views(self) -> None:
        """coefs_ / intercepts_ as zero-copy views of the network's parameter buffer."""
        net = self._network
        self.coefs_ = [W.T for W in net.weights]  # (fan_in, fan_out), as scikit-learn's
        self.intercepts_ = list(net.biases)

    def _architecture_matches(self, p: dict[str, Any], n_outputs: int) -> None:
        """For warm_start / partial_fit: the parameters must still describe the fitted network."""
        net = self._network
        want_acts = tuple("sigmoid" if a == "logistic" else a for a in p["activations"])
        if list(net.sizes[1:-1]) != p["hidden"] or tuple(net.activations[:-1]) != want_acts:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} / activation={self.activation!r} differ "
                f"from the fitted network ({list(net.sizes)}, {list(net.activations)}); warm_start and "
                "partial_fit continue training that network, so set warm_start=False to start anew")
        if net.dtype != p["dtype"]:
            raise ValueError(f"dtype={np.dtype(p['dtype']).name} differs from the fitted network's "
                             f"{net.dtype.name}; set warm_start=False to start anew")
        if net.sizes[-1] != n_outputs:
            raise ValueError(f"y has {n_outputs} output(s) but the fitted network has {net.sizes[-1]}; "
                             "set warm_start=False to start anew")
        net.dropout = p["dropout"]  # a training-time setting: it may change between calls

    # ---- data -----------------------------------------------------------------------------------

    def _validate_X(self, X: ArrayLike) -> NDArray:
        """X for prediction: a C-contiguous array of the network's dtype (no copy when it is one)."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self._network.dtype, order="C",
                             accept_sparse=False)

    @staticmethod
    def _check_sample_weight(sample_weight: Any, n: int) -> Optional[NDArray]:
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight)
        if sw.ndim == 0:
            sw = np.full(n, sw)
        try:
            sw = sw.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"sample_weight must be numbers, got dtype {sw.dtype}") from None
        if sw.shape != (n,):
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected {(n,)}!")
        if not np.isfinite(sw).all():
            raise ValueError("sample_weight must be finite")
        if (sw < 0).any():
            raise ValueError("sample_weight must be non-negative")
        if sw.sum() <= 0:
            raise ValueError("sample_weight is all zero: at least one sample needs a positive weight")
        return sw

    def _prepare(self, X: ArrayLike, y: ArrayLike, sample_weight: Any, first_pass: bool,
                 incremental: bool, dtype: np.dtype, classes: Any = None
                 ) -> tuple[NDArray, NDArray, Optional[NDArray], Optional[NDArray]]:
        """Validate X and y; return X, Y in the network's target format, weights, stratify labels."""
        raise NotImplementedError

    # ---- fitting --------------------------------------------------------------------------------

    def _fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Any = None, incremental: bool = False,
             classes: Any = None, comm: Any = None) -> "_BaseMLP":
        p = self._check_params()
        first_pass = not hasattr(self, "_network") or (not self.warm_start and not incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        dtype = p["dtype"] if first_pass else self._network.dtype
        X, Y, sw, strat = self._prepare(X, y, sample_weight, first_pass, incremental, dtype, classes)
        n_outputs = len(self.classes_) if Y.ndim == 1 else Y.shape[1]  # 1-D: multiclass int labels
        rs = check_random_state(self.random_state)  # re-created on every call, as scikit-learn does
        if first_pass:
            for stale in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                          "_no_improvement_count", "loss_"):
                self.__dict__.pop(stale, None)
            self._build_network(X.shape[1], n_outputs, p, rs)
            self._best_params = self._network.params.copy()
            if p["solver"] in _STOCHASTIC:
                self.loss_curve_ = []
                self._no_improvement_count = 0
                if self.early_stopping:
                    self.validation_scores_ = []
                    self.best_validation_score_ = -np.inf
                    self.best_loss_ = None
                else:
                    self.best_loss_ = np.inf
                    self.validation_scores_ = None
                    self.best_validation_score_ = None
        else:
            self._architecture_matches(p, n_outputs)
            if p["solver"] in _STOCHASTIC and not hasattr(self, "loss_curve_"):
                # continuing, with a stochastic solver, a model fitted by lbfgs
                self.loss_curve_ = []
                self._no_improvement_count = 0
                self.best_loss_ = None if self.early_stopping else np.inf
                self.validation_scores_ = [] if self.early_stopping else None
                self.best_validation_score_ = -np.inf if self.early_stopping else None
            if self.early_stopping and getattr(self, "validation_scores_", None) is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            if not self.early_stopping and getattr(self, "best_loss_", np.inf) is None:
                self.best_loss_ = np.inf  # warm start without early stopping after a fit with it

        if p["solver"] == "lbfgs":
            self._fit_lbfgs(X, Y, sw)
        else:
            self._fit_stochastic(X, Y, sw, strat, incremental, p, rs, comm=comm)
        return self

    def _check_comm(self, comm: Any) -> None:
        """What fit(comm=...) cannot do; the same answer on every rank (it reads parameters only)."""
        if comm is None:
            return
        if self.solver not in _STOCHASTIC:
            raise ValueError(f"comm (data-parallel training over MPI) needs solver='sgd' or 'adam', got "
                             f"solver={self.solver!r}: L-BFGS takes full-batch steps that are not averaged "
                             "across ranks")
        if self.early_stopping:
            raise ValueError("comm does not support early_stopping=True: each rank would score its own "
                             "validation split and stop at a different epoch")

    def _new_optimizer(self) -> None:
        """A fresh optimizer for the solver, as scikit-learn makes one per fit (partial_fit keeps it)."""
        net = self._network
        if self.solver == "sgd":
            mom = float(self.momentum)
            self._optimizer = SGD(net, float(self.learning_rate_init), momentum=mom,
                                  nesterov=bool(self.nesterovs_momentum) and mom > 0)
        else:
            self._optimizer = Adam(net, float(self.learning_rate_init),
                                   betas=(float(self.beta_1), float(self.beta_2)), eps=float(self.epsilon))
        self._schedule = self.learning_rate if self.solver == "sgd" else "constant"
        self._lr_init = float(self.learning_rate_init)
        self._power_t = float(self.power_t)

    def _validation_score(self, X: NDArray, Y: NDArray, sw: Optional[NDArray]) -> float:
        raise NotImplementedError

    def _report_loss(self, loss: float, penalty_per_sample: float) -> float:
        """The loss in scikit-learn's definition (see MLPRegressor); classifiers: unchanged."""
        return loss

    def _fit_stochastic(self, X: NDArray, Y: NDArray, sw: Optional[NDArray], strat: Optional[NDArray],
                        incremental: bool, p: dict[str, Any], rs: np.random.RandomState,
                        comm: Any = None) -> None:
        net = self._network
        if not incremental or self._optimizer is None:
            self._new_optimizer()
        opt = self._optimizer
        assert opt is not None

        if self.early_stopping:
            X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val = self._split(X, Y, sw, strat, rs)
        else:
            X_tr, Y_tr, sw_tr = X, Y, sw
            X_val = Y_val = sw_val = None
        if sw_tr is not None and not sw_tr.all():
            # Zero-weight samples contribute nothing but would take places in mini-batches (and make
            # a batch of only such samples 0/0): train on the others (a copy of those rows).
            keep = sw_tr > 0
            X_tr, Y_tr, sw_tr = X_tr[keep], Y_tr[keep], sw_tr[keep]
        n = X_tr.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to "
                              "be clipped", UserWarning)
            batch_size = int(np.clip(self.batch_size, 1, n))
        alpha = float(self.alpha)  # the core divides a batch's penalty by its rows, or its weight sum
        # the shuffling stream: one Generator seeded from the estimator's RandomState
        shuffle_rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max)) if self.shuffle else None
        # t_ counts the samples seen by all ranks (it drives the 'invscaling' learning rate, which must
        # be the same on every rank)
        n_seen = n if comm is None else int(comm.allreduce(n))

        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                try:
                    # X, Y were validated (finite) once by fit
                    hist = net.fit(X_tr, Y_tr, epochs=1, batch_size=batch_size, optimizer=opt,
                                   shuffle=bool(self.shuffle), seed=shuffle_rng, sample_weight=sw_tr,
                                   alpha=alpha, check_finite=False, comm=comm)
                except FloatingPointError as e:
                    raise ValueError(
                        "Solver produced non-finite parameter weights. The input data may contain large "
                        f"values and need to be preprocessed. ({e})") from e
                loss = self._report_loss(hist.loss[0], hist.penalty[0])
                self.n_iter_ += 1
                self.t_ += n_seen
                self.loss_ = loss
                self.loss_curve_.append(loss)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")

                self._update_no_improvement_count(X_val, Y_val, sw_val)
                if self._schedule == "invscaling":
                    opt.lr = self._lr_init / (self.t_ + 1) ** self._power_t

                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if self._schedule != "adaptive":
                        if self.verbose:
                            print(msg + " Stopping.")
                        break
                    if opt.lr <= _MIN_ADAPTIVE_LR:
                        if self.verbose:
                            print(msg + " Learning rate too small. Stopping.")
                        break
                    opt.lr = opt.lr / 5.0
                    if self.verbose:
                        print(msg + f" Setting learning rate to {opt.lr:f}")
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                                  "and the optimization hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", UserWarning)

        if self.early_stopping:
            net.params[...] = self._best_params  # restore the best validated parameters

    def _split(self, X: NDArray, Y: NDArray, sw: Optional[NDArray], strat: Optional[NDArray],
               rs: np.random.RandomState) -> tuple:
        """Validation split for early stopping (stratified for single-label classification)."""
        arrays = [X, Y] + ([sw] if sw is not None else [])
        try:
            parts = train_test_split(*arrays, random_state=rs, test_size=self.validation_fraction,
                                     stratify=strat)
        except ValueError:
            if strat is None:
                raise
            # too few members of some class to stratify: fall back to a plain random split
            parts = train_test_split(*arrays, random_state=rs, test_size=self.validation_fraction)
        X_tr, X_val, Y_tr, Y_val = parts[:4]
        sw_tr, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size "
                             "of your dataset.")
        if sw_tr is not None and sw_tr.sum() <= 0:
            raise ValueError("the training part of the early-stopping split has only zero sample weights")
        return X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val

    def _update_no_improvement_count(self, X_val: Optional[NDArray], Y_val: Optional[NDArray],
                                     sw_val: Optional[NDArray]) -> None:
        if self.early_stopping:
            assert X_val is not None and Y_val is not None and self.validation_scores_ is not None
            assert self.best_validation_score_ is not None
            score = self._validation_score(X_val, Y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self._network.params.copy()
        else:
            last = self.loss_curve_[-1]
            assert self.best_loss_ is not None
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last

    def _fit_lbfgs(self, X: NDArray, Y: NDArray, sw: Optional[NDArray]) -> None:
        import scipy.optimize

        net = self._network
        params, grads = net.params, net.grads
        n = X.shape[0]
        alpha = float(self.alpha)
        # scikit-learn's penalty ½·alpha·Σ‖W‖² is divided by n, or by Σw with sample weights
        norm = float(n if sw is None else sw.sum())

        def data_and_penalty(x: NDArray) -> tuple[float, float, NDArray]:
            params[...] = x
            data = net.backward(X, Y, sample_weight=sw)
            if not np.isfinite(data):
                return np.inf, 0.0, np.zeros(params.size)
            pen = net._net.add_l2(alpha, norm) if alpha else 0.0  # adds alpha·W/norm to the gradient
            return data, pen, grads.astype(np.float64)

        state: dict[str, Any] = {"x": params.astype(np.float64), "it": 0}

        def fun(x: NDArray) -> tuple[float, NDArray]:
            data, pen, g = data_and_penalty(x)
            return data + pen, g

        def callback(xk: NDArray) -> None:
            state["x"] = np.array(xk, dtype=np.float64)
            state["it"] += 1
            if self.verbose:
                data, pen, _ = data_and_penalty(xk)
                print(f"Iteration {state['it']}, loss = {self._report_loss(data + pen, pen):.8f}")

        options = {"maxiter": int(self.max_iter), "maxfun": int(self.max_fun), "gtol": float(self.tol)}
        try:
            res = scipy.optimize.minimize(fun, params.astype(np.float64), method="L-BFGS-B", jac=True,
                                          callback=callback, options=options)
            x, self.n_iter_ = res.x, int(min(res.nit, self.max_iter))
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", UserWarning)
            res = None
            x, self.n_iter_ = state["x"], int(state["it"])  # the last completed iteration
        data, pen, _ = data_and_penalty(x)  # also writes x into the parameters
        self.loss_ = self._report_loss(data + pen, pen)
        if not np.isfinite(params).all():
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain "
                             "large values and need to be preprocessed.")
        if res is not None and res.status != 0:
            msg = res.message.decode() if isinstance(res.message, bytes) else str(res.message)
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status={res.status}): {msg}. "
                f"Increase the number of iterations (max_iter={self.max_iter}) or the number of function "
                f"evaluations (max_fun={self.max_fun}), or scale the data.", ConvergenceWarning)

    def _check_stochastic(self) -> bool:
        if self.solver not in _STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _forward(self, X: ArrayLike) -> NDArray:
        X = self._validate_X(X)
        return self._network.forward(X)

    # ---- pickling -------------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        # coefs_ / intercepts_ are views of the network: rebuilt on unpickling, not stored twice
        state.pop("coefs_", None)
        state.pop("intercepts_", None)
        # the network pickles the optimizer its last fit used (Network.optimizer), state included:
        # that is ours whenever it has taken a step, so it is not stored a second time
        opt = state.pop("_optimizer", None)
        net = state.get("_network")
        state["_optimizer_in_network"] = opt is not None and getattr(net, "optimizer", None) is opt
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        in_network = state.pop("_optimizer_in_network", False)
        super().__setstate__(state)
        if "_network" in self.__dict__:
            self._bind_views()
            self._optimizer = self._network.optimizer if in_network else None

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


# ---------------------------------------------------------------------------------------------
# Docstrings shared by the two estimators
# ---------------------------------------------------------------------------------------------

_COMMON_PARAMS = """
    hidden_layer_sizes : int or array-like of int, default=(100,)
        The i-th element is the number of neurons in the i-th hidden layer. ``()`` gives no hidden
        layer (a linear / logistic model).
    activation : str or list/tuple of str, default='relu'
        Activation of the hidden layers: 'identity', 'logistic', 'tanh', 'relu' (scikit-learn's) or
        'sigmoid' (same as 'logistic'), 'leaky_relu' (slope 0.01), 'elu', 'softplus', 'gelu' (tanh
        form). A list or tuple gives one activation per hidden layer (its length must equal the
        number of hidden layers).
    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        'adam' and 'sgd' run mini-batch epochs in Swift (:class:`swiftprop.optim.Adam` /
        :class:`swiftprop.optim.SGD`); 'lbfgs' is SciPy's L-BFGS-B on the full-batch loss and gradient
        computed by the network.
    alpha : float, default=0.0001
        Strength of the L2 penalty ½·alpha·Σ‖W‖² / n_samples (weights only, not biases), with n_samples
        the size of each mini-batch for the stochastic solvers.
    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is ``min(200, n_samples)``. Larger values
        are clipped to n_samples (with a warning). Ignored by 'lbfgs'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule of the 'sgd' solver: constant ``learning_rate_init``; 'invscaling' sets it to
        ``learning_rate_init / (t + 1) ** power_t`` after every epoch, t being the number of samples
        seen; 'adaptive' keeps it constant while the training loss (or, with early stopping, the
        validation score) improves, and divides it by 5 after ``n_iter_no_change`` epochs without
        improvement by ``tol``, stopping once it is at most 1e-6.
    learning_rate_init : float, default=0.001
        Initial learning rate of 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum number of epochs of the stochastic solvers, or of iterations of 'lbfgs'.
    shuffle : bool, default=True
        Whether to visit the samples in a new random order every epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the early-stopping split and the shuffling. An int makes
        ``fit`` reproducible (for a given number of threads).
    tol : float, default=1e-4
        Improvement below which an epoch counts as "no improvement" (see ``n_iter_no_change``); for
        'lbfgs', the projected-gradient tolerance ``gtol``.
    verbose : bool, default=False
        Print the loss after every epoch / iteration.
    warm_start : bool, default=False
        Continue from the fitted network instead of initialising a new one. As in scikit-learn, each
        ``fit`` starts a new optimizer (fresh Adam moments / SGD velocity, learning rate reset to
        ``learning_rate_init``); :meth:`partial_fit` keeps it.
    momentum : float in [0, 1), default=0.9
        Momentum of the 'sgd' solver.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for 'sgd' (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for single-label
        classification) and stop when its score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the parameters of the best validation score are restored at
        the end. Stochastic solvers only.
    validation_fraction : float in (0, 1), default=0.1
        Fraction of the training data held out for early stopping.
    beta_1 : float in [0, 1), default=0.9
        Adam's decay rate of the first-moment estimates.
    beta_2 : float in [0, 1), default=0.999
        Adam's decay rate of the second-moment estimates.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Number of epochs without improvement by ``tol`` tolerated before stopping (or, with the
        'adaptive' schedule, lowering the learning rate).
    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the network: parameters, data and arithmetic. X is converted to a C-contiguous
        array of this dtype (no copy when it already is one; with float32, float32 data is used in
        place, never upcast).
    dropout : float or sequence of float, default=0.0
        Dropout rate of the hidden layers' outputs during training (one rate for all, or one per
        hidden layer), in [0, 1); inverted dropout, so prediction needs no rescaling. Needs a
        stochastic solver ('sgd' or 'adam'). Not in scikit-learn."""

_COMMON_ATTRS = """
    loss_ : float
        Training loss of the last epoch (mean over the epoch's mini-batches, L2 term included), or, for
        'lbfgs', at the solution.
    best_loss_ : float or None
        Lowest ``loss_curve_`` value; None with early stopping. Stochastic solvers only.
    loss_curve_ : list of float
        ``loss_`` of every epoch. Stochastic solvers only.
    validation_scores_ : list of float or None
        Validation score after every epoch with early stopping, else None. Stochastic solvers only.
    best_validation_score_ : float or None
        Best of ``validation_scores_``, or None without early stopping. Stochastic solvers only.
    t_ : int
        Number of training samples seen by the stochastic solver (0 for 'lbfgs').
    coefs_ : list of ndarray
        ``coefs_[i]`` (fan_in, fan_out): weights of layer i, a zero-copy (transposed) view of the
        network's parameters. Writing into it changes the model; assigning a new list does not.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` (fan_out,): biases of layer i, zero-copy views of the network's parameters.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X given to fit was a DataFrame with string column names.
    n_iter_ : int
        Number of epochs (stochastic solvers) or iterations ('lbfgs') run by the last fit.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs of the network.
    out_activation_ : str
        Output activation: 'softmax', 'logistic' or 'identity'."""


def _same_classes_on_every_rank(comm: Any, y: ArrayLike) -> None:
    """fit(comm=...): every rank's y must have the same classes (or label columns), since each rank
    builds its output layer and label encoding from its own y. Raises the same ValueError on every
    rank (a collective: every rank must call it)."""
    try:
        yy = y.toarray() if hasattr(y, "toarray") else np.asarray(y)
        if yy.ndim == 2 and yy.shape[1] != 1:
            mine: tuple = ("label columns", int(yy.shape[1]))
        else:
            mine = ("classes", tuple(unique_labels(yy.reshape(-1)).tolist()))
    except (TypeError, ValueError) as e:
        mine = ("invalid y", f"{type(e).__name__}: {e}")
    every = comm.allgather(mine)
    bad = [f"rank {r}: {msg}" for r, (kind, msg) in enumerate(every) if kind == "invalid y"]
    if bad:
        raise ValueError("invalid y on some ranks: " + "; ".join(bad))
    if len(set(every)) != 1:
        raise ValueError("with comm, every rank's y must contain the same classes (the output layer and "
                         "the label encoding are built from them); got " +
                         "; ".join(f"rank {r}: {kind} {what}" for r, (kind, what) in enumerate(every)) +
                         ". Split the data stratified, e.g. with sklearn.model_selection.StratifiedKFold.")


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier trained in swiftprop's Swift core.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: same parameters, defaults and
    fitted attributes, plus ``dtype``, ``class_weight`` and per-layer activations. Binary problems
    use one logistic output with binary cross-entropy, multiclass problems a softmax output with
    cross-entropy, multi-label problems (2-D indicator y) logistic outputs with binary
    cross-entropy.

    Parameters
    ----------""" + _COMMON_PARAMS + """
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict ``{class_label: weight}``
        (absent classes weigh 1) or 'balanced', ``n_samples / (n_classes * np.bincount(y))``.
        Single-label problems only; 'balanced' is not available in :meth:`partial_fit`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multi-label y, ``arange(n_labels)``).""" + _COMMON_ATTRS + """

    Notes
    -----
    With ``solver='sgd'`` the velocity is kept in the form ``v ← μ·v + g``, ``p ← p − lr·v``
    (:class:`swiftprop.optim.SGD`); scikit-learn keeps ``v ← μ·v − lr·g``, ``p ← p + v``. Both give the
    same steps for a constant learning rate and differ slightly while the 'invscaling' or
    'adaptive' schedules change it. Early stopping uses a stratified split for binary and
    multiclass targets (scikit-learn stratifies binary targets only). Sparse X is not accepted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from swiftprop import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _is_classifier = True

    def __init__(
        self,
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: Union[str, Sequence[str]] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dtype: DTypeLike = np.float64,
        dropout: Union[float, Sequence[float]] = 0.0,
        class_weight: Union[dict, str, None] = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, dtype=dtype, dropout=dropout)
        self.class_weight = class_weight

    # ---- targets --------------------------------------------------------------------------------

    def _output(self) -> tuple[str, str]:
        if self._target_kind == "multiclass":
            return "softmax", "cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _prepare(self, X, y, sample_weight, first_pass, incremental, dtype, classes=None):
        X, y = validate_data(self, X, y, reset=first_pass, dtype=dtype, order="C", accept_sparse=False,
                             multi_output=True)
        if hasattr(y, "toarray"):
            y = y.toarray()
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        ttype = type_of_target(y)
        if ttype not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"MLPClassifier supports binary, multiclass and multi-label (indicator) "
                             f"targets, got a {ttype!r} target")
        multilabel = ttype == "multilabel-indicator"
        if first_pass:
            if multilabel:
                cls = np.arange(y.shape[1])
                if incremental and classes is not None and len(unique_labels(classes)) != y.shape[1]:
                    raise ValueError(f"classes has {len(unique_labels(classes))} entries but y has "
                                     f"{y.shape[1]} label columns")
            elif incremental:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to partial_fit.")
                cls = unique_labels(classes)
                extra = np.setdiff1d(unique_labels(y), cls)
                if len(extra):
                    raise ValueError(f"`y` has classes not in `classes`: {extra}")
            else:
                cls = unique_labels(y)
            if not multilabel and len(cls) < 2:
                raise ValueError(f"MLPClassifier needs samples of at least 2 classes in the data, but the "
                                 f"data contains only one class: {cls[0]!r}")
            self.classes_ = cls
            self._target_kind = "multilabel" if multilabel else ("binary" if len(cls) == 2 else "multiclass")
        else:
            was_multilabel = self._target_kind == "multilabel"
            if multilabel != was_multilabel:
                now, before = ("multi-label", "single-label")[::1 if multilabel else -1]
                raise ValueError(f"y is {now} but the model was fitted on {before} targets; set "
                                 "warm_start=False to start anew")
            if incremental and classes is not None and not multilabel and \
                    not np.array_equal(unique_labels(classes), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                                 f"was: {self.classes_!r}")
            if multilabel:
                if y.shape[1] != len(self.classes_):
                    raise ValueError(f"y has {y.shape[1]} label columns, the model was fitted on "
                                     f"{len(self.classes_)}")
            else:
                seen = unique_labels(y)
                if not incremental:
                    if set(seen.tolist()) != set(self.classes_.tolist()):
                        raise ValueError("warm_start can only be used where `y` has the same classes as in "
                                         f"the previous call to fit. Previously got {self.classes_}, `y` "
                                         f"has {seen}")
                elif len(np.setdiff1d(seen, self.classes_)):
                    raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                     f"{self.classes_}. 'y' has {seen}.")

        sw = self._check_sample_weight(sample_weight, X.shape[0])
        if self.class_weight is not None:
            if multilabel:
                raise ValueError("class_weight is not supported for multi-label targets")
            if incremental and isinstance(self.class_weight, str):
                raise ValueError("class_weight 'balanced' is not supported for partial_fit; compute the "
                                 "weights with sklearn.utils.class_weight.compute_class_weight and pass "
                                 "them as a dict")
            if not (isinstance(self.class_weight, dict) or self.class_weight == "balanced"):
                raise InvalidParameterError(f"The 'class_weight' parameter of MLPClassifier must be a dict, "
                                            f"'balanced' or None. Got {self.class_weight!r} instead.")
            present = unique_labels(y) if self.class_weight == "balanced" else self.classes_
            per_class = compute_class_weight(self.class_weight, classes=present, y=y)
            cw = per_class[np.searchsorted(present, y)]
            sw = cw if sw is None else sw * cw
            if sw.sum() <= 0:
                raise ValueError("sample_weight × class_weight is all zero: at least one sample needs a "
                                 "positive weight")

        if multilabel:
            Y = np.ascontiguousarray(y, dtype=dtype)
            strat = None
        else:
            idx = np.searchsorted(self.classes_, y)
            if self._target_kind == "binary":
                Y = np.ascontiguousarray((idx == 1).reshape(-1, 1), dtype=dtype)
            else:
                Y = idx.astype(np.int64)
            strat = idx
        return X, Y, sw, strat

    def _validation_score(self, X, Y, sw):
        out = self._network.forward(X)
        if self._target_kind == "multiclass":
            return float(accuracy_score(Y, out.argmax(axis=1), sample_weight=sw))
        if self._target_kind == "binary":
            return float(accuracy_score(Y[:, 0] > 0.5, out[:, 0] > 0.5, sample_weight=sw))
        return float(accuracy_score(Y > 0.5, out > 0.5, sample_weight=sw))

    # ---- public API -----------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None, *,
            comm: Any = None) -> "MLPClassifier":
        """Fit the network to X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; converted to a C-contiguous array of ``dtype`` (used in place when it is one).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multi-label classification.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each mini-batch's loss is the weighted mean over its samples.
        comm : mpi4py.MPI.Comm, default=None
            Data-parallel training over MPI (see :meth:`swiftprop.Network.fit`): every rank calls
            ``fit`` with the same parameters and its own shard ``X, y``; each mini-batch's gradient is
            averaged over the ranks, so ``batch_size`` is per rank, and every rank ends with the same
            network. Needs ``solver='sgd'`` or ``'adam'`` (``'lbfgs'`` raises ValueError), no
            ``early_stopping``, no ``sample_weight`` or ``class_weight``, and the same number of
            mini-batches on every rank (shards of equal size). Every rank's ``y`` must contain every
            class (ValueError on every rank otherwise): ``classes_`` and the output layer come from
            the local labels, so split the data stratified (e.g. with
            :class:`~sklearn.model_selection.StratifiedKFold`). ``loss_curve_`` and the stopping
            rule use the loss averaged over all ranks; ``t_`` counts the samples of all ranks.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        if comm is not None:
            self._check_comm(comm)
            _same_classes_on_every_rank(comm, y)
        return self._fit(X, y, sample_weight, incremental=False, comm=comm)

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None,
                    classes: Optional[ArrayLike] = None) -> "MLPClassifier":
        """Train one epoch over X and y, continuing from the current network and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels or a multi-label indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array-like of shape (n_classes,), default=None
            Every class that may appear in any call; required on the first call (except for
            multi-label y), ignored or checked afterwards.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict(self, X: ArrayLike) -> NDArray:
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels (a 0/1 indicator matrix for multi-label models).
        """
        out = self._forward(X)
        if self._target_kind == "multiclass":
            return self.classes_[out.argmax(axis=1)]
        if self._target_kind == "binary":
            return self.classes_[(out[:, 0] > 0.5).astype(np.intp)]
        return (out > 0.5).astype(int)

    def predict_proba(self, X: ArrayLike) -> NDArray:
        """Probability of each class (multi-label: of each label).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        out = self._forward(X)
        if self._target_kind == "binary":
            return np.hstack([1 - out, out])
        return out

    def predict_log_proba(self, X: ArrayLike) -> NDArray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained in swiftprop's Swift core.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: same parameters, defaults and fitted
    attributes, plus ``dtype`` and per-layer activations. The output layer is linear (identity) and
    the loss the squared error; several outputs (2-D y) are supported.

    Parameters
    ----------""" + _COMMON_PARAMS + """
    loss : {'squared_error'}, default='squared_error'
        The loss. (scikit-learn's 'poisson' is not available.)

    Attributes
    ----------""" + _COMMON_ATTRS + """

    Notes
    -----
    The loss follows scikit-learn's definition, ½ · mean over samples and outputs of the squared error
    (+ the L2 term), and its gradient scikit-learn's (that of ½ · sum over outputs, mean over samples):
    the network's 'mse' is the latter, and ``loss_`` / ``loss_curve_`` are converted (the L2 part of
    an epoch's loss, which the network reports separately, is kept as it is). With 'lbfgs' the optimised
    objective is the one whose gradient is used (½ · sum over outputs), so with several outputs the
    loss and gradient handed to L-BFGS agree. See :class:`MLPClassifier` for the SGD velocity form and
    sparse input.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from swiftprop import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Union[int, Sequence[int]] = (100,),
        activation: Union[str, Sequence[str]] = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Union[int, str] = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Union[int, np.random.RandomState, None] = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dtype: DTypeLike = np.float64,
        dropout: Union[float, Sequence[float]] = 0.0,
    ) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun, dtype=dtype, dropout=dropout)
        self.loss = loss

    def _check_params(self) -> dict[str, Any]:
        p = super()._check_params()
        _Checker(self).option("loss", self.loss, ("squared_error",))
        return p

    def _output(self) -> tuple[str, str]:
        return "identity", "mse"

    def _report_loss(self, loss: float, penalty_per_sample: float) -> float:
        # network: data = ½·Σ_outputs (mean over samples); scikit-learn: ½·mean over samples AND outputs
        k = self.n_outputs_
        return (loss - penalty_per_sample) / k + penalty_per_sample

    def _prepare(self, X, y, sample_weight, first_pass, incremental, dtype, classes=None):
        X, y = validate_data(self, X, y, reset=first_pass, dtype=dtype, order="C", accept_sparse=False,
                             multi_output=True, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError("Input y contains NaN or infinity" + (" after conversion to float32"
                                                                    if dtype == np.float32 else ""))
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return X, Y, sw, None

    def _validation_score(self, X, Y, sw):
        return float(r2_score(Y, self._network.forward(X), sample_weight=sw))

    # ---- public API -----------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: Optional[ArrayLike] = None, *,
            comm: Any = None) -> "MLPRegressor":
        """Fit the network to X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; converted to a C-contiguous array of ``dtype`` (used in place when it is one).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each mini-batch's loss is the weighted mean over its samples.
        comm : mpi4py.MPI.Comm, default=None
            Data-parallel training over MPI (see :meth:`swiftprop.Network.fit`): every rank calls
            ``fit`` with the same parameters and its own shard ``X, y``; each mini-batch's gradient is
            averaged over the ranks, so ``batch_size`` is per rank, and every rank ends with the same
            network. Needs ``solver='sgd'`` or ``'adam'`` (``'lbfgs'`` raises ValueError), no
            ``early_stopping``, no ``sample_weight``, and the same number of mini-batches on every
            rank (shards of equal size). ``loss_curve_`` and the stopping rule use the loss averaged
            over all ranks; ``t_`` counts the samples of all ranks.

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        if comm is not None:
            self._check_comm(comm)
        return self._fit(X, y, sample_weight, incremental=False, comm=comm)

    @available_if(lambda est: est._check_stochastic())
    def partial_fit(self, X: ArrayLike, y: ArrayLike,
                    sample_weight: Optional[ArrayLike] = None) -> "MLPRegressor":
        """Train one epoch over X and y, continuing from the current network and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray:
        """Predict the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions (1-D when the model has one output).
        """
        out = self._forward(X)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
