"""Export a :class:`~swiftprop.Network` to ONNX and PyTorch, and build one from PyTorch.

:meth:`Network.to_onnx`, :meth:`Network.to_torch` and :meth:`Network.from_torch` delegate here. The
layers map one to one: layer i is ``Gemm(X, W[i], B[i], transB=1)`` in ONNX and ``torch.nn.Linear`` in
PyTorch (whose weight has swiftprop's layout, (fan_out, fan_in)), followed by its activation, looked up by
name in :data:`ONNX_ACTIVATIONS` and :data:`TORCH_ACTIVATIONS`. An activation with no entry there cannot be
exported and raises a ValueError naming it.

``onnx`` and ``torch`` are imported only when a function here needs them (``pip install
"swiftprop[onnx]"`` or ``"swiftprop[torch]"``).
"""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from ._network import LOSSES, Network, build_uninitialised

if TYPE_CHECKING:  # pragma: no cover
    import onnx
    import torch

__all__ = ["ONNX_ACTIVATIONS", "TORCH_ACTIVATIONS", "ONNX_OPSET", "to_onnx", "to_torch", "from_torch", "exp_module"]

#: The ONNX opset of the models :func:`to_onnx` writes (every operator used exists since opset 13).
ONNX_OPSET = 17
#: IR version written with :data:`ONNX_OPSET` (the one that introduced opset 17), so that older
#: runtimes accept the file.
_IR_VERSION = 8

_GELU_C = math.sqrt(2.0 / math.pi)  # the tanh form: 0.5 z (1 + tanh(c (z + a z³)))
_GELU_A = 0.044715
_LEAKY_SLOPE = 0.01


# ---- ONNX ---------------------------------------------------------------------------------------------

class GraphBuilder:
    """Collects ONNX nodes and initializers under unique names (package-internal).

    :mod:`swiftprop.sklearn._onnx` subclasses it to emit into skl2onnx's container instead.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: set[str] = set()

    def name(self, hint: str) -> str:
        """A name not used before in this graph, from ``hint``."""
        name, k = hint, 0
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def const(self, hint: str, value: Any) -> str:
        """An initializer holding ``value`` (cast to the graph's dtype when it is a number)."""
        from onnx import numpy_helper

        arr = np.asarray(value)
        if arr.dtype.kind in "fiub" and arr.dtype.kind != "b":
            arr = arr.astype(self.dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str, domain: str = "", **attrs: Any) -> str:
        """Add one node; returns the name of its (single) output."""
        from onnx import helper

        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=self.name(f"{hint}_op"),
                                           domain=domain, **attrs))
        return out


def _gelu(g: GraphBuilder, z: str, h: str) -> str:
    # the tanh form, as the core computes it: 0.5 z (1 + tanh(c (z + a z³)))
    z3 = g.op("Mul", [g.op("Mul", [z, z], f"{h}_z2"), z], f"{h}_z3")
    inner = g.op("Add", [z, g.op("Mul", [z3, g.const(f"{h}_a", _GELU_A)], f"{h}_az3")], f"{h}_inner")
    t = g.op("Tanh", [g.op("Mul", [inner, g.const(f"{h}_c", _GELU_C)], f"{h}_scaled")], f"{h}_tanh")
    half_z = g.op("Mul", [z, g.const(f"{h}_half", 0.5)], f"{h}_halfz")
    return g.op("Mul", [half_z, g.op("Add", [t, g.const(f"{h}_one", 1.0)], f"{h}_1pt")], h)


