"""Reading a swiftprop ``.npz`` file without trusting it: every member's header is read and checked
before any array data, so a refused file costs time and memory in proportion to its own size."""
from __future__ import annotations

import json
import zipfile


import numpy as np

#: The members a swiftprop file may hold, and the largest metadata it may carry.
MEMBERS = ("meta", "params", "optimizer_state")
MAX_META_BYTES = 1 << 20


class Member:
    """One stored ``.npy`` member: its dtype and shape read from its header, data not yet read."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        name = info.filename[:-4]
        if info.compress_type != zipfile.ZIP_STORED:
            # swiftprop writes stored members; a compressed one could expand far beyond the file
            raise ValueError(f"member {name!r} is compressed; swiftprop files store their arrays uncompressed")
        self.name, self._zf, self._info = name, zf, info
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"member {name!r} has an unsupported .npy version {version}")
            shape, fortran, dtype = read_header(f)
            self.header_bytes = f.tell()
        if fortran and len(shape) > 1:
            raise ValueError(f"member {name!r} is stored in Fortran order")
        if dtype.hasobject:
            raise ValueError(f"member {name!r} holds Python objects")
        self.shape: tuple[int, ...] = shape
        self.dtype: np.dtype = dtype
        data = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if data != info.file_size - self.header_bytes:
            raise ValueError(f"member {name!r} claims {data} bytes of data but holds "
                             f"{info.file_size - self.header_bytes} (truncated or altered)")

    def read(self) -> np.ndarray:
        """The array itself (its size was checked against the bytes the member holds)."""
        with self._zf.open(self._info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)


def open_members(zf: zipfile.ZipFile) -> dict[str, Member]:
    """The members of a swiftprop file by name, headers checked, no data read."""
    members: dict[str, Member] = {}
    for info in zf.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name not in MEMBERS or not info.filename.endswith(".npy"):
            raise ValueError(f"unexpected member {info.filename!r}")
        if name in members:
            raise ValueError(f"member {name!r} appears twice")
        members[name] = Member(zf, info)
    return members


def read_meta(member: Member) -> dict:
    """The JSON metadata: a 0-d unicode array of bounded size."""
    if member.shape != () or member.dtype.kind != "U":
        raise ValueError("meta must be a 0-d string array")
    if member.dtype.itemsize > MAX_META_BYTES:
        raise ValueError(f"meta is larger than {MAX_META_BYTES} bytes")
    meta = json.loads(str(member.read()))
    if not isinstance(meta, dict):
        raise ValueError("meta must be a JSON object")
    return meta
