"""Tests of the scikit-learn estimators ``swiftprop.MLPClassifier`` and ``swiftprop.MLPRegressor``.

They check, against the installed scikit-learn:

* numerical equivalence: with ``shuffle=False`` (so that both libraries visit the same mini-batches)
  swiftprop's estimators reproduce scikit-learn's parameters, loss curve and iteration counts for
  every solver, target kind and learning-rate schedule (scikit-learn's initialisation is replicated);
* accuracy / R² on scikit-learn's bundled data sets with the same hyper-parameters (shuffled);
* scikit-learn conventions: clone, Pipeline, GridSearchCV, cross_val_score, pickle, and
  ``parametrize_with_checks`` (scikit-learn's estimator checks);
* the extras: float32, per-layer activations, class_weight; and sample_weight, partial_fit,
  warm_start, early stopping, lbfgs, errors, Ctrl-C.

Run against the installed package, from the repository root (as scripts/test.sh does)::

    python -m pytest python/tests/test_estimators.py -q

``python main/python/tests/test_estimators.py`` prints the accuracy table of the benchmark.
"""
from __future__ import annotations

import _thread
import pickle
import subprocess
import sys
import threading
import tracemalloc
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import swiftprop as sp  # noqa: E402
from swiftprop import MLPClassifier, MLPRegressor  # noqa: E402
from swiftprop.sklearn._base import network_takes_sparse  # noqa: E402

# Short fits on purpose: many tests stop at max_iter, which is not what they test.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def _scaled(X):
    return StandardScaler().fit_transform(X)


def _multiclass(n=240, seed=0):
    X, y = make_classification(n, 8, n_informative=5, n_classes=3, random_state=seed)
    return _scaled(X), y


def _binary(n=240, seed=1):
    X, y = make_classification(n, 8, n_informative=4, random_state=seed)
    return _scaled(X), y


def _multilabel(n=240, seed=0):
    X, Y = make_multilabel_classification(n, 8, n_classes=4, random_state=seed)
    return _scaled(X), Y


def _regression(n=240, n_targets=1, seed=0):
    X, y = make_regression(n, 8, n_informative=6, n_targets=n_targets, noise=5.0, random_state=seed)
    return _scaled(X), y / np.std(y)


def _data(kind):
    return {"multiclass": _multiclass, "binary": _binary, "multilabel": _multilabel,
            "regression": _regression, "multioutput": lambda: _regression(n_targets=3)}[kind]()


def _pair(kind, **params):
    """(scikit-learn estimator, swiftprop estimator) with the same parameters."""
    if kind in ("regression", "multioutput"):
        return sk_nn.MLPRegressor(**params), MLPRegressor(**params)
    return sk_nn.MLPClassifier(**params), MLPClassifier(**params)


def _assert_same_fit(ref, ours, rtol=1e-7, atol=1e-9):
    """Same parameters, loss and iteration counts as the scikit-learn estimator ``ref``."""
    assert ours.n_iter_ == ref.n_iter_
    assert ours.t_ == ref.t_
    assert ours.n_layers_ == ref.n_layers_ and ours.n_outputs_ == ref.n_outputs_
    assert ours.out_activation_ == ref.out_activation_
    for a, b in zip(ref.coefs_, ours.coefs_):
        assert b.shape == a.shape
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
    for a, b in zip(ref.intercepts_, ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=rtol)
    if hasattr(ref, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=rtol)


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------

def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")


def test_import_swiftprop_does_not_import_sklearn():
    r = _run("import sys, swiftprop; print('sklearn' in sys.modules, "
             "'MLPClassifier' in dir(swiftprop)); swiftprop.MLPRegressor; print('sklearn' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True", "True"]


def test_missing_sklearn_raises_clear_import_error():
    r = _run("import sys\nsys.modules['sklearn'] = None\nimport swiftprop\n"
             "try:\n    swiftprop.MLPClassifier\nexcept ImportError as e:\n    print('IMPORTERROR', e)\n")
    assert r.returncode == 0, r.stderr
    assert "IMPORTERROR" in r.stdout and "scikit-learn" in r.stdout and "pip install" in r.stdout


def test_lazy_attribute_is_the_class_and_unknown_names_raise():
    assert sp.MLPClassifier is MLPClassifier and sp.MLPRegressor is MLPRegressor
    with pytest.raises(AttributeError):
        sp.NoSuchEstimator  # noqa: B018


# --------------------------------------------------------------------------------------------
# Numerical equivalence with scikit-learn (shuffle=False: both visit the same batches)
# --------------------------------------------------------------------------------------------

