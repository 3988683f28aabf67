"""Lazy arrays over stored byte streams: raw, gzip/zlib, bzip2, ASCII or hex data held in
one file or split over several, read a slab at a time.

Several formats store an image's voxels as one stream of bytes in file order (the first
index fastest), possibly split over several files (one per slice or per volume) and
possibly compressed: NRRD (``raw``, ``gzip``, ``bzip2``, ``ascii``, ``hex``), MetaImage
(``raw``, zlib), Analyze-like pairs. This module reads them lazily:

- :class:`DataStream` describes one stored stream: the file, where the stream starts,
  how it is encoded, how many decoded bytes to drop before the data, and how many data
  bytes it holds.
- :func:`read_stream_range` fills a buffer with bytes ``[start, start + n)`` of a stream's
  data. Raw streams seek and read only those bytes; compressed streams inflate from their
  start and discard up to ``start``, then inflate up to the last needed byte only.
- :class:`StreamedArray` is a pickle-safe lazy array (path names and numbers only, never an
  open handle) over a list of streams that together hold the voxels in C order of its
  ``shape``. Indexing with slices and integers reads only the byte ranges of the selected
  voxels; each stream is opened once per request and read forward only, so a compressed
  stream is inflated once per request.

Text encodings (``ascii``, ``hex``) cannot be indexed without parsing everything before a
value: they are decoded whole at every request that touches them (give them one chunk).
"""

from __future__ import annotations

import bz2
import functools
import io
import math
import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np

from spatial_xr.buffers import empty
from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRError

__all__ = [
    "CODECS",
    "COMPRESSED_CODECS",
    "MAX_BZIP2_RATIO",
    "TEXT_CODECS",
    "DataStream",
    "StreamedArray",
    "open_data_file",
    "read_stream_range",
    "stream_capacity",
]

CODECS = ("raw", "gzip", "zlib", "bzip2", "ascii", "hex")
"""Encodings a :class:`DataStream` may have. ``gzip`` and ``zlib`` both accept either
header (the format is detected from the first bytes)."""
COMPRESSED_CODECS = ("gzip", "zlib", "bzip2")
TEXT_CODECS = ("ascii", "hex")
MAX_BZIP2_RATIO = 46_000_000
"""Largest possible ratio of decoded to stored size for bzip2 (its run-length stages bound
the expansion of one 900 kB block at about 45.9 million to 1)."""

_INPUT_BLOCK = 256 << 10
"""Bytes of compressed input read at a time."""
_OUTPUT_BLOCK = 1 << 20
"""Most decoded bytes produced by one decompressor call (bounds the discard buffer)."""
_LINE_LIMIT = 1 << 16
"""Longest line skipped by ``line_skip`` before the stream is called corrupt."""


def open_data_file(path: str) -> IO[bytes]:
    """Open a data file for unbuffered binary reading (looked up at call time, so that
    tests may wrap it to count what is read)."""
    return open(path, "rb", buffering=0)


@dataclass(frozen=True)
class DataStream:
    """One stored stream of voxel data.

    Parameters
    ----------
    path : str
        File holding the stream.
    nbytes : int
        Decoded bytes of voxel data the stream holds (for ``ascii``: values × itemsize of
        ``dtype``).
    codec : str
        One of :data:`CODECS`.
    offset : int
        Byte offset in the file where the stored stream starts (after any header).
        Ignored when ``from_end`` is set.
    line_skip : int
        Lines (ending in ``\\n``) skipped in the file after ``offset`` before the stream.
    skip : int
        Decoded bytes dropped before the voxel data (for raw streams: stored bytes).
    from_end : bool
        Raw streams only: the voxel data are the last ``nbytes`` bytes of the file.
    dtype : str
        Element type of the values (``numpy.dtype.str``), used to parse ``ascii`` streams.
    """

    path: str
    nbytes: int
    codec: str = "raw"
    offset: int = 0
    line_skip: int = 0
    skip: int = 0
    from_end: bool = False
    dtype: str = "|u1"

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise FormatError(f"unknown stream encoding {self.codec!r}; known: {CODECS}")


def stream_capacity(stream: DataStream, stored: int) -> int:
    """Most decoded data bytes a stream can hold when ``stored`` bytes of it are on disk:
    exact for raw and hex, an upper bound for compressed and ASCII streams.

    Parameters
    ----------
    stream : DataStream
    stored : int
        Bytes of the file from where the stream starts to its end.

    Returns
    -------
    int
    """
    from spatial_xr.io.validate import MAX_DEFLATE_RATIO

    stored = max(0, int(stored))
    if stream.codec == "raw":
        return stored - (0 if stream.from_end else stream.skip)
    if stream.codec in ("gzip", "zlib"):
        return stored * MAX_DEFLATE_RATIO - stream.skip
    if stream.codec == "bzip2":
        return stored * MAX_BZIP2_RATIO - stream.skip
    itemsize = np.dtype(stream.dtype).itemsize
    if stream.codec == "hex":
        return stored // 2 - stream.skip
    return (stored + 1) // 2 * itemsize  # ascii: at least one digit and a separator a value


# ------------------------------------------------------------------ decoding one stream
@functools.cache
def _zlib_module() -> Any:
    try:
        from isal import isal_zlib

        return isal_zlib
    except ImportError:
        return zlib


@functools.cache
def _codec_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, ValueError, zlib.error]
    mod = _zlib_module()
    if mod is not zlib:
        errors.append(mod.error)
    return tuple(errors)


class _Inflater:
    """Forward-only decoded view of a compressed stream (gzip/zlib, possibly several
    members, or bzip2, possibly several streams)."""

    def __init__(self, fobj: IO[bytes], codec: str, path: str) -> None:
        self.fobj = fobj
        self.codec = codec
        self.path = path
        self.pending = b""
        self.exhausted = False
        self.dec = self._new()

    def _new(self) -> Any:
        if self.codec == "bzip2":
            return bz2.BZ2Decompressor()
        return _zlib_module().decompressobj(wbits=47)  # gzip or zlib header, detected

    def _feed(self) -> bool:
        if self.exhausted:
            return False
        block = self.fobj.read(_INPUT_BLOCK)
        if not block:
            self.exhausted = True
            return False
        self.pending += block
        return True

    def produce(self, most: int) -> bytes:
        """Up to ``most`` decoded bytes (``b""`` at the end of the data)."""
        while True:
            if self.dec.eof:
                self.pending = self.dec.unused_data + self.pending
                if not self.pending and not self._feed():
                    return b""
                if not self.pending.strip(b"\0"):
                    return b""  # padding after the last member
                self.dec = self._new()
            fed = True
            if not self.pending and (self.codec != "bzip2" or self.dec.needs_input):
                fed = self._feed()
            if self.codec == "bzip2":
                data = self.dec.decompress(self.pending, max_length=most)
                self.pending = b""
            else:
                data = self.dec.decompress(self.pending, most)
                self.pending = self.dec.unconsumed_tail
            if data:
                return data
            if not fed and not self.dec.eof:
                return b""

    def skip(self, n: int) -> int:
        """Decode and discard ``n`` bytes; returns how many were there."""
        done = 0
        while done < n:
            data = self.produce(min(n - done, _OUTPUT_BLOCK))
            if not data:
                break
            done += len(data)
        return done

    def fill(self, view: memoryview) -> int:
        """Fill ``view`` with decoded bytes; returns how many were there."""
        got = 0
        while got < view.nbytes:
            data = self.produce(min(view.nbytes - got, _OUTPUT_BLOCK))
            if not data:
                break
            view[got:got + len(data)] = data
            got += len(data)
        return got

    def drain(self) -> None:
        """Decode to the end (gzip checks its CRC-32 there)."""
        while self.produce(_OUTPUT_BLOCK):
            pass


def _skip_lines(fobj: IO[bytes], n: int, path: str) -> None:
    """Move ``fobj`` past ``n`` lines (each ending in ``\\n``)."""
    for i in range(n):
        start = fobj.tell()
        seen = 0
        while True:
            block = fobj.read(4096)
            if not block:
                raise FormatError(
                    f"{path!r} ends after {i} of the {n} lines its header says to skip "
                    "(line skip); fix the header or the data file"
                )
            end = block.find(b"\n")
            if end >= 0:
                fobj.seek(start + seen + end + 1)
                break
            seen += len(block)
            if seen > _LINE_LIMIT:
                raise FormatError(
                    f"{path!r}: a line skipped by 'line skip' is longer than {_LINE_LIMIT} "
                    "bytes; the data file is binary there — fix 'line skip' in the header"
                )


