"""Pickle-safe lazy access to the voxels of one Imaris resolution level.

:class:`ImarisArray` holds the file path, the HDF5 paths of the level's ``Data`` datasets
and a lock, never an open file: each read opens the file, reads the requested box of each
time point and channel it touches (HDF5 reads only the chunks the box overlaps), and
closes it. Graphs built on it pickle and run on dask-distributed workers.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from dask.utils import SerializableLock

from spatial_xr.errors import FormatError, ParameterError, PathNotFoundError, require

__all__ = ["ImarisArray"]


def _register_filters() -> None:
    """Make the HDF5 compression filters of ``hdf5plugin`` (LZ4, Zstd, …, which recent
    Imaris versions may write) available when that package is installed."""
    with contextlib.suppress(ImportError):
        import hdf5plugin  # noqa: F401


class ImarisArray:
    """The voxels of one resolution level as a ``(t, c, z, y, x)`` array-like.

    Parameters
    ----------
    path : str
        The ``.ims`` file.
    data_paths : tuple of tuple of str
        ``data_paths[t][c]``: HDF5 path of that time point's and channel's ``Data``.
    shape_zyx : tuple of int
        The level's image size; larger (padded) datasets are cropped to it.
    dtype : numpy.dtype
        Voxel type.
    keep_t, keep_c : bool
        Whether the array has a ``t`` (``c``) axis; without it, ``data_paths`` must hold one
        time point (channel), and the array is ``(c, z, y, x)``, ``(t, z, y, x)`` or
        ``(z, y, x)``. (Selecting here rather than slicing the dask array keeps one layer
        between the read and a user's slice, which dask then fuses into the read.)

    Notes
    -----
    Indexing takes integers, slices (steps may be negative) and integer arrays (read as
    their bounding range, then taken in memory), so that dask can fuse later slicing into
    the read (``from_array(..., fancy=True)``): a box of a large chunk reads only the HDF5
    chunks the box overlaps.
    """

    def __init__(
        self,
        path: str,
        data_paths: tuple[tuple[str, ...], ...],
        shape_zyx: tuple[int, int, int],
        dtype: np.dtype[Any],
        *,
        keep_t: bool = True,
        keep_c: bool = True,
    ) -> None:
        self.path = path
        self.data_paths = data_paths
        self.full_shape = (len(data_paths), len(data_paths[0]), *shape_zyx)
        if (not keep_t and self.full_shape[0] != 1) or (not keep_c and self.full_shape[1] != 1):
            raise ParameterError("an axis can be dropped only when it holds one entry")
        self.kept = (keep_t, keep_c, True, True, True)
        self.shape = tuple(n for n, k in zip(self.full_shape, self.kept, strict=True) if k)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._lock = SerializableLock()

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        given = iter(key)
        key = tuple(next(given) if k else 0 for k in self.kept)
        ranges: list[range] = []
        keep: list[bool] = []
        post: list[tuple[int, np.ndarray]] = []  # integer-array selections, in memory
        for k, n in zip(key, self.full_shape, strict=True):
            if isinstance(k, slice):
                ranges.append(range(*k.indices(n)))
                keep.append(True)
            elif isinstance(k, list | np.ndarray):
                idx = np.asarray(k)
                idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
                idx = np.where(idx < 0, idx + n, idx)
                lo = int(idx.min()) if idx.size else 0
                hi = int(idx.max()) + 1 if idx.size else 0
                post.append((sum(keep), idx - lo))
                ranges.append(range(lo, hi))
                keep.append(True)
            else:
                i = int(k)
                i = i + n if i < 0 else i
                if not 0 <= i < n:
                    raise ParameterError(f"index {k} is out of range for an axis of {n}")
                ranges.append(range(i, i + 1))
                keep.append(False)
        out = np.empty([len(r) for r in ranges], self.dtype)
        if out.size:
            self._read_into(out, ranges)
        out = out.reshape([len(r) for r, k in zip(ranges, keep, strict=True) if k])
        for axis, index in post:
            out = np.take(out, index, axis=axis)
        return out

    def _read_into(self, out: np.ndarray, ranges: list[range]) -> None:
        h5py = require("h5py", "imaris")
        _register_filters()
        rt, rc, *space = ranges
        # HDF5 reads positive steps; a negative step reads the same voxels forwards
        forward = [r if r.step > 0 else r[::-1] for r in space]
        sel = tuple(slice(r.start, r.stop, r.step) for r in forward)
        flip = tuple(slice(None, None, -1) if r.step < 0 else slice(None) for r in space)
        with self._lock:
            try:
                with h5py.File(self.path, "r") as f:
                    for i, t in enumerate(rt):
                        for j, c in enumerate(rc):
                            data = f[self.data_paths[t][c]]
                            if any(r.step < 0 for r in space):
                                out[i, j] = data[sel][flip]
                            else:  # straight into the result: no second buffer
                                data.read_direct(out[i, j], source_sel=sel)
            except FileNotFoundError as exc:
                raise PathNotFoundError(
                    f"{self.path!r} no longer exists (it was opened lazily and removed or "
                    "renamed before its voxels were read); open it again"
                ) from exc
            except (OSError, KeyError, ValueError) as exc:
                hint = (" (a compression filter HDF5 lacks: pip install hdf5plugin)"
                        if "filter" in str(exc).lower() else "")
                raise FormatError(
                    f"could not read voxels of {self.path!r} ({type(exc).__name__}: {exc})"
                    f"{hint}; the file is truncated or corrupt, or changed after it was "
                    "opened — re-export it or open it again"
                ) from exc
