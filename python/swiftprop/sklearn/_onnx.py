"""skl2onnx converters for :class:`MLPClassifier` and :class:`MLPRegressor`.

Registered through skl2onnx's public API (``update_registered_converter`` with a shape calculator and a
converter), so that ``skl2onnx.to_onnx(estimator, X[:1])`` works as for scikit-learn's MLPs, with the
same outputs: ``label`` and ``probabilities`` for the classifier (with skl2onnx's ZipMap unless
``options={"zipmap": False}``; options ``zipmap``, ``nocl`` and ``output_class_labels`` as for
scikit-learn's MLPClassifier), ``variable`` of shape (N, n_outputs) for the regressor. The graph's
precision follows the input type given to skl2onnx (float32 or float64), as scikit-learn's converter does.

Importing skl2onnx takes about a second, so it is not imported here: the estimators are registered when
skl2onnx is imported, or at once if it already is. Only public fitted attributes are read (``coefs_``,
``intercepts_``, ``activation``, ``out_activation_``, ``n_outputs_``, ``classes_``).
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any, Optional, Sequence

import numpy as np

from .. import export
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor

_ALIASES = {MLPClassifier: "SwiftpropMLPClassifier", MLPRegressor: "SwiftpropMLPRegressor"}
_HIDDEN_NAMES = {"logistic": "sigmoid"}  # estimator names -> swiftprop's


def _layers(est: Any, dtype: np.dtype) -> tuple[list, list, list[str]]:
    """(weights (fan_out, fan_in), biases, activation names) of a fitted estimator, in ``dtype``."""
    weights = [np.asarray(W, dtype=dtype).T for W in est.coefs_]
    biases = [np.asarray(B, dtype=dtype) for B in est.intercepts_]
    n_hidden = len(weights) - 1
    act = est.activation
    hidden = [act] * n_hidden if isinstance(act, str) else list(act)
    out = {"logistic": "sigmoid"}.get(est.out_activation_, est.out_activation_)
    return weights, biases, [_HIDDEN_NAMES.get(a, a) for a in hidden] + [out]


def _multilabel(est: Any) -> bool:
    return est.out_activation_ == "logistic" and est.n_outputs_ > 1


class _ContainerBuilder(export.GraphBuilder):
    """Emits swiftprop's layers into skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any, dtype: np.dtype) -> None:
        super().__init__(dtype)
        self.scope = scope
        self.container = container

    def name(self, hint: str) -> str:
        return str(self.scope.get_unique_variable_name(hint))

    def const(self, hint: str, value: Any) -> str:
        from onnx import TensorProto, numpy_helper

        arr = np.asarray(value)
        name = self.name(hint)
        if arr.dtype.kind in "US":
            self.container.add_initializer(name, TensorProto.STRING, list(arr.shape),
                                           [str(s).encode("utf-8") for s in arr.ravel()])
        else:
            if arr.dtype.kind == "f":
                arr = arr.astype(self.dtype)
            tensor = numpy_helper.from_array(np.ascontiguousarray(arr), name)
            self.container.add_initializer(name, tensor.data_type, list(arr.shape), tensor)
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str, domain: str = "", out: Optional[str] = None,
           **attrs: Any) -> str:
        out = out or self.name(hint)
        self.container.add_node(op_type, list(inputs), [out], op_domain=domain,
                                name=self.scope.get_unique_operator_name(hint), **attrs)
        return out


