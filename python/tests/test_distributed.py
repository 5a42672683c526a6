"""Data-parallel training over MPI: ``Network.fit(comm=...)`` and ``MLPClassifier.fit(comm=...)``.

Each test launches ``mpirun -n 2 python <this file> <scenario> <dir>`` on localhost; the ranks run
the scenario (the ``_worker_*`` functions below), write what they saw to ``<dir>/<scenario>.<rank>.json``
and the test checks it. The tests skip when mpirun or mpi4py is missing (``scripts/install_mpi.sh``
installs both). Open MPI refuses to run as root unless told, so the launch sets
OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM) (MPICH ignores them), and each rank uses one BLAS thread so that
two ranks fit on two cores.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve()
RANKS = 2
TIMEOUT = 120  # seconds per mpirun launch; a deadlock fails the test instead of hanging CI

# ---------------------------------------------------------------------------------------------
# the data the ranks train on
# ---------------------------------------------------------------------------------------------

N_LOCAL, BATCH, D_IN, N_CLASSES = 50, 8, 6, 3  # 50 rows per rank in batches of 8: the last has 2


def _dataset(n_local: int = N_LOCAL, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, integer labels and regression targets for RANKS shards of n_local rows (shard r: rows
    r*n_local ...); every shard holds every class."""
    rng = np.random.default_rng(seed)
    n = RANKS * n_local
    y = np.arange(n) % N_CLASSES
    rng.shuffle(y)
    y[:N_CLASSES] = np.arange(N_CLASSES)
    y[n_local:n_local + N_CLASSES] = np.arange(N_CLASSES)
    centers = rng.normal(scale=2.0, size=(N_CLASSES, D_IN))
    X = centers[y] + rng.normal(size=(n, D_IN))
    T = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3]], axis=1)
    return X, y, T


