"""Decode a box of one TIFF page: only the tiles (or strips) it touches, straight into the
result.

tifffile's public page API does the work: ``TiffPage.dataoffsets``/``databytecounts``
locate the tiles, ``FileHandle.read_segments`` reads their bytes in file order under the
file's lock, and ``TiffPage.decode`` decompresses and unpredicts each one (in a thread
pool: the codecs release the GIL). Each decoded tile is copied once, into the part of the
result it covers. This is the path of box requests on plain pages; layouts it does not
cover (volumetric tiles, planar samples, subsampled JPEG) go through tifffile's Zarr store.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["SERIAL_TILES", "box_readable", "read_box"]

SERIAL_TILES = 8
"""Boxes of at most this many tiles decode in the calling thread (a handful of tiles
decodes faster than it takes to hand them to other threads)."""


def box_readable(page: Any) -> bool:
    """Whether :func:`read_box` can decode boxes of ``page``: one image plane (no tile
    depth), samples interleaved (or one sample), and no chroma subsampling."""
    kf = page.keyframe
    return (int(getattr(kf, "imagedepth", 1)) == 1
            and (kf.planarconfig == 1 or kf.samplesperpixel == 1)
            and not kf.is_subsampled and kf.dtype is not None)


def read_box(page: Any, y: range, x: range, out: np.ndarray, workers: int = 2) -> None:
    """Decode rows ``y`` and columns ``x`` (step 1) of ``page`` into ``out``.

    Parameters
    ----------
    page : tifffile.TiffPage or TiffFrame
        A page for which :func:`box_readable` holds.
    y, x : range
        Rows and columns, step 1, inside the page.
    out : numpy.ndarray, shape (len(y), len(x)) or (len(y), len(x), samples)
        Written in place.
    workers : int
        Threads decoding tiles.
    """
    kf = page.keyframe
    if kf.is_tiled:
        th, tw = int(kf.tilelength), int(kf.tilewidth)
    else:
        th, tw = int(kf.rowsperstrip), int(kf.imagewidth)
    th = min(th, int(kf.imagelength))
    across = -(-int(kf.imagewidth) // tw)
    rows = range(y.start // th, (y.stop - 1) // th + 1)
    cols = range(x.start // tw, (x.stop - 1) // tw + 1)
    indices = [r * across + c for r in rows for c in cols]
    offsets = [page.dataoffsets[i] for i in indices]
    counts = [page.databytecounts[i] for i in indices]
    kf.decode  # noqa: B018 - initialise the decoder once, before the threads
    args: dict[str, Any] = {"_fullsize": True}
    if page.jpegtables is not None:
        args["jpegtables"] = page.jpegtables
    if kf.jpegheader is not None:
        args["jpegheader"] = kf.jpegheader
    target = out.reshape(len(y), len(x), -1)
    nodata = kf.nodata

    def place(item: tuple[bytes | None, int]) -> None:
        data, index = item
        segment, (_, _, h, w, _), _ = kf.decode(data, index, **args)
        y0, y1 = max(h, y.start), min(h + th, y.stop)
        x0, x1 = max(w, x.start), min(w + tw, x.stop)
        if y0 >= y1 or x0 >= x1:
            return
        dest = target[y0 - y.start:y1 - y.start, x0 - x.start:x1 - x.start]
        if segment is None:  # a tile the file does not store
            dest[...] = nodata
        else:
            dest[...] = segment.reshape(segment.shape[-3:])[y0 - h:y1 - h, x0 - w:x1 - w]

    fh = page.parent.filehandle
    # batches of about tifffile's buffer size: the compressed bytes held at once stay bounded
    batches = fh.read_segments(offsets, counts, indices, sort=True, lock=fh.lock, flat=False)
    parallel = workers > 1 and len(indices) > SERIAL_TILES
    for batch in batches:
        if parallel:
            for _ in _pool().map(place, batch):
                pass
        else:
            for item in batch:
                place(item)


_POOL: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One decoding pool per process (made on first use, one thread per core), shared by
    every read: no pool is started and stopped per request. Keyed by process id, so a
    forked child makes its own (threads do not survive a fork)."""
    with _POOL_LOCK:
        pid = os.getpid()
        if pid not in _POOL:
            _POOL.clear()
            _POOL[pid] = ThreadPoolExecutor(max(2, os.cpu_count() or 2),
                                            thread_name_prefix="spatial_xr-tiff")
        return _POOL[pid]
