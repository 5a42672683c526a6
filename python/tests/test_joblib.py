"""GridSearchCV over swiftprop's estimators with joblib's process (loky) and thread backends.

Both must give the same best_params_ and cv scores as n_jobs=1, bit for bit. swiftprop's OpenBLAS
pool is its own (not NumPy's), and it sizes itself from SWIFTPROP_NUM_THREADS or the CPU count: joblib
limits OMP_NUM_THREADS / OPENBLAS_NUM_THREADS in loky workers, which swiftprop does not read, so two
workers on two cores would each start two BLAS threads (four threads on two cores). The test gives
the workers SWIFTPROP_NUM_THREADS=1 through the environment they inherit, and runs the threading
backend with swiftprop.set_num_threads(1) (threads share the process, and each fit releases the GIL
in Swift, so the jobs really do run side by side). The same thread count in every run also keeps the
floating-point results identical.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import swiftprop as sp  # noqa: E402
from swiftprop import MLPClassifier  # noqa: E402

GRID = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1], "solver": ["adam", "sgd"]}


def _data():
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = rng.normal(size=(3, 4))[y] + rng.normal(scale=1.2, size=(150, 4))
    return X, y


def _search(n_jobs: int) -> GridSearchCV:
    X, y = _data()
    est = MLPClassifier(max_iter=15, learning_rate_init=0.05, batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(est, GRID, cv=3, n_jobs=n_jobs).fit(X, y)


def _worker_threads() -> tuple[int, str]:
    import os

    import swiftprop

    return swiftprop.get_num_threads(), os.environ.get("SWIFTPROP_NUM_THREADS", "")


@pytest.fixture(scope="module")
def one_blas_thread():
    """SWIFTPROP_NUM_THREADS=1 for new loky workers, one thread in this process; fresh loky workers."""
    from joblib.externals.loky import get_reusable_executor

    before = sp.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWIFTPROP_NUM_THREADS", "1")
        sp.set_num_threads(1)
        get_reusable_executor().shutdown(wait=True)  # workers started earlier keep their old environment
        try:
            yield
        finally:
            get_reusable_executor().shutdown(wait=True)
            sp.set_num_threads(before)


@pytest.fixture(scope="module")
def serial(one_blas_thread):
    return _search(n_jobs=1)


def _same(a: GridSearchCV, b: GridSearchCV) -> None:
    assert a.best_params_ == b.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key], err_msg=key)
    np.testing.assert_array_equal(a.best_estimator_._network.params, b.best_estimator_._network.params)


def test_grid_search_loky_matches_serial(serial):
    with joblib.parallel_config(backend="loky"):
        # the workers see SWIFTPROP_NUM_THREADS=1 and use one BLAS thread each
        probes = joblib.Parallel(n_jobs=2)(joblib.delayed(_worker_threads)() for _ in range(4))
        assert set(probes) == {(1, "1")}
        parallel = _search(n_jobs=2)
    _same(parallel, serial)
    assert len(parallel.cv_results_["params"]) == 8


def test_grid_search_threading_matches_serial(serial):
    with joblib.parallel_config(backend="threading"):
        parallel = _search(n_jobs=2)
    _same(parallel, serial)
