"""Dropout against an independent NumPy reference, and its statistics.

The core draws each mask entry from SplitMix64 (Sources/SwiftProp/Dropout.swift): ``uniform() =
(next() >> 11) * 2**-53``, the entry is 0 if ``uniform() < p`` else ``1/(1 − p)`` (inverted dropout),
drawn per block of rows, per hidden layer in forward order, rows × units in row-major order. fit seeds
the generator once per epoch with ``int(rng.integers(2**63))`` drawn from fit's
``numpy.random.default_rng(seed)`` right after that epoch's permutation (``Network._fit_epoch``).
:mod:`swiftprop.reference` reproduces the masks (``SplitMix64``, ``dropout_masks``) and the pass with
them (``backward_dropout``), so a training step with dropout can be compared value by value.

The statistical tests read the masks back from the gradient of a network built so that
``dW[1][0, j] = δ · mask_j`` and ``dB[1][0] = δ`` (one sample, one input of 1, identity layers): they
do not depend on the generator, only on the rate and the inverted scaling.
"""
from __future__ import annotations


import numpy as np
import pytest

import swiftprop as sp
from swiftprop.optim import SGD

from swiftprop import reference as ref

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
TOL = {F64: 1e-9, F32: 1e-4}
DTYPES = [pytest.param(F64, id="f64"), pytest.param(F32, id="f32")]
TINY = np.finfo(np.float64).tiny


