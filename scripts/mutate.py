"""Mutation testing: does the test suite catch each of a list of deliberate bugs?

    python scripts/mutate.py                 # every mutation (long: a rebuild and a test run each)
    python scripts/mutate.py --list          # the mutations, and whether each still applies
    python scripts/mutate.py --only fwd-block label-range

Each mutation is a small source edit (an exact snippet replaced by another) in a temporary copy of the
working tree, installed into a folder of its own that PYTHONPATH puts first; for each mutation: edit,
reinstall the copy (SwiftPM rebuilds only what changed), run the
mutation's own test files first, then, if they all pass, the whole Python suite, then (for Swift edits)
``swift test``; revert. A mutation is *caught* when some test fails (or the run times out); a *survivor*
passed everything and is printed for a person to explain. Not run in CI: it takes an hour or more.

A snippet that no longer appears exactly once in its file is reported as *stale*: update the list when
the code moves (the run refuses to start until every mutation applies, so the table never silently
shrinks).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Mutation:
    name: str
    file: str
    old: str
    new: str
    why: str
    tests: list[str] = field(default_factory=list)  # test files to run first (fast path)


def M(name: str, file: str, old: str, new: str, why: str, *tests: str) -> Mutation:
    return Mutation(name, file, old, new, why, list(tests))


NET = "Sources/SwiftProp/Network.swift"
LIN = "Sources/SwiftProp/Linear.swift"
LOSS = "Sources/SwiftProp/Losses.swift"
ACT = "Sources/SwiftProp/Activations.swift"
OPT = "Sources/SwiftProp/Optimizers.swift"
RULES = "Sources/SwiftProp/Rules.swift"
DROP = "Sources/SwiftProp/Dropout.swift"
TRAIN = "Sources/SwiftProp/Train.swift"

MUTATIONS: list[Mutation] = [
    # ---- streamed blocks (issue 17's first blind spot) -------------------------------------------------
    M("fwd-block", NET, "            let xs = x + start * n0\n", "            let xs = x\n",
      "every block of a large batch re-reads the first block's rows (inference forward)",
      "test_streaming.py"),
    M("bwd-accumulate", NET, "rows: rows, nIn: sizes[i], nOut: sizes[i + 1], accumulate: accumulate || start > 0)",
      "rows: rows, nIn: sizes[i], nOut: sizes[i + 1], accumulate: accumulate)",
      "gradients of a batch larger than a block are not summed over its blocks", "test_streaming.py"),
    # ---- the three equations ------------------------------------------------------------------------
    M("eq1-no-fprime", NET, "                    activationBackward(ws.delta(i - 1), ws.dSOut(), ws.sIn(i - 1), ws.sOut(i - 1),\n"
      "                                       rows: rows, n: sizes[i], activations[i - 1])",
      "                    ws.delta(i - 1).update(from: ws.dSOut(), count: rows * sizes[i])",
      "(1) without ⊙ f'(S_in): δ^(i-1) = (W^i)ᵀ δ^i only", "test_numerics.py"),
    M("eq1-scaled", LIN, "alpha: 1, a: delta, lda: nOut, b: w, ldb: nIn, beta: 0, c: dx, ldc: nIn)",
      "alpha: 0.5, a: delta, lda: nOut, b: w, ldb: nIn, beta: 0, c: dx, ldc: nIn)",
      "(1) matrix half scaled: dcost/dS_out_prev = ½ δ W", "test_numerics.py"),
    M("eq2-wrong-input", NET, "x: layerInput(ws, i, training: training), w: w(i),",
      "x: UnsafePointer(ws.sIn(i - 1)), w: w(i),",
      "(2) with S_in instead of S_out of the layer below: dW = δᵀ S_in^(i-1)", "test_numerics.py"),
    M("eq3-first-row", LIN, "    for r in 0..<rows {\n        let d = delta + r * nOut",
      "    for r in 0..<min(rows, 1) {\n        let d = delta + r * nOut",
      "(3) summed over the first row only: dB = δ[0]", "test_numerics.py"),
    # ---- losses ---------------------------------------------------------------------------------------
    M("mse-half", LOSS, "total += Double(s) / 2", "total += Double(s)",
      "MSE cost without its ½ (value no longer matches the gradient)", "test_numerics.py"),
    M("ce-label-grad", LOSS, "d[Int(l[r])] -= scale", "d[Int(l[r])] -= scale / 2",
      "cross-entropy with labels: ŷ − ½ one-hot", "test_numerics.py"),
    M("bce-cost", LOSS, "s += softplus(z) - y.value(r, k, n: n) * z", "s += softplus(z) + y.value(r, k, n: n) * z",
      "binary cross-entropy cost with the sign of y·z flipped", "test_numerics.py"),
    M("mse-fprime", LOSS, "    if loss == .mse {\n        // dcost/dS_in",
      "    if loss == .mse && false {\n        // dcost/dS_in",
      "MSE's last δ without ⊙ f'(S_in) (wrong for any output activation but identity)", "test_numerics.py"),
    M("poisson-cost", LOSS, "s += (t > 0 ? t * T.log(t) : 0) - t * z - t + sOut[r * n + k]",
      "s += (t > 0 ? t * T.log(t) : 0) - t * z + sOut[r * n + k]",
      "poisson cost without its − y term", "test_numerics.py", "test_sparse.py"),
    M("sparse-forward", "Sources/SwiftProp/Sparse.swift", "for o in 0..<nOut { yr[o] += v * wk[o] }",
      "for o in 0..<nOut { yr[o] += v * v * wk[o] }", "sparse first layer reads each stored value squared",
      "test_sparse.py"),
    # ---- activations ----------------------------------------------------------------------------------
    M("vexp-3ulp", "Sources/SwiftProp/Float+Scalar.swift", "        let y = er * s1 * s2\n",
      "        let y = Float(bitPattern: (er * s1 * s2).bitPattern &+ 3)\n",
      "float32 exp (softmax's) 3 ulp high", "test_float32_ulp.py"),
    # ---- optimizers -----------------------------------------------------------------------------------
    M("sgd-momentum", OPT, "let pj = p[j], d = gs * (g[j] + c * pj) + wd * pj, vj = mu * v[j] + d",
      "let pj = p[j], d = gs * (g[j] + c * pj) + wd * pj, vj = d", "SGD momentum ignored: v ← g", "test_training.py"),
    M("sgd-nesterov", OPT, "let pn = pj - lr * (nesterov ? d + mu * vj : vj)", "let pn = pj - lr * vj",
      "Nesterov's look-ahead dropped", "test_training.py"),
    M("adam-bias", OPT, "return (lr * T.sqrt(c2) / c1, ", "return (lr, ",
      "Adam without bias correction", "test_training.py"),
    M("adamw-coupled", OPT, "kind == .adam ? weightDecay : 0, kind == .adamW", "weightDecay, kind == .adamW",
      "AdamW's decay also added to the gradient (coupled)", "test_training.py"),
    M("penalty-on-biases", OPT, "forPieces(r) { sub, weight in update(p, g, gs, weight ? c : 0, sub, commit: true) }",
      "forPieces(r) { sub, weight in update(p, g, gs, c, sub, commit: true) }",
      "the step's L2 term also decays the biases (scikit-learn's alpha leaves them alone)",
      "test_estimators_dropin.py", "test_training.py"),
    M("penalty-cell-sums", OPT, "if weighed { sums[lo / Self.cell] = s }", "if weighed { sums[lo / Self.cell] += s }",
      "Σ‖W‖² of the penalty accumulates over steps (the cell sums are never reset): a wrong loss",
      "test_estimators_dropin.py", "test_training.py"),
    M("rmsprop-square", OPT, "let sj = a * s[j] + (1 - a) * d * d", "let sj = a * s[j] + (1 - a) * abs(d)",
      "RMSprop's mean of |g| instead of g²", "test_training_tools.py"),
    M("clip-norm", OPT, "return T(min(1, clipNorm / (norm + 1e-6)))", "return T(min(1, clipNorm / (norm + 1e-6) + 0.5))",
      "gradient clipping lets half the norm more through", "test_training_tools.py"),
    M("step-nonfinite", OPT, "        if bad { return nil }", "        if bad && false { return nil }",
      "an update that makes a parameter NaN/Inf is taken", "test_training.py"),
    # ---- dropout --------------------------------------------------------------------------------------
    M("dropout-not-inverted", DROP, "let keep = T(1 / (1 - p))", "let keep = T(1)",
      "kept units not scaled by 1/(1 − p)", "test_dropout_reference.py"),
    M("dropout-half-rate", DROP, "mask[j] = rng.uniform() < p ? 0 : keep", "mask[j] = rng.uniform() < p / 2 ? 0 : keep",
      "units dropped at half the rate", "test_dropout_reference.py"),
    # ---- rules owned by the core ----------------------------------------------------------------------
    M("rule-label-upper", RULES, "if rows > 0, lo < 0 || hi >= classes {", "if rows > 0, lo < 0 {",
      "labels >= n_outputs accepted (the core owns the label range)", "test_network_api.py", "test_layer_checks.py"),
    M("rule-weights-negative", RULES, "ok = ok && w[r] >= 0;", "ok = ok && !w[r].isNaN;",
      "negative sample weights accepted", "test_network_api.py", "test_layer_checks.py"),
    M("rule-softmax-last", RULES, "if activations.dropLast().contains(.softmax) {",
      "if activations.dropLast().contains(.softmax) && false {",
      "softmax accepted before the last layer", "test_network_api.py", "test_layer_checks.py"),
    M("rule-dropout-range", NET, "if let bad = rates.first(where: { !($0 >= 0 && $0 < 1) }) {",
      "if let bad = rates.first(where: { !($0 >= 0 && $0 <= 1) }) {",
      "dropout rate 1 accepted", "test_dropout.py", "test_layer_checks.py"),
    M("rule-sizes", RULES, "if s < 1 { throw CoreError(.size,", "if s < 0 { throw CoreError(.size,",
      "a layer width of 0 accepted", "test_network_api.py", "test_layer_checks.py"),
    M("rule-loss-output", RULES, "if let want = loss.output, activations.last! != want {",
      "if let want = loss.output, activations.last! != want, false {",
      "cross-entropy accepted without a softmax output", "test_network_api.py", "test_layer_checks.py"),
    # ---- the extension's own checks -------------------------------------------------------------------
    M("ext-contiguous", "python/swiftprop/_core_arrays.c", "    if (!PyArray_IS_C_CONTIGUOUS(a)) {",
      "    if (0 && !PyArray_IS_C_CONTIGUOUS(a)) {",
      "non-C-contiguous arrays passed to Swift", "test_network_api.py", "test_layer_checks.py"),
    M("ext-alias", "python/swiftprop/_core_net.c", "    return overlaps_buffers(self, a) ? refuse_network_view(name) : 1;",
      "    return 1;",
      "targets, weights or order viewing the network's own buffers accepted (X has a check of its own)",
      "test_layer_checks.py", "test_fuzz.py"),
    # ---- Python ---------------------------------------------------------------------------------------
    M("load-unchecked", "python/swiftprop/_io.py", "        if shape != want[name] or dt != np.dtype(dtype):",
      "        if False:", "load and unpickling no longer compare the stored arrays with the metadata before "
      "building", "test_persistence.py"),  # (test_load_fuzz.py would then allocate gigabytes)
]


def _status(mut: Mutation, tree: Path) -> str:
    text = (tree / mut.file).read_text()
    n = text.count(mut.old)
    return "ok" if n == 1 and mut.old != mut.new else f"stale ({n} matches)"


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s"


def _build(tree: Path, env: dict) -> None:
    """Install the copy into its own folder (pip's isolated build; SwiftPM rebuilds incrementally in the
    copy's .build), which PYTHONPATH puts ahead of any installed swiftprop."""
    site = Path(env["PYTHONPATH"])
    code, out = _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                      "--no-deps", "--upgrade", "--target", str(site), str(tree)], tree, env, 1800)
    if code != 0:
        raise RuntimeError(f"build failed:\n{out[-3000:]}")


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("FAILED ") or line.startswith("ERROR "):
            return line.split(" ", 1)[1].split(" - ")[0]
        if "✘ Test" in line or "error:" in line:
            return line.strip()[:100]
    return output.strip().splitlines()[-1][:100] if output.strip() else "?"


