"""Polish of issue 13: save/load with file objects, a missing folder named, the compact Trace repr,
swiftprop.reference as an attribute, the progress bar without ipywidgets."""
from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import _fit


def _net():
    net = sp.Network([3, 5, 2], ["tanh", "softmax"], "cross_entropy", seed=0)
    X, y = np.random.default_rng(0).normal(size=(12, 3)), np.arange(12) % 2
    net.fit(X, y, epochs=2, optimizer=sp.optim.RMSprop(net, lr=0.01, clip_norm=1.0))
    return net


def test_save_and_load_file_objects(tmp_path):
    net = _net()
    buf = io.BytesIO()
    net.save(buf)
    buf.seek(0)
    back = sp.Network.load(buf)
    assert back.param_hash() == net.param_hash() and repr(back.optimizer) == repr(net.optimizer)
    with open(tmp_path / "f.npz", "wb") as f:
        net.save(f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert sp.Network.load(f).param_hash() == net.param_hash()


def test_load_from_a_non_seekable_stream(tmp_path):
    net = _net()
    net.save(tmp_path / "n.npz")

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, n=-1):
            return self._data.read(n)

    assert sp.Network.load(Stream((tmp_path / "n.npz").read_bytes())).param_hash() == net.param_hash()


def test_bad_file_objects_are_named():
    with pytest.raises(ValueError, match="the BytesIO given is not a readable swiftprop network file"):
        sp.Network.load(io.BytesIO(b"not a zip"))
    with pytest.raises(TypeError, match="path must be"):
        _net().save(3)
    with pytest.raises(TypeError, match="source must be"):
        sp.Network.load(3.5)


def test_missing_folder_is_named(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=r"the folder .*no[/\\]such does not exist"):
        _net().save(missing / "net.npz")
    assert not (tmp_path / "no").exists()


def test_trace_repr_shows_shapes_not_values():
    net = sp.Network([4, 16, 3], "tanh", "cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(150, 4))
    text = repr(net.trace(X, np.arange(150) % 3))
    assert len(text.splitlines()) == 1 and len(text) < 300
    assert "S_in=[(150, 16), (150, 3)]" in text and "dW=[(16, 4), (3, 16)]" in text


def test_reference_is_an_attribute_after_import_swiftprop():
    code = "import swiftprop; print(swiftprop.reference.rmsprop_step.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "rmsprop_step"


def test_progress_bar_without_ipywidgets_is_a_text_bar_without_warning(monkeypatch, capsys):
    tqdm = pytest.importorskip("tqdm")
    monkeypatch.setattr(_fit, "_in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = _fit._progress_bar(3)
        bar.close()
        net = sp.Network([2, 1], seed=0)
        net.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=3, progress=True)
    assert type(bar) is tqdm.std.tqdm
    assert "3/3" in capsys.readouterr().err
