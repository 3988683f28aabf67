"""Allocation of large result arrays that are written once, front to back.

NumPy advises the kernel to back every large allocation with transparent huge pages. On
virtual machines the first touch of a fresh 2 MiB page can stall on memory compaction:
filling a new 150 MiB array took 0.3–0.7 s in a new process on the 2-core test machine,
against 0.1–0.15 s with ordinary pages. Readers and resampling write their results once,
sequentially, so ordinary pages lose nothing; :func:`empty` gives them an array backed by
a plain anonymous memory mapping, released with the array (it pickles like any array).

The mapping is private (a forked process gets copy-on-write pages, as with any other
memory) and, on Linux, populated when it is made: the kernel supplies all its pages in
one call instead of one page fault per 4 KiB on first touch (a 150 MiB gzip read into a
fresh buffer went from 0.27–0.39 s to 0.22–0.27 s on the test machine).
"""

from __future__ import annotations

import math
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
    nbytes = math.prod(int(v) for v in shape) * dtype.itemsize
    if nbytes < MAPPED_BYTES:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(_anonymous_mapping(nbytes), dtype=dtype).reshape(shape)


def _anonymous_mapping(nbytes: int) -> mmap.mmap:
    """A private anonymous mapping of ``nbytes``, populated up front where the OS can."""
    if hasattr(mmap, "MAP_ANONYMOUS"):
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)
        return mmap.mmap(-1, nbytes, flags=flags)
    return mmap.mmap(-1, nbytes)  # Windows: anonymous memory backed by the paging file
