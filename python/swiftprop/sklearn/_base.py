"""What MLPClassifier and MLPRegressor share: parameters, network construction, the epoch loop around
:meth:`swiftprop.Network.fit`, early stopping, L-BFGS, pickling, and the shared parts of their docstrings."""
from __future__ import annotations

import functools
import operator
import warnings
from typing import Any, ClassVar, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._network import Network, add_l2
from ..optim import SGD, Adam, LRSchedule, make_schedule
from ._params import BASE_CONSTRAINTS, STOCHASTIC, Constraint, validate_params

__all__: list[str] = []


@functools.lru_cache(maxsize=None)
def network_takes_sparse() -> bool:
    """Whether :class:`swiftprop.Network` takes ``scipy.sparse`` CSR input (feature-detected once, on a
    1×1 network, so the estimators accept sparse X exactly when the core does)."""
    try:
        import scipy.sparse
    except ImportError:  # pragma: no cover - scipy is a dependency of scikit-learn
        return False
    try:
        Network([1, 1], "identity", "mse", seed=0).forward(scipy.sparse.csr_matrix(np.ones((1, 1))))
    except (TypeError, ValueError):
        return False
    return True


def _require_sparse_support(X: Any) -> None:
    """A clear TypeError for sparse X when this build's Network takes dense arrays only."""
    if hasattr(X, "tocsr") and not network_takes_sparse():
        raise TypeError("Sparse data was passed for X, but this swiftprop build's Network takes dense "
                        "arrays only; use X.toarray() to convert it to a dense numpy array")


class _LayerViews(list):
    """``coefs_`` / ``intercepts_`` of a fitted estimator: a list of zero-copy views of the network's
    layers. Writing into an array changes the model; assigning an item (``coefs_[i] = a``) copies ``a``
    into layer i (same shape), as assigning a list to the attribute copies every layer."""

    def __init__(self, views: list, name: str) -> None:
        super().__init__(views)
        self._name = name

    def __setitem__(self, index: Any, value: Any) -> None:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError(f"assign {self._name}[i] one layer at a time, or the whole list to {self._name}")
        i = operator.index(index)
        i = i + len(self) if i < 0 else i
        if not 0 <= i < len(self):
            raise IndexError(f"{self._name} has {len(self)} layers, got index {index}")
        np.copyto(self[i], _layer_array(self._name, i, value, self[i]))

    def __reduce__(self) -> Any:
        return (list, (list(self),))  # a copy or pickle is a plain list of arrays


def _layer_array(name: str, i: int, value: Any, view: NDArray) -> NDArray:
    """``value`` as a new array of layer i's shape and dtype, or a ValueError/TypeError naming the layer."""
    try:
        a = np.array(value, dtype=view.dtype)  # a copy: the source may alias the parameter buffer
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}[{i}] must be an array of numbers: {e}") from None
    if a.shape != view.shape:
        what = "(fan_in, fan_out)" if name == "coefs_" else "(fan_out,)"
        raise ValueError(f"{name}[{i}] (layer {i + 1}) must have shape {view.shape} {what}, got {a.shape}")
    return a


