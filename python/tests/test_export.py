"""ONNX and PyTorch export (issue 14): every activation and output, both dtypes, against net.forward.

Run in onnxruntime / torch: float32 within 1e-5 and float64 within 1e-9 of ``net.forward``, relative to the
largest output magnitude. Activation names come from the core (``swiftprop.ACTIVATIONS``), so an
activation the core adds (``exp``) is tested as soon as it exists.
"""
import os
import zlib

import numpy as np
import pytest

import swiftprop as sp
from swiftprop import export

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed: pip install 'swiftprop[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

HIDDEN = [a for a in sp.ACTIVATIONS if a not in ("softmax", "exp")]
# each output activation with a loss that accepts it (exp/poisson once the core has them)
OUTPUTS = [("identity", "mse"), ("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")]
if "exp" in sp.ACTIVATIONS and "poisson" in sp.LOSSES:
    OUTPUTS.append(("exp", "poisson"))
DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-9}


def _rel_err(got, want, net=None, X=None):
    """max |got − want| relative to the output's magnitude, or, when the output comes out of cancellation,
    to the magnitude of the terms the last layer sums (|S_out of the layer below| · |W|ᵀ, from the float64
    reference): the scale at which float rounding happens in both implementations."""
    scale = np.abs(want).max()
    if net is not None:
        from swiftprop import reference

        ws = [W.astype(np.float64) for W in net.weights]
        _, s_out = reference.forward(ws, [B.astype(np.float64) for B in net.biases], net.activations,
                                     X.astype(np.float64))
        below = X.astype(np.float64) if net.n_layers == 1 else s_out[-2]
        scale = max(scale, (np.abs(below) @ np.abs(ws[-1]).T).max())
    return float(np.abs(got - want).max() / max(scale, np.finfo(want.dtype).tiny))


def _seed(*names):
    return zlib.crc32(repr(names).encode()) % 1000


def _net(hidden, output, loss, dtype, seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 9)), int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(2, 6))]
    net = sp.Network(sizes, [hidden, hidden, output], loss, dtype=dtype, seed=seed)
    X = np.ascontiguousarray(rng.normal(scale=2.0, size=(int(rng.integers(1, 40)), sizes[0])), dtype=dtype)
    return net, X


def test_every_activation_is_exportable():
    for a in sp.ACTIVATIONS:
        assert a in export.ONNX_ACTIVATIONS, a
        assert a in export.TORCH_ACTIVATIONS, a


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("output,loss", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_matches_forward(hidden, output, loss, dtype):
    net, X = _net(hidden, output, loss, dtype, seed=_seed(hidden, output, np.dtype(dtype).name))
    model = net.to_onnx()
    assert isinstance(model, onnx.ModelProto)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, out.name) == ("X", "Y")
    assert isinstance(inp.shape[0], str) and inp.shape[1] == net.sizes[0]  # dynamic batch
    for rows in (X, X[:1], np.concatenate([X, X])):  # one model, any batch size
        got = sess.run(None, {"X": np.ascontiguousarray(rows)})[0]
        want = net.forward(np.ascontiguousarray(rows))
        assert got.dtype == want.dtype == np.dtype(dtype)
        assert got.shape == want.shape
        err = _rel_err(got, want, net, rows)
        assert err <= RTOL[dtype], (hidden, output, err)


def test_onnx_large_inputs_stay_finite():
    # softplus/elu/sigmoid written so that exp never overflows on large |z|
    for a in ("softplus", "elu", "sigmoid", "gelu"):
        net = sp.Network([1, 1], [a], "mse", seed=0)
        net.weights[0][...] = 1.0
        X = np.array([[-800.0], [-30.0], [0.0], [30.0], [800.0]])
        sess = ort.InferenceSession(net.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"X": X})[0]
        np.testing.assert_allclose(got, net.forward(X), rtol=1e-12, atol=1e-300, err_msg=a)


def test_onnx_written_to_path(tmp_path):
    net = sp.Network([3, 4, 2], "tanh", seed=0)
    path = tmp_path / "net.onnx"
    model = net.to_onnx(path)
    loaded = onnx.load(os.fspath(path))
    assert loaded.SerializeToString() == model.SerializeToString()
    onnx.checker.check_model(loaded)
    X = np.random.default_rng(0).normal(size=(5, 3))
    got = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"]).run(None, {"X": X})[0]
    assert _rel_err(got, net.forward(X)) <= 1e-9
    with pytest.raises(TypeError, match="path"):
        net.to_onnx(3)


def test_onnx_unknown_activation_is_named():
    g = export.GraphBuilder(np.float64)
    with pytest.raises(ValueError, match="'swish' cannot be exported to ONNX"):
        export.emit_layers(g, "X", [np.eye(2)], [np.zeros(2)], ["swish"])


