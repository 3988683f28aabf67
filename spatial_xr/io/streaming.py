"""Streaming writers' helpers: data in file order, slab by slab, memory bounded by a slab."""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterator
from typing import IO, Any, Literal, cast

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.buffers import empty

__all__ = ["compute_into", "file_order_slabs", "gzip_writer"]

_SLAB_BYTES = 64 << 20
"""Bytes per slab when writing a numpy-backed image."""


def gzip_writer(target: str | os.PathLike[str] | IO[bytes], mode: str = "wb") -> IO[bytes]:
    """A gzip stream for writing at compression level 1 (ISA-L when installed, else
    zlib): fast, for large images.

    Parameters
    ----------
    target : str, path-like or binary file object
        The file to create, or an open file to append the stream to (e.g. after a
        header); a stream into an open file records no time stamp, so equal data give
        equal bytes.
    mode : str
        File mode for a path (``"wb"``).
    """
    if hasattr(target, "write"):
        fobj: Any = target
        try:
            from isal import igzip

            return cast(IO[bytes], igzip.IGzipFile(filename="", mode="wb", compresslevel=1,
                                                   fileobj=fobj, mtime=0))
        except ImportError:
            return cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", compresslevel=1,
                                                 fileobj=fobj, mtime=0))
    try:
        from isal import igzip

        return cast(IO[bytes], igzip.open(target, mode, compresslevel=1))
    except ImportError:
        return cast(IO[bytes], gzip.open(target, mode, compresslevel=1))


def file_order_slabs(
    data: xr.DataArray, dtype: np.dtype[Any], byteorder: Literal["<", ">"] = "<"
) -> Iterator[memoryview]:
    """Yield the C-ordered bytes of ``(..., z-slab, y, x[, samples])`` blocks in file
    order: the leading dims (e.g. ``c, t``) outermost, then z slabs of whole planes — the
    layout of a file that stores ``x, y, z, ...`` with x fastest (NIfTI, Analyze, MGH,
    NRRD, MetaImage).

    Parameters
    ----------
    data : xarray.DataArray
        Dims ``(..., z, y, x)`` in file order reversed, or ``(..., z, y, x, c)`` for
        interleaved samples (RGB NIfTI, NRRD and MetaImage channels); numpy- or
        dask-backed. Without a ``z`` dim each leading index is one slab (the dims from
        ``y`` on).
    dtype : numpy.dtype
        Stored dtype (values are converted on copy).
    byteorder : {"<", ">"}
        Stored byte order.

    Yields
    ------
    memoryview
        One slab's bytes (format ``"B"``), valid until the next slab is asked for.

    Notes
    -----
    Each slab is assembled in one buffer reused for every slab (the caller writes it out
    before asking for the next): a dask slab's chunks are computed together and copied
    into place (:func:`compute_into`), with no concatenated copy and no fresh allocation
    per slab. A numpy-backed image is cut into slabs of about 64 MiB; a dask-backed one
    along its z chunks.
    """
    if "z" not in data.dims:
        data = data.expand_dims("z", axis=data.dims.index("y"))
    arr = data.data
    zi = data.dims.index("z")
    lead = data.shape[:zi]
    nz = data.shape[zi]
    plane = data.shape[zi + 1 :]
    if isinstance(arr, dsa.Array):
        zchunks = arr.chunks[zi]
    else:
        step = max(1, _SLAB_BYTES // max(1, math.prod(plane) * dtype.itemsize))
        zchunks = tuple(min(step, nz - i) for i in range(0, nz, step))
    buf = empty((max(zchunks, default=0), *plane), dtype.newbyteorder(byteorder))
    for idx in np.ndindex(*lead):
        z0 = 0
        for dz in zchunks:
            block = arr[idx + (slice(z0, z0 + dz),)]
            out = buf[:dz]
            if isinstance(block, dsa.Array):
                compute_into(block, out)
            else:
                out[...] = block
            yield out.data.cast("B")
            z0 += dz


def compute_into(block: dsa.Array, out: np.ndarray) -> None:
    """Compute a dask array's chunks (on the current scheduler) and copy them into ``out``."""
    parts = block.to_delayed().ravel()
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in block.chunks]
    regions = [tuple(slice(int(starts[a][i]), int(starts[a][i]) + block.chunks[a][i])
                     for a, i in enumerate(ix))
               for ix in np.ndindex(*block.numblocks)]
    for region, value in zip(regions, dask.compute(*parts), strict=True):
        out[region] = value
