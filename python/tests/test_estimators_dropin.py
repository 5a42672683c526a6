"""The estimators as drop-ins for scikit-learn's (issue 12), each behaviour checked against the installed
scikit-learn where it has one:

* dtype follows X (float32 X → float32 network, coefs_, intercepts_, predictions; else float64), an explicit
  ``dtype`` wins;
* ``n_iter_no_change=np.inf``; ``n_iter_`` and ``ConvergenceWarning`` with ``warm_start``;
* the binary early-stopping split is scikit-learn's (stratified, with its error for a class of one member);
* a single-class y fits as scikit-learn's;
* a diverging fit: NaN validation scores with early stopping, ValueError without;
* ``coefs_`` / ``intercepts_`` assignment copies into the network and is used by predict, warm start and
  partial_fit, exactly as scikit-learn uses assigned weights; ``network_``; ``plot.weights(estimator)``;
* sparse X and ``loss='poisson'``: run when this build's core has them (``network_takes_sparse()``,
  ``'poisson' in swiftprop.LOSSES``), else skipped with that reason; the refusal without them is tested.

scikit-learn's own test_mlp.py runs against these estimators in scripts/sklearn_mlp_tests.py.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import scipy.sparse  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_iris, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import swiftprop as sp  # noqa: E402
from swiftprop import MLPClassifier, MLPRegressor  # noqa: E402
from swiftprop.sklearn import InvalidParameterError  # noqa: E402
from swiftprop.sklearn._base import network_takes_sparse  # noqa: E402

SPARSE = network_takes_sparse()
POISSON = "poisson" in sp.LOSSES
needs_sparse = pytest.mark.skipif(not SPARSE, reason="this build's swiftprop.Network does not take "
                                                     "scipy.sparse CSR input (the core's sparse path)")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

needs_poisson = pytest.mark.skipif(not POISSON, reason="this build's core has no 'poisson' loss")


def _binary(n=200, seed=1):
    X, y = make_classification(n, 6, n_informative=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _multiclass(n=240, seed=0):
    X, y = make_classification(n, 8, n_informative=5, n_classes=3, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _regression(n=200, n_targets=1, seed=0):
    X, y = make_regression(n, 6, n_informative=5, n_targets=n_targets, noise=3.0, random_state=seed)
    return StandardScaler().fit_transform(X), y / np.std(y)


def _same_weights(ours, ref, rtol=1e-7, atol=1e-9):
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        assert b.shape == a.shape
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------
# dtype follows X
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_dtype_follows_X(Est, solver):
    X, y = _binary()
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0, solver=solver)
    for X_in, want in [(X.astype(np.float32), np.float32), (X, np.float64), (X.astype(np.float16), np.float64),
                       ((X * 10).astype(np.int64), np.float64), (X.tolist(), np.float64)]:
        est = Est(**params).fit(X_in, y)
        assert est.network_.dtype == want
        assert all(a.dtype == want for a in est.coefs_ + est.intercepts_)
        out = est.predict_proba(X_in) if Est is MLPClassifier else est.predict(X_in)
        assert out.dtype == want
        # later calls convert X to the fitted network's dtype
        other = X.astype(np.float64 if want == np.float32 else np.float32)
        out = est.predict_proba(other) if Est is MLPClassifier else est.predict(other)
        assert out.dtype == want


@pytest.mark.parametrize("dtype", [np.float64, "float64", np.dtype("float64")])
def test_explicit_dtype_wins(dtype):
    X, y = _binary()
    est = MLPClassifier((5,), max_iter=3, random_state=0, dtype=dtype).fit(X.astype(np.float32), y)
    assert est.network_.dtype == np.float64 and est.coefs_[0].dtype == np.float64
    est = MLPClassifier((5,), max_iter=3, random_state=0, dtype="float32").fit(X, y)
    assert est.network_.dtype == np.float32
    assert "dtype='float32'" in repr(est)
    assert "dtype" not in repr(MLPClassifier())  # the default, None, is not shown


def test_warm_start_and_partial_fit_keep_the_fitted_dtype():
    X, y = _binary()
    est = MLPClassifier((5,), max_iter=3, random_state=0, warm_start=True).fit(X.astype(np.float32), y)
    est.fit(X, y)  # float64 X: converted to the network's float32
    est.partial_fit(X, y)
    assert est.network_.dtype == np.float32 and est.coefs_[0].dtype == np.float32
    est.set_params(dtype=np.float64)  # an explicit dtype that differs from the fitted network
    with pytest.raises(ValueError, match="warm_start=False"):
        est.fit(X, y)


def test_float32_parity_with_sklearn():
    # scikit-learn keeps float32 X in float32 too: same (float32-rounded) fit, shuffle=False
    X, y = _multiclass()
    X32 = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, max_iter=10, batch_size=40)
    ref = sk_nn.MLPClassifier(**params).fit(X32, y)
    ours = MLPClassifier(**params).fit(X32, y)
    assert ref.coefs_[0].dtype == ours.coefs_[0].dtype == np.float32
    _same_weights(ours, ref, rtol=2e-3, atol=2e-4)
    assert ours.predict_proba(X32).dtype == ref.predict_proba(X32).dtype


# --------------------------------------------------------------------------------------------
# n_iter_no_change, warm start counting
# --------------------------------------------------------------------------------------------

def test_n_iter_no_change_inf_runs_to_max_iter():
    X, y = _binary()
    est = MLPClassifier((4,), tol=1e9, max_iter=30, n_iter_no_change=np.inf, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est.fit(X, y)
    assert est.n_iter_ == 30 and est._no_improvement_count == 29
    for bad in (-np.inf, np.nan, "inf", 2.5, 0):
        with pytest.raises(InvalidParameterError, match="n_iter_no_change"):
            MLPClassifier(n_iter_no_change=bad, max_iter=2).fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_warm_start_iteration_counts_and_warnings_match_sklearn(solver, kind):
    X, y = load_iris(return_X_y=True)
    if kind == "regressor":
        ours_cls, ref_cls = MLPRegressor, sk_nn.MLPRegressor
    else:
        ours_cls, ref_cls = MLPClassifier, sk_nn.MLPClassifier
    params = dict(solver=solver, warm_start=True, max_iter=4, n_iter_no_change=np.inf, random_state=0,
                  hidden_layer_sizes=(6,), shuffle=False)
    seen = {}
    for name, est in (("ref", ref_cls(**params)), ("ours", ours_cls(**params))):
        rows = []
        for max_iter in (4, 7, 7):
            est.set_params(max_iter=max_iter)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                est.fit(X, y)
            rows.append((est.n_iter_, any(issubclass(x.category, ConvergenceWarning) for x in w)))
        seen[name] = rows
    assert seen["ours"] == seen["ref"]


# --------------------------------------------------------------------------------------------
# early stopping split, single class
# --------------------------------------------------------------------------------------------

def test_binary_early_stopping_split_raises_sklearns_error_for_one_member():
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    y = [0, 0, 0, 1]
    with pytest.raises(ValueError, match=re.escape("The least populated classes in y have only 1 member")):
        MLPClassifier(early_stopping=True).fit(X, y)


def test_multiclass_early_stopping_falls_back_to_a_plain_split():
    # scikit-learn does not stratify multiclass targets; we do when every class has two members, and
    # otherwise split as it does rather than fail
    X, y = _multiclass(60)
    y = y.copy()
    y[0] = 3  # a class of one member
    est = MLPClassifier((4,), early_stopping=True, max_iter=3, random_state=0).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_ and list(est.classes_) == [0, 1, 2, 3]


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_single_class_fits_as_sklearn(solver):
    X, _ = _binary(60)
    y = np.full(60, "only")
    params = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0, max_iter=5, shuffle=False)
    ref = sk_nn.MLPClassifier(**params).fit(X, y)
    ours = MLPClassifier(**params).fit(X, y)
    assert list(ours.classes_) == list(ref.classes_) == ["only"]
    assert ours.out_activation_ == ref.out_activation_ == "logistic" and ours.n_outputs_ == 1
    _same_weights(ours, ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert ours.predict_proba(X).shape == (60, 2)


# --------------------------------------------------------------------------------------------
# divergence
# --------------------------------------------------------------------------------------------

def test_divergence_with_early_stopping_records_nan_and_restores_the_best():
    X, y = load_iris(return_X_y=True)
    params = dict(hidden_layer_sizes=(20,), activation="identity", solver="sgd", learning_rate_init=1.0,
                  max_iter=12, early_stopping=True, n_iter_no_change=10, random_state=0)
    ref = sk_nn.MLPRegressor(**params)
    ours = MLPRegressor(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        ours.fit(X, y)
    assert ours.n_iter_ == ref.n_iter_ == 12
    assert np.isnan(ours.validation_scores_[-1]) and isinstance(ours.validation_scores_[-1], float)
    assert np.isnan(ours.loss_curve_[-1])
    assert np.isfinite(ours.network_.params).all()  # the best validated parameters, restored
    assert np.isfinite(ours.predict(X)).all()


def test_divergence_without_early_stopping_raises_and_network_fit_still_raises():
    X, y = _regression(100)
    est = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0, max_iter=5)
    with pytest.warns(ConvergenceWarning), pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X * 100, y * 1e8)
    net = sp.Network([6, 8, 1], "relu", "mse", seed=0)
    with pytest.raises(FloatingPointError):
        net.fit(X * 100, (y * 1e8).reshape(-1, 1), epochs=5, optimizer=sp.optim.SGD(net, 10.0))


# --------------------------------------------------------------------------------------------
# coefs_ / intercepts_ / network_
# --------------------------------------------------------------------------------------------

def test_network_is_public_and_layers_are_views():
    X, y = _binary()
    est = MLPClassifier((5, 3), max_iter=3, random_state=0)
    assert not hasattr(est, "network_") and not hasattr(est, "coefs_")
    est.fit(X, y)
    net = est.network_
    assert isinstance(net, sp.Network) and net.sizes == (6, 5, 3, 1)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        assert np.shares_memory(W, net.params) and np.shares_memory(b, net.params)
        np.testing.assert_array_equal(W, net.weights[i].T)
    est.coefs_[0][0, 0] = 42.0  # an in-place write is a write into the network
    assert net.weights[0][0, 0] == 42.0
    net.biases[1][:] = -1.0
    np.testing.assert_array_equal(est.intercepts_[1], -1.0)


def test_plot_weights_takes_an_estimator():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from swiftprop import plot

    X, y = _binary()
    est = MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    axes = plot.weights(est)
    assert axes.shape == (2, 2)
    plt.close("all")
    with pytest.raises(TypeError, match="fitted estimator"):
        plot.weights(MLPClassifier())


@pytest.mark.parametrize("how", ["list", "items"])
def test_assigned_weights_are_used_like_sklearns(how):
    X, y = _multiclass()
    params = dict(hidden_layer_sizes=(7,), random_state=0, max_iter=4, shuffle=False, batch_size=60,
                  warm_start=True)
    ref = sk_nn.MLPClassifier(**params).fit(X, y)
    ours = MLPClassifier(**params).fit(X, y)
    rng = np.random.default_rng(3)
    coefs = [rng.normal(scale=0.3, size=c.shape) for c in ref.coefs_]
    inters = [rng.normal(scale=0.3, size=b.shape) for b in ref.intercepts_]
    for est in (ref, ours):
        if how == "list":
            est.coefs_ = [c.copy() for c in coefs]
            est.intercepts_ = [b.copy() for b in inters]
        else:
            for i in range(len(coefs)):
                est.coefs_[i] = coefs[i].copy()
                est.intercepts_[i] = inters[i].copy()
    _same_weights(ours, ref, rtol=0, atol=0)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-7, atol=1e-12)
    ref.fit(X, y)  # a warm start from the assigned weights
    ours.fit(X, y)
    _same_weights(ours, ref)
    for est in (ref, ours):
        est.coefs_ = [c.copy() for c in coefs]
        est.intercepts_ = [b.copy() for b in inters]
        est.partial_fit(X, y)  # partial_fit from them too
    _same_weights(ours, ref)


def test_assigning_wrong_layers_raises_and_changes_nothing():
    X, y = _binary()
    est = MLPClassifier((5, 3), max_iter=3, random_state=0).fit(X, y)
    before = est.network_.params.copy()
    good = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match=re.escape("coefs_[1] (layer 2) must have shape (5, 3)")):
        est.coefs_ = [np.zeros((6, 5)), np.zeros((3, 5)), np.zeros((3, 1))]
    with pytest.raises(ValueError, match="3 arrays"):
        est.coefs_ = good[:2]
    with pytest.raises(ValueError, match=re.escape("intercepts_[2] (layer 3) must have shape (1,)")):
        est.intercepts_ = [np.zeros(5), np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError, match=re.escape("coefs_[0]")):
        est.coefs_[0] = np.zeros((5, 6))
    with pytest.raises(TypeError, match="coefs_"):
        est.coefs_ = 3.0
    np.testing.assert_array_equal(est.network_.params, before)


def test_weights_assigned_before_fitting_start_partial_fit():
    # scikit-learn's test_fit: weights set on an unfitted estimator are where partial_fit begins; one SGD
    # step from them, worked out by hand there
    X = np.array([[0.6, 0.8, 0.7]])
    est = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic", random_state=1,
                        max_iter=1, hidden_layer_sizes=2, momentum=0)
    est.coefs_ = [0] * 2
    est.intercepts_ = [0] * 2
    est.coefs_[0] = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]])
    est.coefs_[1] = np.array([[0.1], [0.2]])
    est.intercepts_[0] = np.array([0.1, 0.1])
    est.intercepts_[1] = np.array([1.0])
    assert not hasattr(est, "network_")
    est.partial_fit(X, [0], classes=[0, 1])
    np.testing.assert_allclose(est.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
                               atol=1e-3)
    np.testing.assert_allclose(est.coefs_[1].ravel(), [0.04706, 0.154089], atol=1e-3)
    np.testing.assert_allclose(est.intercepts_[0], [0.098333, 0.09626], atol=1e-3)
    np.testing.assert_allclose(est.intercepts_[1], [0.9235], atol=1e-3)
    # a cold fit replaces them
    est2 = MLPClassifier(hidden_layer_sizes=2, max_iter=1, random_state=1)
    est2.coefs_ = [np.zeros((3, 2)), np.zeros((2, 1))]
    est2.fit(np.vstack([X, X + 1]), [0, 1])
    assert np.abs(est2.coefs_[0]).sum() > 0


# --------------------------------------------------------------------------------------------
# sparse X
# --------------------------------------------------------------------------------------------

SPARSE_KINDS = ["csr_matrix", "csr_array", "csc_matrix", "coo_array"]


@needs_sparse
@pytest.mark.parametrize("kind", SPARSE_KINDS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_sparse_fit_equals_dense_fit(kind, solver):
    X, y = _multiclass()
    X = np.where(np.abs(X) > 1, X, 0.0)  # about 70 % zeros
    Xs = getattr(scipy.sparse, kind)(X)
    params = dict(hidden_layer_sizes=(8,), solver=solver, shuffle=False, random_state=0, max_iter=8,
                  batch_size=50)
    dense = MLPClassifier(**params).fit(X, y)
    sparse = MLPClassifier(**params).fit(Xs, y)
    _same_weights(sparse, dense, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), rtol=1e-9, atol=1e-12)
    ref = sk_nn.MLPClassifier(**params).fit(Xs, y)
    _same_weights(sparse, ref)


@needs_sparse
def test_sparse_float32_and_shuffled_and_early_stopping():
    X, y = _binary(300)
    X = np.where(np.abs(X) > 1, X, 0.0)
    Xs = scipy.sparse.csr_array(X.astype(np.float32))
    est = MLPClassifier((6,), max_iter=10, random_state=0, early_stopping=True).fit(Xs, y)
    assert est.network_.dtype == np.float32 and est.predict_proba(Xs).dtype == np.float32
    assert len(est.validation_scores_) == est.n_iter_
    assert est.__sklearn_tags__().input_tags.sparse


@needs_sparse
def test_sparse_regressor_and_partial_fit():
    X, y = _regression()
    Xs = scipy.sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    est = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    for _ in range(3):
        est.partial_fit(Xs, y)
    assert est.predict(Xs).shape == (len(y),)


@pytest.mark.skipif(SPARSE, reason="this build's Network takes sparse input: the refusal is not reached")
def test_sparse_refused_clearly_without_the_core_path():
    X, y = _binary()
    with pytest.raises(TypeError, match="Sparse data was passed for X.*toarray"):
        MLPClassifier(max_iter=2).fit(scipy.sparse.csr_matrix(X), y)
    est = MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(TypeError, match="toarray"):
        est.predict(scipy.sparse.csr_matrix(X))
    assert not est.__sklearn_tags__().input_tags.sparse


# --------------------------------------------------------------------------------------------
# loss='poisson'
# --------------------------------------------------------------------------------------------

@needs_poisson
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_poisson_matches_sklearn(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = rng.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + 0.5))
    params = dict(loss="poisson", hidden_layer_sizes=(6,), solver=solver, shuffle=False, random_state=0,
                  max_iter=15, batch_size=50)
    ref = sk_nn.MLPRegressor(**params).fit(X, y)
    ours = MLPRegressor(**params).fit(X, y)
    assert ours.out_activation_ == ref.out_activation_ == "exp"
    _same_weights(ours, ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6)
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    assert (ours.predict(X) > 0).all()


@pytest.mark.skipif(POISSON, reason="this build's core has the poisson loss: the refusal is not reached")
def test_poisson_refused_clearly_without_the_core_loss():
    with pytest.raises(InvalidParameterError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="poisson").fit(*_regression())
