"""Untrusted network files: a refused file costs time and memory in proportion to its own size.

Every mutated file (edited metadata, arrays of other shapes or dtypes, lying ``.npy`` headers, truncation,
extra members, compressed members, random byte flips) must either load equal to the original or be refused
with ``ValueError``, each within a time bound, and all of them together within a memory bound. The loads
run in a child process, whose peak resident memory (``ru_maxrss``, a high-water mark: one large
allocation anywhere would show) is compared before and after.
"""
from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import optim

#: Generous bounds for files of a few KB (a crafted 1.3 KB file used to take 43 s and 9 GB).
SECONDS_PER_FILE = 1.0
RSS_GROWTH_MB = 100


def _originals(tmp_path):
    """Three small files: float64 + Adam, float32 cross-entropy + SGD momentum, no optimizer."""
    X = np.random.default_rng(0).normal(size=(12, 3))
    a = sp.Network([3, 5, 2], activations="tanh", seed=0)
    a.fit(X, np.ascontiguousarray(X[:, :2]), epochs=2, batch_size=4, optimizer=optim.Adam(a, lr=0.01), seed=0)
    b = sp.Network([3, 4, 3], activations="relu", loss="cross_entropy", dtype=np.float32, seed=1,
                   dropout=0.25)
    b.fit(X.astype(np.float32), np.arange(12) % 3, epochs=2, batch_size=4,
          optimizer=optim.SGD(b, lr=0.05, momentum=0.9, nesterov=True), seed=1)
    c = sp.Network([3, 2], seed=2)
    paths = []
    for name, net in (("adam", a), ("sgd32", b), ("plain", c)):
        path = tmp_path / f"{name}.npz"
        net.save(path)
        paths.append(path)
    return paths


def _members(path):
    with np.load(path) as f:
        arrays = dict(f)
    return json.loads(str(arrays.pop("meta"))), arrays


def _write(path, meta, arrays, compressed=False):
    (np.savez_compressed if compressed else np.savez)(path, meta=np.array(json.dumps(meta)), **arrays)


def _npy_bytes(header: dict, data: bytes) -> bytes:
    """A .npy member whose header says what we like, followed by the given data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


META_EDITS = [
    {"sizes": [20000, 20000]}, {"sizes": [2**31, 1]}, {"sizes": [2**62, 2**62]}, {"sizes": [-1, 3]},
    {"sizes": [3]}, {"sizes": "abc"}, {"sizes": [3, 5.5, 2]}, {"sizes": [3, True, 2]}, {"sizes": None},
    {"sizes": [1] * 100_000}, {"activations": ["nope", "identity"]}, {"activations": ["tanh"] * 3},
    {"activations": ["softmax", "identity"]}, {"activations": 5}, {"loss": "hinge"}, {"loss": None},
    {"dtype": "float16"}, {"dtype": "object"}, {"dtype": 7}, {"dropout": [1.5]}, {"dropout": [0.1, 0.2, 0.3]},
    {"dropout": "x"}, {"version": 2}, {"format": "other"}, {"format": None},
]
OPTIMIZER_EDITS = [
    {"class": "Nope"}, {"class": None}, {"kwargs": {"lr": -1.0}}, {"kwargs": {"bogus": 1}}, {"kwargs": 5},
    {"t": 2**63}, {"t": -1}, {"t": "x"}, {"t": 2**53 + 1},
]


def _mutations(path, out):
    """Write every deterministic mutation of ``path`` into folder ``out``; return the file names."""
    meta, arrays = _members(path)
    files = []

    def emit(tag, m, a, **kw):
        name = out / f"{path.stem}-{tag}-{len(files)}.npz"
        _write(name, m, a, **kw)
        files.append(name)

    for edit in META_EDITS:
        emit("meta", dict(meta, **edit), arrays)
    if "optimizer" in meta:
        for edit in OPTIMIZER_EDITS:
            emit("opt", dict(meta, optimizer=dict(meta["optimizer"], **edit)), arrays)
        emit("opt-notdict", dict(meta, optimizer=[1, 2]), arrays)
        emit("no-state", meta, {k: v for k, v in arrays.items() if k != "optimizer_state"})
        st = arrays["optimizer_state"]
        for bad in (st[:-1], np.concatenate([st, st]), st.astype(np.int64), st.reshape(1, -1),
                    st.astype(np.float32 if st.dtype == np.float64 else np.float64)):
            emit("state", meta, dict(arrays, optimizer_state=bad))
    else:
        emit("stray-state", meta, dict(arrays, optimizer_state=arrays["params"].copy()))
    p = arrays["params"]
    for bad in (p[:-1], np.concatenate([p, p]), p.astype(np.int64), p.reshape(1, -1), np.asfortranarray(
            np.stack([p, p], axis=1)), p.astype(np.float32 if p.dtype == np.float64 else np.float64),
                np.array(1.0), p.astype(">f8")):
        emit("params", meta, dict(arrays, params=bad))
    emit("no-params", meta, {k: v for k, v in arrays.items() if k != "params"})
    emit("extra", meta, dict(arrays, extra=np.arange(3)))
    emit("compressed", meta, arrays, compressed=True)
    # a .npy header that claims a huge (or one value longer) array over the few bytes really there
    json_meta = json.dumps(meta)
    for shape in ((10**9,), (2**40,), (p.size + 1,)):
        name = out / f"{path.stem}-header-{len(files)}.npz"
        with zipfile.ZipFile(name, "w") as zf:
            zf.writestr("meta.npy", _npy_bytes({"descr": "<U%d" % len(json_meta), "fortran_order": False,
                                                "shape": ()}, json_meta.encode("utf-32-le")))
            zf.writestr("params.npy", _npy_bytes({"descr": p.dtype.str, "fortran_order": False,
                                                  "shape": shape}, p.tobytes()))
            if "optimizer_state" in arrays:
                buf = io.BytesIO()
                np.save(buf, arrays["optimizer_state"])
                zf.writestr("optimizer_state.npy", buf.getvalue())
        files.append(name)
    # JSON nested deeper than the parser's recursion limit
    nested = out / f"{path.stem}-nested.npz"
    np.savez(nested, meta=np.array(json.dumps(meta)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"),
             **arrays)
    files.append(nested)
    data = path.read_bytes()
    for cut in sorted({0, 4, 30, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}):
        name = out / f"{path.stem}-cut-{cut}.npz"
        name.write_bytes(data[:cut])
        files.append(name)
    rng = np.random.default_rng(42)
    for k in range(150):  # random single-byte changes anywhere in the file
        b = bytearray(data)
        pos = int(rng.integers(len(b)))
        b[pos] ^= int(rng.integers(1, 256))
        name = out / f"{path.stem}-flip-{k}.npz"
        name.write_bytes(bytes(b))
        files.append(name)
    return files


CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    import swiftprop as sp

    def same(a, b):
        if (a.sizes, a.activations, a.loss, a.dtype, a.dropout) != (b.sizes, b.activations, b.loss, b.dtype,
                                                                   b.dropout):
            return False
        if not np.array_equal(a.params, b.params):
            return False
        if (a.optimizer is None) != (b.optimizer is None):
            return False
        if a.optimizer is None:
            return True
        return (repr(a.optimizer) == repr(b.optimizer) and a.optimizer.t == b.optimizer.t
                and all(np.array_equal(a.optimizer.state[k], b.optimizer.state[k]) for k in a.optimizer.state))

    cases = json.loads(sys.argv[1])
    originals = {o: sp.Network.load(o) for o in {orig for orig, _ in cases}}
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"slow": [], "bad": [], "loaded": 0, "refused": 0}
    for orig, path in cases:
        t = time.perf_counter()
        try:
            net = sp.Network.load(path)
        except ValueError:
            report["refused"] += 1
        except Exception as e:
            report["bad"].append(f"{path}: {type(e).__name__}: {e}")
        else:
            report["loaded"] += 1
            if not same(net, originals[orig]):
                report["bad"].append(f"{path}: loaded, but not equal to the original")
        elapsed = time.perf_counter() - t
        if elapsed > float(sys.argv[2]):
            report["slow"].append(f"{path}: {elapsed:.2f} s")
    report["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps(report))
""")


