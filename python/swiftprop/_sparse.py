"""Sparse input: a scipy.sparse CSR matrix or array as the Swift core reads it (first layer only).

scipy stays optional: a sparse X is recognised through ``scipy.sparse`` in ``sys.modules`` (an object can
only be a scipy sparse matrix if scipy is loaded), so nothing here imports scipy. The CSR structure
(indptr length and monotonicity, indices in range) is the core's rule, checked in O(rows + nnz) before
anything is computed; this module only picks the arrays and their dtypes.
"""
from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

__all__ = ["CSRInput", "is_sparse", "as_csr_input", "sparse_input"]


def is_sparse(X: Any) -> bool:
    """Whether X is a scipy.sparse matrix or array (False, without importing scipy, when scipy is not loaded)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(X))


class CSRInput(tuple):
    """A CSR X as the extension takes it: the tuple ``(data, indices, indptr, n_rows, n_cols)``.

    ``shape`` and ``ndim`` are those of the matrix, so code that reads the rows of a dense X reads them
    here too.
    """

    __slots__ = ()

    def __new__(cls, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> "CSRInput":
        return super().__new__(cls, (data, indices, indptr, int(shape[0]), int(shape[1])))

    @property
    def shape(self) -> tuple[int, int]:
        """(n_rows, n_cols) of the matrix."""
        return (self[3], self[4])

    @property
    def ndim(self) -> int:
        """Always 2."""
        return 2


def _index_arrays(indices: np.ndarray, indptr: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """indices and indptr as the core reads them: both int32 or both int64 (others converted to int64)."""
    for part, a in (("indices", indices), ("indptr", indptr)):
        if not isinstance(a, np.ndarray) or a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name}.{part} must be a 1-D array of integers, got "
                             f"{getattr(a, 'dtype', type(a).__name__)}")
    native = (np.dtype(np.int32), np.dtype(np.int64))
    if indices.dtype in native and indices.dtype == indptr.dtype:
        return np.ascontiguousarray(indices), np.ascontiguousarray(indptr)
    return indices.astype(np.int64), indptr.astype(np.int64)


def as_csr_input(X: Any, dtype: np.dtype, name: str = "X") -> CSRInput:
    """A scipy.sparse CSR matrix or array as a :class:`CSRInput`.

    ``data`` is read in place when it has the network's dtype, ``indices`` and ``indptr`` when they are both
    int32 or both int64; otherwise each is converted once (values to ``dtype``, indices to int64). Other
    sparse formats are refused with the conversion to use (the estimators convert them).

    Raises
    ------
    TypeError
        For a sparse format other than CSR.
    ValueError
        For values that are not real numbers, indices that are not integers, or a shape that is not 2-D.
    """
    fmt = getattr(X, "format", "?")
    if fmt != "csr":
        raise TypeError(f"{name} is a scipy.sparse {type(X).__name__} ({fmt} format); Network reads CSR "
                        f"sparse input: pass {name}.tocsr()")
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix, got shape {shape}")
    data = X.data
    if not isinstance(data, np.ndarray) or data.ndim != 1 or data.dtype.kind not in "biuf":
        raise ValueError(f"{name}.data must be a 1-D array of real numbers, got "
                         f"{getattr(data, 'dtype', type(data).__name__)}")
    data = np.ascontiguousarray(data, dtype=dtype)  # no copy when it already has the dtype
    indices, indptr = _index_arrays(X.indices, X.indptr, name)
    return CSRInput(data, indices, indptr, (int(shape[0]), int(shape[1])))


def sparse_input(X: Any, dtype: np.dtype, name: str = "X") -> Optional[CSRInput]:
    """X as a :class:`CSRInput` if it is sparse (or already one), else None (the dense policy applies)."""
    if isinstance(X, CSRInput):
        return X
    return as_csr_input(X, dtype, name) if is_sparse(X) else None