class _BaseMLP(BaseEstimator):
    """Logic shared by :class:`MLPClassifier` and :class:`MLPRegressor` (not for direct use)."""

    _is_classifier = False
    #: The parameters' constraints, checked in order by :func:`~swiftprop.sklearn._params.validate_params`.
    _constraints: ClassVar[dict[str, Constraint]] = BASE_CONSTRAINTS

    # fitted state, declared for type checkers (set by fit)
    _network: Network
    _optimizer: Optional[Union[SGD, Adam]]
    _best_params: NDArray
    _no_improvement_count: int
    _schedule: str
    _lr_init: float
    _power_t: float
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
    #: False, or why the current stochastic fit diverged (see _epoch)
    _diverged: Union[bool, str] = False

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
        n_iter_no_change: Union[int, float] = 10,
        max_fun: int = 15000,
        dtype: Optional[DTypeLike] = None,
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
        """Validate the constructor parameters against the class's table; return the normalised ones the
        fit needs."""
        v = validate_params(self, self._constraints)
        return {"hidden": v["hidden_layer_sizes"], "activations": v["activation"], "solver": v["solver"],
                "dtype": v["dtype"], "dropout": v["dropout"]}

    # ---- architecture and initialisation --------------------------------------------------------

    def _output(self) -> tuple[str, str]:
        """(output activation in swiftprop's names, loss) for the fitted target kind."""
        raise NotImplementedError

    def _build_network(self, n_features: int, n_outputs: int, p: dict[str, Any], dtype: np.dtype,
                       rs: np.random.RandomState) -> None:
        out_act, loss = self._output()
        sizes = [n_features, *p["hidden"], n_outputs]
        net = Network(sizes, [*p["activations"], out_act], loss, dtype=dtype, seed=0, dropout=p["dropout"])
        _init_like_sklearn(net, p["activations"], self.activation, rs)
        self.__dict__.pop("_assigned_layers", None)
        self._network = net
        self._optimizer = None
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(sizes)
        self.out_activation_ = {"sigmoid": "logistic"}.get(out_act, out_act)
        self.n_iter_ = 0
        self.t_ = 0

    # ---- the fitted network and its layers ------------------------------------------------------

    @property
    def network_(self) -> Network:
        """The fitted :class:`swiftprop.Network` (the estimator's model itself, not a copy): trace it,
        plot it (:func:`swiftprop.plot.weights`) or save it; changing its parameters changes the
        estimator's predictions."""
        if "_network" not in self.__dict__:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet: network_ is set by fit")
        return self._network

    def _layers(self, name: str) -> list:
        if "_network" in self.__dict__:
            net = self._network
            views = [W.T for W in net.weights] if name == "coefs_" else list(net.biases)
            return _LayerViews(views, name)  # coefs_[i]: (fan_in, fan_out), as scikit-learn's
        assigned = self.__dict__.get("_assigned_layers", {})
        if name in assigned:
            return assigned[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _set_layers(self, name: str, values: Any) -> None:
        if "_network" not in self.__dict__:
            # nothing to copy into yet (as scikit-learn, the attribute simply holds it; fit replaces it)
            self.__dict__.setdefault("_assigned_layers", {})[name] = values
            return
        views = self._layers(name)
        try:
            values = list(values)
        except TypeError:
            raise TypeError(f"{name} must be a list of arrays, one per layer, got "
                            f"{type(values).__name__}") from None
        if len(values) != len(views):
            raise ValueError(f"{name} must have {len(views)} arrays (one per layer), got {len(values)}")
        arrays = [_layer_array(name, i, v, view) for i, (v, view) in enumerate(zip(values, views))]
        for view, a in zip(views, arrays):  # every layer checked before any is written
            np.copyto(view, a)

    @property
    def coefs_(self) -> list:
        """``coefs_[i]`` (fan_in, fan_out): weights of layer i, zero-copy (transposed) views of the network."""
        return self._layers("coefs_")

    @coefs_.setter
    def coefs_(self, values: Any) -> None:
        self._set_layers("coefs_", values)

    @property
    def intercepts_(self) -> list:
        """``intercepts_[i]`` (fan_out,): biases of layer i, zero-copy views of the network."""
        return self._layers("intercepts_")

    @intercepts_.setter
    def intercepts_(self, values: Any) -> None:
        self._set_layers("intercepts_", values)

    def _architecture_matches(self, p: dict[str, Any], n_outputs: int) -> None:
        """For warm_start / partial_fit: the parameters must still describe the fitted network."""
        net = self._network
        want_acts = tuple("sigmoid" if a == "logistic" else a for a in p["activations"])
        if list(net.sizes[1:-1]) != p["hidden"] or tuple(net.activations[:-1]) != want_acts:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} / activation={self.activation!r} differ "
                f"from the fitted network ({list(net.sizes)}, {list(net.activations)}); warm_start and "
                "partial_fit continue training that network, so set warm_start=False to start anew")
        if p["dtype"] is not None and net.dtype != p["dtype"]:
            raise ValueError(f"dtype={np.dtype(p['dtype']).name} differs from the fitted network's "
                             f"{net.dtype.name}; set warm_start=False to start anew")
        if net.sizes[-1] != n_outputs:
            raise ValueError(f"y has {n_outputs} output(s) but the fitted network has {net.sizes[-1]}; "
                             "set warm_start=False to start anew")
        net.dropout = p["dropout"]  # a training-time setting: it may change between calls

    # ---- data -----------------------------------------------------------------------------------

    def _validate_X(self, X: ArrayLike) -> Any:
        """X for prediction: a C-contiguous array, or a CSR matrix/array, of the network's dtype (no copy
        when it is one; other sparse formats are converted to CSR)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self._network.dtype, order="C", accept_sparse="csr")
        _require_sparse_support(X)
        return X

    def _validate_Xy(self, X: ArrayLike, y: ArrayLike, first_pass: bool, dtype: Optional[np.dtype],
                     **kwargs: Any) -> tuple[Any, Any]:
        """X and y for fitting: X C-contiguous or CSR (other sparse formats converted once), of ``dtype``;
        with ``dtype=None``, float32 X stays float32 and anything else becomes float64 (scikit-learn's
        rule: the network's dtype then follows X)."""
        want = dtype if dtype is not None else [np.float64, np.float32]
        X, y = validate_data(self, X, y, reset=first_pass, dtype=want, order="C", accept_sparse="csr",
                             **kwargs)
        _require_sparse_support(X)
        return X, y

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
        # None: the network's dtype follows X's on a first pass (float32 or float64)
        dtype = p["dtype"] if first_pass else self._network.dtype
        X, Y, sw, strat = self._prepare(X, y, sample_weight, first_pass, incremental, dtype, classes)
        n_outputs = len(self.classes_) if Y.ndim == 1 else Y.shape[1]  # 1-D: multiclass int labels
        rs = check_random_state(self.random_state)  # re-created on every call, as scikit-learn does
        if first_pass:
            for stale in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                          "_no_improvement_count", "loss_"):
                self.__dict__.pop(stale, None)
            assigned = self.__dict__.get("_assigned_layers", {})
            self._build_network(X.shape[1], n_outputs, p, X.dtype, rs)
            if assigned and (self.warm_start or incremental):
                # as scikit-learn: coefs_ / intercepts_ assigned before the first fit are where a warm
                # start or partial_fit begins (copied into the new network; shapes checked)
                for name, values in assigned.items():
                    self._set_layers(name, values)
            self._best_params = self._network.params.copy()
        else:
            self._architecture_matches(p, n_outputs)
        if p["solver"] in STOCHASTIC:
            _start_curves(self, first_pass)
        elif not first_pass:
            _continue_without_curves(self)

        if p["solver"] == "lbfgs":
            _fit_lbfgs(self, X, Y, sw)
        else:
            self._fit_stochastic(X, Y, sw, strat, incremental, p, rs, comm=comm)
        return self

    def _check_comm(self, comm: Any) -> None:
        """What fit(comm=...) cannot do; the same answer on every rank (it reads parameters only)."""
        if comm is None:
            return
        if self.solver not in STOCHASTIC:
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
        """The score of the network on the validation split, NaN once the fit has diverged or when the
        predictions are not finite (as scikit-learn's)."""
        if self._diverged:
            return float("nan")
        out = self._network.forward(X)
        if not np.isfinite(out).all():
            return float("nan")
        return self._score_outputs(out, Y, sw)

    def _score_outputs(self, out: NDArray, Y: NDArray, sw: Optional[NDArray]) -> float:
        raise NotImplementedError

    def _report_loss(self, loss: float, penalty_per_sample: float) -> float:
        """The loss in scikit-learn's definition (see MLPRegressor); classifiers: unchanged."""
        return loss

    def _training_data(self, X: NDArray, Y: NDArray, sw: Optional[NDArray], strat: Optional[NDArray],
                       rs: np.random.RandomState) -> tuple:
        """(X, Y, weights) to train on and (X, Y, weights) to validate on (Nones without early stopping)."""
        if self.early_stopping:
            X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val = _early_stopping_split(X, Y, sw, strat, rs,
                                                                         self.validation_fraction)
        else:
            X_tr, Y_tr, sw_tr = X, Y, sw
            X_val = Y_val = sw_val = None
        if sw_tr is not None and not sw_tr.all():
            # Zero-weight samples contribute nothing but would take places in mini-batches (and make
            # a batch of only such samples 0/0): train on the others (a copy of those rows).
            keep = sw_tr > 0
            X_tr, Y_tr, sw_tr = X_tr[keep], Y_tr[keep], sw_tr[keep]
        return (X_tr, Y_tr, sw_tr), (X_val, Y_val, sw_val)

    def _batch_rows(self, n: int) -> int:
        """The mini-batch size for n training samples ('auto': min(200, n); larger than n: clipped)."""
        if self.batch_size == "auto":
            return min(200, n)
        rows = int(self.batch_size)  # an int >= 1 (checked by _check_params)
        if rows > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to "
                          "be clipped", UserWarning)
        return int(np.clip(rows, 1, n))

    def _epoch(self, X: NDArray, Y: NDArray, fit_args: dict[str, Any], n_seen: int) -> None:
        """One epoch of :meth:`swiftprop.Network.fit`; records its loss (scikit-learn's definition).

        A diverging epoch (the network's FloatingPointError; its parameters stay those of the last finite
        step) counts as scikit-learn's does with non-finite weights: the epoch and every later one record
        a NaN loss (and, with early stopping, a NaN validation score) without training; the fit then
        ends as scikit-learn's: restoring the best validated parameters, or raising ValueError."""
        loss = float("nan")
        if not self._diverged:
            try:
                # X, Y were validated (finite) once by fit
                hist = self._network.fit(X, Y, epochs=1, check_finite=False, **fit_args)
                loss = self._report_loss(hist.loss[0], hist.penalty[0])
            except FloatingPointError as e:
                self._diverged = str(e) or "non-finite loss"
        self.n_iter_ += 1
        self.t_ += n_seen
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")

    def _stop_on_plateau(self, schedule: LRSchedule) -> bool:
        """No improvement for n_iter_no_change epochs: stop, or let the 'adaptive' schedule lower the rate."""
        what = "Validation score" if self.early_stopping else "Training loss"
        msg = (f"{what} did not improve more than tol={self.tol:f} for "
               f"{self.n_iter_no_change} consecutive epochs.")
        if not schedule.reduces_on_plateau:
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if not schedule.on_plateau():
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        if self.verbose:
            print(msg + f" Setting learning rate to {schedule.optimizer.lr:f}")
        self._no_improvement_count = 0
        return False

    def _fit_stochastic(self, X: NDArray, Y: NDArray, sw: Optional[NDArray], strat: Optional[NDArray],
                        incremental: bool, p: dict[str, Any], rs: np.random.RandomState,
                        comm: Any = None) -> None:
        if not incremental or self._optimizer is None:
            self._new_optimizer()
        opt = self._optimizer
        assert opt is not None
        (X_tr, Y_tr, sw_tr), validation = self._training_data(X, Y, sw, strat, rs)
        n = X_tr.shape[0]
        fit_args = {"batch_size": self._batch_rows(n), "optimizer": opt, "shuffle": bool(self.shuffle),
                    # the shuffling stream: one Generator seeded from the estimator's RandomState
                    "seed": np.random.default_rng(rs.randint(np.iinfo(np.int32).max)) if self.shuffle else None,
                    # the core divides a batch's penalty by its rows, or its weight sum
                    "sample_weight": sw_tr, "alpha": float(self.alpha), "comm": comm}
        # t_ counts the samples seen by all ranks (it drives the 'invscaling' learning rate, which must
        # be the same on every rank)
        n_seen = n if comm is None else int(comm.allreduce(n))
        schedule = make_schedule(self._schedule, opt, lr_init=self._lr_init, power_t=self._power_t)

        self.n_iter_ = 0
        self._diverged = False
        try:
            for _ in range(self.max_iter):
                self._epoch(X_tr, Y_tr, fit_args, n_seen)
                self._update_no_improvement_count(*validation)
                schedule.epoch_end(self.t_)
                if self._no_improvement_count > self.n_iter_no_change and self._stop_on_plateau(schedule):
                    break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                                  "and the optimization hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", UserWarning)

        if self.early_stopping:
            self._network.params[...] = self._best_params  # restore the best validated parameters
        elif self._diverged:
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                f"values and need to be preprocessed. ({self._diverged})")

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

    def _check_stochastic(self) -> bool:
        if self.solver not in STOCHASTIC:
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
            self._optimizer = self._network.optimizer if in_network else None

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = network_takes_sparse()
        return tags


