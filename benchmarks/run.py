"""swiftprop against its peers, side by side in one run.

    python benchmarks/run.py            # full run (several minutes)
    python benchmarks/run.py --quick    # tiny sizes, one repeat: checks the runner works (CI)

Every measurement runs in a fresh Python process (so one library's thread pool or allocator state
cannot slow another's), libraries alternate within each repeat, and the table reports the median
over repeats. Peers are optional: each that is not installed is skipped with a note. The NumPy loop
is swiftprop.reference (the same equations in plain NumPy) and is always there.

Training step = forward + backward + plain SGD update, float32 unless stated. GFLOP/s is shown as a
percentage of the float32 GEMM peak measured in the same run (NumPy's OpenBLAS, 2048³, or 512³ with
--quick), twice: "nominal" counts 6·batch·Σ n_i·n_(i+1) per step (forward, dW and the input gradient
of every layer: the performance issue's count), "done" the work actually computed (every library here
skips the first layer's input gradient).

Sparse cases ("sparse ..."): one shuffled epoch of MLPClassifier(hidden_layer_sizes=(128,), solver="adam")'s
setting on a TF-IDF-like scipy.sparse CSR X (float64): swiftprop's Network.fit, scikit-learn's fit, a
NumPy loop that densifies each mini-batch, and PyTorch's sparse COO path; and the peak RSS the epoch adds
(needs scipy).

Threads: BENCH_THREADS=n (default 2) sets swiftprop's and PyTorch's; NumPy, scikit-learn and JAX
follow OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (default: all cores). On a shared or busy machine run
everything on one thread (BENCH_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1): spinning
threads make multi-threaded timings there meaningless.

OpenBLAS kernels: the header names the kernels each OpenBLAS runs. Where the environment forces older
ones (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines for old OpenBLAS builds), measure the
hardware with both unset for that command alone: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date

HERE = os.path.abspath(__file__)
PEERS = ("swiftprop", "numpy", "numpy_hand", "jax", "torch", "sklearn")
MNIST = [784, 256, 128, 10]
DIGITS = [64, 32, 10]
TINY = [4, 8, 2]


# ---------------------------------------------------------------------------------------------
# Workers: each runs in its own process and prints one JSON number (seconds, samples/s or MB).
# ---------------------------------------------------------------------------------------------

def _data(n, sizes, dtype, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]), dtype=dtype)  # no float64 temporary: keeps the RSS baseline
    y = rng.integers(0, sizes[-1], n)
    return X, y


def _median_time(fn, repeat, number):
    for _ in range(max(1, number // 10)):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


def _relu_glorot(sizes, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(-1, 1, (sizes[i + 1], sizes[i])) * np.sqrt(6 / (sizes[i] + sizes[i + 1]))
          for i in range(len(sizes) - 1)]
    Bs = [np.zeros(sizes[i + 1]) for i in range(len(sizes) - 1)]
    return Ws, Bs


class Swiftprop:
    def __init__(self, sizes, dtype, lr=0.01):
        import numpy as np
        import swiftprop as sp

        sp.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        self.net = sp.Network(sizes, "relu", "cross_entropy", dtype=dtype, seed=0)
        self.opt = sp.optim.SGD(self.net, lr=lr)
        self.np = np

    def step(self, X, y):
        self.net.backward(X, y)
        self.opt.step()

    def epoch(self, X, y, batch):
        self.net.fit(X, y, epochs=1, batch_size=batch, optimizer=self.opt, shuffle=True, seed=0)

    def predict(self, X):
        return self.net.forward(X)


class NumpyLoop:
    """The plain NumPy implementation of the same equations (swiftprop.reference)."""

    def __init__(self, sizes, dtype, lr=0.01):
        import numpy as np
        from swiftprop import reference as R

        self.R, self.np, self.lr = R, np, lr
        Ws, Bs = _relu_glorot(sizes)
        self.W = [w.astype(dtype) for w in Ws]
        self.B = [b.astype(dtype) for b in Bs]
        self.acts = ["relu"] * (len(sizes) - 2) + ["softmax"]

    def step(self, X, y):
        t = self.R.backward(self.W, self.B, self.acts, "cross_entropy", X, y)
        for W, B, dW, dB in zip(self.W, self.B, t.dW, t.dB):
            W -= self.lr * dW
            B -= self.lr * dB

    def epoch(self, X, y, batch):
        order = self.np.random.default_rng(0).permutation(len(X))
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            self.step(X[idx], y[idx])

    def predict(self, X):
        return self.R.forward(self.W, self.B, self.acts, X)[1][-1]


class NumpyHand:
    """A hand-written NumPy loop: samples as rows, weights stored (n_in, n_out) so the forward product
    is `a @ W` with no transpose, ReLU and the SGD update in place, no NaN/Inf checks, the cross-entropy
    value computed (as every other library does). What a careful NumPy user writes."""

    def __init__(self, sizes, dtype, lr=0.01):
        import numpy as np

        self.np = np
        Ws, Bs = _relu_glorot(sizes)
        self.W = [np.ascontiguousarray(w.T.astype(dtype)) for w in Ws]  # (n_in, n_out)
        self.B = [b.astype(dtype) for b in Bs]
        self.lr = np.dtype(dtype).type(lr)

    def _forward(self, X):
        np, a = self.np, X
        outs = [X]
        for i, (W, b) in enumerate(zip(self.W, self.B)):
            z = a @ W
            z += b
            if i < len(self.W) - 1:
                np.maximum(z, 0, out=z)
            outs.append(z)
            a = z
        return outs

    def step(self, X, y):
        np = self.np
        outs = self._forward(X)
        p = outs[-1]  # logits -> softmax in place
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        cost = -np.log(p[rows, y]).mean()
        p[rows, y] -= 1
        p *= 1 / len(y)  # δ of the last layer
        delta = p
        for i in range(len(self.W) - 1, -1, -1):
            W, a = self.W[i], outs[i]
            prev = None
            if i > 0:
                prev = delta @ W.T
                prev *= a > 0  # ReLU' from the layer's output
            dW = a.T @ delta
            dW *= self.lr
            W -= dW
            self.B[i] -= self.lr * delta.sum(axis=0)
            delta = prev
        return cost

    def epoch(self, X, y, batch):
        order = self.np.random.default_rng(0).permutation(len(X))
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            self.step(X[idx], y[idx])

    def predict(self, X):
        p = self._forward(X)[-1]
        p -= p.max(axis=1, keepdims=True)
        self.np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        return p


class Torch:
    def __init__(self, sizes, dtype, lr=0.01):
        import numpy as np
        import torch

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        self.torch = torch
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        self.model = torch.nn.Sequential(*layers).to(tdtype)
        self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)

    def step(self, X, y):
        self.opt.zero_grad(set_to_none=True)
        self.loss(self.model(X), y).backward()
        self.opt.step()

    def convert(self, X, y):
        return self.torch.from_numpy(X), self.torch.from_numpy(y)

    def epoch(self, X, y, batch):
        gen = self.torch.Generator().manual_seed(0)
        order = self.torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            self.step(X[idx], y[idx])

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(X)


class Jax:
    def __init__(self, sizes, dtype, lr=0.01):
        import jax
        import jax.numpy as jnp
        import numpy as np

        if np.dtype(dtype) == np.float64:
            jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp, self.np = jax, jnp, np
        Ws, Bs = _relu_glorot(sizes)
        self.params = [(jnp.asarray(W.T.astype(dtype)), jnp.asarray(B.astype(dtype))) for W, B in zip(Ws, Bs)]

        def forward(params, X):
            h = X
            for W, b in params[:-1]:
                h = jax.nn.relu(h @ W + b)
            W, b = params[-1]
            return h @ W + b

        def loss(params, X, y):
            logits = forward(params, X)
            return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])

        def step(params, X, y):
            g = jax.grad(loss)(params, X, y)
            return jax.tree_util.tree_map(lambda p, d: p - lr * d, params, g)

        self._step = jax.jit(step, donate_argnums=0)
        self._forward = jax.jit(forward)

    def step(self, X, y):
        self.params = self._step(self.params, X, y)
        self.jax.block_until_ready(self.params)

    def convert(self, X, y):
        return self.jnp.asarray(X), self.jnp.asarray(y)

    def epoch(self, X, y, batch):
        # gather each batch on the host (NumPy) and hand it to the jitted step: indexing device
        # arrays batch by batch from Python would measure dispatch, not JAX
        X, y = self.np.asarray(X), self.np.asarray(y)
        order = self.np.random.default_rng(0).permutation(len(X))
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            self.params = self._step(self.params, X[idx], y[idx])
        self.jax.block_until_ready(self.params)

    def predict(self, X):
        return self.jax.block_until_ready(self._forward(self.params, X))


class Sklearn:
    def __init__(self, sizes, dtype, lr=0.01):
        import numpy as np
        from sklearn.neural_network import MLPClassifier

        self.np = np
        self.sizes, self.lr = sizes, lr
        self.classes = np.arange(sizes[-1])
        self.make = lambda batch: MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]), solver="sgd", momentum=0.0, alpha=0.0,
            learning_rate_init=lr, batch_size=batch, max_iter=1, shuffle=True, random_state=0, tol=0.0)
        self.model = None

    def step(self, X, y):
        if self.model is None:
            self.model = self.make(len(X))
            self.model.partial_fit(X, y, classes=self.classes)
        self.model.partial_fit(X, y)

    def epoch(self, X, y, batch):
        import warnings

        model = self.make(batch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)

    def predict(self, X):
        if self.model is None:
            self.model = self.make(200)
            self.model.partial_fit(X[:200], self.np.arange(len(X[:200])) % self.sizes[-1], classes=self.classes)
        return self.model.predict_proba(X)


# ---- sparse input: a TF-IDF-like CSR X, MLPClassifier(hidden_layer_sizes=(128,), solver="adam") ---------
# Each library trains one shuffled epoch with Adam (lr 0.001, alpha 1e-4, batch 200: scikit-learn's
# defaults) on the same float64 CSR matrix; "numpy" is a NumPy loop that densifies each mini-batch.

SPARSE_HIDDEN, SPARSE_CLASSES, SPARSE_BATCH, SPARSE_ALPHA = 128, 10, 200, 1e-4


def _sparse_data(n, d, density, seed=0):
    """A TF-IDF-like CSR X (n, d): Zipf-distributed term columns, l2-normalised rows, and labels that
    depend on the terms (so the problem is learnable)."""
    import numpy as np
    import scipy.sparse as sps

    rng = np.random.default_rng(seed)
    per_row = max(1, int(round(density * d)))
    ranks = np.arange(1, d + 1, dtype=np.float64)
    p = 1 / ranks ** 1.1
    p /= p.sum()
    cols = rng.choice(d, size=(n, per_row), p=p)
    counts = rng.integers(1, 4, size=(n, per_row)).astype(np.float64)
    X = sps.csr_matrix((counts.ravel(), cols.ravel(), np.arange(0, n * per_row + 1, per_row)), shape=(n, d))
    X.sum_duplicates()
    idf = np.log((1 + n) / (1 + np.bincount(X.indices, minlength=d))) + 1
    X = X @ sps.diags(idf)
    X = sps.csr_matrix(X.multiply(1 / np.sqrt(X.multiply(X).sum(axis=1))))
    y = np.asarray((X @ rng.standard_normal((d, SPARSE_CLASSES))).argmax(axis=1)).ravel()
    return X, y


class SparseSwiftprop:
    def __init__(self, d):
        import swiftprop as sp

        sp.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        self.net = sp.Network([d, SPARSE_HIDDEN, SPARSE_CLASSES], "relu", "cross_entropy", seed=0)
        self.opt = sp.optim.Adam(self.net, lr=0.001)

    def epoch(self, X, y):
        self.net.fit(X, y, epochs=1, batch_size=SPARSE_BATCH, optimizer=self.opt, alpha=SPARSE_ALPHA, seed=0)


class SparseNumpyLoop:
    """swiftprop.reference's equations on each mini-batch made dense (X[idx].toarray()), Adam in NumPy."""

    def __init__(self, d):
        import numpy as np
        from swiftprop import reference as R

        self.R, self.np = R, np
        Ws, Bs = _relu_glorot([d, SPARSE_HIDDEN, SPARSE_CLASSES])
        self.params = [a for W, B in zip(Ws, Bs) for a in (W, B)]
        self.m = [np.zeros_like(a) for a in self.params]
        self.v = [np.zeros_like(a) for a in self.params]
        self.t = 0

    def epoch(self, X, y):
        order = self.np.random.default_rng(0).permutation(X.shape[0])
        for i in range(0, X.shape[0], SPARSE_BATCH):
            idx = order[i:i + SPARSE_BATCH]
            xb = X[idx].toarray()
            tr = self.R.backward(self.params[0::2], self.params[1::2], ["relu", "softmax"], "cross_entropy", xb,
                                 y[idx])
            grads = []
            for W, dW, dB in zip(self.params[0::2], tr.dW, tr.dB):
                grads += [dW + SPARSE_ALPHA / len(idx) * W, dB]
            self.t += 1
            self.R.adam_step(self.params, grads, self.m, self.v, self.t, 0.001)


