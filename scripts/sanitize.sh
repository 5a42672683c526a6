#!/usr/bin/env bash
# Run swiftprop's pytest suite under valgrind memcheck, against the INSTALLED extension
# (site-packages/swiftprop/_core*.so, which holds the C layer, the Swift core and the Swift runtime).
#
# Usage:  scripts/sanitize.sh [pytest arguments...]
#
# Default test selection (a representative subset: memcheck with --track-origins is ~50-100x slower
# than native, and the whole suite would take hours):
#   python/tests/test_fuzz.py with SWIFTPROP_FUZZ_SCALE=0.05   (~850 fuzzed calls: every entry point,
#                                                              every argument check, every error path)
#   python/tests/test_network_api.py                          (zero-copy views, out=, pickling, threads)
# Left out: test_numerics.py and test_training.py (the same C entry points on bigger arrays; pass them
# as arguments to include them) and test_leaks.py (its 100 000-call loops would take hours; memcheck's
# own leak check covers the same ground).
#
# Steps:
#   1. Baseline: `pytest --collect-only` of the same files under memcheck with --gen-suppressions=all.
#      That imports CPython, NumPy, OpenBLAS, pytest, hypothesis and swiftprop but runs no swiftprop
#      computation. Every error it reports whose stacks hold no frame of swiftprop's extension is a
#      false positive of CPython 3.11 / NumPy / ld.so (e.g. int.from_bytes reading an uninitialised
#      digit, ld.so's strncmp over-read, objects NumPy leaks at import); they become $OUT/cpython.supp
#      (non-leak suppressions trimmed to their 6 innermost frames so they match from any call site;
#      leak suppressions kept whole).
#   2. The run: valgrind --tool=memcheck --error-exitcode=99 --errors-for-leak-kinds=definite
#      --leak-check=full --track-origins=yes --suppressions=$OUT/cpython.supp, PYTHONMALLOC=malloc
#      (so that memcheck sees every Python allocation), OPENBLAS_NUM_THREADS=1, XML report.
#   3. Classification of what is left: an error is swiftprop's when any frame of any of its stacks
#      (including the origin of an uninitialised value) is in the extension's .so. Those are printed
#      with their stacks; the others (CPython/NumPy paths not met in the baseline) are only counted.
#
# Exit status: 99 if memcheck reported an error in swiftprop code, 1 if a test failed, else 0.
# Output in $SANITIZE_OUT (default: ${TMPDIR:-/tmp}/swiftprop-sanitize): baseline.<pid>.xml,
# cpython.supp, memcheck.<pid>.xml and .log (one per process), pytest.log, junit.xml.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${SANITIZE_OUT:-${TMPDIR:-/tmp}/swiftprop-sanitize}
mkdir -p "$OUT"
PY=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')  # not a pyenv shim script
command -v valgrind >/dev/null || { echo "sanitize: valgrind not found (apt-get install valgrind)" >&2; exit 2; }

