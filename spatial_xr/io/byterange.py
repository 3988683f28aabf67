"""Lazy reads of an array stored in one byte range of a file, raw or as one zlib stream.

Several formats (MetaImage, NRRD, Analyze, …) store voxels as a C-ordered block of
fixed-size elements at an offset in a file, either raw or deflated as one zlib (or gzip)
stream. :class:`ByteRangeArray` describes such a block and reads any box of it:

- **raw**: only the bytes of the box are read, with one ``readinto`` per contiguous run.
  Short trailing axes (rows up to :data:`WHOLE_ROW_BYTES`) are read whole and cut in
  memory, so a box costs one read per plane instead of one per row.
- **zlib**: the stream is inflated once from its start up to the last byte the box needs
  (one pass per call; what precedes the box is inflated and dropped in bounded blocks).
  When the box reaches the end of the array, the stream is checked to end there too.

The object holds the path only (never an open handle) and pickles. Errors are
:class:`~spatial_xr.errors.FormatError` (truncated or corrupt data, a stream that holds
more than declared) and :class:`~spatial_xr.errors.PathNotFoundError`.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal, cast

import numpy as np

from spatial_xr.buffers import empty
from spatial_xr.errors import FormatError, ParameterError, PathNotFoundError

__all__ = [
    "IN_BLOCK",
    "WHOLE_ROW_BYTES",
    "ByteRangeArray",
    "covering_box",
    "cut_box",
    "open_binary",
]

WHOLE_ROW_BYTES = 64 << 10
"""Trailing axes whose whole extent holds at most this many bytes are read whole."""
IN_BLOCK = 1 << 20
"""Compressed bytes read per step while inflating."""
_SKIP_BLOCK = 8 << 20


def open_binary(path: str) -> IO[bytes]:
    """Open ``path`` for binary reading (looked up at call time, so tests may wrap it)."""
    return open(path, "rb")


def _decompressor() -> Any:
    """A zlib decompressor accepting zlib and gzip headers (ISA-L when installed)."""
    try:
        from isal import isal_zlib

        return isal_zlib.decompressobj(47)
    except ImportError:
        return zlib.decompressobj(47)


def _zlib_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [zlib.error]
    try:
        from isal import isal_zlib

        # (isal's stubs declare the class as an instance)
        errors.append(cast(type[BaseException], isal_zlib.error))
    except ImportError:
        pass
    return tuple(errors)


def covering_box(key: Any, shape: Sequence[int]) -> tuple[list[range], tuple[Any, ...]]:
    """Split an index into a step-1 box and the index that cuts the box to it.

    Parameters
    ----------
    key : tuple of int, slice and 1-D integer or boolean arrays
        A numpy index (missing trailing axes are whole); arrays select along their axis
        independently of each other (orthogonal indexing, as dask passes them).
    shape : sequence of int
        Shape of the indexed array.

    Returns
    -------
    box : list of range
        One step-1 range per axis covering what ``key`` selects.
    post : tuple
        Index to apply to the box with :func:`cut_box` to obtain the selection: steps,
        reversals, integer axes and index arrays relative to the box.
    """
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (len(shape) - len(key))
    box: list[range] = []
    post: list[Any] = []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, slice):
            r = range(*k.indices(n))
            if len(r) == 0:
                box.append(range(0, 0))
                post.append(slice(0, 0))
            elif r.step > 0:
                box.append(range(r[0], r[-1] + 1))
                post.append(slice(None, None, r.step) if r.step != 1 else slice(None))
            else:
                box.append(range(r[-1], r[0] + 1))
                post.append(slice(None, None, r.step))
        elif isinstance(k, list | np.ndarray):
            idx = np.asarray(k)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp).ravel()
            idx = np.where(idx < 0, idx + n, idx)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ParameterError(f"index out of bounds for an axis of size {n}")
            lo = int(idx.min()) if idx.size else 0
            hi = int(idx.max()) + 1 if idx.size else 0
            box.append(range(lo, hi))
            post.append(idx - lo)
        else:
            i = int(k)
            i = i + n if i < 0 else i
            if not 0 <= i < n:
                raise ParameterError(
                    f"index {int(k)} is out of bounds for an axis of size {n}"
                )
            box.append(range(i, i + 1))
            post.append(0)
    return box, tuple(post)


def cut_box(arr: np.ndarray, post: tuple[Any, ...]) -> np.ndarray:
    """Apply the ``post`` index of :func:`covering_box` to the box read for it."""
    basic = tuple(slice(None) if isinstance(p, np.ndarray) else p for p in post)
    out = arr[basic]
    axis = 0
    for p in post:
        if isinstance(p, np.ndarray):
            out = np.take(out, p, axis=axis)
        if not isinstance(p, int | np.integer):
            axis += 1
    return out


@dataclass(frozen=True)
class ByteRangeArray:
    """A C-ordered array of fixed-size elements stored at ``offset`` in a file.

    Parameters
    ----------
    path : str
        File holding the data.
    offset : int
        Byte offset of the first element (of the compressed stream for ``"zlib"``).
    shape : tuple of int
        Array shape, C order (last axis fastest in the file).
    dtype : numpy.dtype
        Element type as stored (byte order included).
    codec : {"raw", "zlib"}
        Raw bytes, or one zlib/gzip stream holding them.
    compressed_size : int, optional
        Bytes of the compressed stream; None: up to the end of the file.
    """

    path: str
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    codec: Literal["raw", "zlib"] = "raw"
    compressed_size: int | None = None

    @property
    def nbytes(self) -> int:
        """Bytes of the (uncompressed) array."""
        return math.prod(self.shape) * self.dtype.itemsize

    def read_box(self, box: Sequence[range], fobj: IO[bytes] | None = None) -> np.ndarray:
        """Read a box of the array.

        Parameters
        ----------
        box : sequence of range
            One step-1 range per axis.
        fobj : file object, optional
            An open binary handle of ``path`` to use (else the file is opened and closed).

        Returns
        -------
        numpy.ndarray
            Shape ``[len(r) for r in box]``, dtype :attr:`dtype` (stored byte order).
        """
        box = [range(r.start, r.stop) for r in box]
        if len(box) != len(self.shape):
            raise ParameterError(f"box has {len(box)} axes, the array {len(self.shape)}")
        lens = [len(r) for r in box]
        if 0 in lens:
            return np.empty(lens, self.dtype)
        if fobj is None:
            try:
                with open_binary(self.path) as f:
                    return self.read_box(box, f)
            except FileNotFoundError as exc:
                raise PathNotFoundError(
                    f"{self.path!r} no longer exists (it was opened lazily and removed or "
                    "renamed before its voxels were read); restore it or open the image again"
                ) from exc
        try:
            if self.codec == "zlib":
                return self._inflate_box(fobj, box)
            return self._raw_box(fobj, box)
        except OSError as exc:
            raise FormatError(
                f"could not read voxel data of {self.path!r} ({type(exc).__name__}: {exc}); "
                "the file is unreadable or changed after it was opened"
            ) from exc

    # ------------------------------------------------------------------ raw
    def _raw_box(self, fobj: IO[bytes], box: list[range]) -> np.ndarray:
        shape = self.shape
        nd = len(shape)
        # read trailing axes whole while their extent is small (cut in memory after)
        whole = nd
        while whole > 1 and math.prod(shape[whole - 1:]) * self.dtype.itemsize <= WHOLE_ROW_BYTES:
            whole -= 1
        read = [box[a] if a < whole else range(0, shape[a]) for a in range(nd)]
        # the run axis: the last axis read partially; after it everything is whole
        a = nd - 1
        while a > 0 and len(read[a]) == shape[a]:
            a -= 1
        strides = [math.prod(shape[i + 1:]) for i in range(nd)]
        run_len = len(read[a]) * strides[a]
        outer = read[:a]
        buf = empty(tuple(len(r) for r in read), self.dtype)
        flat = buf.reshape(-1)
        for n, rel in enumerate(np.ndindex(*[len(r) for r in outer])):
            first = sum(int(r[i]) * strides[j] for j, (r, i) in enumerate(zip(outer, rel,
                                                                              strict=True)))
            first += read[a][0] * strides[a]
            self._read_into(fobj, first, flat[n * run_len:(n + 1) * run_len])
        if read == box:
            return buf
        return buf[tuple(slice(b.start - r.start, b.stop - r.start)
                         for b, r in zip(box, read, strict=True))]

    def _read_into(self, fobj: IO[bytes], first: int, out: np.ndarray) -> None:
        itemsize = self.dtype.itemsize
        fobj.seek(self.offset + first * itemsize)
        view = out.data.cast("B")
        reader = cast(io.BufferedIOBase, fobj)  # a binary file: it has readinto
        got = 0
        while got < view.nbytes:
            n = reader.readinto(view[got:])
            if not n:
                raise FormatError(
                    f"{self.path!r} is truncated: its voxel data need {self.nbytes} bytes from "
                    f"byte {self.offset} but the file ends after "
                    f"{first * itemsize + got} of them; re-export or re-download it"
                )
            got += n

    # ------------------------------------------------------------------ zlib
    def _inflate_box(self, fobj: IO[bytes], box: list[range]) -> np.ndarray:
        shape = self.shape
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        first = sum(r[0] * s for r, s in zip(box, strides, strict=True))
        last = sum(r[-1] * s for r, s in zip(box, strides, strict=True))
        span = empty(last - first + 1, self.dtype)
        total = math.prod(shape)
        self.inflate_span(fobj, first, span, check_end=last == total - 1)
        item = self.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            span, shape=[len(r) for r in box], strides=[s * item for s in strides],
            writeable=False)
        if view.size == span.size:
            return span.reshape(view.shape)
        return view.copy()

    def inflate_span(self, fobj: IO[bytes], first: int, out: np.ndarray,
                     check_end: bool = False) -> None:
        """Inflate the stream from its start and fill ``out`` with the elements from
        element ``first`` on (one pass; earlier output is dropped in bounded blocks).

        Parameters
        ----------
        fobj : file object
            Open binary handle of :attr:`path`.
        first : int
            Flat index of the first element wanted.
        out : numpy.ndarray
            Contiguous destination of dtype :attr:`dtype`.
        check_end : bool
            Also check that the stream ends right after ``out`` (no extra data).

        Raises
        ------
        FormatError
            The stream is corrupt, ends early, or (``check_end``) holds more data.
        """
        item = self.dtype.itemsize
        view = out.data.cast("B")
        need = view.nbytes
        skip = first * item
        limit = self.compressed_size
        fobj.seek(self.offset)
        d = _decompressor()
        tail = b""
        got = 0
        consumed = 0
        try:
            while not d.eof:
                exhausted = False
                if tail:
                    data = tail
                else:
                    want = IN_BLOCK if limit is None else min(IN_BLOCK, limit - consumed)
                    data = fobj.read(want) if want > 0 else b""
                    consumed += len(data)
                    exhausted = not data  # still drain what the decompressor holds
                if skip:
                    chunk = d.decompress(data, min(skip, _SKIP_BLOCK))
                    skip -= len(chunk)
                elif got < need:
                    chunk = d.decompress(data, need - got)
                    view[got:got + len(chunk)] = chunk
                    got += len(chunk)
                elif not check_end:
                    break
                else:
                    chunk = d.decompress(data, 1)
                    if chunk:
                        raise FormatError(
                            f"{self.path!r}: the compressed voxel data inflate to more than "
                            f"the {self.nbytes} bytes the header declares; the header's sizes "
                            "or element type are wrong — fix the header or re-export the file"
                        )
                tail = d.unconsumed_tail
                if got >= need and not skip and not check_end:
                    break
                if exhausted and not chunk and not tail:
                    break
        except _zlib_errors() as exc:
            raise FormatError(
                f"{self.path!r}: the compressed voxel data are corrupt ({exc}); re-export or "
                "re-download the file"
            ) from exc
        if got < need:
            done = first * item - skip + got
            raise FormatError(
                f"{self.path!r} is truncated: its compressed voxel data end after {done} of "
                f"the {self.nbytes} bytes the header declares (stream "
                f"{'complete' if d.eof else 'cut short'}); re-export or re-download it"
            )
        if check_end and not d.eof:
            raise FormatError(
                f"{self.path!r}: the compressed voxel data stream does not end after the "
                f"{self.nbytes} bytes the header declares (it is cut short or longer); "
                "re-export or re-download the file"
            )
