"""Index handling shared by the lazy file arrays: what to read from disk, what to select
afterwards in memory.

A reader's ``__getitem__`` gets what dask passes with ``fancy=True``: per axis an integer,
a slice (any step) or a 1-D integer or boolean array, arrays selecting along their own axis
independently of each other (orthogonal indexing). :func:`selection_ranges` turns it into
one ``range`` per axis with a positive step (what to read) and an index that
:func:`finish_selection` applies to what was read (reversals, integer axes dropped, array
selections relative to the range read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spatial_xr.errors import DimensionError, ParameterError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["finish_selection", "selection_ranges", "split_fancy"]

Selector = int | slice | Sequence[int] | None
"""Entries of a ``c`` or ``t`` axis to keep: an index, a slice, a list of indices or None."""


def selection_ranges(key: Any, shape: Sequence[int]) -> tuple[list[range], tuple[Any, ...]]:
    """Split an index into ranges to read and the index that cuts the read to it.

    Parameters
    ----------
    key : int, slice, array or tuple of them
        A numpy index (``...`` allowed; missing trailing axes are whole).
    shape : sequence of int
        Shape of the indexed array.

    Returns
    -------
    ranges : list of range
        One range per axis, step > 0: an integer is ``range(i, i + 1)``, a slice with a
        negative step the same elements in increasing order, an array the step-1 range
        from its smallest to its largest index.
    post : tuple
        Index for :func:`finish_selection` on the array read for ``ranges`` (shape
        ``[len(r) for r in ranges]``).

    Raises
    ------
    ParameterError
        More indices than axes, or an integer or array index outside its axis (the
        message names the axis size).
    """
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    if len(key) > len(shape):
        raise ParameterError(
            f"too many indices: {len(key)} for an array of {len(shape)} axes"
        )
    key = key + (slice(None),) * (len(shape) - len(key))
    ranges: list[range] = []
    post: list[Any] = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, slice):
            r = range(*k.indices(n))
            if r.step < 0:
                r = r[::-1]
                post.append(slice(None, None, -1))
            else:
                post.append(slice(None))
            ranges.append(r if len(r) else range(0, 0))
        elif isinstance(k, list | np.ndarray):
            idx = np.asarray(k)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp).ravel()
            idx = np.where(idx < 0, idx + n, idx)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ParameterError(f"index out of bounds for an axis of size {n}")
            lo = int(idx.min()) if idx.size else 0
            hi = int(idx.max()) + 1 if idx.size else 0
            ranges.append(range(lo, hi))
            post.append(idx - lo)
        else:
            i = int(k)
            i = i + n if i < 0 else i
            if not 0 <= i < n:
                raise ParameterError(f"index {int(k)} is out of bounds for an axis of size {n}")
            ranges.append(range(i, i + 1))
            post.append(0)
    return ranges, tuple(post)


def finish_selection(arr: np.ndarray, post: tuple[Any, ...]) -> np.ndarray:
    """Apply the ``post`` index of :func:`selection_ranges` to the array read for its
    ranges.

    Parameters
    ----------
    arr : numpy.ndarray
        Shape ``[len(r) for r in ranges]``.
    post : tuple

    Returns
    -------
    numpy.ndarray
        The selection (a view of ``arr`` when no array index is involved).
    """
    if all(isinstance(p, slice) and p == slice(None) for p in post):
        return arr
    out = arr[tuple(slice(None) if isinstance(p, np.ndarray) else p for p in post)]
    axis = 0
    for p in post:
        if isinstance(p, np.ndarray):
            out = np.take(out, p, axis=axis)
        if not isinstance(p, int | np.integer):
            axis += 1
    return out


def split_fancy(
    key: Any, shape: tuple[int, ...]
) -> tuple[tuple[Any, ...], list[tuple[int, np.ndarray]]]:
    """Split an index into slices and integers (read from the file) and integer-array
    selections applied afterwards in memory, as ``(axis of the read result, indices)``.

    dask passes array indices when a computation selects a list of positions; reading
    their bounding slice keeps the read partial.
    """
    if not isinstance(key, tuple):
        key = (key,)
    key = key + (slice(None),) * (len(shape) - len(key))
    basic: list[Any] = []
    post: list[tuple[int, np.ndarray]] = []
    axis = 0
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, list | np.ndarray):
            idx = np.asarray(k)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
            idx = np.where(idx < 0, idx + n, idx)
            lo = int(idx.min()) if idx.size else 0
            hi = int(idx.max()) + 1 if idx.size else 0
            basic.append(slice(lo, hi))
            post.append((axis, idx - lo))
            axis += 1
        elif isinstance(k, int | np.integer):
            basic.append(int(k))
        else:
            basic.append(k)
            axis += 1
    return tuple(basic), post


def select_entries(da: xr.DataArray, dim: str, sel: Selector, what: str) -> xr.DataArray:
    """``da`` with only the entries ``sel`` of its ``dim`` axis (``channel=``/``timepoint=``
    of the readers); ``None`` keeps them all.

    Raises
    ------
    DimensionError
        ``da`` has no ``dim`` axis, or an index is out of range; ``what`` names the argument.
    """
    if sel is None:
        return da
    if dim not in da.dims:
        raise DimensionError(
            f"{what}={sel!r} was given but the image has no {dim!r} axis (dims {da.dims})"
        )
    size = da.sizes[dim]
    idx = [sel] if isinstance(sel, int | np.integer) else sel
    if not isinstance(idx, slice) and any(not -size <= int(i) < size for i in idx):
        raise DimensionError(f"{what}={sel!r} is out of range for {size} {dim!r} entries")
    return da.isel({dim: sel})
