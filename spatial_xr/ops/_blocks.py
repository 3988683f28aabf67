"""Graph plumbing: tasks that read one input box out of a dask array's chunks.

A task built here depends on exactly the input chunks that intersect its box, by key, so
a graph has one task per output block and each task reads a bounded region.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Piece", "as_3d", "assemble", "box_pieces", "direct_source", "read_box"]

Piece = tuple[tuple[slice, ...], tuple[slice, ...]]
"""(slices inside an input chunk, slices inside the assembled box)."""


def box_pieces(
    name: str,
    chunks: Sequence[Sequence[int]],
    lead_block: Sequence[int],
    start: Sequence[int] | NDArray[np.int64],
    stop: Sequence[int] | NDArray[np.int64],
) -> tuple[list[tuple[Any, ...]], list[Piece]]:
    """Input chunk keys and placements that assemble ``array[lead_block][start:stop]``.

    Parameters
    ----------
    name : str
        The dask array's name.
    chunks : sequence of sequence of int
        Its chunks, leading (non-spatial) dims first, then spatial dims.
    lead_block : sequence of int
        Block index along each leading dim (the whole block is taken).
    start, stop : sequence or ndarray of int
        Half-open box along the spatial dims.

    Returns
    -------
    keys : list of tuple
        Dask keys of the chunks to read.
    pieces : list of (chunk slices, box slices)
    """
    nlead = len(lead_block)
    per_axis: list[list[tuple[int, slice, slice]]] = []
    for a, (b, e) in enumerate(zip(start, stop, strict=True)):
        bounds = np.concatenate([[0], np.cumsum(chunks[nlead + a])])
        first = int(np.searchsorted(bounds, b, side="right")) - 1
        last = int(np.searchsorted(bounds, e, side="left")) - 1
        axis = []
        for c in range(first, last + 1):
            lo = max(b, int(bounds[c]))
            hi = min(e, int(bounds[c + 1]))
            axis.append((c, slice(lo - int(bounds[c]), hi - int(bounds[c])),
                         slice(lo - b, hi - b)))
        per_axis.append(axis)
    keys: list[tuple[Any, ...]] = []
    pieces: list[Piece] = []
    lead_slices = (slice(None),) * nlead
    for combo in np.ndindex(*[len(ax) for ax in per_axis]):
        parts = [per_axis[a][c] for a, c in enumerate(combo)]
        keys.append((name, *lead_block, *(p[0] for p in parts)))
        pieces.append((lead_slices + tuple(p[1] for p in parts),
                       lead_slices + tuple(p[2] for p in parts)))
    return keys, pieces


def assemble(
    arrays: Sequence[NDArray[Any]], pieces: Sequence[Piece], box_shape: Sequence[int]
) -> NDArray[Any]:
    """Copy chunk pieces into one box (a view when a single chunk holds the box)."""
    first = arrays[0][pieces[0][0]]
    if len(arrays) == 1 and first.shape[-len(box_shape):] == tuple(box_shape):
        return first
    lead = first.shape[: first.ndim - len(box_shape)]
    box = np.empty((*lead, *box_shape), dtype=np.result_type(*[a.dtype for a in arrays]))
    for arr, (src, dst) in zip(arrays, pieces, strict=True):
        box[dst] = arr[src]
    return box


def direct_source(data: Any) -> tuple[str, dict[str, Any]] | None:
    """The array-like behind a ``dask.array.from_array``/``from_zarr`` array, if that is all
    its graph holds.

    Such an array's chunk tasks are ``getter(source, slices, **kwargs)``. A task that reads
    ``getter(source, box, **kwargs)`` itself reads only its box (a Zarr or lazy NIfTI
    source reads just the bytes of that region) and shares no input-chunk task with its
    neighbours, so no whole input chunk stays in memory waiting for its other readers.

    Parameters
    ----------
    data : dask.array.Array

    Returns
    -------
    (key, kwargs) or None
        The graph key of the source (a dependency for the tasks) and the keyword arguments
        its chunk tasks pass to ``getter`` (e.g. its lock); ``None`` for any other graph
        (other graphs are read chunk by chunk, :func:`box_pieces`).
    """
    try:
        from dask.array.core import getter

        graph = data.__dask_graph__()
        key = "original-" + data.name
        if set(graph.layers) != {key, data.name}:
            return None
        source = graph.layers[key][key]
        if tuple(getattr(source, "shape", ())) != tuple(data.shape):
            return None
        task = graph.layers[data.name][(data.name,) + (0,) * data.ndim]
        if getattr(task, "func", None) is not getter or not hasattr(task, "kwargs"):
            return None
        kwargs = dict(task.kwargs)
        if set(kwargs) - {"asarray", "lock"}:
            return None
        return key, kwargs
    except Exception:  # any other graph layout (or dask version): read by chunks
        return None


def read_box(source: Any, slices: tuple[slice, ...], kwargs: dict[str, Any]) -> NDArray[Any]:
    """``source[slices]`` as a numpy array, read the way dask reads a chunk of it."""
    from dask.array.core import getter

    return np.asarray(getter(source, slices, **kwargs))


def as_3d(volume: NDArray[Any], nsp: int) -> NDArray[Any]:
    """The spatial part of one leading index as the kernels take it: a 3-D view (a 2-D
    image, ``nsp == 2``, gets a ``z`` axis of length 1)."""
    return volume[np.newaxis] if nsp == 2 else volume
