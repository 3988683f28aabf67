"""Lazy arrays over stored byte streams: raw, gzip/zlib, bzip2, ASCII or hex data held in
one file or split over several, read a box at a time.

Several formats store an image's voxels as one stream of bytes in C order of the array
(the file's first index fastest), possibly split over several files (one per slice or per
volume) and possibly compressed: NRRD (``raw``, ``gzip``, ``bzip2``, ``ascii``, ``hex``),
MetaImage (``raw`` or one zlib stream, one file, a LIST or a pattern of files). This
module reads them lazily:

- :func:`read_box` reads a box of such an array (one range per axis) through a callback
  that fills a buffer with the bytes from a given data offset. Its reads move forward only,
  one per run: the whole selection when it is one contiguous range of the data; else one
  per index of the leading axes — the span of whole rows covering the box in each plane
  when the rows are cut, else the exact range. Rows are cut in memory. NIfTI's reader
  uses it over its own open file; :class:`StreamedArray` over :class:`DataStream`\\s.
- :class:`DataStream` describes one stored stream: the file, where the stream starts,
  how it is encoded, how many decoded bytes to drop before the data, and how many data
  bytes it holds.
- :func:`read_stream_range` fills a buffer with bytes ``[start, start + n)`` of a stream's
  data. Raw streams seek and read only those bytes; compressed streams inflate from their
  start (ISA-L's zlib when installed) and discard up to ``start`` in bounded blocks, then
  inflate up to the last needed byte only.
- :class:`StreamedArray` is a pickle-safe lazy array (path names and numbers only, never an
  open handle) over a list of streams that together hold the voxels. Each stream is opened
  once per request and read forward only, so a compressed stream is inflated once per
  request, up to the last plane the request needs. A request that reaches the end of a
  compressed stream decodes it to its end marker (gzip and zlib check their checksum
  there; ``exact`` streams must not decode to more than declared).

Text encodings (``ascii``, ``hex``) cannot be indexed without parsing everything before a
value: they are decoded whole at every request that touches them (give them one chunk).
"""

from __future__ import annotations

import bz2
import functools
import io
import itertools
import math
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np

from spatial_xr.buffers import empty
from spatial_xr.errors import FormatError, ParameterError, PathNotFoundError, SpatialXRError
from spatial_xr.io.indexing import finish_selection, selection_ranges

