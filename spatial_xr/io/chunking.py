"""Default z chunking and ``chunks=`` handling shared by the file readers (NIfTI, DICOM,
NRRD, MetaImage, …).

A volume (one ``t``/``c`` frame) of at most :data:`WHOLE_VOLUME_BYTES` is one dask chunk:
a full read is then one contiguous read straight into the result, with no second
output-sized buffer for dask to concatenate chunks into. Slicing such a chunk still reads
only the bytes it touches, because the readers let dask fuse the slice into the read.
Larger volumes are cut into z slabs of whole slices of about dask's ``array.chunk-size``,
so that memory stays bounded by a slab.

The trade-off: a single-chunk volume gives dask one task per frame, so a per-chunk
operation that runs in parallel over chunks (e.g. ``map_blocks``) uses one core for it;
pass ``chunks={"z": n}`` to split it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dask

from spatial_xr.errors import DimensionError
from spatial_xr.io.validate import frames_per_chunk

__all__ = [
    "WHOLE_VOLUME_BYTES",
    "chunks_by_name",
    "default_frame_chunks",
    "default_z_chunk",
    "resolve_chunks",
    "resolve_frame_chunks",
]

WHOLE_VOLUME_BYTES = 512 << 20
"""Largest frame (bytes, in the output dtype) read as a single chunk by default."""


def default_z_chunk(nz: int, slice_bytes: int) -> int:
    """Slices per default chunk.

    Parameters
    ----------
    nz : int
        Number of slices of one frame.
    slice_bytes : int
        Bytes of one slice in the output dtype.

    Returns
    -------
    int
        ``nz`` when the frame fits in :data:`WHOLE_VOLUME_BYTES`, else the number of
        slices that fit in dask's ``array.chunk-size`` (at least 1).
    """
    slice_bytes = max(1, slice_bytes)
    if nz * slice_bytes <= WHOLE_VOLUME_BYTES:
        return max(1, nz)
    limit = dask.utils.parse_bytes(dask.config.get("array.chunk-size"))
    return int(max(1, min(nz, limit // slice_bytes)))


def chunks_by_name(
    chunks: Mapping[Any, Any],
    names: Sequence[str],
    default: Sequence[Any],
    shape: Sequence[int],
) -> tuple[Any, ...]:
    """Chunks given per dim name (``{"z": 16}``), completed from a reader's defaults.

    Parameters
    ----------
    chunks : mapping
        Chunk size per dim name; ``-1`` or ``None`` means the whole axis. Dims not named
        keep their default.
    names : sequence of str
        Dim names of the reader's array, in its order.
    default : sequence
        The reader's default chunk per dim, same order.
    shape : sequence of int
        Size per dim, same order.

    Returns
    -------
    tuple
        One chunk size per dim, in ``names`` order.

    Raises
    ------
    DimensionError
        When ``chunks`` names a dim the image does not have.
    """
    unknown = set(chunks) - set(names)
    if unknown:
        raise DimensionError(
            f"chunks names dims {sorted(map(str, unknown))} that the image does not have; its "
            f"dims are {tuple(names)}"
        )
    return tuple(
        (n if chunks[k] in (-1, None) else chunks[k]) if k in chunks else d
        for k, d, n in zip(names, default, shape, strict=True)
    )


def default_frame_chunks(
    shape_f: Sequence[int], itemsize: int, *, compressed: bool
) -> tuple[int, ...]:
    """Default chunks of a file that stores ``x, y, z[, t[, c]]`` with x fastest (NIfTI,
    Analyze, MGH), in reversed (C) order ``([c,] [t,] z, y, x)``.

    One ``t``/``c`` frame per chunk, whole (see :func:`default_z_chunk`) or in z slabs of
    whole x-y planes; always whole for a compressed file (which cannot seek cheaply). A
    header declaring millions of tiny frames gets them grouped so that the graph stays
    bounded (:func:`~spatial_xr.io.validate.frames_per_chunk`).

    Parameters
    ----------
    shape_f : sequence of int
        Shape in file order, at least 3 values (``x, y, z, ...``).
    itemsize : int
        Bytes per voxel in the output dtype.
    compressed : bool
        The file is gzip-compressed.

    Returns
    -------
    tuple of int
        One chunk size per axis of ``shape_f[::-1]``.
    """
    nx, ny, nz = (int(v) for v in shape_f[:3])
    nzc = nz if compressed else default_z_chunk(nz, nx * ny * itemsize)
    group = frames_per_chunk(math.prod(shape_f[3:]), -(-nz // nzc))
    lead = []
    for n in shape_f[3:]:  # t, then c: fill the innermost frame dim first
        lead.append(min(int(n), group))
        group = -(-group // int(n))
    return (*lead[::-1], nzc, ny, nx)


def resolve_frame_chunks(
    chunks: Any,
    names: Sequence[str],
    shape: Sequence[int],
    shape_f: Sequence[int],
    itemsize: int,
    *,
    compressed: bool,
    samples: int = 0,
) -> Any:
    """A reader's ``chunks=`` argument for an array in reversed file order.

    Parameters
    ----------
    chunks : None, mapping, sequence or anything dask accepts
        ``None``: :func:`default_frame_chunks`; a mapping by dim name (see
        :func:`chunks_by_name`); a sequence with one value per dim **in DataArray order**
        (``t, c, z, y, x``); anything else is passed to dask unchanged.
    names : sequence of str
        Dim names of the lazy array (reversed file order, e.g. ``("c", "t", "z", "y", "x")``).
    shape : sequence of int
        Shape of the lazy array.
    shape_f : sequence of int
        Shape in file order.
    itemsize : int
        Bytes per voxel in the output dtype.
    compressed : bool
        The file is gzip-compressed.
    samples : int
        > 0 for a colour file whose lazy array has a last axis of that many interleaved
        samples per voxel (``shape_f`` without it); the default chunk spans them all.

    Returns
    -------
    chunks for :func:`dask.array.from_array`, in ``names`` order.
    """
    default = default_frame_chunks(shape_f, itemsize, compressed=compressed)
    if samples:
        default = (*default, samples)
    return resolve_chunks(chunks, names, shape, default)


def resolve_chunks(chunks: Any, names: Sequence[str], shape: Sequence[int],
                   default: Sequence[int]) -> Any:
    """A reader's ``chunks=`` argument for its lazy array, given the reader's defaults.

    Parameters
    ----------
    chunks : None, mapping, sequence or anything dask accepts
        ``None``: ``default``; a mapping by dim name (see :func:`chunks_by_name`); a
        sequence with one value per dim **in DataArray order** (``t, c, z, y, x``);
        anything else is passed to dask unchanged.
    names : sequence of str
        Dim names of the lazy array, in its order (e.g. ``("t", "z", "y", "x", "c")``).
    shape : sequence of int
        Shape of the lazy array.
    default : sequence of int
        The reader's default chunks, in ``names`` order.

    Returns
    -------
    chunks for :func:`dask.array.from_array`, in ``names`` order.

    Raises
    ------
    DimensionError
        A mapping names a dim the image does not have.
    """
    if chunks is None:
        return tuple(default)
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, names, default, shape)
    if isinstance(chunks, tuple | list) and len(chunks) == len(names):
        order = [n for n in ("t", "c", "z", "y", "x") if n in names]
        by_name = dict(zip(order, chunks, strict=True))
        return tuple(by_name[n] for n in names)
    return chunks
