"""Streaming writers' helpers: data in file order, slab by slab, memory bounded by a slab."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from typing import IO, Any, Literal, cast

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.buffers import empty

__all__ = ["compute_into", "file_order_slabs", "gzip_writer"]


def gzip_writer(path: str | os.PathLike[str], mode: str = "wb") -> IO[bytes]:
    """A gzip stream for writing at compression level 1 (ISA-L when installed, else
    zlib): fast, for large images."""
    try:
        from isal import igzip

        return igzip.open(path, mode, compresslevel=1)
    except ImportError:
        return cast(IO[bytes], gzip.open(path, mode, compresslevel=1))


def file_order_slabs(
    data: xr.DataArray, dtype: np.dtype[Any], byteorder: Literal["<", ">"] = "<"
) -> Iterator[memoryview]:
    """Yield the C-ordered bytes of ``(..., z-slab, y, x[, samples])`` blocks in file
    order: the leading dims (e.g. ``c, t``) outermost, then z slabs of whole planes — the
    layout of a file that stores ``x, y, z, ...`` with x fastest (NIfTI, Analyze, MGH).

    Parameters
    ----------
    data : xarray.DataArray
        Dims ``(..., z, y, x)`` in file order reversed, or ``(..., z, y, x, c)`` for
        interleaved samples (RGB NIfTI); numpy- or dask-backed.
    dtype : numpy.dtype
        Stored dtype (values are converted on copy).
    byteorder : {"<", ">"}
        Stored byte order.

    Notes
    -----
    Each slab is assembled in one buffer reused for every slab (the caller writes it out
    before asking for the next): a dask slab's chunks are computed together and copied
    into place, with no concatenated copy and no fresh allocation per slab.
    """
    arr = data.data
    zi = data.dims.index("z")
    lead = data.shape[:zi]
    nz = data.shape[zi]
    plane = data.shape[zi + 1 :]
    if isinstance(arr, dsa.Array):
        zchunks = arr.chunks[zi]
    else:
        step = max(1, (64 << 20) // max(1, int(np.prod(plane)) * dtype.itemsize))
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
            yield out.data
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
