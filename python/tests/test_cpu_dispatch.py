"""The core's CPU builds: which one an import loads (``swiftprop._cpu``), that SWIFTPROP_CPU forces it,
and that both builds compute the same numbers within the documented tolerances.

The numerics suite itself runs under both builds in scripts/test.sh (``SWIFTPROP_CPU=baseline``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import _cpu

V3 = _cpu._v3_path(os.path.dirname(sp.__file__)) is not None


def test_choose_auto_follows_flags_and_availability():
    assert _cpu.choose(None, _cpu.V3_FLAGS, True) == "x86-64-v3"
    assert _cpu.choose("auto", _cpu.V3_FLAGS | {"avx512f"}, True) == "x86-64-v3"
    assert _cpu.choose(None, _cpu.V3_FLAGS - {"fma"}, True) == "baseline"
    assert _cpu.choose(None, frozenset(), True) == "baseline"
    assert _cpu.choose(None, _cpu.V3_FLAGS, False) == "baseline"
    assert _cpu.choose(" Baseline ", _cpu.V3_FLAGS, True) == "baseline"


def test_choose_refuses_unknown_values_and_impossible_requests():
    with pytest.raises(ImportError, match="SWIFTPROP_CPU must be 'auto', 'baseline' or 'x86-64-v3', got 'avx2'"):
        _cpu.choose("avx2", _cpu.V3_FLAGS, True)
    with pytest.raises(ImportError, match="this CPU lacks avx2, fma"):
        _cpu.choose("x86-64-v3", _cpu.V3_FLAGS - {"avx2", "fma"}, True)
    with pytest.raises(ImportError, match="no x86-64-v3 build"):
        _cpu.choose("x86-64-v3", _cpu.V3_FLAGS, False)


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert _cpu.cpu_flags(str(f)) == {"fpu", "sse2", "avx2"}
    assert _cpu.cpu_flags(str(tmp_path / "missing")) == frozenset()


_PROBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import swiftprop as sp
    out = {"build": sp.cpu_build(), "file": sp._core.__file__}
    rng = np.random.default_rng(3)
    for dtype in ("float32", "float64"):
        for acts, loss, n_out in ((["relu", "tanh", "softmax"], "cross_entropy", 10),
                                  (["gelu", "elu", "identity"], "mse", 3),
                                  (["sigmoid", "softplus", "leaky_relu"], "mse", 5)):
            net = sp.Network([37, 19, 11, n_out], activations=acts, loss=loss, dtype=dtype, seed=7)
            X = rng.standard_normal((67, 37)).astype(dtype)
            y = rng.integers(0, n_out, 67) if loss == "cross_entropy" else rng.standard_normal((67, n_out)).astype(dtype)
            cost = net.backward(X, y)
            opt = sp.optim.Adam(net, lr=0.01)
            opt.step()
            key = dtype + "-" + acts[0]
            out[key] = {"cost": float(cost), "grads": net.grads.tolist(), "params": net.params.tolist(),
                        "out": net.forward(X).ravel().tolist()}
    print(json.dumps(out))
""")


def _probe(cpu: str) -> dict:
    env = dict(os.environ, SWIFTPROP_CPU=cpu)
    r = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_baseline_is_forced_by_the_environment():
    out = _probe("baseline")
    assert out["build"] == "baseline"
    assert "_cpu_x86_64_v3" not in out["file"]


@pytest.mark.skipif(not (V3 and _cpu.V3_FLAGS <= _cpu.cpu_flags()), reason="no x86-64-v3 build or CPU here")
def test_both_builds_agree_within_the_documented_tolerances():
    """float64 within 1e-12 relative, float32 within 1e-5 (per array, relative to its largest value):
    the builds differ only in vector width and instruction selection (no contraction into FMA)."""
    base, v3 = _probe("baseline"), _probe("x86-64-v3")
    assert (base["build"], v3["build"]) == ("baseline", "x86-64-v3")
    assert "_cpu_x86_64_v3" in v3["file"]
    for key in (k for k in base if "-" in k):
        tol = 1e-12 if key.startswith("float64") else 1e-5
        assert abs(base[key]["cost"] - v3[key]["cost"]) <= tol * max(1.0, abs(base[key]["cost"])), key
        for part in ("grads", "params", "out"):
            a, b = np.asarray(base[key][part]), np.asarray(v3[key][part])
            err = np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-30)
            assert err <= tol, (key, part, err)


def test_cpu_build_names_the_loaded_module():
    assert sp.cpu_build() in _cpu.BUILDS
    assert ("_cpu_x86_64_v3" in sp._core.__file__) == (sp.cpu_build() == "x86-64-v3")