def _text_values(text: bytes, stream: DataStream) -> np.ndarray:
    """All values of an ASCII or hex stream as a native-order array."""
    dtype = np.dtype(stream.dtype)
    if stream.codec == "hex":
        digits = re.sub(rb"\s+", b"", text)
        try:
            raw = bytes.fromhex(digits.decode("ascii"))
        except ValueError as exc:
            raise FormatError(f"{stream.path!r}: the hex data hold a non-hex character "
                              f"({exc}); the file is corrupt") from exc
        return np.frombuffer(raw[stream.skip:], dtype=dtype)
    tokens = text.replace(b",", b" ").split()
    try:
        if dtype.kind in "iu":
            values = np.array(tokens, dtype=np.float64) if any(
                b"." in t or b"e" in t.lower() for t in tokens[:64]) else None
            arr = (np.array([int(t) for t in tokens], dtype=dtype) if values is None
                   else values.astype(dtype))
        else:
            arr = np.array(tokens, dtype=np.float64).astype(dtype)
    except (ValueError, OverflowError) as exc:
        raise FormatError(f"{stream.path!r}: the ASCII data hold a value that is not a "
                          f"number of type {dtype} ({exc}); the file is corrupt") from exc
    return arr


def _truncated(stream: DataStream, got: int, need: int) -> FormatError:
    return FormatError(
        f"{stream.path!r} is truncated or its header lies: the {stream.codec} data end after "
        f"{got} bytes but the header's sizes and type need {need}; re-export or re-download "
        "the file, or fix the sizes in the header"
    )


class _Cursor:
    """One stream opened for one request: reads move forward only."""

    def __init__(self, stream: DataStream) -> None:
        self.stream = stream
        self.fobj: IO[bytes] | None = None
        self.inflater: _Inflater | None = None
        self.text: np.ndarray | None = None
        self.pos = 0  # decoded data bytes consumed (compressed streams)
        self.base = 0  # file offset of data byte 0 (raw streams)

    def _open(self) -> None:
        s = self.stream
        try:
            self.fobj = open_data_file(s.path)
        except FileNotFoundError as exc:
            raise PathNotFoundError(
                f"the data file {s.path!r} no longer exists (it was opened lazily and was "
                "removed or renamed before its voxels were read); restore it or open the "
                "image again"
            ) from exc
        if s.codec == "raw" and s.from_end:
            self.base = os.fstat(self.fobj.fileno()).st_size - s.nbytes
            if self.base < 0:
                raise _truncated(s, os.fstat(self.fobj.fileno()).st_size, s.nbytes)
            return
        self.fobj.seek(s.offset)
        _skip_lines(self.fobj, s.line_skip, s.path)
        if s.codec == "raw":
            self.base = self.fobj.tell() + s.skip
        elif s.codec in COMPRESSED_CODECS:
            self.inflater = _Inflater(self.fobj, s.codec, s.path)
            got = self.inflater.skip(s.skip)
            if got < s.skip:
                raise _truncated(s, 0, s.nbytes)
        else:
            values = _text_values(self.fobj.read(), s)
            need = s.nbytes // np.dtype(s.dtype).itemsize
            if values.size < need:
                raise _truncated(s, values.size * values.itemsize, s.nbytes)
            self.text = np.ascontiguousarray(values[:need]).view(np.uint8)

    def read(self, start: int, view: memoryview) -> None:
        """Fill ``view`` with data bytes ``[start, start + len(view))``; ``start`` never
        goes back (compressed streams)."""
        if self.fobj is None:
            self._open()
        s = self.stream
        if self.text is not None:
            view[:] = self.text[start:start + view.nbytes].data
            return
        if self.inflater is not None:
            if start > self.pos:
                self.pos += self.inflater.skip(start - self.pos)
            if start != self.pos:
                raise _truncated(s, self.pos, s.nbytes)
            got = self.inflater.fill(view)
            self.pos += got
            if got < view.nbytes:
                raise _truncated(s, self.pos, s.nbytes)
            if self.pos >= s.nbytes and s.codec == "gzip":
                self.inflater.drain()  # to the end: the CRC-32 is checked there
            return
        assert self.fobj is not None
        self.fobj.seek(self.base + start)
        reader = cast(io.BufferedIOBase, self.fobj)  # a binary file: it has readinto
        got = 0
        while got < view.nbytes:
            n = reader.readinto(view[got:])
            if not n:
                raise _truncated(s, start + got, s.nbytes)
            got += n

    def close(self) -> None:
        if self.fobj is not None:
            self.fobj.close()
            self.fobj = None


def read_stream_range(stream: DataStream, start: int, out: Any) -> None:
    """Fill ``out`` with the stream's data bytes ``[start, start + out.nbytes)``.

    Parameters
    ----------
    stream : DataStream
    start : int
        First data byte (after any skip).
    out : writable buffer (e.g. a contiguous numpy array)

    Raises
    ------
    FormatError
        The stream ends early, or its compressed or text data are corrupt.
    PathNotFoundError
        The file no longer exists.
    """
    cursor = _Cursor(stream)
    try:
        cursor.read(start, memoryview(out).cast("B"))
    except SpatialXRError:
        raise
    except _codec_errors() as exc:
        raise _corrupt(stream, exc) from exc
    finally:
        cursor.close()