def _softplus(g: GraphBuilder, z: str, h: str) -> str:
    # max(z, 0) + log1p(exp(-|z|)): no overflow for large |z| (ONNX's Softplus is log(exp(z) + 1)).
    # ONNX has no Log1p: log1p(e) = e · log(u) / (u − 1) with u = 1 + e (exact where u rounds to 1: e)
    pos = g.op("Relu", [z], f"{h}_pos")
    e = g.op("Exp", [g.op("Neg", [g.op("Abs", [z], f"{h}_abs")], f"{h}_neg")], f"{h}_exp")
    one = g.const(f"{h}_one", 1.0)
    u = g.op("Add", [e, one], f"{h}_u")
    um1 = g.op("Sub", [u, one], f"{h}_um1")
    ratio = g.op("Div", [g.op("Log", [u], f"{h}_logu"), g.op("Max", [um1, g.const(f"{h}_tiny", np.finfo(g.dtype).tiny)],
                                                          f"{h}_den")], f"{h}_ratio")
    log1p = g.op("Where", [g.op("Equal", [u, one], f"{h}_isone"), e,
                           g.op("Mul", [e, ratio], f"{h}_prod")], f"{h}_log1p")
    return g.op("Add", [pos, log1p], h)


def _sigmoid(g: GraphBuilder, z: str, h: str) -> str:
    # 1 / (1 + e) for z >= 0 and e / (1 + e) below, e = exp(−|z|): relative accuracy in both tails
    e = g.op("Exp", [g.op("Neg", [g.op("Abs", [z], f"{h}_abs")], f"{h}_neg")], f"{h}_exp")
    s = g.op("Reciprocal", [g.op("Add", [e, g.const(f"{h}_one", 1.0)], f"{h}_1pe")], f"{h}_recip")
    nonneg = g.op("GreaterOrEqual", [z, g.const(f"{h}_zero", 0.0)], f"{h}_nonneg")
    return g.op("Where", [nonneg, s, g.op("Mul", [e, s], f"{h}_low")], h)


def _elu(g: GraphBuilder, z: str, h: str) -> str:
    # z if z > 0 else exp(z) − 1 (alpha = 1), from operators every runtime has for both dtypes
    neg = g.op("Sub", [g.op("Exp", [g.op("Min", [z, g.const(f"{h}_zero", 0.0)], f"{h}_min")], f"{h}_exp"),
                       g.const(f"{h}_one", 1.0)], f"{h}_neg")
    return g.op("Add", [g.op("Relu", [z], f"{h}_pos"), neg], h)


def _leaky_relu(g: GraphBuilder, z: str, h: str) -> str:
    # max(z, 0.01 z), which is z for z > 0 and 0.01 z otherwise (0 < slope < 1)
    return g.op("Max", [z, g.op("Mul", [z, g.const(f"{h}_slope", _LEAKY_SLOPE)], f"{h}_scaled")], h)


def _unary(op_type: str, **attrs: Any) -> Callable[[GraphBuilder, str, str], str]:
    def emit(g: GraphBuilder, z: str, h: str) -> str:
        return g.op(op_type, [z], h, **attrs)
    return emit


# How each activation is written in ONNX, by name. Operators whose float64 kernels are missing from
# common runtimes (Elu, LeakyRelu, Softplus, Gelu), or that lose relative accuracy in a tail (Sigmoid,
# Softplus), are composed from elementary ones.
_ONNX_EMITTERS: dict[str, Callable[[GraphBuilder, str, str], str]] = {
    "identity": _unary("Identity"),
    "sigmoid": _sigmoid,
    "tanh": _unary("Tanh"),
    "relu": _unary("Relu"),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "softplus": _softplus,
    "gelu": _gelu,
    "softmax": _unary("Softmax", axis=1),  # the rows of a 2-D batch, in every opset
    "exp": _unary("Exp"),
}
#: Activation names that :func:`to_onnx` writes (gelu in its tanh form; exp for a Poisson output).
ONNX_ACTIVATIONS: tuple[str, ...] = tuple(_ONNX_EMITTERS)


def _check_exportable(activations: Sequence[str], table: Sequence[str], what: str) -> None:
    for i, a in enumerate(activations):
        if a not in table:
            raise ValueError(f"layer {i}: activation {a!r} cannot be exported to {what}; "
                             f"exportable: {', '.join(table)}")


