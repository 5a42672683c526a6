"""MLPRegressor: regression with one or several outputs (squared error, linear output layer)."""
from __future__ import annotations

import functools
from typing import Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from .._network import Network
from ._base import _COMMON_ATTRS, _COMMON_PARAMS, _BaseMLP
from ._params import REGRESSOR_CONSTRAINTS

__all__ = ["MLPRegressor"]


@functools.lru_cache(maxsize=None)
def _output_activation(loss: str) -> str:
    """The output activation the network pairs with ``loss`` (for 'poisson', the exponential), asked of
    the network itself: given one name for the hidden layers, it appends the loss's output activation."""
    return Network([1, 1, 1], "identity", loss, seed=0).activations[-1]


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor trained in swiftprop's Swift core.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: same parameters, defaults and fitted
    attributes, plus ``dtype`` and per-layer activations. The output layer is linear (identity) with
    the squared error, or exponential with ``loss='poisson'``; several outputs (2-D y) are supported.

    Parameters
    ----------""" + _COMMON_PARAMS + """
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': half the squared error, identity output. 'poisson': half the Poisson
        deviance with an exponential output (a log link), for targets y >= 0, as scikit-learn's;
        available when this build's core has the poisson loss (``'poisson' in swiftprop.LOSSES``).

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

    _constraints = REGRESSOR_CONSTRAINTS

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
        n_iter_no_change: Union[int, float] = 10,
        max_fun: int = 15000,
        dtype: Optional[DTypeLike] = None,
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

    def _output(self) -> tuple[str, str]:
        if self.loss == "poisson":
            return _output_activation("poisson"), "poisson"
        return "identity", "mse"

    def _report_loss(self, loss: float, penalty_per_sample: float) -> float:
        if self.loss == "poisson":
            return loss  # half Poisson deviance summed over outputs, as scikit-learn's
        # network: data = ½·Σ_outputs (mean over samples); scikit-learn: ½·mean over samples AND outputs
        k = self.n_outputs_
        return (loss - penalty_per_sample) / k + penalty_per_sample

    def _prepare(self, X, y, sample_weight, first_pass, incremental, dtype, classes=None):
        X, y = self._validate_Xy(X, y, first_pass, dtype, multi_output=True, y_numeric=True)
        dtype = X.dtype
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError("Input y contains NaN or infinity" + (" after conversion to float32"
                                                                    if dtype == np.float32 else ""))
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        return X, Y, sw, None

    def _score_outputs(self, out, Y, sw):
        return float(r2_score(Y, out, sample_weight=sw))

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