def _corrupt(stream: DataStream, exc: BaseException) -> FormatError:
    return FormatError(
        f"could not read the {stream.codec} data of {stream.path!r} ({type(exc).__name__}: "
        f"{exc}); the file is corrupt or truncated, or changed after it was opened — "
        "re-export or re-download it"
    )


# ------------------------------------------------------------------ the lazy array
class StreamedArray:
    """Pickle-safe lazy array over voxel data stored in one or more streams.

    Parameters
    ----------
    streams : sequence of DataStream
        In data order; stream ``k`` holds the next ``streams[k].nbytes`` bytes of the
        voxels in C order of ``shape``. Their sizes must add up to the array's bytes.
    shape : tuple of int
        Array shape, C order (the last axis varies fastest in the data).
    raw_dtype : numpy.dtype
        Stored element type (byte order included).

    Notes
    -----
    ``dtype`` is ``raw_dtype`` in native byte order. Indexing accepts integers, slices
    (any step) and integer or boolean arrays (read as the enclosing range, then taken in
    memory). The bytes read for a selection: one contiguous range when the selection is
    one; otherwise, per index of all axes but the last two (after merging trailing whole
    axes), the span of whole rows covering the selection in that plane.
    """

    def __init__(self, streams: Sequence[DataStream], shape: tuple[int, ...],
                 raw_dtype: np.dtype[Any]) -> None:
        self.streams = tuple(streams)
        self.shape = tuple(int(v) for v in shape)
        self.ndim = len(self.shape)
        self.raw_dtype = np.dtype(raw_dtype)
        self.dtype = self.raw_dtype.newbyteorder("=")
        need = math.prod(self.shape) * self.raw_dtype.itemsize
        have = sum(s.nbytes for s in self.streams)
        if have != need:
            raise FormatError(
                f"the data streams hold {have} bytes but an array of shape {self.shape} and "
                f"type {self.raw_dtype} needs {need}"
            )
        self.starts = np.cumsum([0, *[s.nbytes for s in self.streams]]).tolist()

    # ---------------------------------------------------------------- reading
    def __getitem__(self, key: Any) -> np.ndarray:
        basic, post = _split_fancy(key, self.shape)
        ranges = [range(k, k + 1) if not isinstance(k, slice) else range(*k.indices(n))
                  for k, n in zip(basic, self.shape, strict=True)]
        flips = [r.step < 0 for r in ranges]
        ranges = [r[::-1] if r.step < 0 else r for r in ranges]
        out = empty(tuple(len(r) for r in ranges), self.raw_dtype)
        if out.size:
            self._read_box(ranges, out)
        arr = out
        if any(flips):
            arr = arr[tuple(slice(None, None, -1) if f else slice(None) for f in flips)]
        drop = tuple(0 if not isinstance(k, slice) else slice(None) for k in basic)
        arr = arr[drop]
        for axis, index in post:
            arr = np.take(arr, index, axis=axis)
        if not arr.dtype.isnative:  # our own buffer (or a copy of it): swap in place
            arr = arr.byteswap(inplace=True).view(self.dtype)
        return np.asarray(arr, dtype=self.dtype, order="C")

    def _read_box(self, ranges: list[range], out: np.ndarray) -> None:
        shape, ranges = _merge_trailing(list(self.shape), ranges)
        flat = out.reshape([len(r) for r in ranges])
        cursors: dict[int, _Cursor] = {}
        try:
            for start, count, dest in _plan(shape, ranges, flat):
                self._read_voxels(cursors, start, count, dest)
        except SpatialXRError:
            raise
        except _codec_errors() as exc:
            bad = cursors[max(cursors)].stream if cursors else self.streams[0]
            raise _corrupt(bad, exc) from exc
        finally:
            for c in cursors.values():
                c.close()

    def _read_voxels(self, cursors: dict[int, _Cursor], start: int, count: int,
                     dest: Callable[[np.ndarray | None], np.ndarray]) -> None:
        """Read ``count`` voxels from voxel ``start`` into the buffer ``dest(None)`` gives,
        then hand it back with ``dest(buf)``."""
        item = self.raw_dtype.itemsize
        buf = dest(None)
        view = buf.data.cast("B")
        first = start * item
        lo, hi = first, first + count * item
        k = int(np.searchsorted(self.starts, lo, side="right")) - 1
        while lo < hi:
            s0, s1 = self.starts[k], self.starts[k + 1]
            n = min(hi, s1) - lo
            if n > 0:
                if k not in cursors:
                    for old in [j for j in cursors if j < k]:  # streams are read in order
                        cursors.pop(old).close()
                    cursors[k] = _Cursor(self.streams[k])
                cursors[k].read(lo - s0, view[lo - first:lo - first + n])
                lo += n
            k += 1
        dest(buf)

    def __repr__(self) -> str:
        return (f"StreamedArray(shape={self.shape}, dtype={self.raw_dtype}, "
                f"streams={len(self.streams)} × {self.streams[0].codec})")