KINDS = ["multiclass", "binary", "multilabel", "regression", "multioutput"]
SOLVER_SETTINGS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd": dict(solver="sgd", learning_rate_init=0.05),
    "sgd-nesterov-off": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    # the velocity forms agree exactly while the learning rate is constant, and for any schedule
    # without momentum (see MLPClassifier's Notes)
    "sgd-invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, momentum=0.0),
    "sgd-adaptive": dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5, momentum=0.0,
                         n_iter_no_change=2, tol=1e-2),
    "adam-logistic": dict(solver="adam", activation="logistic", learning_rate_init=0.01),
    "adam-tanh-alpha0": dict(solver="adam", activation="tanh", alpha=0.0),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("setting", list(SOLVER_SETTINGS))
def test_matches_sklearn_exactly(kind, setting):
    X, y = _data(kind)
    params = dict(hidden_layer_sizes=(12, 7), shuffle=False, random_state=3, max_iter=25,
                  batch_size=64, alpha=1e-3)
    params.update(SOLVER_SETTINGS[setting])
    if setting == "lbfgs" and kind == "multioutput":
        pytest.skip("by design: see test_lbfgs_multioutput_objective_is_consistent")
    ref, ours = _pair(kind, **params)
    ref.fit(X, y)
    ours.fit(X, y)
    _assert_same_fit(ref, ours, rtol=1e-7)
    np.testing.assert_allclose(ours.predict(X[:20]), ref.predict(X[:20]), rtol=1e-6, atol=1e-9)
    if kind != "regression" and kind != "multioutput":
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_adaptive_schedule_divides_the_learning_rate_by_five():
    X, y = _multiclass()
    est = MLPClassifier((8,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.5,
                        momentum=0.0, n_iter_no_change=2, tol=1e-1, max_iter=40, shuffle=False,
                        random_state=0).fit(X, y)
    lr = est._optimizer.lr
    ratio = np.log(0.5 / lr) / np.log(5)
    assert lr < 0.5 and abs(ratio - round(ratio)) < 1e-9


def test_early_stopping_matches_sklearn_for_binary_targets():
    # scikit-learn stratifies binary targets, as we do: the same split, scores and restored parameters
    X, y = _binary(400)
    params = dict(hidden_layer_sizes=(10,), shuffle=False, random_state=5, max_iter=60, batch_size=50,
                  early_stopping=True, validation_fraction=0.25, n_iter_no_change=4,
                  learning_rate_init=0.05)
    ref, ours = _pair("binary", **params)
    ref.fit(X, y)
    ours.fit(X, y)
    assert ours.best_loss_ is None and ref.best_loss_ is None
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    assert ours.best_validation_score_ == pytest.approx(ref.best_validation_score_)
    _assert_same_fit(ref, ours)


def test_warm_start_matches_sklearn():
    # scikit-learn starts a new optimizer for each warm-started fit; so do we
    X, y = _multiclass()
    params = dict(hidden_layer_sizes=(10,), shuffle=False, random_state=1, max_iter=5, batch_size=60,
                  warm_start=True, learning_rate_init=0.01)
    ref, ours = _pair("multiclass", **params)
    for _ in range(3):
        ref.fit(X, y)
        ours.fit(X, y)
    assert len(ours.loss_curve_) == 15
    _assert_same_fit(ref, ours)


def test_initialisation_is_sklearns():
    rs = np.random.RandomState(7)
    est = MLPClassifier((5, 4), activation="logistic", max_iter=1, solver="sgd",
                        learning_rate_init=1e-12, momentum=0.0, random_state=7, shuffle=False)
    X, y = _multiclass(30)
    est.fit(X, y)
    # factor 2 for logistic, every layer (output included); weights then biases per layer
    for (fan_in, fan_out), W, b in zip([(8, 5), (5, 4), (4, 3)], est.coefs_, est.intercepts_):
        bound = np.sqrt(2.0 / (fan_in + fan_out))
        np.testing.assert_allclose(W, rs.uniform(-bound, bound, (fan_in, fan_out)), atol=1e-9)
        np.testing.assert_allclose(b, rs.uniform(-bound, bound, fan_out), atol=1e-9)


# --------------------------------------------------------------------------------------------
# Accuracy on scikit-learn's bundled data sets, same hyper-parameters (shuffled mini-batches)
# --------------------------------------------------------------------------------------------

# name: (loader, kind, shared hyper-parameters)
BENCHMARK = {
    "digits": (load_digits, "classifier", dict(hidden_layer_sizes=(32,), max_iter=60)),
    "iris": (load_iris, "classifier", dict(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01)),
    "breast_cancer": (load_breast_cancer, "classifier", dict(hidden_layer_sizes=(32,), max_iter=150)),
    "wine": (load_wine, "classifier", dict(hidden_layer_sizes=(32,), max_iter=150)),
    "diabetes": (load_diabetes, "regressor",
                 dict(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01, alpha=1.0)),
}
SEEDS = (0, 1, 2)
# Tolerance on the mean over SEEDS of the test accuracy (classifiers) or R² (diabetes). Both libraries
# run the same computation (test_matches_sklearn_exactly shows it to 1e-7) but shuffle the samples with
# different random streams (scikit-learn a RandomState, swiftprop a numpy Generator), so on data sets
# with more than 200 training samples (several mini-batches per epoch) each run is a different random
# draw of the same training procedure. Measured seed-to-seed standard deviations are ~0.004 (digits)
# and ~0.012 (breast_cancer) accuracy and ~0.06 R² (diabetes, whose paired differences are ~0.01);
# the difference of two 3-seed means then has a standard deviation of about 0.01 accuracy and
# 0.015 R², so 0.02 / 0.03 is about two of them. iris and wine (< 200 training samples) are trained
# full-batch, where shuffling does not matter and the scores coincide.
TOLERANCE = {"classifier": 0.02, "regressor": 0.03}


def _benchmark(name):
    load, kind, params = BENCHMARK[name]
    X, y = load(return_X_y=True)
    scores = {"scikit-learn": [], "swiftprop": []}
    for seed in SEEDS:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                              stratify=y if kind == "classifier" else None)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        pair = _pair("multiclass" if kind == "classifier" else "regression", random_state=seed, **params)
        for lib, est in zip(scores, pair):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(Xtr, ytr)
            scores[lib].append(est.score(Xte, yte))
    return scores