if [ $# -gt 0 ]; then
    TESTS=("$@")
else
    TESTS=("$ROOT/python/tests/test_fuzz.py" "$ROOT/python/tests/test_network_api.py")
fi

# Run from $OUT so that `import swiftprop` finds the installed package, not the source tree.
cd "$OUT" || exit 2
EXT=$("$PY" -c 'import swiftprop._core as c, os; print(os.path.realpath(c.__file__))') || exit 2
echo "sanitize: extension $EXT"
echo "sanitize: valgrind $(valgrind --version), python $PY"

export PYTHONMALLOC=malloc OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export SWIFTPROP_FUZZ_SCALE=${SWIFTPROP_FUZZ_SCALE:-0.05}
COMMON=(--tool=memcheck --num-callers=40 --track-origins=yes --leak-check=full --errors-for-leak-kinds=definite
        --show-leak-kinds=definite --child-silent-after-fork=yes --vex-guest-max-insns=25)
# --vex-guest-max-insns=25 (default 50): with the default, valgrind 3.19 aborts with "VEX temporary
# storage exhausted" while translating a large block during test_init_bounds_and_zero_biases
# (8-layer network); smaller superblocks avoid it.
rm -f "$OUT"/baseline.*.xml "$OUT"/memcheck.*.xml "$OUT"/*.log

start=$(date +%s)
echo "sanitize: [1/3] baseline (pytest --collect-only under memcheck)"
valgrind "${COMMON[@]}" --gen-suppressions=all --xml=yes --xml-file="$OUT/baseline.%p.xml" \
    --log-file="$OUT/baseline.%p.log" "$PY" -m pytest -p no:cacheprovider --collect-only -q "${TESTS[@]}" \
    >"$OUT/baseline-pytest.log" 2>&1

"$PY" - "$OUT" "$EXT" "$OUT/cpython.supp" <<'EOF' || exit 2
import glob, sys, xml.etree.ElementTree as ET
out, ext, dst = sys.argv[1:]
errors = []
for path in glob.glob(f"{out}/baseline.*.xml"):  # forked children are silent (--child-silent-after-fork)
    try:
        errors += ET.parse(path).getroot().iter("error")
    except ET.ParseError:
        pass  # a child that exec'd another program leaves an unfinished file
blocks, skipped = [], 0
for err in errors:
    objs = [f.findtext("obj") or "" for f in err.iter("frame")]
    if any(o == ext for o in objs):
        skipped += 1  # touches swiftprop: never suppressed
        continue
    raw = err.findtext("suppression/rawtext")
    if not raw:
        continue
    body = [l.rstrip() for l in raw.strip().splitlines()
            if l.strip() and l.strip() not in ("{", "}") and not l.strip().startswith("<insert")]
    head, frames = body[:1], body[1:]
    if head[0].strip() == "Memcheck:Leak":  # keep leak stacks whole (the allocation site alone is too broad)
        block = ["{", "   cpython-baseline", *head, *frames, "}"]
    else:
        extra = [f for f in frames if not (f.strip().startswith(("fun:", "obj:", "...")))]
        calls = [f for f in frames if f.strip().startswith(("fun:", "obj:", "..."))][:6]
        block = ["{", "   cpython-baseline", *head, *extra, *calls, "}"]
    blocks.append("\n".join(block))
unique = list(dict.fromkeys(blocks))
open(dst, "w").write("\n".join(unique) + "\n")
print(f"sanitize: {len(unique)} suppressions from the baseline ({skipped} baseline errors touch swiftprop, not suppressed)")
EOF

echo "sanitize: [2/3] pytest under memcheck: ${TESTS[*]}"
valgrind "${COMMON[@]}" --error-exitcode=99 --suppressions="$OUT/cpython.supp" \
    --xml=yes --xml-file="$OUT/memcheck.%p.xml" --log-file="$OUT/memcheck.%p.log" \
    "$PY" -m pytest -p no:cacheprovider -q --junitxml="$OUT/junit.xml" "${TESTS[@]}" >"$OUT/pytest.log" 2>&1
vg_status=$?
tail -n 3 "$OUT/pytest.log"
elapsed=$(( $(date +%s) - start ))

echo "sanitize: [3/3] classification"
"$PY" - "$OUT" "$EXT" "$OUT/junit.xml" "$vg_status" "$elapsed" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
out, ext, junit, vg_status, elapsed = sys.argv[1:]
mine, other, counts, supp = [], [], {}, 0
for path in glob.glob(f"{out}/memcheck.*.xml"):  # the main process (forked children are silent)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        continue  # a forked child that exec'd another program
    pid = root.findtext("pid")
    counts.update({(pid, p.findtext("unique")): int(p.findtext("count")) for p in root.findall("errorcounts/pair")})
    supp += sum(int(p.findtext("count")) for p in root.findall("suppcounts/pair"))
    for err in root.iter("error"):
        err.set("pid", pid)
        objs = [f.findtext("obj") or "" for f in err.iter("frame")]
        (mine if any(o == ext for o in objs) else other).append(err)


def occurrences(err):
    return counts.get((err.get("pid"), err.findtext("unique")), 1)
print(f"sanitize: memcheck: {len(mine)} error contexts in swiftprop code "
      f"({sum(map(occurrences, mine))} occurrences), {len(other)} outside it "
      f"({sum(map(occurrences, other))} occurrences), {supp} suppressed baseline errors")
for err in other:
    what = err.findtext("what") or err.findtext("xwhat/text")
    top = next((f.findtext("fn") or f.findtext("obj") for f in err.iter("frame")), "?")
    print(f"  outside swiftprop: {err.findtext('kind')}: {what} at {top}")
for err in mine:
    print(f"\n== swiftprop: {err.findtext('kind')}: {err.findtext('what') or err.findtext('xwhat/text')}")
    for stack in err.findall("stack"):
        for f in stack.findall("frame")[:20]:
            loc = f"{f.findtext('file')}:{f.findtext('line')}" if f.findtext("file") else f.findtext("obj")
            print(f"     {f.findtext('fn') or '?'}  ({loc})")
        print("   --")
try:
    t = ET.parse(junit).getroot()
except (OSError, ET.ParseError):
    print(f"sanitize: pytest did not finish under valgrind (exit {vg_status}); see {out}/memcheck.*.log")
    sys.exit(2)
suites = [t] if t.tag == "testsuite" else t.findall("testsuite")
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(f"sanitize: pytest under memcheck: {n['tests']} tests, {n['failures']} failures, {n['errors']} errors, "
      f"{n['skipped']} skipped; valgrind exit {vg_status}; {int(elapsed) // 60} min {int(elapsed) % 60} s")
sys.exit(99 if mine else (1 if n["failures"] or n["errors"] else 0))
EOF