def _merge_trailing(shape: list[int], ranges: list[range]) -> tuple[list[int], list[range]]:
    """Merge trailing axes selected whole (step 1) into the axis before them, so that a
    selection of whole rows or planes reads as fewer, longer runs."""
    while len(shape) > 1 and len(ranges[-1]) == shape[-1] and ranges[-1].step == 1 and (
            ranges[-2].step == 1 or len(ranges[-2]) == 1):
        n = shape.pop()
        r = ranges.pop()
        prev = ranges[-1]
        shape[-1] *= n
        ranges[-1] = range(prev[0] * n, (prev[-1] + 1) * n)
        del r
    return shape, ranges


def _plan(shape: list[int], ranges: list[range], out: np.ndarray
          ) -> Iterator[tuple[int, int, Callable[[np.ndarray | None], np.ndarray]]]:
    """Yield ``(first voxel, voxel count, dest)`` runs in increasing file order, where
    ``dest(None)`` gives the buffer to read into and ``dest(buf)`` stores it in ``out``."""
    if len(shape) == 1:
        r = ranges[0]
        span = r[-1] - r[0] + 1
        if r.step == 1:
            yield r[0], span, _direct(out)
        else:
            yield r[0], span, _cut(out, (slice(None, None, r.step),), (span,))
        return
    strides = [math.prod(shape[a + 1:]) for a in range(len(shape))]
    *outer, ry, rx = ranges
    nx = shape[-1]
    rows = ry[-1] - ry[0] + 1
    whole = len(rx) == nx and rx.step == 1 and ry.step == 1
    cut = (slice(None, None, ry.step), slice(rx[0], rx[-1] + 1, rx.step))
    for rel in np.ndindex(*[len(r) for r in outer]):
        first = sum(r[i] * st for r, i, st in zip(outer, rel, strides, strict=False))
        first += ry[0] * nx
        if whole:
            yield first, rows * nx, _direct(out[rel])
        else:
            yield first, rows * nx, _cut(out[rel], cut, (rows, nx))


def _direct(target: np.ndarray) -> Callable[[np.ndarray | None], np.ndarray]:
    """Read straight into ``target`` (C-contiguous)."""
    def dest(buf: np.ndarray | None) -> np.ndarray:
        return target.reshape(-1) if buf is None else buf
    return dest


def _cut(target: np.ndarray, cut: tuple[slice, ...], shape: tuple[int, ...]
         ) -> Callable[[np.ndarray | None], np.ndarray]:
    """Read a span of ``shape`` into a scratch buffer, then copy its ``cut`` into
    ``target``."""
    def dest(buf: np.ndarray | None) -> np.ndarray:
        if buf is None:
            return np.empty(math.prod(shape), target.dtype)
        target[...] = buf.reshape(shape)[cut]
        return buf
    return dest


def _split_fancy(key: Any, shape: tuple[int, ...]
                 ) -> tuple[list[Any], list[tuple[int, np.ndarray]]]:
    """Split an index into a basic part (slices and integers, read from disk) and integer
    array selections applied afterwards in memory, as (axis of the read result, indices)."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (len(shape) - len(key))
    basic: list[Any] = []
    post: list[tuple[int, np.ndarray]] = []
    out_axis = 0
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, list | np.ndarray):
            idx = np.asarray(k)
            idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
            idx = np.where(idx < 0, idx + n, idx)
            lo = int(idx.min()) if idx.size else 0
            hi = int(idx.max()) + 1 if idx.size else 0
            basic.append(slice(lo, hi))
            post.append((out_axis, idx - lo))
            out_axis += 1
        elif isinstance(k, int | np.integer):
            k = int(k)
            basic.append(k + n if k < 0 else k)
        else:
            basic.append(k)
            out_axis += 1
    return basic, post