@pytest.mark.parametrize("name", list(BENCHMARK))
def test_benchmark_at_least_as_good_as_sklearn(name):
    scores = _benchmark(name)
    kind = BENCHMARK[name][1]
    ref, ours = np.mean(scores["scikit-learn"]), np.mean(scores["swiftprop"])
    assert ours >= ref - TOLERANCE[kind], (name, scores)
    assert ours > (0.9 if kind == "classifier" else 0.3), (name, scores)  # and actually learnt


# --------------------------------------------------------------------------------------------
# scikit-learn conventions
# --------------------------------------------------------------------------------------------

def _float32_xfails(estimator):
    """Checks that fail for a float32 estimator, each marked as a strict xfail (an unexpected pass fails).

    Measured on every OpenBLAS kernel of this machine (SkylakeX, Haswell, Sandybridge, Katmai) with 1 and
    2 threads: these three fail every time. check_methods_sample_order_invariance and
    check_methods_subset_invariance pass everywhere and are ordinary tests: a permuted batch goes through
    the same kernels, so each row's output is bit-identical wherever it sits (0 difference over 12 data
    seeds); a one-row batch takes other kernels than the check's 20-row one, which can move a float32
    output by 1-3 ulp on other data (up to 3.6e-7 over 12 seeds), but on the check's own data the results
    agree within its atol = rtol = 1e-7 on all those kernels.
    """
    if np.dtype(estimator.dtype) != np.float32:
        return {}
    # float32 epochs on repeated samples and on weighted samples round differently: predictions differ
    # by a few float32 ulps (measured: up to 2.4e-7 on 4-42 % of them), beyond the check's rtol = 1e-7
    why = "float32 training: repeated and weighted samples round differently over the epochs"
    fails = {"check_sample_weight_equivalence_on_dense_data": why}
    if network_takes_sparse():  # the same check on CSR data (without a sparse core, it is not run)
        fails["check_sample_weight_equivalence_on_sparse_data"] = why
    if isinstance(estimator, MLPRegressor):
        fails["check_regressor_multioutput"] = ("dtype=float32 predicts float32 by design (the check "
                                                "wants float64 predictions)")
    return fails


def _check_name(check) -> str:
    while hasattr(check, "func"):  # functools.partial, possibly nested
        check = check.func
    return check.__name__


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        MLPClassifier(solver="lbfgs", max_iter=100),
        MLPRegressor(solver="lbfgs", max_iter=100),
        MLPClassifier(solver="sgd", max_iter=100, learning_rate_init=0.05),
        MLPClassifier(hidden_layer_sizes=(20, 10), activation=["tanh", "gelu"], max_iter=100),
        MLPClassifier(dtype=np.float32, max_iter=100),
        MLPRegressor(dtype=np.float32, max_iter=100),
    ],
)
def test_sklearn_estimator_checks(estimator, check, request):
    reason = _float32_xfails(estimator).get(_check_name(check))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    check(estimator)


def test_clone_keeps_params_and_drops_fit():
    X, y = _multiclass()
    est = MLPClassifier((7, 3), activation=["tanh", "relu"], dtype=np.float32, class_weight="balanced",
                        max_iter=5, random_state=0).fit(X, y)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "coefs_") and not hasattr(c, "_network")
    c.set_params(alpha=0.5, hidden_layer_sizes=(4,), activation="tanh")
    assert c.fit(X, y).coefs_[0].shape == (8, 4)


def test_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(max_iter=200, learning_rate_init=0.01, random_state=0))])
    grid = GridSearchCV(pipe, {"mlp__hidden_layer_sizes": [(8,), (16,)], "mlp__alpha": [1e-4, 1e-2]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ > 0.85
    assert grid.score(X, y) > 0.9
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0)
    scores = cross_val_score(make_pipeline(StandardScaler(), reg), *load_diabetes(return_X_y=True), cv=3)
    assert scores.shape == (3,) and np.mean(scores) > 0.2


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_pickle_round_trip_keeps_views_and_optimizer(solver):
    X, y = _multiclass()
    est = MLPClassifier((9,), solver=solver, max_iter=8, random_state=0, shuffle=False).fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(twin.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))
    assert twin.loss_curve_ == est.loss_curve_ and twin.n_iter_ == est.n_iter_
    # coefs_ / intercepts_ are views of the new network, not of the old one or copies
    for c, b in zip(twin.coefs_, twin.intercepts_):
        assert np.shares_memory(c, twin._network.params) and np.shares_memory(b, twin._network.params)
        assert not np.shares_memory(c, est._network.params)
    saved = twin.coefs_[0][0, 0]
    twin.coefs_[0][0, 0] = 42.0
    assert twin._network.weights[0][0, 0] == 42.0 and est._network.weights[0][0, 0] == saved
    twin.coefs_[0][0, 0] = saved
    # the optimizer state came along (pickled once, with the network): continuing both gives the
    # same parameters
    assert twin._optimizer is twin._network.optimizer and twin._optimizer is not None
    assert twin._optimizer.t == est._optimizer.t > 0
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(twin._network.params, est._network.params)


def test_pickle_lbfgs_with_sample_weight():
    X, y = _multiclass()
    est = MLPClassifier((6,), solver="lbfgs", max_iter=30, random_state=0)
    est.fit(X, y, sample_weight=np.linspace(0.5, 2, len(y)))
    assert est._network.optimizer is None  # no helper optimizer left on the network
    twin = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(twin.predict_proba(X), est.predict_proba(X))
    assert twin._optimizer is None


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _multiclass()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = MLPClassifier((4,), max_iter=3).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, df.columns)
    np.testing.assert_array_equal(est.predict(df), est.predict(X))


def test_pickle_regressor_float32():
    X, y = _regression(n_targets=2)
    est = MLPRegressor(hidden_layer_sizes=(6,), dtype=np.float32, max_iter=5, random_state=0).fit(X, y)
    twin = pickle.loads(pickle.dumps(est))
    assert twin.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(twin.predict(X), est.predict(X))


# --------------------------------------------------------------------------------------------
# Attributes, views, outputs
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, n_out, out_act", [("multiclass", 3, "softmax"), ("binary", 1, "logistic"),
                                                  ("multilabel", 4, "logistic"),
                                                  ("regression", 1, "identity"),
                                                  ("multioutput", 3, "identity")])
def test_fitted_attributes(kind, n_out, out_act):
    X, y = _data(kind)
    est = _pair(kind, hidden_layer_sizes=(6, 5), max_iter=3, random_state=0)[1].fit(X, y)
    assert est.n_outputs_ == n_out and est.out_activation_ == out_act
    assert est.n_layers_ == 4 and est.n_features_in_ == 8 and est.n_iter_ == 3
    assert est.t_ == 3 * len(X) and len(est.loss_curve_) == 3 and est.loss_ == est.loss_curve_[-1]
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert [c.shape for c in est.coefs_] == [(8, 6), (6, 5), (5, n_out)]
    assert [b.shape for b in est.intercepts_] == [(6,), (5,), (n_out,)]
    for c, W in zip(est.coefs_, est._network.weights):
        assert np.shares_memory(c, est._network.params) and c.base is not None
        np.testing.assert_array_equal(c, W.T)
    before = est.predict(X)
    est.coefs_[-1][...] = 0  # a view: writing into it changes the model
    est.intercepts_[-1][...] = 0
    after = est.predict(X)
    assert not np.array_equal(before, after)
    if est.out_activation_ == "identity":
        np.testing.assert_array_equal(after, 0)