class SparseSklearn:
    def __init__(self, d):
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier(hidden_layer_sizes=(SPARSE_HIDDEN,), solver="adam", max_iter=1, shuffle=True,
                                   random_state=0, tol=0.0)

    def epoch(self, X, y):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(X, y)


class SparseTorch:
    """PyTorch's fastest way found here: X as one coalesced sparse COO tensor, each mini-batch's rows taken
    with index_select, torch.sparse.mm for the first layer, fused Adam (its L2 term as weight_decay on the
    weights: the same alpha/batch · W as scikit-learn's). The CSR route (a torch CSR tensor per batch from
    scipy's X[idx]) measured 2.4x slower, unfused Adam 1.7x slower."""

    def __init__(self, d):
        import torch

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        torch.manual_seed(0)
        self.torch = torch
        self.W1 = torch.nn.Parameter(torch.empty(SPARSE_HIDDEN, d, dtype=torch.float64))
        torch.nn.init.xavier_uniform_(self.W1)
        self.B1 = torch.nn.Parameter(torch.zeros(SPARSE_HIDDEN, dtype=torch.float64))
        self.out = torch.nn.Linear(SPARSE_HIDDEN, SPARSE_CLASSES).double()
        groups = [{"params": [self.W1, self.out.weight], "weight_decay": SPARSE_ALPHA / SPARSE_BATCH},
                  {"params": [self.B1, self.out.bias], "weight_decay": 0.0}]
        self.opt = torch.optim.Adam(groups, lr=0.001, fused=True)

    def epoch(self, X, y):
        import numpy as np

        torch, F = self.torch, self.torch.nn.functional
        coo = X.tocoo()
        Xt = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, size=X.shape).coalesce()
        yt = torch.from_numpy(y)
        order = torch.from_numpy(np.random.default_rng(0).permutation(X.shape[0]))
        for i in range(0, X.shape[0], SPARSE_BATCH):
            idx = order[i:i + SPARSE_BATCH]
            self.opt.zero_grad(set_to_none=True)
            h = torch.relu(torch.sparse.mm(Xt.index_select(0, idx), self.W1.t()) + self.B1)
            F.cross_entropy(self.out(h), yt[idx]).backward()
            self.opt.step()