__all__ = [
    "CODECS",
    "COMPRESSED_CODECS",
    "MAX_BZIP2_RATIO",
    "TEXT_CODECS",
    "DataStream",
    "StreamedArray",
    "open_data_file",
    "read_box",
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

Fill = Callable[[int, memoryview], None]
"""``fill(start, view)``: fill ``view`` with the data bytes ``[start, start + len(view))``."""


def open_data_file(path: str) -> IO[bytes]:
    """Open a data file for unbuffered binary reading (looked up at call time, so that
    tests may wrap it to count what is read)."""
    return open(path, "rb", buffering=0)


# ------------------------------------------------------------------ box reads
def read_box(shape: Sequence[int], ranges: Sequence[range], dtype: np.dtype[Any],
             fill: Fill) -> np.ndarray:
    """Read a box of a C-ordered array stored as contiguous bytes.

    Parameters
    ----------
    shape : sequence of int
        Shape of the stored array (the last axis varies fastest in the data).
    ranges : sequence of range
        One range per axis, step > 0 (:func:`~spatial_xr.io.indexing.selection_ranges`).
    dtype : numpy.dtype
        Stored element type (byte order kept).
    fill : callable
        ``fill(start, view)`` fills ``view`` with data bytes ``[start, start + len(view))``;
        called with increasing, non-overlapping ranges.

    Returns
    -------
    numpy.ndarray
        Shape ``[len(r) for r in ranges]``, dtype ``dtype``, C-contiguous.

    Raises
    ------
    ParameterError
        ``ranges`` and ``shape`` have different lengths.

    Notes
    -----
    Let axis ``a`` be the last axis not selected whole. The reads are: one range when every
    axis before ``a`` selects one index (a slab of whole planes, a run of one row, the
    whole array); else, when ``a`` is the last axis and more than one row is selected, the
    span of whole rows covering the box in each plane (cut in memory); when ``a`` is a
    stepped axis of planes (or higher), each selected block of axis ``a``; else the range
    along ``a`` (from its first to its last selected index) for each index of the axes
    before it. So a box costs at most one read per plane, and reads of a step-1 range of
    whole trailing axes go straight into the result.
    """
    if len(ranges) != len(shape):
        raise ParameterError(f"box has {len(ranges)} axes, the array {len(shape)}")
    dtype = np.dtype(dtype)
    lens = tuple(len(q) for q in ranges)
    out = empty(lens, dtype)
    nd = len(shape)
    if out.size == 0:
        return out
    if nd == 0:
        fill(0, out.reshape(1).data.cast("B"))
        return out
    item = dtype.itemsize
    strides = [1] * nd  # elements per step along each axis
    for i in range(nd - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    a = nd - 1  # the last axis not selected whole
    while a > 0 and ranges[a].step == 1 and lens[a] == shape[a]:
        a -= 1
    if a == nd - 1 and nd > 1 and lens[a - 1] > 1:
        r = a - 1  # spans of whole rows
    elif ranges[a].step > 1 and a < nd - 2:
        r = a + 1  # one block of whole planes per selected index of axis a
    else:
        r = a
    run = ranges[r]
    span = run[-1] - run[0] + 1
    start = run[0] * strides[r]
    outer = [(q, st) for q, st in zip(ranges[:r], strides, strict=False)]
    if run.step == 1 and r >= a:  # everything after the run axis is whole: no cut
        if all(len(q) == 1 for q, _ in outer):  # one range, straight into the result
            first = start + sum(q[0] * st for q, st in outer)
            fill(first * item, out.reshape(-1).data.cast("B"))
            return out
        for rel in itertools.product(*[range(n) for n in lens[:r]]):
            first = start + sum(q[i] * st for (q, st), i in zip(outer, rel, strict=True))
            fill(first * item, out[rel].reshape(-1).data.cast("B"))
        return out
    scratch = np.empty(span * strides[r], dtype)
    view = scratch.data.cast("B")
    span_shape = (span, *shape[r + 1:])
    cut = (slice(None, None, run.step),
           *(slice(q[0], q[-1] + 1, q.step) for q in ranges[r + 1:]))
    for rel in itertools.product(*[range(n) for n in lens[:r]]):
        first = start + sum(q[i] * st for (q, st), i in zip(outer, rel, strict=True))
        fill(first * item, view)
        out[rel] = scratch.reshape(span_shape)[cut]
    return out


# ------------------------------------------------------------------ one stream
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
    stored_nbytes : int or None
        Compressed streams: stored bytes of the stream (None: up to the end of the file).
    exact : bool
        Compressed streams: the stream must end right after the data (decoding to more
        than ``skip + nbytes`` bytes is an error); else a surplus is ignored.
    """

    path: str
    nbytes: int
    codec: str = "raw"
    offset: int = 0
    line_skip: int = 0
    skip: int = 0
    from_end: bool = False
    dtype: str = "|u1"
    stored_nbytes: int | None = None
    exact: bool = False

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

    def __init__(self, fobj: IO[bytes], codec: str, limit: int | None) -> None:
        self.fobj = fobj
        self.codec = codec
        self.left = limit  # stored bytes still to read (None: to the end of the file)
        self.pending = b""
        self.exhausted = False
        self.cut_short = False  # the input ended inside a member
        self.dec = self._new()

    def _new(self) -> Any:
        if self.codec == "bzip2":
            return bz2.BZ2Decompressor()
        return _zlib_module().decompressobj(wbits=47)  # gzip or zlib header, detected

    def _feed(self) -> bool:
        if self.exhausted:
            return False
        want = _INPUT_BLOCK if self.left is None else min(_INPUT_BLOCK, self.left)
        block = self.fobj.read(want) if want > 0 else b""
        if not block:
            self.exhausted = True
            return False
        if self.left is not None:
            self.left -= len(block)
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
                self.cut_short = True
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

    def finish(self, exact: bool) -> int:
        """Decode to the end of the stream (checksums are checked there); returns the bytes
        decoded past the data, stopping at the first one when ``exact``."""
        extra = 0
        while data := self.produce(1 if exact else _OUTPUT_BLOCK):
            extra += len(data)
            if exact:
                break
        return extra


def _skip_lines(fobj: IO[bytes], n: int, path: str, pos: int) -> int:
    """Move ``fobj`` (at ``pos``) past ``n`` lines (each ending in ``\\n``); returns the
    new position."""
    for i in range(n):
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
                pos += seen + end + 1
                fobj.seek(pos)
                break
            seen += len(block)
            if seen > _LINE_LIMIT:
                raise FormatError(
                    f"{path!r}: a line skipped by 'line skip' is longer than {_LINE_LIMIT} "
                    "bytes; the data file is binary there — fix 'line skip' in the header"
                )
    return pos


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
            size = self.fobj.seek(0, os.SEEK_END)
            self.base = size - s.nbytes
            if self.base < 0:
                raise _truncated(s, size, s.nbytes)
            return
        self.fobj.seek(s.offset)
        pos = _skip_lines(self.fobj, s.line_skip, s.path, s.offset)
        if s.codec == "raw":
            self.base = pos + s.skip
        elif s.codec in COMPRESSED_CODECS:
            self.inflater = _Inflater(self.fobj, s.codec, s.stored_nbytes)
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
            self._inflate(start, view)
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

    def _inflate(self, start: int, view: memoryview) -> None:
        s, inflater = self.stream, self.inflater
        assert inflater is not None
        if start > self.pos:
            self.pos += inflater.skip(start - self.pos)
        if start != self.pos:
            raise _truncated(s, self.pos, s.nbytes)
        got = inflater.fill(view)
        self.pos += got
        if got < view.nbytes:
            raise _truncated(s, self.pos, s.nbytes)
        if self.pos < s.nbytes:
            return
        if inflater.finish(s.exact) and s.exact:
            raise FormatError(
                f"{s.path!r}: the compressed voxel data inflate to more than the "
                f"{s.skip + s.nbytes} bytes the header declares; the header's sizes or "
                "element type are wrong — fix the header or re-export the file"
            )
        if inflater.cut_short:
            raise FormatError(
                f"{s.path!r} is truncated: its {s.codec} stream does not end after the "
                f"{s.nbytes} bytes of voxel data (the end of the stream and its checksum "
                "are missing); re-export or re-download the file"
            )

    def close(self) -> None:
        if self.fobj is not None:
            self.fobj.close()
            self.fobj = None


def _corrupt(stream: DataStream, exc: BaseException) -> FormatError:
    return FormatError(
        f"could not read the {stream.codec} data of {stream.path!r} ({type(exc).__name__}: "
        f"{exc}); the file is corrupt or truncated, or changed after it was opened — "
        "re-export or re-download it"
    )


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
        cursor.read(start, out.data.cast("B"))
    except SpatialXRError:
        raise
    except _codec_errors() as exc:
        raise _corrupt(stream, exc) from exc
    finally:
        cursor.close()


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
    memory); the bytes read are those of :func:`read_box`.
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

    def __getitem__(self, key: Any) -> np.ndarray:
        ranges, post = selection_ranges(key, self.shape)
        cursors: dict[int, _Cursor] = {}
        try:
            raw = read_box(self.shape, ranges, self.raw_dtype,
                           functools.partial(self._fill, cursors))
        except SpatialXRError:
            raise
        except _codec_errors() as exc:
            bad = cursors[max(cursors)].stream if cursors else self.streams[0]
            raise _corrupt(bad, exc) from exc
        finally:
            for c in cursors.values():
                c.close()
        arr = finish_selection(raw, post)
        if not arr.dtype.isnative:  # our own buffer (or a copy of it): swap in place
            arr = arr.byteswap(inplace=True).view(self.dtype)
        return np.asarray(arr, dtype=self.dtype, order="C")

    def _fill(self, cursors: dict[int, _Cursor], first: int, view: memoryview) -> None:
        """Fill ``view`` with data bytes from ``first`` on, from the streams holding them
        (each opened once per request; earlier ones are closed)."""
        lo, hi = first, first + view.nbytes
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

    def __repr__(self) -> str:
        return (f"StreamedArray(shape={self.shape}, dtype={self.raw_dtype}, "
                f"streams={len(self.streams)} × {self.streams[0].codec})")
