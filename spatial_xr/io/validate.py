"""Validators shared by the readers: check what a header declares before trusting it.

A header that lies (dims claiming terabytes, an offset past the end of the file) must be
refused *before* anything is allocated or a dask graph with millions of tasks is built.
These functions do integer arithmetic in Python ints (no overflow) and raise
:class:`~spatial_xr.errors.FormatError` with a message naming the bad value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from spatial_xr.errors import FormatError

__all__ = [
    "MAX_DEFLATE_RATIO",
    "MAX_TASKS",
    "CheckedReads",
    "check_dicom_frame",
    "declared_nbytes",
    "frames_per_chunk",
    "require_data_fits",
]

MAX_DEFLATE_RATIO = 1032
"""Largest possible ratio of uncompressed to compressed size for DEFLATE (gzip, zlib):
each 258-byte match costs at least 2 bits. A gzip file of ``n`` bytes can never expand to
more than ``MAX_DEFLATE_RATIO * n`` bytes."""

MAX_TASKS = 10_000
"""Most dask chunks a reader creates by default; beyond this, frames are grouped."""


def declared_nbytes(shape: Sequence[int], itemsize: int) -> int:
    """Exact byte count of an array of ``shape`` and ``itemsize`` (Python int, no overflow).

    Raises
    ------
    FormatError
        If a size is negative.
    """
    dims = [int(v) for v in shape]
    if any(v < 0 for v in dims):
        raise FormatError(f"negative size in declared shape {tuple(dims)}")
    return math.prod(dims) * int(itemsize)


def require_data_fits(
    path: str,
    offset: int,
    nbytes: int,
    *,
    compressed: bool,
    what: str = "voxel data (header dims × datatype)",
) -> None:
    """Refuse a file whose header declares more data than the file can hold.

    Parameters
    ----------
    path : str
        File on disk.
    offset : int
        Byte offset of the data in the (uncompressed) stream.
    nbytes : int
        Declared data size in bytes.
    compressed : bool
        The file is gzip/zlib compressed: the bound is ``MAX_DEFLATE_RATIO`` times its
        size (a necessary condition, checked without decompressing anything).
    what : str
        Name of the data in the message.

    Raises
    ------
    FormatError
        The declared data cannot be in the file.
    """
    size = os.path.getsize(path)
    need = int(offset) + int(nbytes)
    if compressed:
        most = size * MAX_DEFLATE_RATIO
        if need > most:
            raise FormatError(
                f"{path!r} declares {_human(nbytes)} of {what} but a "
                f"compressed file of {size} bytes can hold at most {_human(most)}; the header "
                "dims or datatype are wrong, or the file is truncated — re-export it"
            )
    elif size < need:
        raise FormatError(
            f"{path!r} is truncated or its header lies: it declares {_human(nbytes)} of {what} "
            f"at offset {offset} but the file has only {size} bytes; "
            "re-export or re-download it"
        )


def frames_per_chunk(n_frames: int, chunks_per_frame: int, max_tasks: int = MAX_TASKS) -> int:
    """How many frames (``t``/``c`` steps) to put in one chunk so that the number of chunks
    stays at most about ``max_tasks`` (1 unless the image has a huge number of frames)."""
    n_frames = max(1, int(n_frames))
    per = max(1, int(chunks_per_frame))
    if n_frames * per <= max_tasks:
        return 1
    return min(n_frames, math.ceil(n_frames * per / max_tasks))


_BITS_ALLOCATED = (1, 8, 16, 32, 64)


def check_dicom_frame(frame: Any) -> None:
    """Refuse a DICOM file whose header lies about its pixels, before anything is read.

    Parameters
    ----------
    frame : FrameHeader
        Header of (the first frame of) one file.

    Raises
    ------
    FormatError
        Rows or Columns < 1, BitsAllocated not 1/8/16/32/64, BitsStored > BitsAllocated,
        non-finite RescaleSlope/RescaleIntercept, or uncompressed pixel data shorter than
        Rows × Columns × SamplesPerPixel × NumberOfFrames × BitsAllocated declare.
    """
    path = frame.path
    if frame.rows < 1 or frame.cols < 1:
        raise FormatError(
            f"{path!r} declares Rows × Columns = {frame.rows} × {frame.cols}; an image needs at "
            "least one row and column — the file is corrupt"
        )
    if frame.bits_allocated not in _BITS_ALLOCATED:
        raise FormatError(
            f"{path!r} declares BitsAllocated {frame.bits_allocated}, not one of "
            f"{_BITS_ALLOCATED}; the file is corrupt"
        )
    if not (np.isfinite(frame.slope) and np.isfinite(frame.intercept)):
        raise FormatError(
            f"{path!r} has RescaleSlope/RescaleIntercept ({frame.slope}, {frame.intercept}); "
            "they must be finite numbers — the file is corrupt"
        )
    if frame.pixel_offset >= 0:  # uncompressed pixel data: its size is known exactly
        per_frame = declared_nbytes((frame.rows, frame.cols, max(1, frame.samples)), 1)
        nbytes = -(-per_frame * max(1, frame.n_frames) * frame.bits_allocated // 8)  # ceil
        require_data_fits(
            path, frame.pixel_offset + 8, nbytes, compressed=False,
            what="pixel data (Rows × Columns × SamplesPerPixel × NumberOfFrames × "
            "BitsAllocated)",
        )


class CheckedReads:
    """Wrap an array-like (e.g. a ``zarr.Array``) so that a failure while reading a chunk
    (a corrupt or truncated chunk, a codec error) raises :class:`FormatError` naming the
    source, also inside a dask task. Pickles when the wrapped array does.

    Parameters
    ----------
    array : array-like
        Has ``shape``, ``dtype``, ``ndim`` and ``__getitem__``.
    source : str
        Where the data come from, for messages (never includes credentials).
    """

    def __init__(self, array: Any, source: str) -> None:
        self.array = array
        self.source = source
        self.shape = tuple(array.shape)
        self.dtype = array.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> Any:
        from spatial_xr.errors import SpatialXRError

        try:
            return self.array[key]
        except (SpatialXRError, MemoryError):
            raise
        except Exception as exc:
            raise FormatError(
                f"could not read a chunk of {self.source} ({type(exc).__name__}: {exc}); the "
                "chunk is corrupt or truncated — re-write or re-copy the store"
            ) from exc


def _human(n: int) -> str:
    """``"2400 bytes (2.34 KiB)"``: the exact count, and a readable one when large."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{n} bytes" if unit == "bytes" else f"{n} bytes ({value:.3g} {unit})"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover
