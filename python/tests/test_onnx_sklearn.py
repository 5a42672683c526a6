"""skl2onnx conversion of swiftprop's estimators (issue 14): same outputs as scikit-learn's MLPs, run in
onnxruntime against predict / predict_proba."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed: pip install 'swiftprop[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

from sklearn import neural_network  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression  # noqa: E402

import swiftprop as sp  # noqa: E402

ZIPMAP_OPTIONS = [None, {"zipmap": False}, {"zipmap": "columns"}, {"nocl": True}, {"zipmap": False, "nocl": True},
                  {"zipmap": False, "output_class_labels": True}]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence
        return est.fit(X, y)


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _signature(sess):
    return [(o.name, o.type, [d if isinstance(d, int) else None for d in o.shape]) for o in sess.get_outputs()]


def _classification(kind, seed=0):
    n_classes = {"binary": 2, "multiclass": 4}[kind]
    X, y = make_classification(160, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=seed)
    return X, y


@pytest.mark.parametrize("options", ZIPMAP_OPTIONS, ids=str)
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_classifier_outputs_like_sklearn(kind, labels, options):
    X, y = _classification(kind)
    nocl = bool(options and options.get("nocl"))
    if labels == "str":
        y = np.array(["cat", "dog", "eel", "fox"])[y]
    params = dict(hidden_layer_sizes=(7,), max_iter=30, random_state=0)
    ours = _fit(sp.MLPClassifier(activation="tanh", **params), X, y)
    theirs = _fit(neural_network.MLPClassifier(activation="tanh", **params), X, y)
    X32 = X.astype(np.float32)
    s_ours = _session(skl2onnx.to_onnx(ours, X32[:1], options=options))
    if not (nocl and labels == "str"):  # scikit-learn's own converter gives a broken graph for that one
        s_theirs = _session(skl2onnx.to_onnx(theirs, X32[:1], options=options))
        assert _signature(s_ours) == _signature(s_theirs)

    got = s_ours.run(None, {s_ours.get_inputs()[0].name: X32})
    want_label = ours.predict(X32)
    want_proba = ours.predict_proba(X32)
    if nocl:
        want_label = np.searchsorted(ours.classes_, want_label)
    np.testing.assert_array_equal(got[0], want_label)
    proba = got[1]
    if not options or options.get("zipmap") is not False and "zipmap" not in options:
        proba = np.array([[row[k] for k in sorted(row)] for row in proba])  # ZipMap: list of dicts
    elif options.get("zipmap") == "columns":
        proba = np.column_stack(got[1:1 + len(ours.classes_)])
    np.testing.assert_allclose(proba, want_proba, rtol=1e-5, atol=1e-6)
    if options and options.get("output_class_labels"):
        np.testing.assert_array_equal(got[-1], ours.classes_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("activation", ["relu", "logistic", "gelu", "elu", "softplus", "leaky_relu"])
def test_classifier_precision_follows_input(activation, dtype):
    X, y = _classification("multiclass", seed=1)
    clf = _fit(sp.MLPClassifier(hidden_layer_sizes=(6, 5), activation=activation, max_iter=20, random_state=0,
                                dtype=dtype), X, y)
    Xd = X.astype(dtype)
    sess = _session(skl2onnx.to_onnx(clf, Xd[:1], options={"zipmap": False}))
    label, proba = sess.run(None, {sess.get_inputs()[0].name: Xd})
    assert proba.dtype == dtype
    np.testing.assert_array_equal(label, clf.predict(Xd))
    tol = 1e-5 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(proba, clf.predict_proba(Xd), rtol=tol, atol=tol)


def test_multilabel_classifier():
    X, Y = make_multilabel_classification(120, 6, n_classes=3, random_state=0)
    clf = _fit(sp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0), X, Y)
    X32 = X.astype(np.float32)
    sess = _session(skl2onnx.to_onnx(clf, X32[:1], options={"zipmap": False}))
    label, proba = sess.run(None, {sess.get_inputs()[0].name: X32})
    assert label.shape == Y.shape and label.dtype == np.int64
    np.testing.assert_array_equal(label, clf.predict(X32))
    np.testing.assert_allclose(proba, clf.predict_proba(X32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_regressor(n_targets, dtype):
    X, y = make_regression(150, 5, n_targets=n_targets, random_state=0)
    y = y / y.std()
    params = dict(hidden_layer_sizes=(9,), max_iter=30, random_state=0)
    ours = _fit(sp.MLPRegressor(dtype=dtype, **params), X, y)
    Xd = X.astype(dtype)
    sess = _session(skl2onnx.to_onnx(ours, Xd[:1]))
    (out,) = sess.get_outputs()
    assert out.name == "variable" and out.shape[1] == n_targets
    if n_targets == 1:  # one target: same signature as scikit-learn's MLPRegressor
        theirs = _fit(neural_network.MLPRegressor(**params), X, y)
        assert _signature(sess) == _signature(_session(skl2onnx.to_onnx(theirs, Xd[:1])))
    (got,) = sess.run(None, {sess.get_inputs()[0].name: Xd})
    want = ours.predict(Xd).reshape(len(X), n_targets)
    assert got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_in_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _classification("multiclass")
    pipe = _fit(make_pipeline(StandardScaler(), sp.MLPClassifier(hidden_layer_sizes=(6,), max_iter=20,
                                                                 random_state=0)), X, y)
    X32 = X.astype(np.float32)
    sess = _session(skl2onnx.to_onnx(pipe, X32[:1], options={id(pipe.steps[-1][1]): {"zipmap": False}}))
    label, proba = sess.run(None, {sess.get_inputs()[0].name: X32})
    np.testing.assert_array_equal(label, pipe.predict(X32))
    np.testing.assert_allclose(proba, pipe.predict_proba(X32), rtol=1e-4, atol=1e-5)


def test_registered_whichever_is_imported_first():
    # skl2onnx imported after swiftprop.sklearn (the hook registers on its import), and before it
    code = """
import sys, numpy as np
{first}
{second}
X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
reg = swiftprop.sklearn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5).fit(X, X[:, 0])
print(skl2onnx.to_onnx(reg, X[:1]).graph.output[0].name)
"""
    for first, second in [("import swiftprop.sklearn", "import skl2onnx"),
                          ("import skl2onnx", "import swiftprop.sklearn")]:
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", code.format(first=first, second=second)],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "variable"


def test_importing_estimators_does_not_import_skl2onnx():
    out = subprocess.run([sys.executable, "-c", "import sys, swiftprop.sklearn; print('skl2onnx' in sys.modules)"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