def _start_curves(est: "_BaseMLP", first_pass: bool) -> None:
    """The loss curve and early-stopping attributes a stochastic fit extends: new ones on a first pass,
    the existing ones (completed where a previous fit left them out) when continuing."""
    if first_pass or not hasattr(est, "loss_curve_"):
        # a first pass, or continuing with a stochastic solver a model fitted by lbfgs
        est.loss_curve_ = []
        est._no_improvement_count = 0
        est.best_loss_ = None if est.early_stopping else np.inf
        est.validation_scores_ = [] if est.early_stopping else None
        est.best_validation_score_ = -np.inf if est.early_stopping else None
        if first_pass:
            return
    _continue_without_curves(est)


def _continue_without_curves(est: "_BaseMLP") -> None:
    """Continuing a fit: early-stopping attributes switched on or off since the previous one."""
    if est.early_stopping and getattr(est, "validation_scores_", None) is None:
        est.validation_scores_ = []
        est.best_validation_score_ = -np.inf
        est.best_loss_ = None
    if not est.early_stopping and getattr(est, "best_loss_", np.inf) is None:
        est.best_loss_ = np.inf  # warm start without early stopping after a fit with it


def _early_stopping_split(X: NDArray, Y: NDArray, sw: Optional[NDArray], strat: Optional[NDArray],
                          rs: np.random.RandomState, validation_fraction: float) -> tuple:
    """Validation split for early stopping (stratified for single-label classification).

    ``strat``: None (no stratification), a 2-D boolean column (a binary target: stratified as scikit-learn
    does, with its ValueError for a class of one member), or 1-D class indices (a multiclass target, which
    scikit-learn does not stratify: stratified when every class has two members, else a plain split)."""
    arrays = [X, Y] + ([sw] if sw is not None else [])
    try:
        parts = train_test_split(*arrays, random_state=rs, test_size=validation_fraction, stratify=strat)
    except ValueError:
        if strat is None or strat.ndim == 2:
            raise
        # too few members of some class to stratify a multiclass target: a plain random split
        parts = train_test_split(*arrays, random_state=rs, test_size=validation_fraction)
    X_tr, X_val, Y_tr, Y_val = parts[:4]
    sw_tr, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size "
                         "of your dataset.")
    if sw_tr is not None and sw_tr.sum() <= 0:
        raise ValueError("the training part of the early-stopping split has only zero sample weights")
    return X_tr, X_val, Y_tr, Y_val, sw_tr, sw_val


