"""A pickle-safe lazy view of one pyramid level of one TIFF series.

Reads go through tifffile's Zarr store (``TiffPageSeries.aszarr``): a request decodes only
the tiles or strips it touches. The view holds the path, the series and level indices and
a :class:`xarray.backends.CachingFileManager`, never an open handle, so dask graphs pickle
and run on dask.distributed workers (each process opens the file once).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from xarray.backends import CachingFileManager

from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRError

__all__ = ["OpenLevel", "TiffArray", "open_level", "split_fancy"]


class OpenLevel:
    """An open TIFF file, the Zarr store over one level of one series and its array."""

    def __init__(self, path: str, series: int, level: int, ome: bool = True) -> None:
        import tifffile
        import zarr

        self.tiff = tifffile.TiffFile(path, **({} if ome else {"is_ome": False}))
        try:
            # maxworkers > 1: tifffile decodes each tile in a worker thread, not in the
            # event loop that zarr runs every read on (which would serialise the
            # decoding of all dask threads)
            self.store = self.tiff.series[series].aszarr(
                level=level, maxworkers=max(2, os.cpu_count() or 2))
            self.array = zarr.open_array(self.store, mode="r")
        except BaseException:
            self.tiff.close()
            raise

    def close(self) -> None:
        """Close the store and the file."""
        try:
            self.store.close()
        finally:
            self.tiff.close()


def open_level(path: str, series: int = 0, level: int = 0, ome: bool = True) -> OpenLevel:
    """Open ``path`` and the Zarr array of ``series``/``level`` (module-level, so that
    file managers pickle); ``ome=False`` ignores the OME-XML."""
    return OpenLevel(path, series, level, ome)


class TiffArray:
    """Lazy array over one level of one series of a TIFF file.

    Parameters
    ----------
    path : str
        File path.
    series, level : int
        tifffile series index and pyramid level.
    shape : tuple of int
        Shape of the level (tifffile's squeezed axes order).
    dtype : numpy.dtype
    ome : bool
        Whether tifffile uses the OME-XML to form series.
    """

    def __init__(self, path: str, series: int, level: int, shape: tuple[int, ...],
                 dtype: np.dtype[Any], *, ome: bool = True) -> None:
        self.path = path
        self.ome = ome
        self.series = series
        self.level = level
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._manager = self._new_manager()

    def _new_manager(self) -> CachingFileManager:
        return CachingFileManager(open_level, self.path,
                                  kwargs={"series": self.series, "level": self.level,
                                          "ome": self.ome})

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_manager")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._manager = self._new_manager()

    def __getitem__(self, key: Any) -> np.ndarray:
        basic, post = split_fancy(key, self.shape)
        try:
            with self._manager.acquire_context() as opened:
                if opened.array.shape != self.shape:
                    raise FormatError(
                        f"{self.path!r} changed after it was opened: series {self.series} "
                        f"level {self.level} now has shape {opened.array.shape}, not "
                        f"{self.shape}; open it again"
                    )
                out = opened.array[basic]
        except FileNotFoundError as exc:
            raise PathNotFoundError(
                f"{self.path!r} no longer exists (it was opened lazily and removed or renamed "
                "before its pixels were read); open it again"
            ) from exc
        except (SpatialXRError, MemoryError):
            raise
        except Exception as exc:
            self._manager.close()
            raise FormatError(
                f"could not read tiles of {self.path!r} (series {self.series}, level "
                f"{self.level}): {type(exc).__name__}: {exc}; the file is truncated or "
                "corrupt, or changed after it was opened — re-export or re-copy it"
            ) from exc
        out = np.asarray(out, dtype=self.dtype)
        for axis, index in post:
            out = np.take(out, index, axis=axis)
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