def test_mutated_files_load_equal_or_are_refused_cheaply(tmp_path):
    out = tmp_path / "mutated"
    out.mkdir()
    cases = [(str(p), str(m)) for p in _originals(tmp_path) for m in _mutations(p, out)]
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases), str(SECONDS_PER_FILE)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["bad"] == [], report["bad"][:10]
    assert report["slow"] == [], report["slow"][:10]
    assert report["rss_growth_mb"] < RSS_GROWTH_MB, report
    # the deterministic mutations are all refused; some random byte flips land in bytes that change nothing
    assert report["refused"] >= len(cases) - 3 * 150, report


def test_the_reported_file_is_refused_at_once(tmp_path):
    """The issue's file: sizes edited to [20000, 20000] with softmax, the stored params left as they were."""
    path = _originals(tmp_path)[0]
    meta, arrays = _members(path)
    bad = tmp_path / "bad.npz"
    _write(bad, dict(meta, sizes=[20000, 20000], activations=["softmax"], loss="cross_entropy"), arrays)
    with pytest.raises(ValueError, match=r"params must be a float64 array of shape \(400020000,\)"):
        sp.Network.load(bad)


def test_unpickling_checks_shapes_before_building(tmp_path):
    """Pickles go through the same state: a state whose sizes disagree with its params is refused before
    the network is built (no 3 GB allocation for sizes [20000, 20000])."""
    net = sp.Network([3, 5, 2], seed=0)
    state = net.__getstate__()
    state["sizes"] = [20000, 20000]
    state["activations"] = ["identity"]
    victim = sp.Network.__new__(sp.Network)
    with pytest.raises(ValueError, match="params must be"):
        victim.__setstate__(state)
    assert pickle.loads(pickle.dumps(net)).params.tobytes() == net.params.tobytes()


def test_loaded_network_is_not_randomly_initialised_first(tmp_path, monkeypatch):
    """Loading never draws initial parameters: they are overwritten by the stored ones anyway."""
    path = _originals(tmp_path)[0]
    calls = []
    monkeypatch.setattr(sp.Network, "init_params", lambda self, seed=None: calls.append(seed))
    sp.Network.load(path)
    pickle.loads(pickle.dumps(sp.Network.load(path)))
    assert calls == []
