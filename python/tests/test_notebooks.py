"""The example notebooks (examples/notebooks/*.ipynb) run top to bottom on a clean kernel.

Each notebook is executed with nbclient in a fresh IPython kernel of this interpreter (so it uses the
installed swiftprop); the test asserts that no cell raised and that the figures were produced (image/png
outputs in the executed notebook object). The executed notebook is never written back: the committed
files keep no outputs, which a second test checks.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"

#: notebook -> (number of image/png outputs it must produce, HTML snippets that must be displayed)
EXPECTED = {
    "01_derivation.ipynb": (2, ["swiftprop.Network"]),   # plot.weights, loss curve; the _repr_html_ table
    "02_digits.ipynb": (3, ["<table"]),                  # loss curves, misclassified digits; History.to_pandas
    "03_regression.ipynb": (3, []),                      # loss curve, predicted vs true, plot.weights(estimator)
    "04_text_pipeline.ipynb": (2, ["swiftprop.Network"]),  # loss curve, confusion matrix; network_'s table
}


def _missing_capability(name: str) -> str | None:
    """Why a notebook cannot run on this build (it needs something the core does not have yet), or None."""
    if name == "04_text_pipeline.ipynb":
        pytest.importorskip("sklearn", reason="the text pipeline needs scikit-learn")
        from swiftprop.sklearn._base import network_takes_sparse

        if not network_takes_sparse():
            return "this build's swiftprop.Network does not take scipy.sparse CSR input (the TF-IDF matrix)"
    return None


CELL_TIMEOUT = 180       # seconds per cell: generous, for loaded CI machines
STARTUP_TIMEOUT = 120    # seconds for the kernel to start


def test_notebooks_are_committed_without_outputs():
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == sorted(EXPECTED), f"notebooks in {NOTEBOOKS}: {found}"
    for name in EXPECTED:
        nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], f"{name} cell {i} has outputs: strip them before committing"
                assert cell["execution_count"] is None, f"{name} cell {i} has an execution count"


def _outputs(nb) -> list:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name: str, python_kernel: str, tmp_path: Path):
    nbformat = pytest.importorskip("nbformat", reason="running the notebooks needs nbformat (pip install nbformat)")
    nbclient = pytest.importorskip("nbclient", reason="running the notebooks needs nbclient (pip install nbclient)")
    pytest.importorskip("ipykernel", reason="running the notebooks needs ipykernel (pip install ipykernel)")
    from nbclient.exceptions import CellExecutionError

    missing = _missing_capability(name)
    if missing:
        pytest.skip(missing)

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)   # an object in memory; the file is not touched
    work = tmp_path / "cwd"
    work.mkdir()
    client = nbclient.NotebookClient(nb, kernel_name=python_kernel, timeout=CELL_TIMEOUT, startup_timeout=STARTUP_TIMEOUT,
                                     allow_errors=False, resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        pytest.fail(f"{name}: a cell raised:\n{e}")
    elapsed = time.perf_counter() - start
    print(f"{name}: executed in {elapsed:.1f} s")

    outputs = _outputs(nb)
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"{name}: error outputs {[(o.ename, o.evalue) for o in errors]}"
    stderr = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr")
    assert "Traceback" not in stderr, f"{name}: traceback on stderr:\n{stderr}"

    n_png, html_snippets = EXPECTED[name]
    pngs = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")
            and "image/png" in o.get("data", {})]
    assert len(pngs) >= n_png, f"{name}: expected at least {n_png} figures (image/png outputs), got {len(pngs)}"
    for o in pngs:
        assert len(o["data"]["image/png"]) > 1000, f"{name}: a suspiciously small image"
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs
                   if o.get("output_type") in ("display_data", "execute_result"))
    for snippet in html_snippets:
        assert snippet in html, f"{name}: no HTML output containing {snippet!r}"
    # the committed file is unchanged (still stripped)
    on_disk = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert all(c.get("outputs", []) == [] for c in on_disk["cells"] if c["cell_type"] == "code")