def test_classifier_outputs():
    X, y = _multiclass()
    labels = np.array(["ant", "bee", "cat"])[y]
    est = MLPClassifier((10,), max_iter=100, learning_rate_init=0.01, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(est.classes_, ["ant", "bee", "cat"])
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba))
    assert est.score(X, labels) > 0.8

    Xb, yb = _binary()
    est = MLPClassifier((10,), max_iter=50, random_state=0).fit(Xb, yb * 2 - 1)  # labels -1, 1
    proba = est.predict_proba(Xb)
    assert proba.shape == (len(Xb), 2) and est.n_outputs_ == 1
    np.testing.assert_allclose(proba[:, 1], est._network.forward(Xb)[:, 0])
    np.testing.assert_array_equal(est.predict(Xb), np.where(proba[:, 1] > 0.5, 1, -1))


def test_multilabel():
    X, Y = _multilabel(400)
    est = MLPClassifier((32,), max_iter=200, learning_rate_init=0.01, random_state=0).fit(X, Y)
    np.testing.assert_array_equal(est.classes_, np.arange(4))
    pred = est.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert est._network.loss == "binary_cross_entropy"
    assert (pred == Y).mean() > 0.85  # per-label accuracy
    assert est.score(X, Y) > 0.5  # subset accuracy


def test_multioutput_regression_and_loss_definition():
    X, Y = _regression(n_targets=3)
    est = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=300, alpha=0.01,
                       random_state=0).fit(X, Y)
    pred = est.predict(X)
    assert pred.shape == Y.shape and est.score(X, Y) > 0.9
    # loss_ in scikit-learn's definition: ½·mean over samples AND outputs, + ½·alpha·Σ‖W‖²/n
    penalty = 0.5 * 0.01 * sum((c ** 2).sum() for c in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(0.5 * np.mean((pred - Y) ** 2) + penalty, rel=1e-9)


def test_lbfgs_multioutput_objective_is_consistent():
    # scikit-learn hands L-BFGS ½·mean-over-outputs as the loss but the gradient of ½·sum-over-outputs;
    # we optimise the objective whose gradient is used, which reaches a lower loss_
    X, Y = _regression(n_targets=3)
    ref, ours = _pair("multioutput", hidden_layer_sizes=(12,), solver="lbfgs", max_iter=200, random_state=0)
    ref.fit(X, Y)
    ours.fit(X, Y)
    assert ours.loss_ <= ref.loss_ * 1.05
    assert ours.score(X, Y) >= ref.score(X, Y) - 0.01


# --------------------------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------------------------

def test_float32_stays_float32_without_copying_X():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 100)).astype(np.float32)  # 8 MB
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier((4,), dtype=np.float32, max_iter=1, batch_size=500, random_state=0)
    tracemalloc.start()
    try:
        est.fit(X, y)
        proba = est.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)
    assert est._network.dtype == np.float32 and proba.dtype == np.float32
    # a float64 copy of X would take 2 × X.nbytes (a float32 copy X.nbytes)
    assert peak < 0.5 * X.nbytes, peak
    # the default dtype follows X (float32 here), as scikit-learn; an explicit float64 upcasts
    assert MLPClassifier((4,), max_iter=1, random_state=0).fit(X[:500], y[:500]).coefs_[0].dtype == np.float32
    est64 = MLPClassifier((4,), max_iter=1, random_state=0, dtype=np.float64).fit(X[:500], y[:500])
    assert est64.coefs_[0].dtype == np.float64


def test_float32_matches_float64():
    X, y = _multiclass()
    a = MLPClassifier((10,), max_iter=30, random_state=0, shuffle=False).fit(X, y)
    b = MLPClassifier((10,), max_iter=30, random_state=0, shuffle=False, dtype="float32").fit(X, y)
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(cb, ca, atol=2e-4)
    assert (a.predict(X) == b.predict(X)).mean() > 0.98


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_zero_sample_weights_equal_dropping_samples(solver):
    X, y = _multiclass(300)  # > 200 samples: several shuffled mini-batches per epoch
    rng = np.random.default_rng(0)
    X_noise, y_noise = rng.normal(size=(100, 8)), rng.integers(0, 3, 100)
    noise_at = np.sort(rng.choice(400, 100, replace=False))  # zero-weight samples interleaved
    keep = np.setdiff1d(np.arange(400), noise_at)
    X_all, y_all, w = np.empty((400, 8)), np.empty(400, dtype=int), np.zeros(400)
    X_all[keep], y_all[keep], w[keep] = X, y, 1.0
    X_all[noise_at], y_all[noise_at] = X_noise, y_noise
    kw = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=20, random_state=0, alpha=1e-2)
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X_all, y_all, sample_weight=w)
    # the same model up to the order of floating-point sums
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(cb, ca, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b.loss_, a.loss_, rtol=1e-7)
    # the L2 term is divided by the weight sum, as scikit-learn's: weights × 3 is alpha / 3
    if solver == "lbfgs":
        c = MLPClassifier(**{**kw, "alpha": 1e-2 / 3}).fit(X, y)
        d = MLPClassifier(**kw).fit(X_all, y_all, sample_weight=3.0 * w)
        for cc, cd in zip(c.coefs_, d.coefs_):
            np.testing.assert_allclose(cd, cc, rtol=1e-5, atol=1e-7)