SPARSE_IMPLS = {"swiftprop": SparseSwiftprop, "numpy": SparseNumpyLoop, "torch": SparseTorch,
                "sklearn": SparseSklearn}


def sparse_worker(lib, case, args):
    """One epoch's seconds (sparse_epoch), or the peak RSS growth during it in MB (sparse_rss)."""
    import threading

    X, y = _sparse_data(args["n"], args["d"], args["density"])
    impl = SPARSE_IMPLS[lib](args["d"])

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    base = peak = rss()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            time.sleep(0.001)

    # the RSS sampler only in the RSS case: waking every millisecond, it would take a core from the timed
    # epoch of a library that uses both
    t = threading.Thread(target=sample)
    if case == "sparse_rss":
        t.start()
    start = time.perf_counter()
    impl.epoch(X, y)
    seconds = time.perf_counter() - start
    done.set()
    if case == "sparse_rss":
        t.join()
    return seconds if case == "sparse_epoch" else (max(peak, rss()) - base) / 2**20


IMPLS = {"swiftprop": Swiftprop, "numpy": NumpyLoop, "numpy_hand": NumpyHand, "torch": Torch, "jax": Jax,
         "sklearn": Sklearn}


# ---------------------------------------------------------------------------------------------
# The GEMM floor: exactly the matrix products of a training step, through swiftprop's own BLAS.
# ---------------------------------------------------------------------------------------------

