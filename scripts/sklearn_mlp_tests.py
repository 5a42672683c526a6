"""Run scikit-learn's own MLP tests against swiftprop's estimators.

Reads ``sklearn/neural_network/tests/test_mlp.py`` from the INSTALLED scikit-learn, swaps its import of
``MLPClassifier, MLPRegressor`` for swiftprop's, writes the result to a temporary folder and runs pytest
there (scikit-learn's file is never copied into this repository). scikit-learn's ``conftest`` is loaded as
a plugin for its fixtures (``global_random_seed``).

Every test must pass except the ones below, which read or set scikit-learn's private internals; each is
deselected by name, with its reason printed. Tests that need a capability this build's core lacks (sparse
input, the poisson loss) are deselected the same way, with that reason, only while it is missing.

Usage: ``python scripts/sklearn_mlp_tests.py [extra pytest arguments]``; the exit status is pytest's.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

#: test name -> why it cannot run against swiftprop (scikit-learn's private internals)
PRIVATE = {
    "test_gradient": "calls MLPClassifier._loss_grad_lbfgs, scikit-learn's private loss-and-gradient "
                     "function with its activation/delta buffers (swiftprop's gradients are checked against "
                     "the NumPy reference and finite differences in python/tests/test_numerics.py)",
    "test_learning_rate_warmstart": "reads _optimizer.learning_rate, scikit-learn's private optimizer "
                                    "object (swiftprop's optimizer is swiftprop.optim.SGD, rate .lr)",
    "test_adaptive_learning_rate": "reads _optimizer.learning_rate, scikit-learn's private optimizer object "
                                   "(the adaptive schedule is tested in python/tests/test_estimators.py)",
}

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
SWAPPED = "from swiftprop import MLPClassifier, MLPRegressor"


def missing_capabilities() -> dict[str, str]:
    """test name (or prefix) -> reason, for tests needing what this build's core does not have yet."""
    import swiftprop
    from swiftprop.sklearn._base import network_takes_sparse

    missing = {}
    if not network_takes_sparse():
        missing["test_sparse_matrices"] = "this build's swiftprop.Network does not take scipy.sparse CSR input"
    if "poisson" not in swiftprop.LOSSES:
        missing["test_mlp_vs_poisson_glm_equivalent"] = "this build's core has no 'poisson' loss"
    return missing


def main(argv: list[str]) -> int:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        print("sklearn_mlp_tests: scikit-learn is not installed", file=sys.stderr)
        return 2
    import sklearn

    source = Path(spec.origin).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text(encoding="utf-8")
    if text.count(IMPORT) != 1:
        print(f"sklearn_mlp_tests: expected the line {IMPORT!r} once in {source}; scikit-learn "
              f"{sklearn.__version__} changed its test file: update this script", file=sys.stderr)
        return 2
    text = text.replace(IMPORT, SWAPPED)
    defined = {line[4:].split("(")[0] for line in text.splitlines() if line.startswith("def test_")}

    excluded = {**PRIVATE, **missing_capabilities()}
    unknown = sorted(set(excluded) - defined)
    if unknown:
        print(f"sklearn_mlp_tests: {unknown} are no longer in scikit-learn {sklearn.__version__}'s "
              "test_mlp.py: update this script", file=sys.stderr)
        return 2
    print(f"scikit-learn {sklearn.__version__}: {source}")
    print(f"running it against swiftprop's MLPClassifier/MLPRegressor; deselected ({len(excluded)}):")
    for name, why in excluded.items():
        print(f"  {name}: {why}")
    sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="swiftprop-sklearn-tests-") as tmp:
        path = Path(tmp) / "test_mlp.py"
        path.write_text(text, encoding="utf-8")
        # -k deselects every parametrisation of a test by its name
        keep = " and ".join(f"not {name}" for name in excluded)
        cmd = [sys.executable, "-m", "pytest", str(path), "-p", "sklearn.conftest", "-p", "no:cacheprovider",
               "-q", "-rs", "--rootdir", tmp, "-k", keep, *argv]
        return subprocess.call(cmd, cwd=tmp)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