def rows_per_block(sizes) -> int:
    """Rows per block of the core's streamed passes (Network.rowsPerBlock in Network.swift)."""
    return max(64, 2**22 // (3 * sum(sizes[1:])))


def rel_err(actual, expected) -> float:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (a.shape, e.shape)
    return float(np.max(np.abs(a - e)) / max(float(np.max(np.abs(e))), TINY))


def assert_close(actual, expected, tol, what):
    err = rel_err(actual, expected)
    assert err <= tol, f"{what}: rel err {err:.3g} > {tol:g}"


def fit_draws(seed: int, n: int, epochs: int, shuffle: bool):
    """(order, mask seed) of each epoch of ``fit(..., seed=seed)`` with dropout, as _fit_epoch draws them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else None
        out.append((order, int(rng.integers(2**63))))
    return out


# --------------------------------------------------------------------------------------------
# The reference's generator itself
# --------------------------------------------------------------------------------------------

def test_reference_splitmix64_known_values_and_streaming():
    # the first outputs for seed 0 of the published SplitMix64 (e.g. Vigna's splitmix64.c)
    g = ref.SplitMix64(0)
    assert [int(v) for v in g.next_uint64(3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    # drawing in pieces is drawing at once
    a, b = ref.SplitMix64(2**63 + 5), ref.SplitMix64(2**63 + 5)
    assert np.array_equal(np.concatenate([a.uniform(7), a.uniform(1), a.uniform(12)]), b.uniform(20))
    u = ref.SplitMix64(1).uniform(100_000)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 5 * (1 / 12 / 1e5) ** 0.5


def test_reference_dropout_masks_order_and_values():
    rates, widths, rows, block = [0.25, 0.0, 0.5], [3, 4, 2], 5, 2
    masks = ref.dropout_masks(ref.SplitMix64(9), rates, widths, rows, np.float32, rows_per_block=block)
    assert masks[1] is None
    # by hand: per block of 2 rows (2, 2, 1), layer 0 then layer 2, rows × units row-major
    g = ref.SplitMix64(9)
    for start in (0, 2, 4):
        b = min(block, rows - start)
        for i in (0, 2):
            u = g.uniform(b * widths[i]).reshape(b, widths[i])
            want = np.where(u < rates[i], 0, np.float32(1 / (1 - rates[i])))
            assert np.array_equal(masks[i][start:start + b], want)
    assert masks[0].dtype == np.float32 and set(np.unique(masks[2])) <= {0, 2}


# --------------------------------------------------------------------------------------------
# Training steps with dropout, value by value
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_one_step_with_dropout_matches_reference(dtype):
    """fit on one batch with plain SGD: the loss, the gradient left in net.grads and the updated
    parameters are those of the reference pass with the SplitMix64 masks of fit's seed."""
    sizes, acts, rates = [5, 12, 9, 3], ["tanh", "elu", "softmax"], [0.3, 0.5]
    rng = np.random.default_rng(1)
    n, lr = 40, 0.1
    X = rng.normal(size=(n, 5)).astype(dtype)
    y = rng.integers(0, 3, n)
    net = sp.Network(sizes, acts, "cross_entropy", dtype=dtype, seed=2, dropout=rates)
    W = [np.array(w, dtype=np.float64) for w in net.weights]
    B = [np.array(b, dtype=np.float64) for b in net.biases]
    hist = net.fit(X, y, epochs=1, batch_size=n, optimizer=SGD(net, lr=lr), shuffle=False, seed=7)
    [(_, mask_seed)] = fit_draws(7, n, 1, shuffle=False)
    masks = ref.dropout_masks(ref.SplitMix64(mask_seed), rates, sizes[1:-1], n, dtype,
                              rows_per_block=rows_per_block(sizes))
    masks64 = [m.astype(np.float64) for m in masks]  # the network's own (rounded) mask values
    tr = ref.backward_dropout(W, B, acts, "cross_entropy", X.astype(np.float64), y, masks64)
    tol = TOL[dtype]
    assert_close(hist.loss[0], tr.loss, tol, "loss with dropout")
    for i in range(3):
        assert_close(net.weight_grads[i], tr.dW[i], tol, f"weight_grads[{i}]")
        assert_close(net.bias_grads[i], tr.dB[i], tol, f"bias_grads[{i}]")
        assert_close(net.weights[i], W[i] - lr * tr.dW[i], tol, f"weights[{i}] after the step")
        assert_close(net.biases[i], B[i] - lr * tr.dB[i], tol, f"biases[{i}] after the step")
    # and the masks did something: without them the gradient is another one
    plain = ref.backward(W, B, acts, "cross_entropy", X.astype(np.float64), y)
    assert rel_err(net.weight_grads[1], plain.dW[1]) > 0.05


@pytest.mark.parametrize("dtype", DTYPES)
def test_epochs_with_dropout_over_blocks_and_batches_match_reference(dtype):
    """Two shuffled epochs of SGD with momentum, mini-batches of several 64-row blocks (a wide
    hidden layer), the generator running on from batch to batch and reseeded each epoch."""
    sizes, acts, rates = [4, 22000, 3], ["tanh", "softmax"], [0.4]
    block = rows_per_block(sizes)
    n, bs, epochs, lr, mu = 200, 130, 2, 0.05, 0.9
    assert block == 64 and bs > 2 * block and n % bs != 0  # batches of 64 + 64 + 2 and 64 + 6 rows
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 4)).astype(dtype)
    y = rng.integers(0, 3, n)
    net = sp.Network(sizes, acts, "cross_entropy", dtype=dtype, seed=4, dropout=rates)
    W = [np.array(w, dtype=np.float64) for w in net.weights]
    B = [np.array(b, dtype=np.float64) for b in net.biases]
    hist = net.fit(X, y, epochs=epochs, batch_size=bs, optimizer=SGD(net, lr=lr, momentum=mu), seed=8)
    X64 = X.astype(np.float64)
    params = [W[0], B[0], W[1], B[1]]
    velocity = [np.zeros_like(p) for p in params]
    for e, (order, mask_seed) in enumerate(fit_draws(8, n, epochs, shuffle=True)):
        gen = ref.SplitMix64(mask_seed)
        loss_sum = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            masks = ref.dropout_masks(gen, rates, sizes[1:-1], len(idx), dtype, rows_per_block=block)
            tr = ref.backward_dropout(W, B, acts, "cross_entropy", X64[idx], y[idx],
                                      [m.astype(np.float64) for m in masks])
            ref.sgd_step(params, [tr.dW[0], tr.dB[0], tr.dW[1], tr.dB[1]], velocity, lr, mu)
            loss_sum += tr.loss * len(idx)
        assert_close(hist.loss[e], loss_sum / n, TOL[dtype], f"History.loss[{e}]")
    for i in range(2):
        assert_close(net.weights[i], W[i], TOL[dtype], f"weights[{i}]")
        assert_close(net.biases[i], B[i], TOL[dtype], f"biases[{i}]")