def swiftprop_blas():
    """The OpenBLAS swiftprop links (scipy-openblas32's libscipy_openblas.so), through ctypes."""
    import ctypes

    import scipy_openblas32

    return ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"))


class Floor:
    """The matrix products one training step of `sizes` performs at `batch` rows, called through the
    BLAS swiftprop links (scipy-openblas32's libscipy_openblas.so, loaded once per process, so the
    same object code, kernels and core detection) with ctypes. NumPy is not used: its wheels bundle
    their own OpenBLAS (64-bit integers, possibly another version, with its own thread pool).

    Per layer i (n_in -> n_out): forward (B, n_in)·(n_in, n_out), dW (n_out, B)·(B, n_in) (δᵀ S_out_prev),
    and for i ≥ 1 the input gradient (B, n_out)·(n_out, n_in); each in the layout that needs no
    transposed copy. Each product is timed alone with OpenBLAS on 1 thread and on `threads` threads
    (its own threading: what a plain caller gets) and the faster counts: the floor is the sum, minus
    the cost of a ctypes call (measured with an empty product), so it is a lower bound on what any
    caller of this BLAS on `threads` threads spends in the products."""

    def __init__(self, sizes, batch, dtype, threads):
        import ctypes

        import numpy as np

        self.np, self.threads = np, threads
        lib = swiftprop_blas()
        self.lib = lib
        f64 = np.dtype(dtype) == np.float64
        self.gemm = lib.scipy_cblas_dgemm if f64 else lib.scipy_cblas_sgemm
        real = ctypes.c_double if f64 else ctypes.c_float
        i, p = ctypes.c_int, ctypes.c_void_p
        self.gemm.argtypes = [i, i, i, i, i, i, real, p, i, p, i, real, p, i]
        self.gemm.restype = None
        lib.scipy_openblas_set_num_threads.argtypes = [i]
        rng = np.random.default_rng(1)
        self.calls = []
        self.arrays = []  # keep the operands alive

        def product(m, n, k, trans_a):
            a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            c = np.zeros((m, n), dtype)
            self.arrays += [a, b, c]
            lda = m if trans_a else k
            self.calls.append((101, 112 if trans_a else 111, 111, m, n, k, 1.0, a.ctypes.data, lda,
                               b.ctypes.data, n, 0.0, c.ctypes.data, n))

        for li in range(len(sizes) - 1):
            n_in, n_out = sizes[li], sizes[li + 1]
            product(batch, n_out, n_in, False)      # forward
            product(n_out, n_in, batch, True)       # dW = δᵀ S_out_prev
            if li > 0:
                product(batch, n_in, n_out, False)  # input gradient δ W
        z = np.zeros(1, dtype)
        self.arrays.append(z)
        self.empty = (101, 111, 111, 0, 0, 0, 1.0, z.ctypes.data, 1, z.ctypes.data, 1, 0.0, z.ctypes.data, 1)

    def _time(self, call, number):
        gemm = self.gemm
        times = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(number):
                gemm(*call)
            times.append((time.perf_counter() - t) / number)
        return statistics.median(times)

    def measure(self, number):
        """The floor of one step, in seconds; leaves OpenBLAS on one thread (swiftprop's setting)."""
        best = [float("inf")] * len(self.calls)
        for t in sorted({1, self.threads}):
            self.lib.scipy_openblas_set_num_threads(t)
            for j, call in enumerate(self.calls):
                best[j] = min(best[j], self._time(call, number))
        self.lib.scipy_openblas_set_num_threads(1)
        time.sleep(0.05)  # let OpenBLAS's own threads stop spinning before anything else is timed
        overhead = self._time(self.empty, number)
        return max(0.0, sum(best) - overhead * len(self.calls))