def _init_like_sklearn(net: Network, hidden_acts: list[str], activation: Any, rs: np.random.RandomState) -> None:
    """scikit-learn's initialisation: for each layer, weights then biases, uniform in ±sqrt(f /
    (fan_in + fan_out)), f = 2 for a logistic activation and 6 otherwise, from one RandomState.

    scikit-learn decides f by its single hidden activation for every layer, the output layer included;
    with one activation per hidden layer, layer i uses hidden layer i's activation and the output layer
    the last hidden layer's, which is the same rule when all are equal."""
    for i, (W, B) in enumerate(zip(net.weights, net.biases)):
        fan_out, fan_in = W.shape
        if hidden_acts:
            a = hidden_acts[min(i, len(hidden_acts) - 1)]
        else:
            a = activation if isinstance(activation, str) else "relu"
        factor = 2.0 if a in ("logistic", "sigmoid") else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        W[...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
        B[...] = rs.uniform(-bound, bound, fan_out)


def _fit_lbfgs(est: "_BaseMLP", X: NDArray, Y: NDArray, sw: Optional[NDArray]) -> None:
    """solver='lbfgs': SciPy's L-BFGS-B on the full-batch loss and gradient the network computes."""
    import scipy.optimize

    net = est._network
    params, grads = net.params, net.grads
    n = X.shape[0]
    alpha = float(est.alpha)
    # scikit-learn's penalty ½·alpha·Σ‖W‖² is divided by n, or by Σw with sample weights
    norm = float(n if sw is None else sw.sum())

    def data_and_penalty(x: NDArray) -> tuple[float, float, NDArray]:
        params[...] = x
        data = net.backward(X, Y, sample_weight=sw)
        if not np.isfinite(data):
            return np.inf, 0.0, np.zeros(params.size)
        pen = add_l2(net, alpha, norm) if alpha else 0.0  # adds alpha·W/norm to the gradient
        return data, pen, grads.astype(np.float64)

    state: dict[str, Any] = {"x": params.astype(np.float64), "it": 0}

    def fun(x: NDArray) -> tuple[float, NDArray]:
        data, pen, g = data_and_penalty(x)
        return data + pen, g

    def callback(xk: NDArray) -> None:
        state["x"] = np.array(xk, dtype=np.float64)
        state["it"] += 1
        if est.verbose:
            data, pen, _ = data_and_penalty(xk)
            print(f"Iteration {state['it']}, loss = {est._report_loss(data + pen, pen):.8f}")

    options = {"maxiter": int(est.max_iter), "maxfun": int(est.max_fun), "gtol": float(est.tol)}
    try:
        res = scipy.optimize.minimize(fun, params.astype(np.float64), method="L-BFGS-B", jac=True,
                                      callback=callback, options=options)
        x, est.n_iter_ = res.x, int(min(res.nit, est.max_iter))
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", UserWarning)
        res = None
        x, est.n_iter_ = state["x"], int(state["it"])  # the last completed iteration
    data, pen, _ = data_and_penalty(x)  # also writes x into the parameters
    est.loss_ = est._report_loss(data + pen, pen)
    if not np.isfinite(params).all():
        raise ValueError("Solver produced non-finite parameter weights. The input data may contain "
                         "large values and need to be preprocessed.")
    if res is not None and res.status != 0:
        msg = res.message.decode() if isinstance(res.message, bytes) else str(res.message)
        warnings.warn(
            f"lbfgs failed to converge after {est.n_iter_} iteration(s) (status={res.status}): {msg}. "
            f"Increase the number of iterations (max_iter={est.max_iter}) or the number of function "
            f"evaluations (max_fun={est.max_fun}), or scale the data.", ConvergenceWarning)


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
    n_iter_no_change : int or numpy.inf, default=10
        Number of epochs without improvement by ``tol`` tolerated before stopping (or, with the
        'adaptive' schedule, lowering the learning rate); ``numpy.inf`` never stops early.
    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.
    dtype : {None, numpy.float64, numpy.float32} or their names, default=None
        Precision of the network: parameters, data, arithmetic and predictions. None follows X, as
        scikit-learn does: float32 X gives a float32 network (``coefs_``, ``intercepts_`` and
        predictions in float32), any other X float64. An explicit dtype wins whatever X is. X is
        converted to a C-contiguous array (or CSR matrix) of the network's dtype, with no copy when it
        already is one; later calls (predict, warm start, partial_fit) convert X to the fitted
        network's dtype.
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
        network's parameters: writing into it changes the model. Assigning a list of arrays of the
        same shapes (or one array, ``coefs_[i] = a``) copies them into the network, which predict,
        warm start and partial_fit then use; a wrong shape raises ValueError naming the layer.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` (fan_out,): biases of layer i, zero-copy views of the network's parameters
        (assigned as ``coefs_``).
    network_ : swiftprop.Network
        The fitted network itself (``coefs_`` and ``intercepts_`` are views of its parameters): for
        :func:`swiftprop.plot.weights`, :meth:`~swiftprop.Network.trace` or
        :meth:`~swiftprop.Network.save`.
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