def _test(mut: Mutation, tree: Path, env: dict) -> tuple[str, str]:
    """('caught', by what) or ('survived', '')."""
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    first = [f"python/tests/{t}" for t in mut.tests]
    if first:
        code, out = _run(pytest + first, tree, env, 1200)
        if code != 0:
            return "caught", _first_failure(out)
    code, out = _run(pytest + ["python/tests"], tree, env, 3600)
    if code != 0:
        return "caught", _first_failure(out)
    if mut.file.endswith(".swift"):
        flags = subprocess.run([sys.executable, "scripts/blas_flags.py"], cwd=tree, capture_output=True,
                               text=True).stdout.split()
        code, out = _run(["swift", "test", *flags], tree, env, 1800)
        if code != 0:
            return "caught", "swift test: " + _first_failure(out)
    return "survived", ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="list the mutations and whether each applies")
    ap.add_argument("--only", nargs="*", default=None, help="names of the mutations to run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = ap.parse_args()

    chosen = [m for m in MUTATIONS if args.only is None or m.name in args.only]
    stale = [(m, _status(m, ROOT)) for m in chosen if _status(m, ROOT) != "ok"]
    if args.list:
        for m in chosen:
            print(f"{m.name:24} {_status(m, ROOT):18} {m.file}: {m.why}")
        return 0
    if stale:
        for m, why in stale:
            print(f"stale mutation {m.name} ({m.file}): {why}; update scripts/mutate.py", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="swiftprop-mutate-"))
    tree = work / "tree"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (tree / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tree / f)
    env = dict(os.environ, PYTHONPATH=str(work / "site"), PYTHONDONTWRITEBYTECODE="1")
    print(f"building the copy in {tree} ...", flush=True)
    _build(tree, env)
    rows = []
    try:
        for m in chosen:
            path = tree / m.file
            original = path.read_text()
            path.write_text(original.replace(m.old, m.new, 1))
            start = time.perf_counter()
            try:
                _build(tree, env)
                verdict, by = _test(m, tree, env)
            except RuntimeError as e:
                verdict, by = "caught", f"build fails ({str(e).splitlines()[1][:80] if len(str(e).splitlines()) > 1 else e})"
            finally:
                path.write_text(original)
            rows.append((m, verdict, by, time.perf_counter() - start))
            print(f"{m.name:24} {verdict:9} {by}  ({rows[-1][3]:.0f} s)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print("\n| mutation | where | what it breaks | caught by |\n|---|---|---|---|")
    for m, verdict, by, _ in rows:
        print(f"| `{m.name}` | `{m.file.split('/')[-1]}` | {m.why} | "
              f"{('`' + by + '`') if verdict == 'caught' else '**survived**'} |")
    survivors = [m.name for m, v, *_ in rows if v != "caught"]
    print(f"\n{len(rows) - len(survivors)} caught, {len(survivors)} survived" +
          (f": {', '.join(survivors)}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