def emit_layers(g: GraphBuilder, x: str, weights: Sequence[NDArray], biases: Sequence[NDArray],
                activations: Sequence[str]) -> str:
    """Package-internal: add the layers to ``g``, from input ``x``; returns the output's name.

    ``weights[i]`` has shape (fan_out, fan_in) (swiftprop's layout).
    """
    _check_exportable(activations, ONNX_ACTIVATIONS, "ONNX")
    h = x
    for i, (W, B, f) in enumerate(zip(weights, biases, activations)):
        z = g.op("Gemm", [h, g.const(f"W{i}", W), g.const(f"B{i}", B)], f"S_in{i}", transB=1)
        h = _ONNX_EMITTERS[f](g, z, f"S_out{i}")
    return h


def to_onnx(net: Network, path: Union[str, os.PathLike, None] = None) -> "onnx.ModelProto":
    """The network as an ONNX model: input ``X`` (batch, n_inputs), output ``Y`` (batch, n_outputs).

    See :meth:`swiftprop.Network.to_onnx`.
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as e:
        raise ImportError("Network.to_onnx needs the onnx package: pip install \"swiftprop[onnx]\"") from e
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    _check_exportable(net.activations, ONNX_ACTIVATIONS, "ONNX")
    g = GraphBuilder(net.dtype)
    g.name("X")
    out = emit_layers(g, "X", net.weights, net.biases, net.activations)
    g.nodes.append(helper.make_node("Identity", [out], ["Y"], name=g.name("output")))
    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    graph = helper.make_graph(
        g.nodes, "swiftprop_network",
        [helper.make_tensor_value_info("X", elem, ["batch", net.sizes[0]])],
        [helper.make_tensor_value_info("Y", elem, ["batch", net.sizes[-1]])],
        initializer=g.initializers)
    model = helper.make_model(graph, producer_name="swiftprop", opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = _IR_VERSION
    model.doc_string = (f"swiftprop Network sizes={list(net.sizes)} activations={list(net.activations)} "
                        f"loss={net.loss}")
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


# ---- PyTorch ------------------------------------------------------------------------------------------

def _torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise ImportError("this needs PyTorch: pip install \"swiftprop[torch]\"") from e
    return torch


_EXP_MODULE: Optional[type] = None


def exp_module() -> type:
    """``torch.nn.Module`` computing ``exp`` element-wise (PyTorch has none), for the ``exp`` output."""
    global _EXP_MODULE
    if _EXP_MODULE is None:
        torch = _torch()

        base: Any = torch.nn.Module

        class Exp(base):  # type: ignore[misc, valid-type]
            """Element-wise exponential (the output of swiftprop's ``exp`` activation)."""

            def forward(self, z: Any) -> Any:
                return torch.exp(z)

        Exp.__module__ = __name__
        _EXP_MODULE = Exp
    return _EXP_MODULE


def _torch_activation_factories() -> dict[str, Callable[[], Any]]:
    nn = _torch().nn
    return {
        "identity": nn.Identity,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(_LEAKY_SLOPE),
        "elu": lambda: nn.ELU(alpha=1.0),
        "softplus": nn.Softplus,
        "gelu": lambda: nn.GELU(approximate="tanh"),
        "softmax": lambda: nn.Softmax(dim=-1),
        "exp": lambda: exp_module()(),
    }


#: Activation names that :func:`to_torch` and :func:`from_torch` map (to and from ``torch.nn`` modules).
TORCH_ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus",
                                      "gelu", "softmax", "exp")


def to_torch(net: Network) -> "torch.nn.Sequential":
    """The network as ``torch.nn.Sequential(Linear, activation, Linear, activation, ...)``.

    See :meth:`swiftprop.Network.to_torch`.
    """
    torch = _torch()
    _check_exportable(net.activations, TORCH_ACTIVATIONS, "PyTorch")
    make = _torch_activation_factories()
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    mods: list[Any] = []
    for W, B, f in zip(net.weights, net.biases, net.activations):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(W)))
            lin.bias.copy_(torch.from_numpy(np.array(B)))
        mods += [lin, make[f]()]
    return torch.nn.Sequential(*mods)


