"""Data-parallel training of a swiftprop Network over MPI, on scikit-learn's bundled digits.

    mpirun -n 2 python examples/mpi_train.py
    # as root (e.g. in a container), Open MPI needs: mpirun --allow-run-as-root -n 2 ...
    # more ranks than cores: mpirun --oversubscribe -n 4 ...

Needs mpi4py and an MPI (``bash scripts/install_mpi.sh`` installs Open MPI and mpi4py). Every rank
loads the same data, keeps its shard of the training rows (shard r: rows r, r + size, r + 2·size, ...
cut to equal length) and calls ``net.fit(X_shard, y_shard, ..., comm=MPI.COMM_WORLD)``: after each
mini-batch the ranks average their gradients with Allreduce and take the same step, so the global
batch is ``batch_size × size``. Rank 0 prints the loss per epoch (averaged over all ranks), the test
accuracy, and the parameter hash of every rank (all equal).

``python -m mpi4py examples/mpi_train.py`` instead of ``python ...`` makes an uncaught exception on one
rank abort the whole job instead of leaving the other ranks waiting.
"""
import os

os.environ.setdefault("SWIFTPROP_NUM_THREADS", "1")  # one thread per rank: ranks share the cores

import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import swiftprop as sp  # noqa: E402
from swiftprop.optim import Adam  # noqa: E402

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# this rank's shard: every size-th row, all shards of the same length (same number of mini-batches)
n_local = len(X_train) // size
X_local = np.ascontiguousarray(X_train[rank::size][:n_local])
y_local = np.ascontiguousarray(y_train[rank::size][:n_local])

epochs, batch_size = 20, 32  # batch_size per rank: the global batch is batch_size * size
net = sp.Network([64, 64, 10], "relu", "cross_entropy", seed=0)  # rank 0's parameters are broadcast
history = net.fit(X_local, y_local, epochs=epochs, batch_size=batch_size, optimizer=Adam(net, lr=1e-3),
                  seed=rank, alpha=1e-4, comm=comm)

hashes = comm.gather(net.param_hash(), root=0)
if rank == 0:
    print(f"{size} rank(s), {n_local} training rows each, global batch {batch_size * size}, "
          f"{net.n_params} parameters")
    for epoch, (loss, seconds) in enumerate(zip(history.loss, history.epoch_time), 1):
        print(f"epoch {epoch:2d}  loss {loss:.4f}  ({seconds * 1e3:.1f} ms)")
    print(f"test accuracy {net.score(X_test, y_test):.4f}")
    print("parameter hashes: " + "  ".join(f"rank {r}: {h}" for r, h in enumerate(hashes)))
    print("all ranks hold identical parameters" if len(set(hashes)) == 1 else "RANKS DIFFER")
