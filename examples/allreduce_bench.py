"""Per-step cost of data-parallel training: Allreduce of a flat float32 gradient buffer, next to the
compute of one mini-batch step of a network with as many parameters.

    mpirun -n 2 python examples/allreduce_bench.py            # as root: mpirun --allow-run-as-root ...
    mpirun -n 2 python examples/allreduce_bench.py --batch 256 --sizes 1e5 1e6

For each buffer size N (float32), rank 0 prints the median and minimum time of
``comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)`` over repeated calls, the bus bandwidth that implies
for a ring allreduce (2·(p−1)/p · 4N bytes per rank), and the median time of one forward+backward pass
(``Network.backward``, one BLAS thread per rank) of a float32 network [k, k, k] with about N
parameters (k = sqrt(N/2)) on a per-rank batch: the computation one Allreduce of that size follows in
``Network.fit(..., comm=...)``.
"""
import argparse
import os
import time

os.environ.setdefault("SWIFTPROP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402

import swiftprop as sp  # noqa: E402


def timed(fn, comm, min_time=0.5, max_reps=200):
    """Median and minimum seconds of fn(), every rank starting each call together."""
    times = []
    total = 0.0
    while len(times) < 5 or (total < min_time and len(times) < max_reps):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        dt = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)  # the slowest rank counts
        times.append(dt)
        total += dt
    return float(np.median(times)), float(np.min(times)), len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6, 1e7])
    parser.add_argument("--batch", type=int, default=64, help="per-rank batch of the compute column")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    p = comm.Get_size()
    rows = []
    for n in (int(s) for s in args.sizes):
        buf = np.ones(n, dtype=np.float32)
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)  # warm-up (connection set-up, page faults)
        med, best, reps = timed(lambda: comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM), comm)
        bus = 2 * (p - 1) / p * 4 * n / med if p > 1 else float("nan")
        k = max(2, int(round((n / 2) ** 0.5)))
        net = sp.Network([k, k, k], "relu", "mse", dtype=np.float32, seed=0)
        rng = np.random.default_rng(comm.Get_rank())
        X = rng.standard_normal((args.batch, k), dtype=np.float32)
        Y = rng.standard_normal((args.batch, k), dtype=np.float32)
        net.backward(X, Y)
        step, _, _ = timed(lambda: net.backward(X, Y), comm)
        rows.append((n, med, best, reps, bus, net.n_params, step))
    if comm.Get_rank() == 0:
        print(f"{p} ranks, {MPI.Get_library_version().splitlines()[0].strip(chr(0)).strip()}; "
              f"compute: float32 [k, k, k], batch {args.batch} per rank, "
              f"{sp.get_num_threads()} thread(s), kernel {sp.blas_corename()}")
        print(f"{'float32 params':>14} {'MiB':>7} {'allreduce median':>17} {'min':>10} {'reps':>5} "
              f"{'bus GB/s':>9} {'fwd+bwd median':>15} {'comm/compute':>13}")
        for n, med, best, reps, bus, n_params, step in rows:
            print(f"{n:>14.0e} {4 * n / 2**20:>7.2f} {med * 1e3:>14.3f} ms {best * 1e3:>7.3f} ms {reps:>5d} "
                  f"{bus / 1e9:>9.2f} {step * 1e3:>12.3f} ms {med / step:>13.2f}")


if __name__ == "__main__":
    main()