def test_integer_sample_weights_equal_repeating_samples_lbfgs():
    X, y = _regression(100)
    w = np.random.default_rng(1).integers(0, 4, len(X))
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50, random_state=0)
    a = MLPRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    b = MLPRegressor(**kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-6, atol=1e-8)


def test_sample_weight_matches_sklearn_full_batch():
    X, y = _binary()
    w = np.random.default_rng(2).uniform(0, 3, len(X))
    params = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, max_iter=20, alpha=0.1,
                  batch_size=len(X))
    ref, ours = _pair("binary", **params)
    ref.fit(X, y, sample_weight=w)
    ours.fit(X, y, sample_weight=w)
    _assert_same_fit(ref, ours)


def test_class_weight():
    X, y = make_classification(400, 6, weights=[0.9, 0.1], random_state=0)
    X = _scaled(X)
    kw = dict(hidden_layer_sizes=(8,), max_iter=100, learning_rate_init=0.01, random_state=0, shuffle=False)
    balanced = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    explicit = MLPClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(balanced._network.params, explicit._network.params)
    as_dict = MLPClassifier(class_weight={0: 1.0, 1: 5.0}, **kw).fit(X, y)
    by_hand = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0))
    np.testing.assert_array_equal(as_dict._network.params, by_hand._network.params)
    # combined with sample_weight: multiplied
    sw = np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    both = MLPClassifier(class_weight={0: 1.0, 1: 5.0}, **kw).fit(X, y, sample_weight=sw)
    prod = MLPClassifier(**kw).fit(X, y, sample_weight=sw * np.where(y == 1, 5.0, 1.0))
    np.testing.assert_array_equal(both._network.params, prod._network.params)
    # and it does something: the minority class is recalled more often
    plain = MLPClassifier(**kw).fit(X, y)
    recall = lambda est: (est.predict(X)[y == 1] == 1).mean()  # noqa: E731
    assert recall(balanced) > recall(plain)
    with pytest.raises(ValueError, match="multi-label"):
        MLPClassifier(class_weight="balanced", max_iter=2).fit(*_multilabel())
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_sample_weight_errors():
    X, y = _binary()
    est = MLPClassifier(max_iter=2)
    with pytest.raises(ValueError, match="shape"):
        est.fit(X, y, sample_weight=np.ones(len(y) + 1))
    with pytest.raises(ValueError, match="non-negative"):
        est.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="zero"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))


# --------------------------------------------------------------------------------------------
# Per-layer activations
# --------------------------------------------------------------------------------------------

def test_per_layer_activations():
    X, y = _multiclass()
    est = MLPClassifier((9, 7, 5), activation=["tanh", "logistic", "gelu"], max_iter=30,
                        random_state=0).fit(X, y)
    assert est._network.activations == ("tanh", "sigmoid", "gelu", "softmax")
    # the prediction is the forward pass with these activations, written out in NumPy
    gelu = lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))  # noqa: E731
    h = np.tanh(X @ est.coefs_[0] + est.intercepts_[0])
    h = 1 / (1 + np.exp(-(h @ est.coefs_[1] + est.intercepts_[1])))
    h = gelu(h @ est.coefs_[2] + est.intercepts_[2])
    z = h @ est.coefs_[3] + est.intercepts_[3]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(X), p / p.sum(axis=1, keepdims=True), rtol=1e-10, atol=1e-12)
    # a list with the same activation everywhere is the same model as the single name
    kw = dict(hidden_layer_sizes=(6, 4), max_iter=10, random_state=1)
    a = MLPRegressor(activation="tanh", **kw).fit(*_regression())
    b = MLPRegressor(activation=("tanh", "tanh"), **kw).fit(*_regression())
    np.testing.assert_array_equal(a._network.params, b._network.params)
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        MLPClassifier((9, 7), activation=["tanh"]).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier((9,), activation=["softmax"]).fit(X, y)


@pytest.mark.parametrize("act", ["identity", "logistic", "tanh", "relu", "sigmoid", "leaky_relu", "elu",
                                 "softplus", "gelu"])
def test_every_activation_learns(act):
    X, y = _multiclass()
    est = MLPClassifier((16,), activation=act, max_iter=100, learning_rate_init=0.01, random_state=0)
    assert est.fit(X, y).score(X, y) > 0.7