def _float_type(input_type: Any) -> tuple[np.dtype, int, type]:
    """Graph dtype, its TensorProto code and skl2onnx tensor type, from the input's type (as scikit-learn's
    converter: double stays double, anything else becomes float)."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(input_type, DoubleTensorType):
        return np.dtype(np.float64), TensorProto.DOUBLE, DoubleTensorType
    return np.dtype(np.float32), TensorProto.FLOAT, FloatTensorType


def _check_io(operator: Any, n_outputs: int) -> None:
    from skl2onnx.common.data_types import BooleanTensorType, DoubleTensorType, FloatTensorType, Int64TensorType
    from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_outputs)
    check_input_and_output_types(operator, good_input_types=[
        FloatTensorType, DoubleTensorType, Int64TensorType, BooleanTensorType])


def _classifier_shapes(operator: Any) -> None:
    """label: int64 (or string) (N,) — (N, n_labels) for multi-label; probabilities: (N, n_classes)."""
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils_classifier import get_label_classes

    _check_io(operator, 2)
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    classes = np.asarray(get_label_classes(operator.scope_inst, est))
    label_type = StringTensorType if classes.dtype.kind in "USO" else Int64TensorType
    operator.outputs[0].set_type(label_type([n, len(classes)] if _multilabel(est) else [n]))
    operator.outputs[1].set_type(_float_type(operator.inputs[0].type)[2]([n, len(classes)]))


def _regressor_shapes(operator: Any) -> None:
    """variable: (N, n_outputs) in the input's float type."""
    _check_io(operator, 1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(_float_type(operator.inputs[0].type)[2]([n, operator.raw_operator.n_outputs_]))


def _network_output(scope: Any, operator: Any, container: Any) -> tuple[_ContainerBuilder, str]:
    est = operator.raw_operator
    dtype, proto, _ = _float_type(operator.inputs[0].type)
    g = _ContainerBuilder(scope, container, dtype)
    x = g.op("Cast", [operator.inputs[0].full_name], "cast_input", to=proto)
    weights, biases, acts = _layers(est, dtype)
    return g, export.emit_layers(g, x, weights, biases, acts)


def _convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common.utils_classifier import get_label_classes

    est = operator.raw_operator
    g, p = _network_output(scope, operator, container)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    classes = np.asarray(get_label_classes(scope, est))
    if _multilabel(est):  # predict: (out > 0.5) as 0/1 integers
        g.op("Identity", [p], "proba", out=proba)
        above = g.op("Greater", [p, g.const("half", 0.5)], "above")
        g.op("Cast", [above], "label", out=label, to=TensorProto.INT64)
        return
    if est.n_outputs_ == 1:  # binary: one logistic output, P(classes_[1])
        g.op("Concat", [g.op("Sub", [g.const("one", 1.0), p], "negative"), p], "proba", out=proba, axis=1)
    else:
        g.op("Identity", [p], "proba", out=proba)
    # predict: the class of the largest probability (binary: p > 0.5, the first on a tie as argmax)
    index = g.op("ArgMax", [proba], "argmax", axis=1, keepdims=0)
    if classes.dtype.kind in "USO":
        table = np.array([str(c) for c in classes])
    else:
        table = classes.astype(np.int64)
    g.op("Gather", [g.const("classes", table), index], "label", out=label, axis=0)


def _convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    g, y = _network_output(scope, operator, container)
    g.op("Identity", [y], "variable", out=operator.outputs[0].full_name)


def register() -> None:
    """Register both estimators with skl2onnx (skl2onnx must be importable)."""
    from skl2onnx import update_registered_converter

    update_registered_converter(
        MLPClassifier, _ALIASES[MLPClassifier], _classifier_shapes, _convert_classifier,
        options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True], "nocl": [True, False]})
    update_registered_converter(MLPRegressor, _ALIASES[MLPRegressor], _regressor_shapes, _convert_regressor)


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Calls :func:`register` right after skl2onnx's own module has run, the first time it is imported."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "skl2onnx":
            return None
        sys.meta_path.remove(self)  # once; and so that the look-up below finds the real spec
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module: Any) -> None:
            exec_module(module)
            register()

        spec.loader.exec_module = exec_and_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Register now if skl2onnx is imported, otherwise when it is (if it ever is)."""
    if "skl2onnx" in sys.modules:
        register()
    elif not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())


install()
