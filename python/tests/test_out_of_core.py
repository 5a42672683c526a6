"""Out-of-core training: ``Network.fit`` on a ``numpy.memmap`` larger than the memory it may use.

A 200 MiB float32 file is trained on in a subprocess

* under an enforced 64 MiB memory limit (a memory cgroup made for the test, v2 or v1: whatever the
  machine has; the test skips, naming the reason, when it cannot make one). A control run in the same
  cgroup that allocates 3 × the limit in anonymous memory must be killed, which shows the limit is
  real; training must then succeed, reading the file through the page cache (reclaimable, so the
  cgroup keeps evicting it: its limit counter shows it was reached) with anonymous memory bounded by
  the model and the batch, not by the file.
* without a limit, checking that ``fit`` reads the memmap in place: anonymous RSS (sampled during the
  fit) and the NumPy allocations traced by tracemalloc grow by far less than the file's size.

RLIMIT_AS cannot do this: mapping the file counts its whole size as address space.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

MiB = 1 << 20
LIMIT = 64 * MiB
N_FEATURES = 100
N_ROWS = 200 * MiB // (4 * N_FEATURES)  # 524288 rows of 100 float32: 200 MiB, 3.1 × LIMIT
BATCH = 256
ANON_BOUND = 16 * MiB  # growth of anonymous memory allowed during fit (model, batch, workspace)
TRACED_BOUND = 2 * MiB  # NumPy/Python allocations allowed during fit

# The child: joins the cgroup (when given one) before importing anything big, trains one epoch on
# the memmap, samples RssAnon from /proc/self/status every 2 ms during fit, and prints a JSON line.
CHILD = r"""
import os, sys, json, threading, time
procs, x_path, y_path, n, d, batch = sys.argv[1:]
n, d, batch = int(n), int(d), int(batch)
if procs:
    with open(procs, "w") as f:
        f.write(str(os.getpid()))
import tracemalloc
import numpy as np
import swiftprop as sp

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out

X = np.memmap(x_path, dtype=np.float32, mode="r", shape=(n, d))
Y = np.memmap(y_path, dtype=np.int64, mode="r", shape=(n,))
net = sp.Network([d, 16, 10], "relu", "cross_entropy", dtype=np.float32, seed=0)
net.fit(np.zeros((batch, d), np.float32), np.zeros(batch, np.int64), batch_size=batch)  # workspace, BLAS
before = status()
peak = [before["RssAnon"]]
stop = threading.Event()

def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], status()["RssAnon"])
        time.sleep(0.002)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
tracemalloc.start()
start = time.perf_counter()
history = net.fit(X, Y, epochs=1, batch_size=batch, shuffle=False)
seconds = time.perf_counter() - start
traced_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
stop.set()
sampler.join()
with open("/proc/self/cgroup") as f:
    cgroup = f.read()
print(json.dumps({"before": before, "after": status(), "peak_anon": peak[0], "traced_peak": traced_peak,
                  "loss": history.loss, "seconds": seconds, "cgroup": cgroup,
                  "accuracy": net.score(np.asarray(X[:20000]), np.asarray(Y[:20000]))}))
"""

# The control: allocates and touches 3 × the limit of anonymous memory.
HOG = r"""
import os, sys
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
import numpy as np
a = np.ones(int(sys.argv[2]), dtype=np.uint8)
print("allocated", int(a.sum()))
"""


def _drop_page_cache(*paths: Path) -> None:
    """Evict the files' clean pages, so the next reader faults them in (and is charged for them)."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """X (N_ROWS × N_FEATURES float32, 200 MiB) and labels (int64) on disk, written in chunks."""
    d = tmp_path_factory.mktemp("out_of_core")
    x_path, y_path = d / "X.f32", d / "y.i64"
    rng = np.random.default_rng(0)
    chunk = 65536
    with open(x_path, "wb") as fx, open(y_path, "wb") as fy:
        for _ in range(N_ROWS // chunk):
            x = rng.standard_normal((chunk, N_FEATURES), dtype=np.float32)
            fx.write(x.tobytes())
            fy.write(np.argmax(x[:, :10], axis=1).astype(np.int64).tobytes())
    assert x_path.stat().st_size == N_ROWS * N_FEATURES * 4 >= 3 * LIMIT
    yield x_path, y_path
    x_path.unlink()
    y_path.unlink()


def _run_child(procs: str, x_path: Path, y_path: Path) -> tuple[int, dict | None, str]:
    env = dict(os.environ, SWIFTPROP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, procs, str(x_path), str(y_path), str(N_ROWS),
                           str(N_FEATURES), str(BATCH)], env=env, capture_output=True, text=True, timeout=300)
    result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
    return proc.returncode, result, proc.stdout + proc.stderr


def _check_training(result: dict) -> None:
    assert np.isfinite(result["loss"][0]) and result["accuracy"] > 0.5, result
    grown = result["peak_anon"] - result["before"]["RssAnon"]
    assert grown < ANON_BOUND, f"anonymous memory grew by {grown / MiB:.1f} MiB during fit: {result}"
    assert result["traced_peak"] < TRACED_BOUND, f"fit allocated {result['traced_peak'] / MiB:.1f} MiB: {result}"


def test_memmap_fit_reads_in_place(data_files):
    """Without a limit: fit streams the 200 MiB memmap without copying it (observed, not enforced)."""
    x_path, y_path = data_files
    code, result, output = _run_child("", x_path, y_path)
    assert code == 0, output
    _check_training(result)
    # the file was read: its pages were mapped into the process (page cache, not anonymous memory)
    assert result["after"]["RssFile"] > 100 * MiB, result


