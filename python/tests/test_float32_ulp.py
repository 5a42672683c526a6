"""float32 activations at the level of ulps, from Python.

A one-layer float32 network with W = I and B = 0 outputs f(X) itself (the product with the identity
and the zero bias are exact), so its forward pass shows the float32 kernels' own rounding: compared
with the float64 reference on the same float32 inputs, the error is measured in float32 ulps of the
exact result. Each case bounds the largest error (the kernel's accuracy) and the mean signed error
(the kernel's bias: correct rounding errors average out to ~0, a kernel consistently off by k ulps
averages ~k).

The bounds are the largest errors measured over much denser scans than the tests run (numbers in
each case), rounded up by a fraction of an ulp: tight, but met by the current kernels everywhere.

* softmax uses the vectorised exponential ``Float.vexp`` (a polynomial, documented within 2 ulp); a
  row ``[0, d]`` with ``d <= -17`` has the output ``vexp(d) / (1 + vexp(d)) = vexp(d)`` exactly
  (``1 + vexp(d)`` rounds to 1), which isolates ``vexp`` itself;
* sigmoid and tanh use the C library's ``expf`` and ``tanhf``.
"""
from __future__ import annotations

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import reference as ref

N = 1 << 17  # values per case


def ulp_errors(y32: np.ndarray, x32: np.ndarray, activation: str) -> np.ndarray:
    """(float32 result − exact) / (float32 ulp at the exact result), the exact result being the
    float64 reference on the same (float32) inputs."""
    exact = ref.activation_forward(activation, x32.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return (y32.astype(np.float64) - exact) / ulp


def identity_network_forward(activation: str, X: np.ndarray) -> np.ndarray:
    n = X.shape[1]
    net = sp.Network([n, n], [activation], "mse", dtype=np.float32)
    net.weights[0][...] = np.eye(n, dtype=np.float32)
    net.biases[0][...] = 0
    X = np.ascontiguousarray(X, dtype=np.float32)
    out = net.forward(X)
    assert out.dtype == np.float32
    return out


def _check(err: np.ndarray, max_ulp: float, max_bias: float, what: str) -> None:
    worst, bias = float(np.max(np.abs(err))), float(np.mean(err))
    assert worst <= max_ulp, f"{what}: error up to {worst:.2f} ulp > {max_ulp} ulp"
    assert abs(bias) <= max_bias, f"{what}: mean error {bias:+.3f} ulp (a bias), bound ±{max_bias}"


def test_identity_network_passes_values_through_exactly():
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    assert np.array_equal(identity_network_forward("identity", x), x)


def test_float32_vexp_through_softmax_within_ulps():
    """Rows [0, d], d in [-87.3, -17]: the second output is vexp(d) itself. Measured over every 7th
    float32 in that range (2.76 million): error <= 1.07 ulp, mean +2e-5 ulp. A vexp 3 ulp off fails both
    bounds (mean about -1.3 ulp: after the normalisation by vexp(0), ~3 ulp relative to each result's
    own binade position)."""
    d = np.random.default_rng(1).uniform(-87.3, -17.0, N).astype(np.float32)
    X = np.stack([np.zeros_like(d), d], axis=1)
    y = identity_network_forward("softmax", X)
    assert np.all(y[:, 0] == 1.0)
    err = ulp_errors(y, X, "softmax")[:, 1]
    # the mean of N errors of ~±0.5 ulp has a standard deviation ~0.5/sqrt(N) = 0.0014 ulp
    _check(err, max_ulp=1.5, max_bias=0.02, what="vexp(d) via softmax([0, d])")


@pytest.mark.parametrize("width, max_ulp", [(2, 3.0), (4, 5.0), (10, 7.0)])
def test_float32_softmax_rows_within_ulps(width, max_ulp):
    """Logits on a grid of 2**-10 in [-8, 8], so that z − max(z) is exact in float32 and the error is
    the kernel's: vexp, the row sum (width − 1 roundings) and the scaling by 1/sum. Measured over 2 million
    values: width 2: 2.28 ulp, 4: 4.37 ulp, 10: 6.66 ulp; mean error -0.013 to -0.009 ulp."""
    rng = np.random.default_rng(2)
    X = (np.round(rng.uniform(-8, 8, size=(N // width, width)) * 1024) / 1024).astype(np.float32)
    err = ulp_errors(identity_network_forward("softmax", X), X, "softmax")
    _check(err, max_ulp=max_ulp, max_bias=0.05, what=f"softmax of width {width}")


@pytest.mark.parametrize("activation, lo, hi, max_ulp", [
    # measured over 2 million values each: sigmoid 2.24 ulp (mean +0.009 on the wide range, where
    # outputs near 1 round to 1), tanh 2.13 ulp
    ("sigmoid", -87.0, 30.0, 2.5),
    ("sigmoid", -4.0, 4.0, 2.5),
    ("tanh", -9.0, 9.0, 2.5),
    ("tanh", -0.5, 0.5, 2.5),
])
def test_float32_sigmoid_tanh_within_ulps(activation, lo, hi, max_ulp):
    X = np.random.default_rng(3).uniform(lo, hi, size=(N // 8, 8)).astype(np.float32)
    err = ulp_errors(identity_network_forward(activation, X), X, activation)
    _check(err, max_ulp=max_ulp, max_bias=0.05, what=f"{activation} on [{lo}, {hi}]")
