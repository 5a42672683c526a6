"""Checks on the built extension itself: how it links and that the hot paths are specialised."""
import re
import shutil
import subprocess

import pytest

import swiftprop._core as core


def _objdump(*args):
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    return subprocess.run(["objdump", *args, core.__file__], capture_output=True, text=True, check=True).stdout


def test_no_swift_runtime_needed_at_run_time():
    """The Swift runtime is linked in statically: no libswift*.so is needed."""
    needed = re.findall(r"NEEDED\s+(\S+)", _objdump("-p"))
    assert needed, "objdump printed no NEEDED entries"
    assert not [lib for lib in needed if "swift" in lib.lower() or "Foundation" in lib], needed
    assert "libscipy_openblas.so" in needed


HOT = ("7NetworkC7forward", "7NetworkC8backward", "7NetworkC4cost", "7NetworkC5train", "9OptimizerC4step",
       "9allFinite", "10checkInput")


def test_c_abi_calls_only_specialised_core_functions():
    """Every C-ABI entry point must reach the Float/Double specialisations of the core's hot functions,
    never their unspecialised generic bodies (which dispatch every arithmetic operation through witness
    tables and are ~100x slower). Specialised symbols end in Tg5 / Ts5 (+ optional merge suffix)."""
    calls = []
    current = None
    for line in _objdump("-d", "--no-show-raw-insn").splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            current = m.group(1)
            continue
        m = re.search(r"call\s+[0-9a-f]+ <(\$s9SwiftProp[^>@]+)", line)
        if m and current and "SwiftPropABI" in current:
            calls.append((current, m.group(1)))
    hot = [(caller, callee) for caller, callee in calls if any(h in callee for h in HOT)]
    assert hot, "found no call from the C ABI into the core's hot functions (symbol names changed?)"
    generic = [(caller, callee) for caller, callee in hot if not re.search(r"T[gs]5(Tm)?$", callee)]
    assert not generic, "C ABI calls unspecialised generic code:\n" + "\n".join(f"{a} -> {b}" for a, b in generic)
