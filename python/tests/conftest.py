"""Shared pytest fixtures."""
import json
import sys

import pytest


@pytest.fixture
def python_kernel(tmp_path, monkeypatch) -> str:
    """Name of a Jupyter kernelspec that runs this very interpreter, found first through JUPYTER_PATH
    (a 'python3' kernelspec installed elsewhere could point at another Python without swiftprop)."""
    name = "swiftprop-test"
    spec_dir = tmp_path / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "swiftprop tests", "language": "python", "interrupt_mode": "signal"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return name
