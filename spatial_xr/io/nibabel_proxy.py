"""Lazy voxel reads through nibabel's array proxy, shared by the Analyze/NIfTI-pair and MGH
readers.

nibabel's :class:`nibabel.arrayproxy.ArrayProxy` reads a slice of an image file without
loading the rest (``fileslice``): for an uncompressed file only the byte ranges the slice
touches; for a gzip file it inflates the stream from its start up to the last byte it
needs. :class:`ProxyArray` wraps one in what dask needs: C axis order (file order
reversed), a fixed output dtype, native byte order, and pickling by path — the proxy is
rebuilt from the path and the header values in each process, never shipped with an open
file.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
from dask.utils import SerializableLock

from spatial_xr.errors import FormatError, PathNotFoundError
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.indexing import finish_selection, selection_ranges

__all__ = [
    "ProxyArray",
    "check_voxel_count",
    "frame_dims",
    "proxy_dask_array",
    "scaled_dtype",
    "to_dataarray",
]


def scaled_dtype(raw_dtype: np.dtype[Any], slope: float, inter: float) -> np.dtype[Any]:
    """The dtype nibabel's proxy returns for ``raw_dtype`` data scaled by ``slope`` and
    ``inter`` (native byte order).

    nibabel picks the float type from the stored type's range and the scale factors; the
    rule is evaluated by nibabel itself on an empty in-memory proxy, so it cannot drift
    from what a read returns.
    """
    from nibabel.arrayproxy import ArrayProxy

    empty = ArrayProxy(io.BytesIO(), ((0,), np.dtype(raw_dtype), 0, slope, inter))
    return np.asarray(empty[:]).dtype.newbyteorder("=")


class ProxyArray:
    """Pickle-safe lazy view of an image file through nibabel's ArrayProxy, C order.

    Parameters
    ----------
    path : str
        The file holding the voxels (``.img``, ``.img.gz``, ``.mgh``, ``.mgz``).
    shape_f : tuple of int
        Shape in file order (``x, y, z[, t[, c]]``, x fastest).
    raw_dtype : numpy.dtype
        Stored dtype (may be big-endian).
    offset : int
        Byte offset of the voxels in the (uncompressed) file.
    slope, inter : float
        Scaling applied by nibabel (``1.0, 0.0`` for none).
    what : str
        The format's name, for messages.

    Notes
    -----
    ``shape`` is ``shape_f[::-1]``; ``dtype`` is nibabel's output dtype in native byte
    order (:func:`scaled_dtype`). Indexing takes slices and integers (what
    ``dask.array.from_array(..., fancy=False)`` passes).
    """

    def __init__(
        self,
        path: str,
        shape_f: Sequence[int],
        raw_dtype: np.dtype[Any],
        offset: int,
        slope: float = 1.0,
        inter: float = 0.0,
        *,
        what: str = "image",
    ) -> None:
        self.path = path
        self.shape_f = tuple(int(v) for v in shape_f)
        self.raw_dtype = np.dtype(raw_dtype)
        self.offset = int(offset)
        self.slope = float(slope)
        self.inter = float(inter)
        self.what = what
        self.dtype = scaled_dtype(self.raw_dtype, self.slope, self.inter)
        self.shape = self.shape_f[::-1]
        self.ndim = len(self.shape)
        self._lock = SerializableLock()
        self._proxy: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_proxy"] = None  # rebuilt from the path in the receiving process
        return state

    def _get_proxy(self) -> Any:
        with self._lock:
            if self._proxy is None:
                from nibabel.arrayproxy import ArrayProxy

                spec = (self.shape_f, self.raw_dtype, self.offset, self.slope, self.inter)
                # An uncompressed file is opened and closed by every read. A gzip stream is
                # kept open by this process's proxy (never pickled): reads of later frames
                # then continue the stream instead of inflating it again from its start.
                keep = self.path.lower().endswith((".gz", ".mgz"))
                self._proxy = ArrayProxy(self.path, spec, mmap=False, keep_file_open=keep)
            return self._proxy

    def __getitem__(self, key: Any) -> np.ndarray:
        ranges, post = selection_ranges(key, self.shape)
        if any(len(r) == 0 for r in ranges):
            return finish_selection(np.empty([len(r) for r in ranges], self.dtype), post)
        proxy = self._get_proxy()
        try:
            raw = proxy[tuple(slice(r.start, r.stop, r.step) for r in ranges[::-1])]
        except FileNotFoundError as exc:
            self._proxy = None
            raise PathNotFoundError(
                f"{self.path!r} no longer exists (the {self.what} was opened lazily and the "
                "file was removed or renamed before its voxels were read); open it again"
            ) from exc
        except (OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile) as exc:
            self._proxy = None  # a later read opens the file again
            raise FormatError(
                f"could not read voxel data of {self.path!r} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())}); the {self.what} file is truncated or "
                "corrupt, or changed after it was opened — re-export or re-download it"
            ) from exc
        arr = np.asarray(raw).T  # file order → C order
        if (not arr.dtype.isnative and arr.dtype.newbyteorder("=") == self.dtype
                and arr.flags.writeable and arr.flags.c_contiguous):
            # a buffer nibabel filled for this read (whole-array reads): swap in place
            # instead of converting into a second output-sized array
            arr = arr.byteswap(inplace=True).view(self.dtype)
        return np.ascontiguousarray(finish_selection(arr, post), dtype=self.dtype)


def proxy_dask_array(
    lazy: ProxyArray, chunks: Any, prefix: str
) -> dsa.Array:
    """A dask array over ``lazy`` whose name depends on the file's identity (path, size,
    modification time) and the output dtype, so that a changed file is never served from
    a cache of the old one.

    Parameters
    ----------
    lazy : ProxyArray
    chunks : tuple
        Chunks in ``lazy``'s (C) axis order.
    prefix : str
        Start of the graph key (the format's name).
    """
    stat = os.stat(lazy.path)
    token = dask.base.tokenize(lazy.path, stat.st_mtime_ns, stat.st_size, lazy.offset,
                               lazy.slope, lazy.inter, str(lazy.dtype))
    return fresh_read_array(dsa.from_array(
        lazy, chunks=chunks, asarray=False, fancy=True, name=f"{prefix}-{token}",
        meta=np.empty((0,) * lazy.ndim, lazy.dtype)))


def check_voxel_count(path: str, shape_f: Sequence[int], what: str) -> int:
    """The number of voxels ``shape_f`` declares; every size must be ≥ 1."""
    bad = [(i, int(v)) for i, v in enumerate(shape_f) if int(v) < 1]
    if bad:
        raise FormatError(
            f"{path!r}: the {what} header declares size {bad[0][1]} along axis {bad[0][0]} "
            f"(shape {tuple(int(v) for v in shape_f)}); every size must be ≥ 1 — the header "
            "is corrupt"
        )
    return math.prod(int(v) for v in shape_f)


def frame_dims(n: int) -> tuple[str, ...]:
    """Dim names of an ``n``-D file array in C order (``x, y, z, t, c`` reversed)."""
    return ("x", "y", "z", "t", "c")[:n][::-1]


def to_dataarray(data: dsa.Array, names: Sequence[str], attrs: dict[str, Any]) -> xr.DataArray:
    """Wrap a C-order frame-file array as a DataArray with dims in ``t, c, z, y, x`` order."""
    da = xr.DataArray(data, dims=tuple(names), name="image", attrs=attrs)
    order = [d for d in ("t", "c", "z", "y", "x") if d in da.dims]
    return da.transpose(*order)
