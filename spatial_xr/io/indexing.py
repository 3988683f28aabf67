"""Index handling shared by the lazy file arrays: what to read from disk, what to select
afterwards in memory."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["split_fancy"]


def split_fancy(
    key: Any, shape: tuple[int, ...]
) -> tuple[list[Any], list[tuple[int, np.ndarray]]]:
    """Split an index into a basic part (slices/ints, read from disk) and integer-array
    selections applied afterwards in memory.

    Parameters
    ----------
    key : index
        What dask passes to a reader's ``__getitem__`` (``fancy=True``): a tuple of
        slices, integers and integer or boolean arrays.
    shape : tuple of int
        Shape of the indexed array.

    Returns
    -------
    basic : list
        One slice or integer per axis; an array selection becomes the slice spanning it.
    post : list of (int, ndarray)
        ``(axis of the basic read's result, indices relative to the slice start)``, to
        apply with ``np.take`` in order.
    """
    if not isinstance(key, tuple):
        key = (key,)
    key = key + (slice(None),) * (len(shape) - len(key))
    basic: list[Any] = []
    post: list[tuple[int, np.ndarray]] = []
    out_axis = 0
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, list | np.ndarray):
            idx = np.asarray(k)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
            idx = np.where(idx < 0, idx + n, idx)
            lo = int(idx.min()) if idx.size else 0
            hi = int(idx.max()) + 1 if idx.size else 0
            basic.append(slice(lo, hi))
            post.append((out_axis, idx - lo))
            out_axis += 1
        elif isinstance(k, int | np.integer):
            basic.append(int(k))
        else:
            basic.append(k)
            out_axis += 1
    return basic, post