def _interleaved_order(n_local: int, batch: int) -> np.ndarray:
    """Row order of the 1-rank equivalent: its global batch b is [rank 0's batch b; rank 1's batch b; ...]."""
    n_batches = -(-n_local // batch)
    return np.concatenate([np.arange(r * n_local + b * batch, r * n_local + min(n_local, (b + 1) * batch))
                           for b in range(n_batches) for r in range(RANKS)])


# ---------------------------------------------------------------------------------------------
# what the ranks run (under mpirun)
# ---------------------------------------------------------------------------------------------

def _optimizer(net, name: str):
    from swiftprop.optim import SGD, Adam

    return SGD(net, lr=0.05, momentum=0.9) if name == "sgd" else Adam(net, lr=0.01)


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _worker_network(comm) -> dict:
    """(a) 2 ranks == 1 rank on the interleaved union, float64, alpha > 0, SGD+momentum and Adam;
    (b) every rank ends with the same parameters, also with shuffling (different order per rank)."""
    import swiftprop as sp

    rank = comm.Get_rank()
    X, y, T = _dataset()
    mine = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    order = _interleaved_order(N_LOCAL, BATCH)
    out: dict = {"cases": {}}
    for loss in ("cross_entropy", "mse"):
        targets = y if loss == "cross_entropy" else T
        n_out = N_CLASSES if loss == "cross_entropy" else T.shape[1]
        for opt in ("sgd", "adam"):
            net = sp.Network([D_IN, 10, n_out], "tanh", loss, seed=0)
            h = net.fit(np.ascontiguousarray(X[mine]), np.ascontiguousarray(targets[mine]), epochs=3,
                        batch_size=BATCH, optimizer=_optimizer(net, opt), shuffle=False, alpha=0.05, comm=comm)
            case = {"hashes": comm.allgather(net.param_hash()), "loss": h.loss, "penalty": h.penalty}
            if rank == 0:  # the reference: one process, plain fit, global batch RANKS * BATCH
                ref = sp.Network([D_IN, 10, n_out], "tanh", loss, seed=0)
                hr = ref.fit(np.ascontiguousarray(X[order]), np.ascontiguousarray(targets[order]), epochs=3,
                             batch_size=RANKS * BATCH, optimizer=_optimizer(ref, opt), shuffle=False, alpha=0.05)
                case.update(ref_loss=hr.loss, ref_penalty=hr.penalty, params_rel=_rel(net.params, ref.params),
                            params_abs=float(np.max(np.abs(net.params - ref.params))),
                            params_moved=float(np.max(np.abs(ref.params - sp.Network(
                                [D_IN, 10, n_out], "tanh", loss, seed=0).params))))
            out["cases"][f"{loss}/{opt}"] = case
    # shuffled, each rank with its own seed: the steps stay in lockstep all the same
    for dtype in (np.float64, np.float32):
        net = sp.Network([D_IN, 10, N_CLASSES], "relu", "cross_entropy", dtype=dtype, seed=rank)  # bcast from 0
        net.fit(np.ascontiguousarray(X[mine], dtype=dtype), y[mine], epochs=2, batch_size=BATCH,
                optimizer=_optimizer(net, "adam"), shuffle=True, seed=100 + rank, comm=comm)
        out[f"shuffled_{np.dtype(dtype).name}_hashes"] = comm.allgather(net.param_hash())
    return out


def _worker_sklearn(comm) -> dict:
    """(c) MLPClassifier / MLPRegressor .fit(X_local, y_local, comm=...) on 2 ranks == a 1-rank fit on
    the interleaved union with twice the batch."""
    from sklearn.exceptions import ConvergenceWarning

    from swiftprop import MLPClassifier, MLPRegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    rank = comm.Get_rank()
    X, y, T = _dataset()
    mine = slice(rank * N_LOCAL, (rank + 1) * N_LOCAL)
    order = _interleaved_order(N_LOCAL, BATCH)
    labels = np.array(["ant", "bee", "cat"])[y]  # string classes: the encoding must agree across ranks
    out: dict = {}
    for solver in ("sgd", "adam"):
        for kind in ("classifier", "regressor"):
            est_cls, targets = (MLPClassifier, labels) if kind == "classifier" else (MLPRegressor, T)
            kw = dict(hidden_layer_sizes=(12,), solver=solver, shuffle=False, alpha=1e-3, max_iter=12,
                      learning_rate_init=0.01, random_state=0, tol=0.0)
            est = est_cls(batch_size=BATCH, **kw).fit(X[mine], targets[mine], comm=comm)
            case = {"hashes": comm.allgather(est._network.param_hash()), "n_iter": est.n_iter_, "t": est.t_,
                    "loss_curve": est.loss_curve_, "score": float(est.score(X, targets))}
            if kind == "classifier":
                case["classes"] = est.classes_.tolist()
            if rank == 0:
                ref = est_cls(batch_size=RANKS * BATCH, **kw).fit(X[order], targets[order])
                case.update(ref_loss_curve=ref.loss_curve_, ref_n_iter=ref.n_iter_, ref_t=ref.t_,
                            params_rel=_rel(est._network.params, ref._network.params))
            out[f"{kind}/{solver}"] = case
    # the default (shuffle=True, random_state=None): ranks shuffle differently and still agree
    clf = MLPClassifier(hidden_layer_sizes=(12,), max_iter=5, batch_size=BATCH).fit(X[mine], labels[mine],
                                                                                   comm=comm)
    out["default_hashes"] = comm.allgather(clf._network.param_hash())
    out["default_score"] = float(clf.score(X, labels))
    return out


def _worker_errors(comm) -> dict:
    """(d) inconsistent calls raise on every rank, and the job ends (no rank left in a collective)."""
    import swiftprop as sp

    from swiftprop import MLPClassifier

    rank = comm.Get_rank()
    X, y, _ = _dataset()
    out: dict = {}

    def attempt(name, fn):
        try:
            fn()
            out[name] = None
        except Exception as e:  # noqa: BLE001 - recorded for the test to check
            out[name] = [type(e).__name__, str(e)]

    def fit_rows(n_local):
        net = sp.Network([D_IN, 8, N_CLASSES], "relu", "cross_entropy", seed=0)
        net.fit(X[:n_local], y[:n_local], epochs=1, batch_size=BATCH, comm=comm)

    # 50 rows (7 batches of 8) on rank 0, 30 rows (4 batches) on rank 1
    attempt("batches", lambda: fit_rows(50 if rank == 0 else 30))

    def fit_width():
        d = D_IN + rank
        sp.Network([d, 8, N_CLASSES], "relu", "cross_entropy", seed=0).fit(
            np.zeros((16, d)), np.zeros(16, np.int64), batch_size=BATCH, comm=comm)
    attempt("architecture", fit_width)

    def fit_nan():
        Xr = X[:40].copy()
        if rank == 1:
            Xr[3, 2] = np.nan
        sp.Network([D_IN, 8, N_CLASSES], "relu", "cross_entropy", seed=0).fit(
            Xr, y[:40], batch_size=BATCH, comm=comm)
    attempt("nan_on_one_rank", fit_nan)

    def fit_missing_class():
        yr = y[:40].copy()
        if rank == 1:
            yr[yr == 2] = 0  # rank 1's shard has no class 2
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, batch_size=BATCH).fit(X[:40], yr, comm=comm)
    attempt("missing_class", fit_missing_class)

    attempt("lbfgs", lambda: MLPClassifier(solver="lbfgs").fit(X[:40], y[:40], comm=comm))
    attempt("early_stopping", lambda: MLPClassifier(early_stopping=True).fit(X[:40], y[:40], comm=comm))
    # after all that, the ranks still talk to each other
    out["still_in_step"] = comm.allreduce(1)
    return out