# --------------------------------------------------------------------------------------------
# Statistics of the masks
# --------------------------------------------------------------------------------------------

H = 2**15  # hidden units: one Bernoulli draw each (1/H exact in binary: ŷ at inference is exactly 1)


def _masks_through_the_gradient(p: float, dtype, seed: int):
    """One fit step of a [1, H, 1] identity network with W[0] = 1, B = 0, W[1] = 1/H on x = 1, y = 10.

    The hidden layer's output is 1 everywhere, so the output layer reads the mask m itself:
    ŷ = Σ_j m_j / H, δ = ŷ − y, dW[1][0, j] = δ · m_j and dB[1][0] = δ. Returns (m, ŷ during training,
    ŷ at inference)."""
    net = sp.Network([1, H, 1], ["identity", "identity"], "mse", dtype=dtype, dropout=p)
    net.weights[0][...] = 1
    net.weights[1][...] = 1 / H
    net.biases[0][...] = 0
    net.biases[1][...] = 0
    X = np.ones((1, 1), dtype=dtype)
    Y = np.full((1, 1), 10.0, dtype=dtype)
    inference = float(net.forward(X)[0, 0])
    net.fit(X, Y, epochs=1, batch_size=1, optimizer=SGD(net, lr=1e-6), shuffle=False, seed=seed)
    delta = float(net.bias_grads[1][0])
    m = net.weight_grads[1][0].astype(np.float64) / delta
    return m, delta + 10.0, inference


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_dropout_rate_and_inverted_scaling_statistics(p, dtype):
    m, y_train, y_infer = _masks_through_the_gradient(p, dtype, seed=int(p * 100))
    eps = float(np.finfo(dtype).eps)
    kept = m != 0
    # kept units are scaled by exactly 1/(1 − p) (rounded to the dtype), dropped ones are exactly 0
    scale = float(dtype.type(1 / (1 - p)))
    assert np.allclose(m[kept], scale, rtol=8 * eps, atol=0), "kept units are not scaled by 1/(1-p)"
    # The kept count K is Binomial(H, 1 − p): mean H(1 − p), sd s = sqrt(H p (1 − p)). |K − H(1 − p)| <= 5 s
    # fails a correct generator with probability < 1e-6, while units dropped at half the rate shift the
    # mean by H p / 2, which is 30 s (p = 0.1) to 180 s (p = 0.8) here.
    K = int(kept.sum())
    s = (H * p * (1 - p)) ** 0.5
    assert abs(K - H * (1 - p)) <= 5 * s, f"kept {K} of {H}, expected {H * (1 - p):.0f} ± {5 * s:.0f}"
    # Inverted dropout leaves the expected activation unchanged: ŷ during training is the mean of the H
    # mask entries, each of mean 1 and variance p/(1 − p), so ŷ_train = 1 ± 5 sqrt(p / ((1 − p) H)) while
    # ŷ at inference is 1 (no rescaling there). Without the 1/(1 − p) the mean is 1 − p, at least 10 of
    # those bounds away (p = 0.1); at half the rate it is (1 − p/2)/(1 − p), at least 6 bounds away.
    # (float32 sums the H terms with a relative error ~1e-5, far inside the bound.)
    bound = 5 * (p / ((1 - p) * H)) ** 0.5
    assert y_infer == 1.0
    assert abs(y_train - y_infer) <= bound, f"training output {y_train:.5f}, inference {y_infer:.5f}"


def test_dropout_masks_follow_the_fit_seed():
    """The same fit seed gives the same mask; another seed an independent one (not the same mask, and
    not a correlated one)."""
    a, _, _ = _masks_through_the_gradient(0.5, F64, seed=1)
    b, _, _ = _masks_through_the_gradient(0.5, F64, seed=2)
    c, _, _ = _masks_through_the_gradient(0.5, F64, seed=1)
    assert np.array_equal(a, c)
    # two independent masks agree on a unit with probability 1/2: H/2 ± 5 sqrt(H/4)
    agree = int(((a != 0) == (b != 0)).sum())
    assert abs(agree - H / 2) <= 5 * (H / 4) ** 0.5