# --------------------------------------------------------------------------------------------
# partial_fit, warm_start, early stopping, lbfgs
# --------------------------------------------------------------------------------------------

def test_partial_fit_equals_fit_epochs():
    X, y = _multiclass()
    kw = dict(hidden_layer_sizes=(10,), random_state=0, shuffle=False, batch_size=50)
    full = MLPClassifier(max_iter=7, tol=0, n_iter_no_change=100, **kw).fit(X, y)
    inc = MLPClassifier(**kw)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, y)
    for _ in range(7):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert inc.n_iter_ == 1 and inc.t_ == 7 * len(X)
    np.testing.assert_allclose(inc.loss_curve_, full.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(inc._network.params, full._network.params, rtol=1e-12, atol=1e-14)
    # partial_fit keeps the optimizer: Adam's step count carries on
    assert inc._optimizer.t == 7 * 5
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        inc.partial_fit(X, y + 5)
    # a subset of the classes is fine on later calls
    inc.partial_fit(X[y < 2], y[y < 2])
    reg = MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    for _ in range(3):
        reg.partial_fit(*_regression())
    assert len(reg.loss_curve_) == 3 and reg.t_ == 3 * 240
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(*_regression())


def test_warm_start_continues_and_cold_start_restarts():
    X, y = _multiclass()
    kw = dict(hidden_layer_sizes=(10,), random_state=0, max_iter=5)
    cold = MLPClassifier(**kw).fit(X, y)
    first = cold._network.params.copy()
    cold.fit(X, y)
    np.testing.assert_array_equal(cold._network.params, first)  # re-initialised, same seed
    assert len(cold.loss_curve_) == 5
    warm = MLPClassifier(warm_start=True, **kw).fit(X, y)
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 10 and warm.t_ == 10 * len(X)
    assert warm.loss_curve_[-1] < cold.loss_curve_[-1]
    with pytest.raises(ValueError, match="same classes"):
        warm.fit(X[y < 2], y[y < 2])
    warm.set_params(hidden_layer_sizes=(11,))
    with pytest.raises(ValueError, match="warm_start=False"):
        warm.fit(X, y)


def test_early_stopping_restores_best(monkeypatch):
    X, y = _multiclass(400)
    snapshots = []
    original = sp.Network.fit

    def recording_fit(self, *args, **kwargs):
        history = original(self, *args, **kwargs)
        snapshots.append(self.params.copy())
        return history

    monkeypatch.setattr(sp.Network, "fit", recording_fit)
    est = MLPClassifier((32,), early_stopping=True, learning_rate_init=0.05, n_iter_no_change=5,
                        max_iter=200, random_state=0, validation_fraction=0.2).fit(X, y)
    assert est.n_iter_ < 200 and len(snapshots) == est.n_iter_ == len(est.validation_scores_)
    assert est.best_loss_ is None
    best = int(np.argmax(est.validation_scores_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    assert best < est.n_iter_ - 1  # the last epochs did not improve
    np.testing.assert_array_equal(est._network.params, snapshots[best])
    assert not np.array_equal(est._network.params, snapshots[-1])


def test_early_stopping_split_is_stratified_for_classifiers(monkeypatch):
    import swiftprop.sklearn._base as estimators  # the module whose fit makes the split

    calls = []
    original = estimators.train_test_split

    def spy(*arrays, **kwargs):
        calls.append(kwargs)
        return original(*arrays, **kwargs)

    monkeypatch.setattr(estimators, "train_test_split", spy)
    X, y = _multiclass()
    MLPClassifier((4,), early_stopping=True, max_iter=2, validation_fraction=0.2).fit(X, y)
    np.testing.assert_array_equal(calls[-1]["stratify"], y)
    assert calls[-1]["test_size"] == 0.2
    MLPClassifier((4,), early_stopping=True, max_iter=2).fit(*_multilabel())
    assert calls[-1]["stratify"] is None
    MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=2).fit(*_regression())
    assert calls[-1]["stratify"] is None


def test_early_stopping_regressor():
    X, y = _regression(300)
    est = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, max_iter=300,
                       learning_rate_init=0.01,
                       random_state=0).fit(X, y)
    assert est.best_validation_score_ == max(est.validation_scores_) > 0.8
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.05).fit(X[:12], y[:12])