def _worker_main(argv: list[str]) -> None:
    from mpi4py import MPI

    scenario, directory = argv
    comm = MPI.COMM_WORLD
    result = {"_worker_network": _worker_network, "_worker_sklearn": _worker_sklearn,
              "_worker_errors": _worker_errors}[scenario](comm)
    result["rank"], result["size"] = comm.Get_rank(), comm.Get_size()
    Path(directory, f"{scenario}.{comm.Get_rank()}.json").write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# the tests (in the pytest process; MPI is never initialised here)
# ---------------------------------------------------------------------------------------------

def _why_no_mpi() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (scripts/install_mpi.sh installs Open MPI and mpi4py)"
    if shutil.which("mpirun") is None:
        return "mpirun is not on PATH (scripts/install_mpi.sh installs Open MPI and mpi4py)"
    return None


pytestmark = pytest.mark.skipif(_why_no_mpi() is not None, reason=str(_why_no_mpi()))


def _mpirun(scenario: str, directory: Path) -> list[dict]:
    """Run a scenario on RANKS ranks; return each rank's result."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", SWIFTPROP_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [shutil.which("mpirun"), "-n", str(RANKS), sys.executable, str(HERE), scenario, str(directory)]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.terminate()  # mpirun forwards it to the ranks
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        pytest.fail(f"mpirun -n {RANKS} {scenario} did not finish in {TIMEOUT} s (deadlock?):\n{output[-3000:]}")
    assert proc.returncode == 0, f"mpirun -n {RANKS} {scenario} failed ({proc.returncode}):\n{output[-3000:]}"
    results = [json.loads(Path(directory, f"{scenario}.{r}.json").read_text()) for r in range(RANKS)]
    assert [r["size"] for r in results] == [RANKS] * RANKS
    return results


@pytest.fixture(scope="module")
def network_runs(tmp_path_factory):
    return _mpirun("_worker_network", tmp_path_factory.mktemp("mpi_network"))


@pytest.fixture(scope="module")
def sklearn_runs(tmp_path_factory):
    return _mpirun("_worker_sklearn", tmp_path_factory.mktemp("mpi_sklearn"))


@pytest.mark.parametrize("case", ["cross_entropy/sgd", "cross_entropy/adam", "mse/sgd", "mse/adam"])
def test_two_ranks_match_one_rank_on_the_union(network_runs, case):
    """(a) Same parameters and History.loss as a plain fit whose global batch b is the ranks' batches b."""
    r0 = network_runs[0]["cases"][case]
    assert r0["params_moved"] > 1e-2  # training did something
    assert r0["params_rel"] < 1e-10 or r0["params_abs"] < 1e-13, r0
    np.testing.assert_allclose(r0["loss"], r0["ref_loss"], rtol=1e-10)
    np.testing.assert_allclose(r0["penalty"], r0["ref_penalty"], rtol=1e-10)
    assert min(r0["penalty"]) > 0  # alpha > 0 took part
    # every rank reports the same (globally averaged) loss curve
    np.testing.assert_array_equal(network_runs[1]["cases"][case]["loss"], r0["loss"])


