"""MLPClassifier: single-label (binary, multiclass) and multi-label classification."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import _COMMON_ATTRS, _COMMON_PARAMS, _BaseMLP
from ._params import InvalidParameterError

__all__ = ["MLPClassifier"]


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
    'adaptive' schedules change it. Early stopping uses a stratified split for binary targets, as
    scikit-learn does (so a class of one member raises its ValueError), and for multiclass targets
    whose classes all have two members (scikit-learn does not stratify those; when a class has only
    one, the split is a plain random one). A single-class y fits as in scikit-learn: one logistic
    output trained towards 0, ``predict`` always returns that class and ``predict_proba`` has two
    columns. Sparse X (CSR, CSC, COO; matrices or arrays) is converted to CSR once and read by the
    network's first layer without densifying, when this build's :class:`~swiftprop.Network` takes
    ``scipy.sparse`` input (else a TypeError says so).

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
        n_iter_no_change: Union[int, float] = 10,
        max_fun: int = 15000,
        dtype: Optional[DTypeLike] = None,
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

    def _check_classes(self, y: NDArray, multilabel: bool, first_pass: bool, incremental: bool,
                       classes: Any) -> None:
        """Set classes_ and the target kind on the first pass; later, check y against them."""
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
            self.classes_ = cls
            # one class (as scikit-learn's LabelBinarizer): a binary model whose targets are all 0
            self._target_kind = "multilabel" if multilabel else ("binary" if len(cls) <= 2 else "multiclass")
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

    def _weights(self, y: NDArray, sample_weight: Any, multilabel: bool, incremental: bool) -> Optional[NDArray]:
        """sample_weight checked, times the class weights (class_weight)."""
        sw = self._check_sample_weight(sample_weight, len(y))
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
        return sw

    def _prepare(self, X, y, sample_weight, first_pass, incremental, dtype, classes=None):
        X, y = self._validate_Xy(X, y, first_pass, dtype, multi_output=True)
        dtype = X.dtype
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
        self._check_classes(y, multilabel, first_pass, incremental, classes)
        sw = self._weights(y, sample_weight, multilabel, incremental)

        if multilabel:
            Y = np.ascontiguousarray(y, dtype=dtype)
            strat = None
        else:
            idx = np.searchsorted(self.classes_, y)
            if self._target_kind == "binary":
                Y = np.ascontiguousarray((idx == 1).reshape(-1, 1), dtype=dtype)
                strat = Y.astype(bool)  # scikit-learn's stratification: the binarized column
            else:
                Y = idx.astype(np.int64)
                strat = idx
        return X, Y, sw, strat

    def _score_outputs(self, out, Y, sw):
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
            if len(self.classes_) == 1:
                return np.repeat(self.classes_, len(out))
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
