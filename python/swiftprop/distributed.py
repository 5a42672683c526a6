"""How :meth:`swiftprop.Network.fit` runs an epoch: on this process, or data-parallel over MPI.

The fit loop (:mod:`swiftprop._fit`) asks :func:`epoch_strategy` for a strategy and calls, in this order,
``start`` once (after checking its arguments, before anything changes), ``run_epoch`` once per epoch and
``finish`` at the end. :class:`LocalEpochs` runs whole epochs in the Swift core; :class:`MPIEpochs` runs
the same mini-batch steps on every rank of an mpi4py communicator, averaging each batch's gradient over
the ranks (see the ``comm`` parameter of :meth:`~swiftprop.Network.fit`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

import numpy as np
from numpy.typing import NDArray

from ._network import add_l2, backward_unchecked, check_data, train_epoch
from .optim import core_optimizer, set_step_count, state_buffer

if TYPE_CHECKING:
    from ._fit import History
    from ._network import Network
    from .optim import Optimizer

__all__ = ["EpochData", "EpochStrategy", "LocalEpochs", "MPIEpochs", "epoch_strategy"]


@dataclass
class EpochData:
    """What every epoch of one :meth:`~swiftprop.Network.fit` call trains on (checked and converted)."""

    X: NDArray
    Y: NDArray
    sample_weight: Optional[NDArray]
    shuffle: bool
    rng: np.random.Generator
    batch_size: int
    alpha: float

    @property
    def n(self) -> int:
        """Number of training samples (on this rank)."""
        return self.X.shape[0]


class EpochStrategy(Protocol):
    """The interface the fit loop uses; :class:`LocalEpochs` and :class:`MPIEpochs` implement it."""

    def start(self, net: "Network", optimizer: "Optimizer", data: EpochData, epochs: int,
              check_finite: bool) -> None:
        """Check what the epochs will need; raise before anything changes."""

    def run_epoch(self, net: "Network", optimizer: "Optimizer", epoch: int, data: EpochData,
                  history: "History") -> None:
        """Train one epoch; append its loss, penalty and time to ``history``."""

    def finish(self, net: "Network") -> None:
        """After the last epoch (not after an exception)."""


def _diverged(epoch: int, batch: Any, lr: float, tail: str) -> FloatingPointError:
    return FloatingPointError(
        f"training diverged at epoch {epoch}, batch {batch}: the loss or a gradient became NaN "
        f"or infinite with learning rate {lr:g}; the parameters are those of the last finite step{tail}")


class LocalEpochs:
    """Whole epochs of mini-batch steps in the Swift core, with the GIL released."""

    def start(self, net: "Network", optimizer: "Optimizer", data: EpochData, epochs: int,
              check_finite: bool) -> None:
        """Check X and Y (shapes, dtypes, labels, and NaN/Inf unless ``check_finite`` is False)."""
        # every argument is checked before anything changes
        check_data(net, data.X, data.Y, check_finite=check_finite, sample_weight=data.sample_weight)

    def run_epoch(self, net: "Network", optimizer: "Optimizer", epoch: int, data: EpochData,
                  history: "History") -> None:
        """One epoch in the extension; appends its loss and time to history."""
        # X and Y were scanned for NaN/Inf by start (a NaN written into them later, e.g. by a callback,
        # still stops training through the loss check)
        n, rng = data.n, data.rng
        order = rng.permutation(n).astype(np.int64, copy=False) if data.shuffle and n else None
        start = time.perf_counter()
        try:
            masks = int(rng.integers(2**63)) if any(net.dropout) else None  # the dropout masks' seed
            loss_sum, _, penalty_sum = train_epoch(net, core_optimizer(optimizer), data.X, data.Y,
                                                   data.sample_weight, order, min(data.batch_size, max(n, 1)),
                                                   float(data.alpha), masks)
        except FloatingPointError as e:
            batch = e.args[1] if len(e.args) > 1 else "?"
            raise _diverged(epoch, batch, optimizer.lr,
                            " (try a smaller learning rate or scaled inputs)") from None
        history.epoch_time.append(time.perf_counter() - start)
        history.loss.append(loss_sum / n)
        history.penalty.append(penalty_sum / n)

    def finish(self, net: "Network") -> None:
        """Nothing to do."""


class MPIEpochs:
    """Data-parallel epochs: per mini-batch, backward on the local rows, ``Allreduce``-average the gradient
    buffer in place, then the same optimizer step on every rank.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        The communicator; every rank passes its own shard of the data and the same arguments.
    """

    def __init__(self, comm: Any) -> None:
        if not all(hasattr(comm, a) for a in ("Get_size", "Allreduce", "Bcast", "allgather")):
            raise TypeError(f"comm must be an mpi4py communicator, got {type(comm).__name__}")
        self.comm = comm

    def start(self, net: "Network", optimizer: "Optimizer", data: EpochData, epochs: int,
              check_finite: bool) -> None:
        """Same starting point on every rank, and the same number of batches per epoch.

        Every check compares what all ranks gathered, so a mismatch raises the same ValueError on
        every rank instead of failing on one while the others wait in a collective."""
        comm, n = self.comm, data.n
        batches = -(-n // min(data.batch_size, max(n, 1)))
        layout = (net.sizes, net.activations, net.loss, net.dtype.name, repr(optimizer),
                  int(state_buffer(optimizer).size), net.dropout, int(epochs))
        every = comm.allgather((batches, n, layout, data.sample_weight is not None))
        if any(sw for *_, sw in every):
            raise ValueError("sample_weight is not supported with comm")
        if any(any(lay[6]) for _, _, lay, _ in every):
            raise ValueError("dropout is not supported with comm")
        if any(rows == 0 for _, rows, *_ in every):
            raise ValueError(f"every rank needs at least one sample, got {[r for _, r, *_ in every]} rows")
        if len({lay for _, _, lay, _ in every}) != 1:
            raise ValueError("every rank needs the same network (sizes, activations, loss, dtype, dropout), "
                             f"optimizer and epochs, got {[lay for _, _, lay, _ in every]}")
        counts = [b for b, *_ in every]
        if len(set(counts)) != 1:
            raise ValueError(f"every rank needs the same number of mini-batches per epoch, got {counts} "
                             "(give the ranks shards of equal size)")
        comm.Bcast(net.params, root=0)
        comm.Bcast(state_buffer(optimizer), root=0)
        set_step_count(optimizer, comm.bcast(optimizer.t, root=0))

    def _check_shards(self, net: "Network", data: EpochData) -> None:
        """Shapes, dtypes, finiteness and label range of every shard, checked before the first collective
        of the loop: a bad shard raises on every rank (no rank left waiting)."""
        problem: Optional[Exception] = None
        try:
            check_data(net, data.X, data.Y)
        except (TypeError, ValueError) as e:
            problem = e
        problems = self.comm.allgather((None if problem is None else f"{type(problem).__name__}: {problem}",
                                        float(data.alpha)))
        bad = [f"rank {r}: {msg}" for r, (msg, _) in enumerate(problems) if msg]
        if bad:  # this rank's own exception type, ValueError on the ranks whose data is fine
            raise (type(problem) if problem is not None else ValueError)(
                "invalid training data on some ranks: " + "; ".join(bad))
        if len({a for _, a in problems}) != 1:
            raise ValueError(f"every rank needs the same alpha, got {[a for _, a in problems]}")

    def _batch(self, net: "Network", optimizer: "Optimizer", epoch: int, b: int, xb: NDArray, yb: NDArray,
               alpha: float) -> tuple[float, float]:
        """One averaged step; returns the batch's (loss averaged over the ranks, this rank's penalty)."""
        from mpi4py import MPI

        comm, size, grads = self.comm, self.comm.Get_size(), net.grads
        loss = backward_unchecked(net, xb, yb)
        penalty = 0.0
        if alpha:
            # alpha·W / (global batch rows): after averaging this is the 1-rank penalty on the union
            penalty = add_l2(net, float(alpha), float(xb.shape[0] * size))
            loss += penalty
        comm.Allreduce(MPI.IN_PLACE, grads, op=MPI.SUM)
        grads /= size
        loss = comm.allreduce(loss, op=MPI.SUM) / size
        # the averaged gradient is the same on every rank, so every rank decides the same way
        if not np.isfinite(loss) or not np.isfinite(grads).all():
            raise _diverged(epoch, b, optimizer.lr, "")
        optimizer.step()
        return loss, penalty

    def run_epoch(self, net: "Network", optimizer: "Optimizer", epoch: int, data: EpochData,
                  history: "History") -> None:
        """One epoch of averaged steps; appends its loss (averaged over the ranks) and time to history."""
        X, Y, n = data.X, data.Y, data.n
        bs = min(data.batch_size, n)
        order = data.rng.permutation(n) if data.shuffle else None
        if epoch == 1:
            self._check_shards(net, data)
        start = time.perf_counter()
        loss_sum = penalty_sum = 0.0
        for b in range(-(-n // bs)):
            rows = slice(b * bs, min(n, (b + 1) * bs))
            idx = rows if order is None else order[rows]
            xb, yb = X[idx], Y[idx]
            loss, penalty = self._batch(net, optimizer, epoch, b, xb, yb, data.alpha)
            loss_sum += loss * xb.shape[0]
            penalty_sum += penalty * xb.shape[0]
        history.epoch_time.append(time.perf_counter() - start)
        history.loss.append(loss_sum / n)
        history.penalty.append(penalty_sum / n)

    def finish(self, net: "Network") -> None:
        """Compare a hash of the parameters across ranks (RuntimeError if they differ)."""
        digests = self.comm.allgather(net.param_hash())
        if len(set(digests)) != 1:
            raise RuntimeError(f"MPI ranks ended with different parameters (hashes {digests})")


def epoch_strategy(comm: Any = None) -> Union[LocalEpochs, MPIEpochs]:
    """:class:`LocalEpochs` without a communicator, else :class:`MPIEpochs` over ``comm``.

    Raises
    ------
    TypeError
        If ``comm`` is not an mpi4py communicator.
    """
    return LocalEpochs() if comm is None else MPIEpochs(comm)
