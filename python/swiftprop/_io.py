"""Saving, loading and pickling a :class:`~swiftprop.Network` (with the optimizer its last fit used).

The file format: a NumPy ``.npz`` with ``meta`` (JSON: format name, version, architecture, dtype, dropout,
optimizer class and arguments), ``params`` and, with an optimizer, ``optimizer_state``.
"""
from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any, Optional, Union

import numpy as np
from numpy.typing import NDArray

from . import _npz, optim

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


def _is_file(obj: Any) -> bool:
    return not isinstance(obj, (str, bytes, os.PathLike)) and (hasattr(obj, "write") or hasattr(obj, "read"))


def _name(source: Any) -> str:
    """How messages name a path or a file object."""
    if _is_file(source):
        name = getattr(source, "name", None)
        return str(name) if isinstance(name, (str, bytes, os.PathLike)) else f"the {type(source).__name__} given"
    return str(os.fspath(source))


def save(net: "Network", path: Union[str, os.PathLike, IO[bytes]]) -> None:
    """:meth:`Network.save`: write to a temporary file beside ``path``, then rename it over ``path``; a
    binary file object is written directly, from its current position."""
    import json
    import tempfile

    state = _state(net, net.params)
    arrays = {"params": state.pop("params")}
    opt = state.pop("optimizer", None)
    if opt is not None:
        arrays["optimizer_state"] = opt.pop("state")
        state["optimizer"] = opt
    if _is_file(path):
        if not hasattr(path, "write"):
            raise TypeError(f"path must be a path or a binary file object open for writing, got {type(path).__name__}")
        np.savez(path, meta=np.array(json.dumps(state)), **arrays)  # type: ignore[arg-type]
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str, a path-like or a binary file object, got {type(path).__name__}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path}: the folder {directory} does not exist")
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


def load(cls: "type[Network]", source: Union[str, os.PathLike, IO[bytes]]) -> "Network":
    """:meth:`Network.load`: a new ``cls`` from a file (path or binary file object) written by :func:`save`
    (ValueError if unreadable).

    Nothing in the file is trusted before it is checked: the members' ``.npy`` headers (dtype, shape,
    byte count) are read first and compared with the metadata, so the parameters and the optimizer state
    are only read, and the network only built, for a file whose arrays are as large as it says and hold
    what its metadata describes. A refused file costs time and memory in proportion to its own size.
    """
    import json
    import zipfile

    unreadable = (zipfile.BadZipFile, EOFError, KeyError, OSError, ValueError, TypeError, RecursionError,
                  json.JSONDecodeError)
    if _is_file(source):
        if not hasattr(source, "read"):
            raise TypeError(f"source must be a path or a binary file object open for reading, got "
                            f"{type(source).__name__}")
        name = _name(source)
        seekable = getattr(source, "seekable", None)
        if not (callable(seekable) and seekable()):  # a zip archive is read from its end: buffer a stream
            import io

            source = io.BytesIO(source.read())  # type: ignore[union-attr]
    elif not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a str, a path-like or a binary file object, got {type(source).__name__}")
    else:
        name = _name(source)
    try:
        with zipfile.ZipFile(source) as zf:
            members = _npz.open_members(zf)
            if "meta" not in members:
                raise _NotOurs
            meta = _npz.read_meta(members["meta"])
            if meta.get("format") != FORMAT:
                raise _NotOurs
            if meta.get("version") != VERSION:
                raise _Invalid(f"unsupported swiftprop file version {meta.get('version')!r}")
            try:
                _check_arrays(meta, {k: (m.shape, m.dtype) for k, m in members.items() if k != "meta"})
            except (TypeError, ValueError) as e:
                raise _Invalid(str(e)) from None
            meta["params"] = members["params"].read()
            if "optimizer" in meta:
                meta["optimizer"]["state"] = members["optimizer_state"].read()
    except FileNotFoundError:
        raise
    except _NotOurs:
        raise ValueError(f"{name} is not a swiftprop network file") from None
    except _Invalid as e:
        raise ValueError(f"{name}: invalid swiftprop network file: {e}") from None
    except unreadable as e:
        raise ValueError(f"{name} is not a readable swiftprop network file: {e}") from None
    net = cls.__new__(cls)
    try:
        set_state(net, meta)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{name}: invalid swiftprop network file: {e}") from None
    return net


class _Invalid(Exception):
    """A swiftprop network file whose contents contradict each other."""


class _NotOurs(Exception):
    """A readable archive that is not a swiftprop network file."""


def _param_count(sizes: Any) -> Optional[int]:
    """Σ n_(i+1)·(n_i + 1) for a list of positive ints (exact: Python ints); None for anything else,
    which building the network then refuses with its own message."""
    if not isinstance(sizes, list) or len(sizes) < 2 or \
            not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        return None
    return sum(b * (a + 1) for a, b in zip(sizes, sizes[1:]))


def _check_arrays(meta: dict, arrays: dict) -> None:
    """The stored arrays' (shape, dtype) against the metadata, before any of them is read or allocated.

    ``arrays`` maps ``params`` and ``optimizer_state`` to ``(shape, dtype)``. ValueError on a mismatch.
    """
    dtype = meta.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    count = _param_count(meta.get("sizes"))
    if count is None:
        raise ValueError(f"sizes must be a list of at least 2 ints >= 1, got {meta.get('sizes')!r}")
    want = {"params": (count,)}
    opt = meta.get("optimizer")
    if opt is not None:
        if not isinstance(opt, dict):
            raise ValueError("optimizer must be a JSON object")
        want["optimizer_state"] = (optim.state_count(opt.get("class"), count),)
    for name in [*want, *(k for k in arrays if k not in want)]:
        if name not in want:
            raise ValueError(f"unexpected member {name!r}")
        if name not in arrays:
            raise ValueError(f"member {name!r} is missing")
        shape, dt = arrays[name]
        if shape != want[name] or dt != np.dtype(dtype):
            raise ValueError(f"{name} must be a {dtype} array of shape {want[name]}, got {dt} {shape}")


def get_state(net: "Network") -> dict:
    """The pickled state of ``net``: architecture, a copy of the parameters, the optimizer's state."""
    return _state(net, net.params.copy())


def set_state(net: "Network", state: dict) -> None:
    """(Re)build ``net`` from :func:`get_state`'s dict (or a loaded file's).

    The parameters' and the optimizer state's shapes and dtypes are checked against the architecture
    before anything is allocated; the network is built without a random initialisation.
    """
    from ._network import build_uninitialised

    params = state["params"]
    saved_opt = state.get("optimizer")
    arrays = {"params": (getattr(params, "shape", None), getattr(params, "dtype", None))}
    if not isinstance(params, np.ndarray):
        raise ValueError("params must be a numpy array")
    if saved_opt is not None:
        opt_state = saved_opt.get("state") if isinstance(saved_opt, dict) else None
        if not isinstance(opt_state, np.ndarray):
            raise ValueError("optimizer state must be a numpy array")
        arrays["optimizer_state"] = (opt_state.shape, opt_state.dtype)
    _check_arrays(state, arrays)
    build_uninitialised(net, state["sizes"], list(state["activations"]), state["loss"], state["dtype"],
                        state.get("dropout", 0.0))
    net.params[...] = params
    if saved_opt is not None:
        net.optimizer = optim.restore(net, saved_opt)
