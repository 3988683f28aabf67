"""Allocation of large result arrays that are written once, front to back.

NumPy advises the kernel to back every large allocation with transparent huge pages. On
virtual machines the first touch of a fresh 2 MiB page can stall on memory compaction:
filling a new 150 MiB array took 0.3–0.7 s in a new process on the 2-core test machine,
against 0.1–0.15 s with ordinary pages. Readers and resampling write their results once,
sequentially, so ordinary pages lose nothing; :func:`empty` gives them an array backed by
a plain anonymous memory mapping, released with the array (it pickles like any array).
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["MAPPED_BYTES", "empty"]

MAPPED_BYTES = 64 * 2**20
"""Arrays at least this large (bytes) come from an anonymous memory mapping."""


def empty(shape: int | tuple[int, ...], dtype: DTypeLike) -> NDArray[Any]:
    """``numpy.empty``, but an array of at least :data:`MAPPED_BYTES` is backed by a plain
    anonymous mapping (ordinary pages, no huge-page advice).

    Parameters
    ----------
    shape : int or tuple of int
    dtype : dtype-like

    Returns
    -------
    ndarray
        Writeable, C-contiguous, uninitialised (a mapping starts zero-filled).
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < MAPPED_BYTES:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)
