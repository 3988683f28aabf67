"""A pickle-safe lazy view of one pyramid level of one TIFF series.

Whole pages decode straight into the result (``TiffPage.asarray``, as ``tifffile.imread``
does); boxes decode only the tiles or strips they touch (:mod:`.tiles`); other layouts go
through tifffile's Zarr store (``TiffPageSeries.aszarr``), which also decodes only what a
request touches. The view holds the path, the series and level indices and a
:class:`xarray.backends.CachingFileManager`, never an open handle, so dask graphs pickle
and run on dask.distributed workers (each process opens the file once).
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

import numpy as np
from xarray.backends import CachingFileManager

from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRError
from spatial_xr.io.indexing import split_fancy
from spatial_xr.io.tiff.tiles import read_box

__all__ = ["OpenLevel", "TiffArray", "open_level"]


class OpenLevel:
    """An open TIFF file and, made on first use, the Zarr store over one level of one
    series and its array."""

    def __init__(self, path: str, series: int, level: int, ome: bool = True) -> None:
        import tifffile

        self.tiff = tifffile.TiffFile(path) if ome else tifffile.TiffFile(path, is_ome=False)
        self.tiff.filehandle.set_lock(True)  # dask threads share the handle: seeks + reads
        self.series, self.level = series, level
        try:  # parsed here, once: later reads from several threads only look it up
            self.level_series = self.tiff.series[series].levels[level]
        except BaseException:
            self.tiff.close()
            raise
        self.store: Any = None
        self._array: Any = None
        self._lock = threading.Lock()

    @property
    def array(self) -> Any:
        """The level as a ``zarr.Array`` over tifffile's store."""
        with self._lock:
            if self._array is None:
                import zarr

                # maxworkers > 1: tifffile decodes each tile in a worker thread, not in
                # the event loop that zarr runs every read on (which would serialise the
                # decoding of all dask threads)
                self.store = self.tiff.series[self.series].aszarr(
                    level=self.level, maxworkers=max(2, os.cpu_count() or 2))
                self._array = zarr.open_array(self.store, mode="r")
            return self._array

    def close(self) -> None:
        """Close the store (if made) and the file."""
        try:
            if self.store is not None:
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
    page_ndim : int, optional
        How many trailing axes one TIFF page holds, when the level is a plain sequence of
        pages; None otherwise (every read then goes through tifffile's Zarr store).
    boxes : bool
        Whether boxes of a page decode with :func:`spatial_xr.io.tiff.tiles.read_box`.

    Notes
    -----
    Three read paths: a request for whole pages decodes them straight into the result
    with ``TiffPage.asarray`` (as ``tifffile.imread`` does); a box within pages decodes
    the tiles or strips it touches with :func:`~spatial_xr.io.tiff.tiles.read_box`; any
    other layout goes through tifffile's Zarr store, which also decodes only the tiles a
    request touches.
    """

    def __init__(self, path: str, series: int, level: int, shape: tuple[int, ...],
                 dtype: np.dtype[Any], *, ome: bool = True,
                 page_ndim: int | None = None, boxes: bool = False) -> None:
        self.path = path
        self.ome = ome
        self.page_ndim = page_ndim
        self.boxes = boxes
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
                shape = tuple(opened.level_series.shape)
                if shape != self.shape:
                    raise FormatError(
                        f"{self.path!r} changed after it was opened: series {self.series} "
                        f"level {self.level} now has shape {shape}, not {self.shape}; open "
                        "it again"
                    )
                out = self._read(opened, basic, post)
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


    def _read(self, opened: OpenLevel, basic: tuple[Any, ...], post: list[Any]) -> Any:
        whole = None if post else self._whole_pages(basic)
        if whole is not None:
            return self._read_pages(opened, *whole)
        n = self.page_ndim
        if self.boxes and n in (2, 3) and all(
                isinstance(k, int) or k.indices(size)[2] == 1
                for k, size in zip(basic[-n:], self.shape[-n:], strict=True)):
            return self._read_boxes(opened, basic, n)
        return opened.array[basic]

    def _read_boxes(self, opened: OpenLevel, basic: tuple[Any, ...], n: int) -> np.ndarray:
        """Boxes of pages (rows, columns, step 1) decoded tile by tile."""
        lead, tail = basic[:-n], basic[-n:]
        lead_shape, page_shape = self.shape[:-n], self.shape[-n:]
        ranges = [range(*k.indices(size)) if isinstance(k, slice) else range(k, k + 1)
                  for k, size in zip(basic, self.shape, strict=True)]
        yr, xr = ranges[len(lead)], ranges[len(lead) + 1]
        out = np.empty((*[len(r) for r in ranges[:len(lead)]], len(yr), len(xr),
                        *page_shape[2:]), self.dtype)
        flat = out.reshape(-1, *out.shape[len(lead):])
        pages = opened.level_series.pages
        workers = max(2, os.cpu_count() or 2)
        if len(yr) and len(xr):
            for j, idx in enumerate(itertools.product(*ranges[:len(lead)])):
                page = self._page(opened, pages, idx, lead_shape)
                if page is None:
                    flat[j] = 0
                else:
                    read_box(page, yr, xr, flat[j], workers)
        pick = tuple(0 if isinstance(k, int) else slice(None) for k in (*lead, *tail[:2]))
        return out[(*pick, *tail[2:])]

    @staticmethod
    def _page(opened: OpenLevel, pages: Any, idx: tuple[int, ...],
              lead_shape: tuple[int, ...]) -> Any:
        """Page ``idx`` of the level, loaded under the file's lock: loading reads its IFD,
        and dask threads share the file handle."""
        number = int(np.ravel_multi_index(idx, lead_shape)) if lead_shape else 0
        with opened.tiff.filehandle.lock:
            return pages[number]

    def _whole_pages(self, basic: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """``(leading selection, leading shape)`` when ``basic`` selects whole pages."""
        n = self.page_ndim
        if not n:
            return None
        for k, size in zip(basic[-n:], self.shape[-n:], strict=True):
            if not isinstance(k, slice) or k.indices(size) != (0, size, 1):
                return None
        lead = basic[:-n]
        return lead, self.shape[:-n]

    def _read_pages(self, opened: OpenLevel, lead: tuple[Any, ...],
                    lead_shape: tuple[int, ...]) -> np.ndarray:
        ranges = [range(*k.indices(s)) if isinstance(k, slice) else range(k, k + 1)
                  for k, s in zip(lead, lead_shape, strict=True)]
        page_shape = self.shape[len(lead_shape):]
        out = np.empty((*[len(r) for r in ranges], *page_shape), self.dtype)
        flat = out.reshape(-1, *page_shape)
        pages = opened.level_series.pages
        workers = max(2, os.cpu_count() or 2)
        for j, idx in enumerate(itertools.product(*ranges)):
            page = self._page(opened, pages, idx, lead_shape)
            if page is None:  # a plane the file does not store
                flat[j] = 0
            else:
                page.asarray(out=flat[j], maxworkers=workers)
        keep = [len(r) for r, k in zip(ranges, lead, strict=True) if isinstance(k, slice)]
        return out.reshape(*keep, *page_shape)