def floor_worker(case, args, dtype, sizes):
    """swiftprop's step (or epoch) and its GEMM floor, alternating in one process: returns the median
    floor and the median of the per-round ratios swiftprop / floor."""
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    impl = Swiftprop(sizes, dtype)
    batch = args["batch"]
    floor = Floor(sizes, batch, dtype, threads)
    if case == "step":
        X, y = _data(batch, sizes, dtype)
        run = lambda: _median_time(lambda: impl.step(X, y), 3, args["number"])  # noqa: E731
        steps = {batch: 1}
    else:
        X, y = _data(args["n"], sizes, dtype)
        impl.epoch(X, y, batch)
        run = lambda: _median_time(lambda: impl.epoch(X, y, batch), 1, 1)  # noqa: E731
        steps = {batch: args["n"] // batch}
        if args["n"] % batch:
            steps[args["n"] % batch] = 1
    floors = {b: (floor if b == batch else Floor(sizes, b, dtype, threads)) for b in steps}
    number = max(3, args.get("number", 20) // 4)
    fl, ratios = [], []
    for _ in range(args["repeat"]):
        f = sum(count * floors[b].measure(number) for b, count in steps.items())
        t = run()
        fl.append(f)
        if f > 0:  # products of a few hundred multiply-adds cost less than the ctypes call: no floor
            ratios.append(t / f)
    return {"floor": statistics.median(fl), "ratio": statistics.median(ratios) if ratios else None}


def blas_cores():
    """Which OpenBLAS kernels this process runs: swiftprop's (scipy-openblas32) and NumPy's, as OpenBLAS
    names its core (OPENBLAS_CORETYPE, where set, forces it)."""
    import ctypes

    cores = {}
    try:
        lib = swiftprop_blas()
        lib.scipy_openblas_get_corename.restype = ctypes.c_char_p
        cores["swiftprop"] = lib.scipy_openblas_get_corename().decode()
    except (ImportError, OSError, AttributeError):
        pass
    try:
        import numpy  # noqa: F401  (loads its OpenBLAS)
        from threadpoolctl import threadpool_info

        cores.update({"numpy": i.get("architecture") for i in threadpool_info()
                      if i.get("internal_api") == "openblas" and "numpy" in i.get("filepath", "")})
    except ImportError:
        pass
    return cores


def worker(lib, case, args):
    import numpy as np

    if case.startswith("sparse"):
        return sparse_worker(lib, case, args)
    dtype = np.float32 if args.get("dtype", "float32") == "float32" else np.float64
    sizes = args.get("sizes", MNIST)
    if lib == "floor":
        return floor_worker(case, args, dtype, sizes)
    if case == "cores":
        return blas_cores()
    if case == "gemm":
        n = args["n"]
        a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
        t = _median_time(lambda: a @ a, args["repeat"], 3)
        return 2 * n ** 3 / t / 1e9
    impl = IMPLS[lib](sizes, dtype)
    convert = getattr(impl, "convert", lambda X, y: (X, y))
    if case == "step":
        X, y = convert(*_data(args["batch"], sizes, dtype))
        return _median_time(lambda: impl.step(X, y), args["repeat"], args["number"])
    if case == "epoch":
        X, y = convert(*_data(args["n"], sizes, dtype))
        impl.epoch(X, y, args["batch"])  # warm-up (jit, workspaces)
        return _median_time(lambda: impl.epoch(X, y, args["batch"]), args["repeat"], 1)
    if case == "predict":
        X, _ = convert(*_data(args["batch"], sizes, dtype))
        t = _median_time(lambda: impl.predict(X), args["repeat"], args["number"])
        return args["batch"] / t
    if case == "tiny":
        X, _ = convert(*_data(1, sizes, dtype))
        return _median_time(lambda: impl.predict(X), args["repeat"], args["number"])
    if case == "rss":
        import threading

        def rss():  # resident set size now, in bytes
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

        X, y = convert(*_data(args["n"], sizes, dtype))
        impl.step(X[:args["batch"]], y[:args["batch"]])  # model, optimizer and workspaces exist now
        base = peak = rss()
        done = threading.Event()

        def sample():  # peak RSS during the epoch, sampled every 0.5 ms
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss())
                time.sleep(0.0005)

        t = threading.Thread(target=sample)
        t.start()
        impl.epoch(X, y, args["batch"])
        done.set()
        t.join()
        return (max(peak, rss()) - base) / 2**20  # MB over the data and the model
    raise ValueError(case)


# ---------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------

def available(lib):
    module = {"numpy": "swiftprop.reference", "numpy_hand": "numpy"}.get(lib, lib)
    code = f"import {module}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def measure(lib, case, args, timeout=900):
    env = dict(os.environ)
    cmd = [sys.executable, HERE, "--worker", lib, case, json.dumps(args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{lib} {case} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cases(quick):
    if quick:
        n, reps = 2048, 1
        return [
            ("step 784-256-128-10 B=32", "step", dict(batch=32, number=5, repeat=2)),
            ("epoch 784-256-128-10 B=128 (n=2048)", "epoch", dict(batch=128, n=n, repeat=1)),
            ("epoch 64-32-10 B=32 (n=1797)", "epoch", dict(batch=32, n=1797, sizes=DIGITS, repeat=1)),
            ("tiny forward 1x4-8-2", "tiny", dict(sizes=TINY, number=200, repeat=2)),
            ("inference B=1024 (samples/s)", "predict", dict(batch=1024, number=3, repeat=2)),
            ("sparse epoch 2000x5000 0.1% Adam 128 float64", "sparse_epoch", dict(n=2000, d=5000, density=0.001)),
        ], 512, reps
    return [
        ("step 784-256-128-10 B=32", "step", dict(batch=32, number=200, repeat=7)),
        ("step 784-256-128-10 B=128", "step", dict(batch=128, number=100, repeat=7)),
        ("step 784-256-128-10 B=1024", "step", dict(batch=1024, number=20, repeat=7)),
        ("step 784-256-128-10 B=128 float64", "step", dict(batch=128, number=50, repeat=7, dtype="float64")),
        ("epoch 784-256-128-10 B=128 (n=60000)", "epoch", dict(batch=128, n=60000, repeat=3)),
        ("epoch 784-256-128-10 B=32 (n=60000)", "epoch", dict(batch=32, n=60000, repeat=3)),
        ("step 64-32-10 B=32", "step", dict(batch=32, sizes=DIGITS, number=1000, repeat=7)),
        ("epoch 64-32-10 B=32 (n=1797)", "epoch", dict(batch=32, n=1797, sizes=DIGITS, repeat=7)),
        ("tiny forward 1x4-8-2", "tiny", dict(sizes=TINY, number=20000, repeat=7)),
        ("inference B=1024 (samples/s)", "predict", dict(batch=1024, number=50, repeat=7)),
        ("peak RSS, one epoch B=128 (MB)", "rss", dict(batch=128, n=60000, repeat=1)),
        (SPARSE_LABEL, "sparse_epoch", SPARSE_ARGS),
        ("sparse: peak RSS, one epoch (MB; dense X would be 8000 MB)", "sparse_rss", SPARSE_ARGS),
    ], 2048, 3


SPARSE_ARGS = dict(n=20000, d=50000, density=0.001)
SPARSE_LABEL = "sparse epoch 20000x50000 0.1% (TF-IDF-like CSR) Adam 128 float64"


def flops(args):
    """(nominal, done): the issue's 6·B·Σ n_i·n_(i+1) per step, and the work every implementation
    here actually does, which skips the first layer's input gradient: 2·B·(2·Σ + Σ over layers ≥ 2)."""
    sizes = args.get("sizes", MNIST)
    prods = [sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1)]
    return 6 * args["batch"] * sum(prods), 2 * args["batch"] * (2 * sum(prods) + sum(prods[1:]))


def fmt(case, value):
    if value is None:
        return "—"
    if case in ("step", "epoch"):
        return f"{value * 1e3:.3f} ms"
    if case == "sparse_epoch":
        return f"{value:.2f} s"
    if case == "tiny":
        return f"{value * 1e6:.2f} µs"
    if case == "predict":
        return f"{value / 1e3:.0f} k/s"
    if case in ("rss", "sparse_rss"):
        return f"+{value:.1f} MB"
    return f"{value:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (CI smoke test)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--cases", default="", help="only the cases whose label contains this text")
    ap.add_argument("--repeats", type=int, default=None,
                    help="fresh processes per library and case (default 3; 1 with --quick)")
    ap.add_argument("--no-floor", action="store_true", help="skip the GEMM floor of the training cases")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        lib, case, args = a.worker
        print(json.dumps(worker(lib, case, json.loads(args))))
        return

    wanted = [p for p in a.peers.split(",") if p]
    libs = []
    for lib in wanted:
        if lib not in IMPLS:
            sys.exit(f"unknown peer {lib!r}")
        if available(lib):
            libs.append(lib)
        else:
            print(f"note: {lib} is not installed; skipped")
    if "swiftprop" not in libs:
        sys.exit("swiftprop is not importable: install it first (pip install .)")
    if a.quick:
        libs = [lib for lib in libs if lib in ("swiftprop", "numpy", "numpy_hand")]

    table, gemm_n, reps = cases(a.quick)
    table = [row for row in table if a.cases in row[0]]
    if a.repeats is not None:
        if a.repeats < 1:
            sys.exit("--repeats must be >= 1")
        reps = a.repeats
    peak = statistics.median(measure("numpy", "gemm", dict(n=gemm_n, repeat=3)) for _ in range(reps))
    cores = measure("numpy", "cores", {})
    forced = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    results, spread, floors = {}, {}, {}
    for label, case, args in table:
        with_floor = case in ("step", "epoch") and not a.no_floor
        run_libs = [lib for lib in libs if not case.startswith("sparse") or lib in SPARSE_IMPLS]  # others: —
        run_libs += ["floor"] if with_floor else []
        vals = {lib: [] for lib in run_libs}
        for r in range(reps):
            order = run_libs[r % len(run_libs):] + run_libs[:r % len(run_libs)]  # alternate who goes first
            for lib in order:
                if case in ("rss", "sparse_rss") and r > 0:
                    continue
                try:
                    vals[lib].append(measure(lib, case, args))
                except Exception as e:  # a peer failing must not hide the others
                    print(f"note: {lib} failed on '{label}': {str(e).splitlines()[-1]}", file=sys.stderr)
        fl = vals.pop("floor", [])
        results[label] = {lib: (statistics.median(v) if v else None) for lib, v in vals.items()}
        spread[label] = (min(vals["swiftprop"]), max(vals["swiftprop"])) if vals["swiftprop"] else None
        fl = [f for f in fl if f["ratio"] is not None]
        if fl:
            ratios = [f["ratio"] for f in fl]
            floors[label] = (statistics.median(f["floor"] for f in fl), statistics.median(ratios),
                             min(ratios), max(ratios))
        got = ", ".join(f"{lib} {'/'.join(fmt(case, x) for x in v)}" for lib, v in vals.items() if v)
        if fl:
            got += ", swiftprop / floor " + "/".join(f"{f['ratio']:.2f}" for f in fl)
        elif with_floor:
            got += ", floor below the resolution of a ctypes call"
        print(f"  measured {label}: {got}", file=sys.stderr, flush=True)  # kept if the run is cut short

    higher_better = {"predict"}
    print()
    print(f"swiftprop benchmark, {date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; float32 GEMM peak {peak:.0f} GFLOP/s")
    print("OpenBLAS kernels: " + (", ".join(f"{k} {v}" for k, v in cores.items()) or "unknown")
          + (f" (forced by {', '.join(f'{k}={v}' for k, v in forced.items())})" if forced else ""))
    head = (["case"] + libs + ["swiftprop min–max", "GEMM floor", "swiftprop / floor (min–max)",
                               "best peer / swiftprop", "hand loop / swiftprop",
                               "swiftprop % of GEMM peak (nominal / done)"])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for label, case, args in table:
        row = results[label]
        sp_v = row.get("swiftprop")
        peers = {k: v for k, v in row.items() if k != "swiftprop" and v is not None}
        ratio = "—"
        if case in ("rss", "sparse_rss"):
            ratio = "—"  # absolute growth matters here; compare the MB directly
        elif sp_v and peers:
            if case in higher_better:
                best = max(peers, key=peers.get)
                ratio = f"{sp_v / peers[best]:.2f}× ({best})"
            else:
                best = min(peers, key=peers.get)
                ratio = f"{peers[best] / sp_v:.2f}× ({best})"
        pct = "—"
        if case == "step" and sp_v and args.get("dtype", "float32") == "float32":
            nominal, done = flops(args)
            pct = f"{nominal / sp_v / 1e9 / peak * 100:.0f} % / {done / sp_v / 1e9 / peak * 100:.0f} %"
        lo_hi = "—"
        if spread.get(label) and case != "rss":
            lo_hi = "–".join(fmt(case, v) for v in spread[label])
        floor_t, floor_r = "—", "—"
        if label in floors:
            f, med, lo, hi = floors[label]
            floor_t, floor_r = fmt(case, f), f"{med:.2f}× ({lo:.2f}–{hi:.2f})"
        hand = "—"
        if sp_v and row.get("numpy_hand") and case not in ("rss",):
            h = row["numpy_hand"]
            hand = f"{sp_v / h:.2f}×" if case in higher_better else f"{h / sp_v:.2f}×"
        cells = [fmt(case, row.get(lib)) for lib in libs] + [lo_hi, floor_t, floor_r, ratio, hand, pct]
        print("| " + " | ".join([label] + cells) + " |")
    print()
    print("best peer / swiftprop: > 1 means swiftprop is faster (for inference: swiftprop's throughput "
          "over the best peer's).")
    print("GEMM floor: the matrix products of the step (of every step of the epoch) alone, through "
          "swiftprop's OpenBLAS, each on 1 or BENCH_THREADS threads, whichever is faster; swiftprop / floor is "
          "the median of ratios measured side by side in one process (1.00 = nothing but the products).")
    print("% of GEMM peak: nominal counts 6·B·Σ n_i·n_(i+1) FLOP per step (the performance issue's count); "
          "done counts the FLOP actually computed (no input gradient for the first layer, by every library here).")


if __name__ == "__main__":
    main()