# ---- PyTorch ---------------------------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch", reason="the torch extra is not installed: pip install 'swiftprop[torch]'")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("output,loss", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_torch_round_trip(hidden, output, loss, dtype):
    torch = _torch()
    net, X = _net(hidden, output, loss, dtype, seed=_seed(hidden, output, np.dtype(dtype).name, "torch"))
    seq = net.to_torch()
    assert isinstance(seq, torch.nn.Sequential)
    kinds = [type(m).__name__ for m in seq]
    assert kinds[0::2] == ["Linear"] * net.n_layers
    with torch.no_grad():
        got = seq(torch.from_numpy(X)).numpy()
    want = net.forward(X)
    assert got.dtype == want.dtype
    err = _rel_err(got, want, net, X)
    assert err <= RTOL[dtype], (hidden, output, err)
    # the weights are copies: changing the torch model leaves the network alone
    saved = seq[0].weight.detach().clone()
    with torch.no_grad():
        seq[0].weight.add_(1.0)
    np.testing.assert_array_equal(net.forward(X), want)
    with torch.no_grad():
        seq[0].weight.copy_(saved)

    back = sp.Network.from_torch(seq)
    assert back.sizes == net.sizes and back.activations == net.activations and back.dtype == net.dtype
    assert back.loss == loss
    np.testing.assert_array_equal(back.params, net.params)
    np.testing.assert_array_equal(back.forward(X), want)


def test_from_torch_plain_sequential():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8, bias=False), nn.Tanh(), nn.Linear(8, 2))
    net = sp.Network.from_torch(seq)
    assert net.sizes == (4, 8, 8, 2) and net.activations == ("relu", "tanh", "identity") and net.loss == "mse"
    assert net.dtype == np.float32
    np.testing.assert_array_equal(net.biases[1], 0)
    X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    with torch.no_grad():
        want = seq(torch.from_numpy(X)).numpy()
    assert _rel_err(net.forward(X), want) <= 1e-5
    net2 = sp.Network.from_torch(seq, loss="mse")
    assert net2.loss == "mse"


@pytest.mark.parametrize("build,match", [
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 1)), r"module 1 \(Dropout\) is not"),
    (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(4, 1)), r"module 0 \(ReLU\): the first module"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()), r"module 2 \(Tanh\): a Linear layer may"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2)), r"module 1 \(LeakyReLU\): negative_slope=0.2"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.GELU()), r"module 1 \(GELU\): approximate='none'"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ELU(alpha=0.5)), r"module 1 \(ELU\): alpha=0.5"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Softplus(beta=2)), r"module 1 \(Softplus\): beta=2"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=0)), r"module 1 \(Softmax\): dim=0"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1)), r"Linear layer 1 has in_features=5.*4 outputs"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1).double()), r"float32 or all float64"),
    (lambda nn: nn.Sequential(nn.Linear(3, 4).half()), r"float32 or all float64"),
    (lambda nn: nn.Sequential(), r"no Linear layer"),
])
def test_from_torch_refuses(build, match):
    torch = _torch()
    with pytest.raises(ValueError, match=match):
        sp.Network.from_torch(build(torch.nn))


def test_from_torch_refuses_before_allocating():
    torch = _torch()
    nn = torch.nn
    # a huge last layer that does not chain: refused from its shape, its weights never copied
    big = nn.Linear(10, 3, bias=False)
    big.in_features = 10**9  # claims a size it does not have
    with pytest.raises(ValueError, match="in_features=1000000000"):
        sp.Network.from_torch(nn.Sequential(nn.Linear(3, 10), nn.ReLU(), big))
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        sp.Network.from_torch([nn.Linear(3, 1)])
    with pytest.raises(ValueError, match="loss must be one of"):
        sp.Network.from_torch(nn.Sequential(nn.Linear(3, 1)), loss="hinge")


def test_exp_module():
    torch = _torch()
    Exp = export.exp_module()
    assert export.exp_module() is Exp
    z = torch.linspace(-3, 3, 7, dtype=torch.float64)
    np.testing.assert_array_equal(Exp()(z).numpy(), np.exp(z.numpy()))
    seq = torch.nn.Sequential(torch.nn.Linear(3, 2).double(), Exp())
    if "exp" in sp.ACTIVATIONS:
        net = sp.Network.from_torch(seq)
        assert net.activations == ("exp",)
    else:  # mapped by name: the core's own message refuses the name it does not know yet
        with pytest.raises(ValueError, match="unknown activation 'exp'"):
            sp.Network.from_torch(seq)
