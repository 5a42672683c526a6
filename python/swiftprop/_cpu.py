"""Which build of the core to load: baseline x86-64, or x86-64-v3 (AVX2, FMA, BMI2) where the CPU has it.

The wheel carries the extension twice on x86-64 (``swiftprop/_core*.so``, the baseline, and
``swiftprop/_cpu_x86_64_v3/_core*.so``), the same module compiled for two CPU levels; the import loads
exactly one, as ``swiftprop._core``. ``SWIFTPROP_CPU=baseline`` forces the baseline (``x86-64-v3``
insists on the other, ``auto`` or unset chooses).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types

#: The /proc/cpuinfo flags of x86-64-v3 and the levels below it (Linux reports LZCNT as ``abm``; it
#: shows ``avx`` only when the kernel saves the AVX registers, so the flags also say the OS is ready).
V3_FLAGS = frozenset({"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3",
                      "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})
BUILDS = ("baseline", "x86-64-v3")
_V3_DIR = "_cpu_x86_64_v3"


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The feature flags of the first processor in ``path`` (empty where it cannot be read)."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def choose(requested: str | None, flags: frozenset[str], available: bool) -> str:
    """The build to load for SWIFTPROP_CPU=``requested`` on a CPU with ``flags``, given whether the
    x86-64-v3 build is installed. Raises ImportError for an unknown value or an impossible request."""
    value = (requested or "auto").strip().lower()
    if value not in ("auto",) + BUILDS:
        raise ImportError(f"SWIFTPROP_CPU must be 'auto', 'baseline' or 'x86-64-v3', got {requested!r}")
    supported = V3_FLAGS <= flags
    if value == "x86-64-v3":
        if not available:
            raise ImportError("SWIFTPROP_CPU=x86-64-v3, but this installation has no x86-64-v3 build")
        if not supported:
            missing = ", ".join(sorted(V3_FLAGS - flags))
            raise ImportError(f"SWIFTPROP_CPU=x86-64-v3, but this CPU lacks {missing}")
        return value
    if value == "baseline":
        return value
    return "x86-64-v3" if available and supported else "baseline"


def _v3_path(package_dir: str) -> str | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(package_dir, _V3_DIR, "_core" + suffix)
        if os.path.exists(path):
            return path
    return None


def load_core(package_dir: str) -> tuple[types.ModuleType, str]:
    """Import ``swiftprop._core`` from the build this CPU should run; returns it and the build's name."""
    v3 = _v3_path(package_dir)
    build = choose(os.environ.get("SWIFTPROP_CPU"), cpu_flags() if v3 else frozenset(), v3 is not None)
    if build == "baseline" or v3 is None:
        from . import _core
        return _core, "baseline"
    spec = importlib.util.spec_from_file_location("swiftprop._core", v3)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["swiftprop._core"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["swiftprop._core"]
        raise
    return module, build
