"""The central directory of a ZIP file, read with two or three byte-range requests, and
the exact byte range of each entry's data.

A ZIP file ends with its central directory: one record per entry with the entry's name,
sizes, compression method and the offset of its *local header*; the entry's data follow
that header. :func:`read_index` reads the file's tail (the end record, the RFC-9 JSON
comment and, for small archives, the directory itself) in one request, lets Python's
:mod:`zipfile` parse it (ZIP64 included), and keeps per entry what a read needs.
:func:`entry_bytes` then reads an entry, or a byte range of it, with one request of
exactly those bytes (plus the local header for whole entries).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from spatial_xr.errors import FormatError

__all__ = ["TAIL_BYTES", "ZipEntry", "ZipIndex", "entry_bytes", "read_index"]

ReadRange = Callable[[int, int], bytes]
"""``read(start, end)``: the bytes ``start`` (inclusive) to ``end`` (exclusive)."""

TAIL_BYTES = 22 + 65535 + 20 + 56
"""Bytes at the end of a ZIP file that can hold its end records: the end of central
directory record with the longest comment, plus the ZIP64 locator and record."""
_HEADER_SLACK = 64
"""Extra bytes read after a local header's expected end, for extra fields the local
header has and the central record lacks (e.g. ZIP64 sizes: 20 bytes)."""


@dataclass(frozen=True)
class ZipEntry:
    """What reading one entry needs."""

    name: str
    header_offset: int
    compressed_size: int
    size: int
    method: int
    crc: int
    encrypted: bool
    local_name_bytes: int
    central_extra_bytes: int


@dataclass(frozen=True)
class ZipIndex:
    """The entries of a ZIP file by name, its size and its comment."""

    entries: dict[str, ZipEntry]
    file_size: int
    comment: bytes


class _TailFile(io.RawIOBase):
    """A read-only file over ``read_range`` that serves reads inside a cached tail."""

    def __init__(self, read_range: ReadRange, size: int) -> None:
        self._read = read_range
        self._size = size
        self._pos = 0
        start = max(0, size - TAIL_BYTES)
        self._tail_start = start
        self._tail = read_range(start, size) if size else b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int | None = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        if self._pos >= end:
            return b""
        if self._pos >= self._tail_start:
            out = self._tail[self._pos - self._tail_start:end - self._tail_start]
        else:
            out = self._read(self._pos, end)
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def read_index(read_range: ReadRange, size: int, source: str) -> ZipIndex:
    """Parse the central directory of a ZIP file of ``size`` bytes.

    Parameters
    ----------
    read_range : callable
        ``read_range(start, end)`` returns those bytes of the file.
    size : int
        File size in bytes.
    source : str
        Name of the file for messages.

    Raises
    ------
    FormatError
        Not a ZIP file, or a corrupt directory.
    """
    try:
        with zipfile.ZipFile(_TailFile(read_range, size)) as zf:
            infos = zf.infolist()
            comment = zf.comment
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error,
            ValueError) as exc:
        raise FormatError(
            f"{source} is not a readable ZIP file ({exc}); a zipped OME-Zarr (.ozx) is a ZIP "
            "archive — the file is truncated, corrupt or of another format"
        ) from exc
    entries = {}
    for info in infos:
        if info.is_dir():
            continue
        entries[info.filename] = ZipEntry(
            name=info.filename,
            header_offset=info.header_offset,
            compressed_size=info.compress_size,
            size=info.file_size,
            method=info.compress_type,
            crc=info.CRC,
            encrypted=bool(info.flag_bits & 0x1),
            local_name_bytes=len(info.orig_filename.encode(
                "utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")),
            central_extra_bytes=len(info.extra),
        )
    return ZipIndex(entries, size, comment)


def _payload_start(header: bytes, entry: ZipEntry, source: str) -> int:
    """Offset of the data from the local header's start, from the header's own fields."""
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise FormatError(
            f"{source}: the local header of entry {entry.name!r} is missing or corrupt (the "
            "central directory points elsewhere); the archive is damaged — re-create it"
        )
    n, m = struct.unpack_from("<HH", header, 26)
    return 30 + n + m


def entry_bytes(read_range: ReadRange, entry: ZipEntry, source: str,
                start: int = 0, end: int | None = None,
                offsets: dict[str, int] | None = None) -> bytes:
    """The bytes ``start:end`` of an entry's content (the whole entry by default).

    Stored (uncompressed) entries are read as exactly the requested range, once the data
    offset is known (``offsets`` caches it per entry): a whole-entry read learns it from
    the same request, reading the local header with the data; a partial read (a shard's
    index or one inner chunk) first reads the local header alone. Deflated entries are read
    whole and inflated. The CRC-32 of whole entries is checked.

    Raises
    ------
    FormatError
        Encrypted entries, unsupported compression methods, a damaged local header, a
        short read or a CRC mismatch.
    """
    end = entry.size if end is None else min(end, entry.size)
    start = max(0, min(start, end))
    if entry.encrypted:
        raise FormatError(f"{source}: entry {entry.name!r} is encrypted; spatial_xr reads "
                          "unencrypted archives only")
    if entry.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(
            f"{source}: entry {entry.name!r} uses ZIP compression method {entry.method}; "
            "spatial_xr reads stored (RFC-9 recommends no ZIP compression) and deflated "
            "entries — re-create the archive without ZIP compression"
        )
    offsets = {} if offsets is None else offsets
    whole = start == 0 and end == entry.size
    data_at = offsets.get(entry.name)
    if entry.method == zipfile.ZIP_STORED and not whole:
        if data_at is None:  # a part of an entry (e.g. a shard's index): header first
            guess = 30 + entry.local_name_bytes + entry.central_extra_bytes + _HEADER_SLACK
            header = read_range(entry.header_offset, entry.header_offset + guess)
            offsets[entry.name] = data_at = (entry.header_offset
                                             + _payload_start(header, entry, source))
        out = read_range(data_at + start, data_at + end)
    else:
        if data_at is None:  # header and data in one request
            guess = 30 + entry.local_name_bytes + entry.central_extra_bytes + _HEADER_SLACK
            buf = read_range(entry.header_offset,
                             entry.header_offset + guess + entry.compressed_size)
            skip = _payload_start(buf[:30], entry, source)
            offsets[entry.name] = data_at = entry.header_offset + skip
            raw = buf[skip:skip + entry.compressed_size]
            if len(raw) < entry.compressed_size and skip > guess:
                raw = read_range(data_at, data_at + entry.compressed_size)
        else:
            raw = read_range(data_at, data_at + entry.compressed_size)
        if len(raw) != entry.compressed_size:
            raise FormatError(
                f"{source}: entry {entry.name!r} is cut short ({len(raw)} of "
                f"{entry.compressed_size} bytes); the archive is truncated — copy it again"
            )
        content = raw if entry.method == zipfile.ZIP_STORED else _inflate(raw, entry, source)
        if zlib.crc32(content) != entry.crc:
            raise FormatError(
                f"{source}: entry {entry.name!r} fails its CRC-32 check; the archive is "
                "corrupt — copy or re-create it"
            )
        out = content[start:end]
    if len(out) != end - start:
        raise FormatError(
            f"{source}: entry {entry.name!r} is cut short (asked for bytes {start}–{end}, got "
            f"{len(out)}); the archive is truncated — copy it again"
        )
    return out


def _inflate(raw: bytes, entry: ZipEntry, source: str) -> bytes:
    try:
        return zlib.decompress(raw, -15)
    except zlib.error as exc:
        raise FormatError(f"{source}: entry {entry.name!r} does not inflate ({exc}); the "
                          "archive is corrupt") from exc