def test_lbfgs_converges_on_iris():
    X, y = load_iris(return_X_y=True)
    X = _scaled(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        est = MLPClassifier((16,), solver="lbfgs", max_iter=2000, random_state=0).fit(X, y)
    assert est.n_iter_ < 2000
    assert est.score(X, y) >= 0.98
    # loss_ is the cross-entropy at the solution plus the L2 term
    p = est.predict_proba(X)
    penalty = 0.5 * 1e-4 * sum((c ** 2).sum() for c in est.coefs_) / len(X)
    assert est.loss_ == pytest.approx(-np.mean(np.log(p[np.arange(len(y)), y])) + penalty, rel=1e-8)
    assert not hasattr(est, "loss_curve_") and est.t_ == 0
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((16,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)


def test_convergence_warning_and_tol_stop():
    X, y = _multiclass()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MLPClassifier((5,), max_iter=500, tol=1e-2, n_iter_no_change=2, random_state=0).fit(X, y)
    assert est.n_iter_ < 500 and est._no_improvement_count == 3


def test_batch_size_and_verbose(capsys):
    X, y = _binary(100)
    with pytest.warns(UserWarning, match="clipped"):
        MLPClassifier((4,), batch_size=1000, max_iter=2).fit(X, y)
    est = MLPClassifier((4,), batch_size=7, max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out
    assert est._optimizer.t == 2 * int(np.ceil(100 / 7))


# --------------------------------------------------------------------------------------------
# Interruption, divergence, errors
# --------------------------------------------------------------------------------------------

def test_keyboard_interrupt_leaves_a_usable_model(monkeypatch):
    X, y = _multiclass()
    calls = []
    original = sp.Network.fit

    def interrupted_fit(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.Network, "fit", interrupted_fit)
    with pytest.warns(UserWarning, match="interrupted"):
        est = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert est.predict(X).shape == (len(X),)


def test_real_ctrl_c_during_fit():
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier((128,), max_iter=100000, tol=0, n_iter_no_change=10 ** 6, batch_size=16,
                        random_state=0)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            est.fit(X / 16, y)
    finally:
        timer.cancel()
    assert 0 < est.n_iter_ < 100000
    assert est.score(X / 16, y) > 0.5


def test_lbfgs_keyboard_interrupt(monkeypatch):
    X, y = _multiclass()
    calls = []
    original = sp.Network.backward

    def interrupted_backward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.Network, "backward", interrupted_backward)
    with pytest.warns(UserWarning, match="interrupted"):
        est = MLPClassifier((8,), solver="lbfgs", max_iter=50, random_state=0).fit(X, y)
    assert est.n_iter_ < 10 and np.isfinite(est.loss_)
    assert est.predict(X).shape == (len(X),)


def test_divergence_raises_value_error():
    X, y = _regression(100)
    with pytest.raises(ValueError, match="non-finite"):
        MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0,
                     max_iter=20).fit(X * 100, y * 1e8)


def test_not_fitted_and_wrong_n_features():
    X, y = _multiclass()
    for est in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError):
            est.predict(X)
    with pytest.raises(NotFittedError):
        MLPClassifier().predict_proba(X)
    est = MLPClassifier((4,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :5])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :5], y)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(*_regression())
    with pytest.raises(ValueError, match="features"):
        reg.predict(np.ones((3, 9)))


@pytest.mark.parametrize("params, match", [
    (dict(solver="newton"), "solver"),
    (dict(activation="swish"), "activation"),
    (dict(alpha=-1.0), "alpha"),
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="wide"), "hidden_layer_sizes"),
    (dict(batch_size=0), "batch_size"),
    (dict(learning_rate="cyclic"), "learning_rate"),
    (dict(learning_rate_init=0.0), "learning_rate_init"),
    (dict(max_iter=0), "max_iter"),
    (dict(momentum=1.5), "momentum"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(beta_2=1.0), "beta_2"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(dtype=np.int32), "dtype"),
    (dict(shuffle="yes"), "shuffle"),
    (dict(class_weight="heavy"), "class_weight"),
])
def test_invalid_parameters(params, match):
    X, y = _binary(60)
    est = MLPClassifier(**{"max_iter": 2, **params})  # the constructor only stores them
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_invalid_inputs():
    # sparse X, one class and loss='poisson': see test_estimators_dropin.py
    X, y = _multiclass()
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(max_iter=2).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="huber").fit(*_regression())
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier(max_iter=2).fit(np.where(X > 2, np.nan, X), y)


if __name__ == "__main__":  # print the benchmark table
    print(f"{'data set':15s} {'metric':9s} {'scikit-learn':>22s} {'swiftprop':>22s}")
    for name, (_, kind, params) in BENCHMARK.items():
        s = _benchmark(name)
        metric = "accuracy" if kind == "classifier" else "R²"
        cols = [f"{np.mean(v):.4f} ({', '.join(f'{x:.3f}' for x in v)})" for v in s.values()]
        print(f"{name:15s} {metric:9s} {cols[0]:>22s} {cols[1]:>22s}   {params}")