class _MemoryCgroup:
    """A child memory cgroup of this process's own, with a hard limit (v2 memory.max or v1
    memory.limit_in_bytes). Creating it raises OSError (or RuntimeError) with the reason when the
    machine does not allow it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        name = f"swiftprop-test-{os.getpid()}"
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        v2_root = Path("/sys/fs/cgroup")
        controllers = v2_root / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            rel = next(line[3:] for line in lines if line.startswith("0::"))
            parent = v2_root / rel.lstrip("/")
            self.version, self.path = 2, parent / name
            self.path.mkdir()
            try:
                if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                    # fails (EBUSY) when the parent holds processes and is not the root: "no internal processes"
                    (parent / "cgroup.subtree_control").write_text("+memory")
                (self.path / "memory.max").write_text(str(limit))
                if (self.path / "memory.swap.max").exists():
                    (self.path / "memory.swap.max").write_text("0")
            except OSError:
                self.remove()
                raise
        else:
            v1_root = Path("/sys/fs/cgroup/memory")
            if not (v1_root / "memory.limit_in_bytes").exists():
                raise RuntimeError("no memory cgroup controller is mounted (neither cgroup v2 with the memory "
                                   "controller at /sys/fs/cgroup nor v1 at /sys/fs/cgroup/memory)")
            rel = next(line.split(":", 2)[2] for line in lines if line.split(":")[1] == "memory")
            self.version, self.path = 1, v1_root / rel.lstrip("/") / name
            self.path.mkdir()
            try:
                (self.path / "memory.limit_in_bytes").write_text(str(limit))
                if (self.path / "memory.memsw.limit_in_bytes").exists():  # no swapping past the limit
                    (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit))
            except OSError:
                self.remove()
                raise
        if self.read_limit() != limit:
            self.remove()
            raise RuntimeError(f"the cgroup at {self.path} did not take the limit {limit}")

    @property
    def procs(self) -> str:
        return str(self.path / "cgroup.procs")

    def read_limit(self) -> int:
        text = (self.path / ("memory.max" if self.version == 2 else "memory.limit_in_bytes")).read_text().strip()
        return -1 if text == "max" else int(text)

    def peak(self) -> int | None:
        f = self.path / ("memory.peak" if self.version == 2 else "memory.max_usage_in_bytes")
        return int(f.read_text()) if f.exists() else None

    def stat(self) -> dict[str, int]:
        return {k: int(v) for k, v in (line.split() for line in (self.path / "memory.stat").read_text().splitlines())}

    def reclaimed(self) -> tuple[bool, str]:
        """Whether the cgroup had to reclaim memory (evict page cache) to stay within its limit."""
        stat = self.stat()
        if self.version == 1:
            # pages charged to the cgroup since reset_counters ran out the limit several times over
            # while usage never passed it (v1 has no pgsteal; failcnt stays 0 on recent kernels when
            # a memsw limit is set)
            charged = stat.get("pgpgin", 0) * 4096
            return charged > 2 * self.limit, f"pgpgin {charged / MiB:.0f} MiB, stat {stat}"
        return stat.get("pgsteal", 0) > 0, f"pgsteal {stat.get('pgsteal')} pages, stat {stat}"

    def reset_counters(self) -> None:
        if self.version == 1:
            for f in ("memory.max_usage_in_bytes", "memory.failcnt", "memory.memsw.max_usage_in_bytes",
                      "memory.memsw.failcnt"):
                if (self.path / f).exists():
                    (self.path / f).write_text("0")

    def remove(self) -> None:
        for _ in range(50):  # the last process may take a moment to leave
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


@pytest.fixture
def memory_cgroup():
    try:
        cg = _MemoryCgroup(LIMIT)
    except (OSError, RuntimeError, StopIteration) as e:
        pytest.skip(f"cannot make a memory cgroup with an enforced limit here ({type(e).__name__}: {e}); "
                    "test_memmap_fit_reads_in_place still checks the bound without a limit")
    yield cg
    cg.remove()


def test_memmap_fit_under_enforced_memory_limit(data_files, memory_cgroup):
    """A 200 MiB memmap trains in a process limited to 64 MiB; 192 MiB of anonymous memory does not."""
    cg = memory_cgroup
    x_path, y_path = data_files
    # the control: the limit is enforced (the kernel kills the process that exceeds it)
    hog = subprocess.run([sys.executable, "-c", HOG, cg.procs, str(3 * LIMIT)], capture_output=True, text=True,
                         timeout=120)
    assert hog.returncode != 0 and "allocated" not in hog.stdout, \
        f"allocating 3 × the limit was not stopped (exit {hog.returncode}): {hog.stdout}{hog.stderr}"
    assert hog.returncode == -9, f"expected SIGKILL from the OOM killer, got {hog.returncode}: {hog.stderr}"

    _drop_page_cache(x_path, y_path)  # so the training process faults the file in under its limit
    cg.reset_counters()
    code, result, output = _run_child(cg.procs, x_path, y_path)
    assert code == 0, f"training under the {LIMIT // MiB} MiB limit failed (exit {code}):\n{output[-3000:]}"
    assert cg.path.name in result["cgroup"]  # it did run inside the limited cgroup
    _check_training(result)
    # the file (3 × the limit) went through the cgroup's page cache, which filled up and was reclaimed
    peak = cg.peak()
    assert peak is None or 0.9 * LIMIT <= peak <= LIMIT, peak
    reclaimed, why = cg.reclaimed()
    assert reclaimed, why
