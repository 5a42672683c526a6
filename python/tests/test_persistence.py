"""Save / load (.npz) and pickling: exact round trips, clear errors, atomic writes."""
import json
import os
import pickle

import numpy as np
import pytest

import swiftprop as sp


def _trained(dtype, opt_cls=sp.optim.Adam):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(dtype)
    y = rng.integers(0, 3, 60)
    net = sp.Network([5, 8, 3], "tanh", "cross_entropy", dtype=dtype, seed=1, dropout=0.1)
    net.fit(X, y, epochs=3, batch_size=16, optimizer=opt_cls(net), seed=0)
    return net, X, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_cls", [sp.optim.SGD, sp.optim.Adam, sp.optim.AdamW])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype, opt_cls):
    net, X, y = _trained(dtype, opt_cls)
    path = tmp_path / "net.npz"
    net.save(path)
    back = sp.Network.load(path)
    assert back.sizes == net.sizes and back.activations == net.activations and back.loss == net.loss
    assert back.dtype == net.dtype and back.dropout == net.dropout
    assert np.array_equal(back.params, net.params)
    assert type(back.optimizer) is opt_cls and back.optimizer.t == net.optimizer.t
    assert np.array_equal(back.optimizer._opt.state, net.optimizer._opt.state)
    assert back.optimizer.lr == net.optimizer.lr
    # continuing training from the file is the same as continuing the original
    net.fit(X, y, epochs=2, batch_size=16, seed=5)
    back.fit(X, y, epochs=2, batch_size=16, seed=5)
    assert np.array_equal(back.params, net.params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pickle_round_trip_is_bit_exact(dtype):
    net, X, y = _trained(dtype)
    back = pickle.loads(pickle.dumps(net))
    assert np.array_equal(back.params, net.params) and np.array_equal(back.forward(X), net.forward(X))
    assert np.array_equal(back.optimizer._opt.state, net.optimizer._opt.state)
    opt = pickle.loads(pickle.dumps(net.optimizer))  # an optimizer pickles with its network
    assert np.array_equal(opt._opt.state, net.optimizer._opt.state) and opt.t == net.optimizer.t
    assert np.array_equal(opt.network.params, net.params)


def test_truncated_and_foreign_files_raise_clear_errors(tmp_path):
    net, _, _ = _trained(np.float64)
    good = tmp_path / "net.npz"
    net.save(good)
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="swiftprop network file"):
            sp.Network.load(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ValueError, match="swiftprop network file"):
        sp.Network.load(foreign)
    with np.load(good) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    for change in ({"version": 99}, {"format": "other"}):
        m = dict(meta, **change)
        path = tmp_path / "changed.npz"
        np.savez(path, **dict(arrays, meta=np.array(json.dumps(m))))
        with pytest.raises(ValueError, match="swiftprop"):
            sp.Network.load(path)
    path = tmp_path / "short_params.npz"
    np.savez(path, **dict(arrays, params=arrays["params"][:-1]))
    with pytest.raises(ValueError, match=r"params must be a float64 array of shape \(\d+,\)"):  # not the file's name
        sp.Network.load(path)
    with pytest.raises(FileNotFoundError):
        sp.Network.load(tmp_path / "missing.npz")


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    net, _, _ = _trained(np.float64)
    path = tmp_path / "net.npz"
    net.save(path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 partial")  # some bytes reach the temporary file, then the write fails
        raise KeyboardInterrupt

    saved = net.params.copy()
    monkeypatch.setattr(np, "savez", broken_savez)
    net.params[...] += 1.0
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before                      # the previous file is intact
    assert sorted(os.listdir(tmp_path)) == ["net.npz"]      # and no temporary file is left behind
    monkeypatch.undo()
    assert np.array_equal(sp.Network.load(path).params, saved)
