"""Pickle-safe lazy arrays over the slices of a DICOM series.

:class:`DicomSliceArray` holds only file paths, frame indices and rescale values — never an
open file — so a dask graph built on it pickles and runs on dask.distributed workers. Each
``__getitem__`` opens exactly the files of the slices it is asked for: uncompressed little
endian frames are read with one seek (the pixel data offset was found during the header
scan); anything else is decoded by pydicom and its decoder plugins. No lock is needed,
because every read opens its own file.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from spatial_xr.buffers import empty
from spatial_xr.errors import DependencyError, FormatError
from spatial_xr.geometry.slices import ResamplePlan

__all__ = ["DicomSliceArray", "ResampledSliceArray", "decode_source", "read_frame"]

Source = tuple[str, int, int, int, int, str]


def _normalize(key: Any, shape: tuple[int, ...]) -> tuple[list[np.ndarray], tuple[int, ...]]:
    """Index arrays per axis for a key of slices, integers and integer lists, and the axes
    that integers drop."""
    if not isinstance(key, tuple):
        key = (key,)
    key = (*key, *(slice(None),) * (len(shape) - len(key)))
    out, drop = [], []
    for ax, (k, n) in enumerate(zip(key, shape, strict=True)):
        if isinstance(k, slice):
            out.append(np.arange(*k.indices(n)))
        elif np.ndim(k) == 0:
            out.append(np.array([int(k) % n]))
            drop.append(ax)
        else:
            arr = np.asarray(k)
            out.append(np.flatnonzero(arr) if arr.dtype == bool else arr.astype(np.intp) % n)
    return out, tuple(drop)


def _assemble(obj: Any, key: Any) -> np.ndarray:
    """``obj[key]`` for a lazy (t, z, y, x[, c]) array with a ``slice_values(t, z, cache)``."""
    if not obj.has_t:  # a single volume: the backend array has no t axis
        key = (0, *(key if isinstance(key, tuple) else (key,)))
    idx, drop = _normalize(key, obj.full_shape)
    ts, zs, rest = idx[0], idx[1], idx[2:]
    out = empty((len(ts), len(zs), *(len(i) for i in rest)), obj.dtype)
    cache: dict[Any, Any] = {}
    sources = getattr(obj, "sources", None)
    if sources is not None:
        for t in ts:
            for z in zs:
                k = ("need", sources[obj.table[t, z]][0])
                cache[k] = cache.get(k, 0) + 1
    full = all(len(i) == n and (n == 0 or (i[0] == 0 and np.all(np.diff(i) == 1)))
               for i, n in zip(rest, obj.full_shape[2:], strict=True))
    grid = np.ix_(*rest)
    todo = [(a, b, int(t), int(z)) for a, t in enumerate(ts) for b, z in enumerate(zs)]
    if full:
        todo = _read_direct(obj, out, todo, cache)
    for a, b, t, z in todo:
        out[a, b] = obj.slice_values(t, z, cache)[grid]
    return out.squeeze(axis=drop) if drop else out


PARALLEL_MIN_SLICES = 32
"""Requests of at least this many whole slices read their files on a few threads."""

_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _read_pool() -> tuple[int, ThreadPoolExecutor] | None:
    """A small thread pool for slice reads and its size (None on one core); a new one
    after a fork (threads do not survive it)."""
    global _pool
    workers = min(4, os.cpu_count() or 1)
    if workers < 2:
        return None
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), workers,
                 ThreadPoolExecutor(workers, thread_name_prefix="spatial_xr-read"))
    return _pool[1], _pool[2]


def _read_direct(obj: Any, out: np.ndarray, todo: list[tuple[int, int, int, int]],
                 cache: dict[Any, Any]) -> list[tuple[int, int, int, int]]:
    """Read the slices that ``obj.read_into`` can read straight into ``out`` — on a few
    threads when there are many (file reads and rescaling release the GIL) — and return
    the others, for the general path."""

    def run(part: list[tuple[int, int, int, int]], local: dict[Any, Any]
            ) -> list[tuple[int, int, int, int]]:
        return [(a, b, t, z) for a, b, t, z in part
                if not obj.read_into(t, z, out[a, b], local)]

    pool = _read_pool() if len(todo) >= PARALLEL_MIN_SLICES else None
    if pool is None:
        return run(todo, cache)
    n, executor = pool
    step = -(-len(todo) // n)  # contiguous runs: each thread fills its own part of ``out``
    futures = [executor.submit(run, todo[i : i + step], {}) for i in range(0, len(todo), step)]
    return [item for f in futures for item in f.result()]


def _pixel_element(f: Any, path: str, offset: int) -> tuple[int, int | None]:
    """Start of the value of the pixel data element at ``offset`` and its length (None
    when undefined)."""
    f.seek(offset)
    head = f.read(12)
    if len(head) < 8 or head[:4] != b"\xe0\x7f\x10\x00":
        raise FormatError(
            f"{path!r} changed since it was opened: no pixel data at byte {offset}; "
            "open the series again"
        )
    if head[4:6] in (b"OB", b"OW", b"UN"):
        length, start = int.from_bytes(head[8:12], "little"), offset + 12
    else:
        length, start = int.from_bytes(head[4:8], "little"), offset + 8
    return start, (None if length == 0xFFFFFFFF else length)


def _truncated(path: str, size: int, start: int, length: int | None) -> FormatError:
    declared = "" if length is None else f" of the {length} bytes its pixel data element declares"
    return FormatError(
        f"{path!r} is truncated: it ends at byte {size}, before the end{declared} (from byte "
        f"{start}); the file is incomplete — re-copy or re-download it"
    )


def _check_extent(f: Any, path: str, start: int, length: int | None, end: int,
                  frame: int) -> None:
    """Raise unless the first ``end`` bytes of the pixel data value are in the element and
    in the file. "Truncated" is said only when the file really ends before the element."""
    size = os.fstat(f.fileno()).st_size
    if size < start + end and (length is None or size < start + length):
        raise _truncated(path, size, start, length)
    if length is not None and length < end:
        raise FormatError(
            f"{path!r}: frame {frame} needs the first {end} bytes of the pixel data, but its "
            f"pixel data element holds {length} bytes; Rows, Columns, SamplesPerPixel, "
            "BitsAllocated or NumberOfFrames in the header disagree with the pixel data — the "
            "file is corrupt, re-export it"
        )


def _read_native(
    path: str, offset: int, frame: int, rows: int, cols: int, dtype: np.dtype[Any],
    out: np.ndarray | None = None,
) -> np.ndarray:
    k = max(frame, 0)
    nbytes = rows * cols * dtype.itemsize
    with open(path, "rb") as f:
        start, length = _pixel_element(f, path, offset)
        _check_extent(f, path, start, length, (k + 1) * nbytes, k)
        f.seek(start + k * nbytes)
        if out is not None:
            got = f.readinto(out.data.cast("B"))
            arr = out
        else:
            buf = f.read(nbytes)
            got = len(buf)
            arr = np.frombuffer(buf, dtype=dtype.newbyteorder("<")).reshape(rows, cols)
        if got < nbytes:  # shortened while being read
            raise _truncated(path, os.fstat(f.fileno()).st_size, start, length)
    return arr


def _read_bits(path: str, offset: int, frame: int, rows: int, cols: int,
               out: np.ndarray | None = None) -> np.ndarray:
    """One frame of 1-bit (``BitsAllocated`` 1) pixel data as uint8 0/1.

    Bits are packed little-endian (bit 0 of a byte is the first pixel, as
    ``pydicom.pixels.unpack_bits``), and frame ``k`` starts at bit ``k·rows·cols``, which
    need not be a byte boundary.
    """
    k = max(frame, 0)
    n = rows * cols
    first = k * n  # bit offset of the frame
    lo, hi = first // 8, -(-(first + n) // 8)  # bytes holding its bits
    with open(path, "rb") as f:
        start, length = _pixel_element(f, path, offset)
        _check_extent(f, path, start, length, hi, k)
        f.seek(start + lo)
        buf = f.read(hi - lo)
        if len(buf) < hi - lo:  # shortened while being read
            raise _truncated(path, os.fstat(f.fileno()).st_size, start, length)
    bits = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")
    values = bits[first - 8 * lo : first - 8 * lo + n].reshape(rows, cols)
    if out is None:
        return values
    np.copyto(out, values, casting="unsafe")
    return out


def _read_pydicom(path: str, frame: int, transfer_syntax: str) -> np.ndarray:
    import pydicom.pixels

    from spatial_xr.io.dicom.deflate import DEFLATED

    try:
        if transfer_syntax == DEFLATED:  # byte offsets in the file mean nothing: inflate it
            src: Any = pydicom.dcmread(path)
        else:
            src = path
        arr = pydicom.pixels.pixel_array(src, index=frame if frame >= 0 else None)
    except Exception as exc:
        try:
            decoder = pydicom.pixels.get_decoder(transfer_syntax)
            available = decoder.is_available
        except Exception:  # unknown or native syntax
            available = True
        if not available:
            raise DependencyError(
                f"{path!r} uses the compressed transfer syntax {transfer_syntax} "
                f"({getattr(decoder, 'UID', transfer_syntax)!s}) and no installed decoder "
                "handles it; install the DICOM codecs with: pip install "
                "'spatial-xr[dicom-codecs]'"
            ) from exc
        raise FormatError(
            f"pydicom could not decode the pixel data of {path!r} ({type(exc).__name__}: "
            f"{exc}); the pixel data is incomplete or corrupt, or encoded in a way pydicom "
            "does not support — check the file with another DICOM reader"
        ) from exc
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def read_frame(
    path: str,
    frame: int,
    offset: int,
    transfer_syntax: str,
    rows: int,
    cols: int,
    dtype: np.dtype[Any],
    bits_stored: int,
    samples: int,
    out: np.ndarray | None = None,
    bits_allocated: int = 0,
) -> np.ndarray:
    """Stored values of one frame of one file (the only place that reads pixel data).

    Parameters
    ----------
    path : str
    frame : int
        Frame index (-1 for a single-frame file).
    offset : int
        Byte offset of the pixel data element, or -1 to decode through pydicom.
    transfer_syntax : str
    rows, cols : int
        Full frame size (a whole mosaic for mosaic files).
    dtype : numpy.dtype
        Stored dtype.
    bits_stored : int
    samples : int
    out : ndarray, optional
        C-contiguous (rows, cols) buffer of ``dtype`` (little endian) to read an
        uncompressed frame into (ignored when the frame needs pydicom).
    bits_allocated : int
        ``BitsAllocated``; 1 means packed bits (read as uint8 0/1, ``dtype`` uint8). 0:
        ``dtype.itemsize × 8``.

    Returns
    -------
    ndarray, shape (rows, cols) or (rows, cols, samples)
    """
    if offset >= 0 and samples == 1 and bits_allocated == 1:
        return _read_bits(path, offset, frame, rows, cols, out)
    if offset >= 0 and samples == 1 and dtype.itemsize in (1, 2, 4):
        arr = _read_native(path, offset, frame, rows, cols, dtype, out)
        shift = dtype.itemsize * 8 - bits_stored
        if 0 < shift < dtype.itemsize * 8:
            target = arr if out is not None else None  # frombuffer views are read-only
            if dtype.kind == "i":  # sign-extend bits_stored-bit values
                arr = np.right_shift(np.left_shift(arr, shift, out=target), shift, out=target)
            else:  # bits above bits_stored are not part of the value (as pydicom, GDCM)
                arr = np.bitwise_and(arr, dtype.type((1 << bits_stored) - 1), out=target)
        return arr
    return _read_pydicom(path, frame, transfer_syntax)


def decode_source(
    source: Source,
    rows: int,
    cols: int,
    dtype: np.dtype[Any] | None = None,
    bits_stored: int = 16,
    samples: int = 1,
    cache: dict[Any, np.ndarray] | None = None,
    bits_allocated: int = 0,
) -> np.ndarray:
    """Stored values of one slice (one frame, or one tile of a mosaic).

    Parameters
    ----------
    source : tuple
        ``FrameHeader.source``.
    rows, cols : int
        Slice size.
    cache : dict, optional
        Frames already read during this request, keyed by (path, frame); a
        ``("need", path)`` entry counts the frames the request wants from each file.
    bits_allocated : int
        See :func:`read_frame`.
    """
    path, frame, tile, msize, offset, ts = source
    m = max(msize, 1)
    key = (path, frame)
    img = None if cache is None else cache.get(key)
    if img is None and cache is not None and frame >= 0 and (offset < 0 or dtype is None) \
            and cache.get(("need", path), 0) > 1:
        # several frames of one compressed multi-frame file: decode the file once
        every = cache.get((path, "all"))
        if every is None:
            every = cache[(path, "all")] = read_frame(
                path, -1, -1, ts, rows * m, cols * m, np.dtype("u2"), bits_stored, samples)
        img = every[frame]
    if img is None:
        img = read_frame(path, frame, offset if dtype is not None else -1, ts, rows * m,
                         cols * m, dtype if dtype is not None else np.dtype("u2"), bits_stored,
                         samples, bits_allocated=bits_allocated)
        if cache is not None:
            cache[key] = img
    if tile >= 0:
        r, c = divmod(tile, m)
        img = img[r * rows : (r + 1) * rows, c * cols : (c + 1) * cols]
    if img.shape[:2] != (rows, cols):
        raise FormatError(
            f"{path!r}: decoded pixels have shape {img.shape[:2]}, the header says "
            f"{(rows, cols)}; the file is corrupt"
        )
    return img


class DicomSliceArray:
    """Lazy ``(t, z, y, x[, c])`` (or ``(z, y, x[, c])``) array over the slices of a series.

    Parameters
    ----------
    sources : list of tuple
        ``FrameHeader.source`` of every slice.
    table : ndarray of int, shape (nt, nz)
        Index into ``sources`` of each (t, z) slice.
    rows, cols, samples : int
        Slice size and samples per pixel.
    stored_dtype : numpy.dtype
    bits_stored : int
    slopes, intercepts : ndarray, shape (nt, nz) or None
        Rescale per slice (``None``: keep stored values).
    dtype : numpy.dtype
        Output dtype.
    has_t : bool
        Keep the ``t`` axis (False: shape ``(z, y, x[, c])``, ``table`` must have one row).
    bits_allocated : int
        ``BitsAllocated`` (1: packed bits); 0: ``stored_dtype.itemsize × 8``.
    """

    def __init__(
        self,
        sources: list[Source],
        table: np.ndarray,
        rows: int,
        cols: int,
        samples: int,
        stored_dtype: np.dtype[Any],
        bits_stored: int,
        slopes: np.ndarray | None,
        intercepts: np.ndarray | None,
        dtype: np.dtype[Any],
        has_t: bool = True,
        bits_allocated: int = 0,
    ) -> None:
        self.sources = list(sources)
        self.bits_allocated = bits_allocated
        self.table = np.asarray(table, np.intp)
        self.rows, self.cols, self.samples = rows, cols, samples
        self.stored_dtype = np.dtype(stored_dtype)
        self.bits_stored = bits_stored
        self.slopes = slopes
        self.intercepts = intercepts
        self.dtype = np.dtype(dtype)
        self.full_shape = (*self.table.shape, rows, cols) + ((samples,) if samples > 1 else ())
        self.has_t = has_t
        self.shape = self.full_shape if has_t else self.full_shape[1:]
        self.ndim = len(self.shape)

    def read_into(self, t: int, z: int, dest: np.ndarray, cache: dict[Any, np.ndarray]
                  ) -> bool:
        """Read an uncompressed, non-mosaic slice straight into ``dest`` (rows, cols),
        rescaling on the way; False when the slice needs the general path."""
        path, frame, tile, _, offset, ts = self.sources[self.table[t, z]]
        sd = self.stored_dtype
        if tile >= 0 or offset < 0 or self.samples != 1 or sd.itemsize not in (1, 2, 4) \
                or sys.byteorder != "little" or not dest.flags.c_contiguous:
            return False
        slope, inter = (1.0, 0.0) if self.slopes is None else (
            float(self.slopes[t, z]), float(self.intercepts[t, z]))  # type: ignore[index]
        out = self.dtype
        if sd == out and slope == 1.0 and inter == 0.0:
            read_frame(path, frame, offset, ts, self.rows, self.cols, sd, self.bits_stored, 1,
                       out=dest, bits_allocated=self.bits_allocated)
            return True
        if out.kind in "iu" and sd.itemsize == out.itemsize:
            raw = dest.view(sd)  # read in place, rescale in place
        else:
            scratch = cache.get(("tmp", sd.str))
            if scratch is None:
                scratch = cache[("tmp", sd.str)] = np.empty((self.rows, self.cols), sd)
            raw = scratch
        read_frame(path, frame, offset, ts, self.rows, self.cols, sd, self.bits_stored, 1,
                   out=raw, bits_allocated=self.bits_allocated)
        if out.kind == "f":
            np.add(np.multiply(raw, slope, dtype=np.float64), inter, out=dest,
                   casting="unsafe")
            return True
        # Integer rescale in the output dtype: integer arithmetic wraps modulo 2**bits, so
        # it is exact whenever the final value fits, which the output dtype guarantees
        # (``output_dtype``) — even when raw * slope alone would not fit.
        s, i = (np.array(int(v), np.int64).astype(out) for v in (slope, inter))
        with np.errstate(over="ignore"):
            if slope == 1.0:
                np.add(raw, i, out=dest, dtype=out, casting="unsafe")
            else:
                np.multiply(raw, s, out=dest, dtype=out, casting="unsafe")
                np.add(dest, i, out=dest)
        return True

    def slice_values(self, t: int, z: int, cache: dict[Any, np.ndarray] | None = None
                     ) -> np.ndarray:
        """Output values of the slice at (t, z), shape (rows, cols[, samples])."""
        raw = decode_source(self.sources[self.table[t, z]], self.rows, self.cols,
                            self.stored_dtype, self.bits_stored, self.samples, cache,
                            self.bits_allocated)
        if self.slopes is None:
            return raw.astype(self.dtype, copy=False)
        slope, inter = float(self.slopes[t, z]), float(self.intercepts[t, z])  # type: ignore[index]
        if slope == 1.0 and inter == 0.0:
            return raw.astype(self.dtype, copy=False)
        if self.dtype.kind != "f":
            return (raw.astype(np.int64) * int(slope) + int(inter)).astype(self.dtype)
        return (raw.astype(np.float64) * slope + inter).astype(self.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return _assemble(self, key)


class ResampledSliceArray:
    """Lazy regular ``(t, z, y, x[, c])`` array resampled from an irregular slice stack:
    linear along the normal, bilinear in plane, ``fill`` outside the source slices.

    Parameters
    ----------
    base : DicomSliceArray
        The source slices, sorted along the normal.
    plan : ResamplePlan
    fill : float
        Value of target voxels that fall outside every source slice.
    """

    def __init__(self, base: DicomSliceArray, plan: ResamplePlan, fill: float) -> None:
        self.base = base
        self.plan = plan
        self.fill = fill
        self.dtype = np.dtype(np.float32)
        self.full_shape = (base.full_shape[0], plan.n_slices, *base.full_shape[2:])
        self.has_t = base.has_t
        self.shape = self.full_shape if self.has_t else self.full_shape[1:]
        self.ndim = len(self.shape)

    def _shifted(self, t: int, src: int, cache: dict[Any, np.ndarray]) -> np.ndarray:
        from scipy import ndimage

        key = ("shifted", t, src)
        if key not in cache:
            img = self.base.slice_values(t, src, cache).astype(np.float64)
            shift = self.plan.shift_rc[src]
            if np.any(np.abs(shift) > 1e-9):
                shift_full = (-shift[0], -shift[1]) + (0.0,) * (img.ndim - 2)
                img = ndimage.shift(img, shift_full, order=1, mode="constant", cval=self.fill)
            cache[key] = img
        return cache[key]

    def read_into(self, t: int, z: int, dest: np.ndarray, cache: dict[Any, np.ndarray]
                  ) -> bool:
        """Resampled slices always take the general path."""
        return False

    def slice_values(self, t: int, z: int, cache: dict[Any, np.ndarray]) -> np.ndarray:
        """Resampled values of target slice (t, z), shape (rows, cols[, samples])."""
        p = self.plan
        w = float(p.weight[z])
        lo = self._shifted(t, int(p.lower[z]), cache) if w < 1.0 else 0.0
        hi = self._shifted(t, int(p.upper[z]), cache) if w > 0.0 else 0.0
        return np.asarray((1.0 - w) * lo + w * hi, dtype=self.dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return _assemble(self, key)