def test_ranks_end_with_identical_parameters(network_runs):
    """(b) One parameter hash across ranks, with and without shuffling, float64 and float32."""
    for r in network_runs:
        for case in r["cases"].values():
            assert len(set(case["hashes"])) == 1
        assert len(set(r["shuffled_float64_hashes"])) == 1
        assert len(set(r["shuffled_float32_hashes"])) == 1
    assert network_runs[0]["shuffled_float64_hashes"] == network_runs[1]["shuffled_float64_hashes"]


@pytest.mark.parametrize("case", ["classifier/sgd", "classifier/adam", "regressor/sgd", "regressor/adam"])
def test_estimators_train_on_two_ranks(sklearn_runs, case):
    """(c) MLPClassifier / MLPRegressor .fit(X_local, y_local, comm=...) == a 1-rank fit on the union."""
    r0, r1 = (r[case] for r in sklearn_runs)
    assert len(set(r0["hashes"])) == 1
    assert r0["n_iter"] == r0["ref_n_iter"] == r1["n_iter"] == 12
    assert r0["t"] == r0["ref_t"] == RANKS * N_LOCAL * 12  # samples of all ranks
    np.testing.assert_allclose(r0["loss_curve"], r0["ref_loss_curve"], rtol=1e-10)
    np.testing.assert_array_equal(r1["loss_curve"], r0["loss_curve"])
    assert r0["params_rel"] < 1e-8
    assert r0["loss_curve"][-1] < r0["loss_curve"][0]
    if case.startswith("classifier"):
        assert r0["classes"] == r1["classes"] == ["ant", "bee", "cat"]
        assert r0["score"] > 0.8


def test_estimator_default_shuffle_on_two_ranks(sklearn_runs):
    assert len(set(sklearn_runs[0]["default_hashes"])) == 1
    assert sklearn_runs[0]["default_score"] == sklearn_runs[1]["default_score"]


def test_inconsistent_ranks_raise_everywhere(tmp_path):
    """(d) A mismatch raises ValueError on every rank, and the job ends (no deadlock)."""
    results = _mpirun("_worker_errors", tmp_path)
    expect = {"batches": "same number of mini-batches", "architecture": "same network",
              "nan_on_one_rank": "NaN", "missing_class": "same classes", "lbfgs": "solver='sgd' or 'adam'",
              "early_stopping": "early_stopping"}
    for r in results:
        for name, words in expect.items():
            assert r[name] is not None, f"rank {r['rank']}: {name} did not raise"
            kind, message = r[name]
            assert kind == "ValueError" and words in message, (r["rank"], name, kind, message)
        assert r["still_in_step"] == RANKS
    assert "[7, 4]" in results[0]["batches"][1]


if __name__ == "__main__":  # a rank of an mpirun launch
    _worker_main(sys.argv[1:])
