"""Saving, loading and pickling a :class:`~swiftprop.Network` (with the optimizer its last fit used).

The file format: a NumPy ``.npz`` with ``meta`` (JSON: format name, version, architecture, dtype, dropout,
optimizer class and arguments), ``params`` and, with an optimizer, ``optimizer_state``.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Union

import numpy as np
from numpy.typing import NDArray

from . import optim

if TYPE_CHECKING:
    from ._network import Network

__all__ = ["FORMAT", "VERSION", "get_state", "load", "save", "set_state"]

FORMAT = "swiftprop.Network"
VERSION = 1


def _state(net: "Network", params: NDArray) -> dict:
    state = {"format": FORMAT, "version": VERSION, "sizes": list(net.sizes),
             "activations": list(net.activations), "loss": net.loss, "dtype": net.dtype.name,
             "dropout": list(net.dropout), "params": params}
    if net.optimizer is not None:
        state["optimizer"] = optim.save_state(net.optimizer)
    return state


def save(net: "Network", path: Union[str, os.PathLike]) -> None:
    """:meth:`Network.save`: write to a temporary file beside ``path``, then rename it over ``path``."""
    import json
    import tempfile

    state = _state(net, net.params)
    arrays = {"params": state.pop("params")}
    opt = state.pop("optimizer", None)
    if opt is not None:
        arrays["optimizer_state"] = opt.pop("state")
        state["optimizer"] = opt
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".swiftprop-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(state)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(cls: "type[Network]", path: Union[str, os.PathLike]) -> "Network":
    """:meth:`Network.load`: a new ``cls`` from a file written by :func:`save` (ValueError if unreadable)."""
    import json
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
    except (zipfile.BadZipFile, EOFError, KeyError, OSError, ValueError, json.JSONDecodeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise ValueError(f"{path!s} is not a readable swiftprop network file: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path!s} is not a swiftprop network file")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path!s}: unsupported swiftprop file version {meta.get('version')!r}")
    meta["params"] = arrays.get("params")
    if "optimizer" in meta:
        meta["optimizer"]["state"] = arrays.get("optimizer_state")
    net = cls.__new__(cls)
    try:
        net.__setstate__(meta)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path!s}: invalid swiftprop network file: {e}") from None
    return net


def get_state(net: "Network") -> dict:
    """The pickled state of ``net``: architecture, a copy of the parameters, the optimizer's state."""
    return _state(net, net.params.copy())


def set_state(net: "Network", state: dict) -> None:
    """(Re)initialise ``net`` from :func:`get_state`'s dict (or a loaded file's)."""
    from ._network import Network

    Network.__init__(net, state["sizes"], list(state["activations"]), state["loss"], dtype=state["dtype"],
                     dropout=state.get("dropout", 0.0))
    params = state["params"]
    if not isinstance(params, np.ndarray) or params.shape != net.params.shape or params.dtype != net.dtype:
        raise ValueError(f"params must be a {net.dtype} array of shape {net.params.shape}")
    net.params[...] = params
    if state.get("optimizer") is not None:
        net.optimizer = optim.restore(net, state["optimizer"])