def _activation_of(module: Any, index: int) -> str:
    """swiftprop's name for an activation module, or ValueError naming what is not supported."""
    nn = _torch().nn
    kind = type(module).__name__
    where = f"module {index} ({kind})"
    if isinstance(module, nn.Identity):
        return "identity"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        if module.negative_slope != _LEAKY_SLOPE:
            raise ValueError(f"{where}: negative_slope={module.negative_slope} is not supported "
                             f"(swiftprop's leaky_relu has slope {_LEAKY_SLOPE})")
        return "leaky_relu"
    if isinstance(module, nn.ELU):
        if module.alpha != 1.0:
            raise ValueError(f"{where}: alpha={module.alpha} is not supported (swiftprop's elu has alpha 1)")
        return "elu"
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ValueError(f"{where}: beta={module.beta} is not supported (swiftprop's softplus has beta 1)")
        return "softplus"
    if isinstance(module, nn.GELU):
        if module.approximate != "tanh":
            raise ValueError(f"{where}: approximate={module.approximate!r} is not supported (swiftprop's gelu "
                             "is the tanh form: GELU(approximate='tanh'))")
        return "gelu"
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(f"{where}: dim={module.dim} is not supported (the softmax must be over the "
                             "features: dim=-1 or dim=1)")
        return "softmax"
    if _EXP_MODULE is not None and isinstance(module, _EXP_MODULE):
        return "exp"
    raise ValueError(f"{where} is not supported; from_torch takes Linear layers, each followed by at most one "
                     "of Identity, Sigmoid, Tanh, ReLU, LeakyReLU(0.01), ELU, Softplus, GELU(approximate='tanh'), "
                     "Softmax(dim=-1)")


_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "exp": "poisson"}


def from_torch(module: Any, loss: Optional[str] = None) -> Network:
    """A Network with the layers and weights of a ``torch.nn.Sequential``.

    See :meth:`swiftprop.Network.from_torch`.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    children = list(module)
    # 1. the structure and every shape, before anything is allocated
    layers: list[list[Any]] = []  # [Linear, activation name]
    open_layer = False  # the last module was a Linear layer, which may take an activation
    for i, m in enumerate(children):
        if isinstance(m, torch.nn.Linear):
            layers.append([m, "identity"])
            open_layer = True
            continue
        if not layers:
            raise ValueError(f"module {i} ({type(m).__name__}): the first module must be a Linear layer")
        act = _activation_of(m, i)
        if not open_layer:
            raise ValueError(f"module {i} ({type(m).__name__}): a Linear layer may be followed by one "
                             "activation only")
        layers[-1][1] = act
        open_layer = False
    if not layers:
        raise ValueError("module holds no Linear layer")
    sizes = [layers[0][0].in_features]
    dtypes = set()
    for k, (lin, _) in enumerate(layers):
        if lin.in_features != sizes[-1]:
            raise ValueError(f"Linear layer {k} has in_features={lin.in_features}, but the layer before it has "
                             f"{sizes[-1]} outputs")
        if tuple(lin.weight.shape) != (lin.out_features, lin.in_features) or (
                lin.bias is not None and tuple(lin.bias.shape) != (lin.out_features,)):
            raise ValueError(f"Linear layer {k}: weight shape {tuple(lin.weight.shape)} does not match "
                             f"in_features={lin.in_features}, out_features={lin.out_features}")
        dtypes.add(lin.weight.dtype)
        sizes.append(lin.out_features)
    if len(dtypes) != 1 or not dtypes <= {torch.float32, torch.float64}:
        raise ValueError(f"the Linear layers' weights must all be float32 or all float64, got "
                         f"{sorted(str(d) for d in dtypes)}")
    dtype = np.float64 if dtypes == {torch.float64} else np.float32
    acts = [a for _, a in layers]
    if loss is None:
        loss = _LOSS_FOR_OUTPUT.get(acts[-1], "mse")
        if loss not in LOSSES:
            loss = "mse"
    # 2. the network (its own checks: activations, loss), then the weights
    net = Network.__new__(Network)
    build_uninitialised(net, sizes, acts, loss, dtype, 0.0)
    with torch.no_grad():
        for (lin, _), W, B in zip(layers, net.weights, net.biases):
            W[...] = lin.weight.detach().cpu().numpy()
            B[...] = 0 if lin.bias is None else lin.bias.detach().cpu().numpy()
    return net
