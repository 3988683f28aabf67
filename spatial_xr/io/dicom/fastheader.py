"""A small, fast reader for the header of plain single-frame DICOM files.

Scanning a 300-file series with pydicom costs a few milliseconds per file, mostly in
building and converting a full ``Dataset``. For the common case — a Part 10 file with a
little-endian transfer syntax and no functional groups — this module walks the elements
with ``struct`` over small blocks of the file (usually one), skips the values of unwanted
elements by their lengths, keeps only the wanted top-level tags, and converts them on
demand. Anything unusual (big endian, deflate, no preamble, enhanced multi-frame,
Siemens mosaic, odd structure) returns ``None`` so that the caller falls back to pydicom;
tests check that both paths give the same headers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import IO, Any

from pydicom.datadict import dictionary_keyword, dictionary_VR, keyword_for_tag, tag_for_keyword

__all__ = ["MiniDataset", "parse_file_meta", "read_fast"]

_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV",
             b"SV", b"UV"}
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_IMPLICIT_LE = "1.2.840.10008.1.2"
_UNDEFINED = 0xFFFFFFFF
_PIXEL = 0x7FE00010
_FALLBACK_TAGS = {0x52009230, 0x52009229}  # functional groups: pydicom handles these
_BLOCK = 16384  # bytes read at a time: most headers fit in one


class _Fallback(Exception):
    pass


class _FileMeta:
    def __init__(self, ts: str) -> None:
        self.TransferSyntaxUID = ts


def _vr_of(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _convert(vr: str, raw: bytes) -> Any:
    """Python value of an element (strings stripped and split at backslashes)."""
    fmt = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}.get(vr)
    if fmt is not None:
        n = len(raw) // struct.calcsize(fmt)
        nums = struct.unpack(f"<{n}{fmt}", raw[: n * struct.calcsize(fmt)])
        return None if n == 0 else (nums[0] if n == 1 else list(nums))
    text = raw.decode("latin-1").rstrip("\x00 ").lstrip(" ") if vr != "UI" else \
        raw.decode("latin-1").rstrip("\x00 ")
    if text == "":
        return None
    parts = [p.strip() for p in text.split("\\")] if vr not in ("LT", "ST", "UT") else [text]
    vals: list[Any]
    try:
        if vr == "DS":
            vals = [float(p) for p in parts]
        elif vr == "IS":
            vals = [int(float(p)) for p in parts]
        else:
            vals = parts
    except ValueError:  # an invalid number: keep the text, as pydicom does
        vals = parts
    return vals[0] if len(vals) == 1 else vals


class MiniDataset:
    """Just enough of ``pydicom.Dataset`` for :func:`~spatial_xr.io.dicom.headers.base_fields`:
    ``kw in ds``, ``ds.get(kw)``, attribute access and ``file_meta.TransferSyntaxUID``."""

    def __init__(self, raw: dict[int, tuple[str, bytes]], ts: str) -> None:
        self._raw = raw
        self._cache: dict[int, Any] = {}
        self.file_meta = _FileMeta(ts)

    def _tag(self, keyword: str) -> int | None:
        return tag_for_keyword(keyword)

    def __contains__(self, keyword: object) -> bool:
        tag = self._tag(str(keyword)) if isinstance(keyword, str) else keyword
        return tag in self._raw

    def get(self, keyword: str, default: Any = None) -> Any:
        tag = self._tag(keyword)
        if tag is None or tag not in self._raw:
            return default
        if tag not in self._cache:
            vr, raw = self._raw[tag]
            self._cache[tag] = _convert(vr, raw)
        return self._cache[tag]

    def __getattr__(self, keyword: str) -> Any:
        if keyword.startswith("_"):
            raise AttributeError(keyword)
        value = self.get(keyword, _MISSING)
        if value is _MISSING:
            raise AttributeError(keyword)
        return value

    def keywords(self) -> list[str]:
        """Keywords of the elements held (for tests)."""
        return [keyword_for_tag(t) or dictionary_keyword(t) for t in self._raw]


_MISSING = object()


class _Window:
    """Bytes of an open file read on demand, in small blocks around the parse position.

    Elements that are not wanted are skipped by their length without being read, so the
    bytes read are the header's (plus at most one block), never a large value's.
    """

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        f.seek(0)
        self._buf = f.read(_BLOCK)
        self._base = 0  # file offset of _buf[0]
        self.first = self._buf
        """The first block of the file."""

    def at(self, pos: int, n: int) -> tuple[bytes, int]:
        """A buffer and the index in it of file bytes ``pos .. pos + n``.

        Raises
        ------
        _Fallback
            The file ends before ``pos + n``.
        """
        i = pos - self._base
        if i >= 0 and i + n <= len(self._buf):
            return self._buf, i
        if 0 <= i <= len(self._buf):  # reading on: keep the unread tail
            tail = self._buf[i:]
            self._f.seek(self._base + len(self._buf))
            self._buf = tail + self._f.read(max(n - len(tail), _BLOCK))
        else:
            self._f.seek(pos)
            self._buf = self._f.read(max(n, _BLOCK))
        self._base = pos
        if n > len(self._buf):
            raise _Fallback
        return self._buf, 0


def _skip_undefined(w: _Window, pos: int, explicit: bool) -> int:
    """Position after an undefined-length sequence starting at ``pos`` (its first item)."""
    while True:
        buf, i = w.at(pos, 8)
        group, elem, length = struct.unpack_from("<HHI", buf, i)
        pos += 8
        tag = (group << 16) | elem
        if tag == 0xFFFEE0DD:  # sequence delimiter
            return pos
        if tag != 0xFFFEE000:
            raise _Fallback
        if length != _UNDEFINED:
            pos += length
            continue
        pos = _walk(w, pos, explicit, None, {}, nested=True)


def _walk(w: _Window, pos: int, explicit: bool, wanted: set[int] | None,
          out: dict[int, tuple[str, bytes]], nested: bool = False) -> int:
    """Walk elements from ``pos``; at top level return the pixel data offset, nested return
    the position after the item delimiter. Values are read only for wanted tags."""
    while True:
        buf, i = w.at(pos, 8)
        group, elem = struct.unpack_from("<HH", buf, i)
        tag = (group << 16) | elem
        if nested and tag == 0xFFFEE00D:  # item delimiter
            return pos + 8
        if not nested and tag == _PIXEL:
            return pos
        if not nested and (tag in _FALLBACK_TAGS or group > 0x7FE0):
            raise _Fallback
        if explicit:
            vr = buf[i + 4 : i + 6]
            if vr in _LONG_VRS:
                buf, i = w.at(pos, 12)
                (length,) = struct.unpack_from("<I", buf, i + 8)
                start = pos + 12
            else:
                (length,) = struct.unpack_from("<H", buf, i + 6)
                start = pos + 8
            vr_s = vr.decode("latin-1")
        else:
            (length,) = struct.unpack_from("<I", buf, i + 4)
            start = pos + 8
            vr_s = _vr_of(tag)
            if length == _UNDEFINED:
                vr_s = "SQ"
        if length == _UNDEFINED:
            if vr_s not in ("SQ", "UN"):
                raise _Fallback
            pos = _skip_undefined(w, start, explicit and vr_s != "UN")
            continue
        end = start + length
        if wanted is not None and tag in wanted:
            if vr_s == "UN":  # as pydicom: an explicit UN of a known tag takes its VR
                vr_s = _vr_of(tag)
            if vr_s == "SQ":
                raise _Fallback  # a wanted sequence: leave it to pydicom
            buf, i = w.at(start, length)
            out[tag] = (vr_s, bytes(buf[i : i + length]))
        pos = end


def read_fast(path: str, wanted: Iterable[int]) -> tuple[MiniDataset, int] | None:
    """Parse the wanted top-level tags of a plain Part 10 little-endian file.

    Reads the header only: small blocks up to the pixel data element, skipping the values
    of other elements by their lengths (see :class:`_Window`).

    Returns
    -------
    (MiniDataset, int) or None
        The header and the byte offset of the pixel data element; ``None`` when the file
        needs pydicom (or is not a DICOM image: pydicom then decides).
    """
    want = set(int(t) for t in wanted)
    try:
        with open(path, "rb") as f:
            w = _Window(f)
            return _parse(w, w.first, want)
    except (_Fallback, OSError, struct.error, UnicodeDecodeError, ValueError):
        return None


def parse_file_meta(buf: bytes) -> tuple[str, int] | None:
    """Transfer syntax and end of the file meta information of a Part 10 file.

    Parameters
    ----------
    buf : bytes
        The start of the file (preamble, ``DICM`` and the whole meta group).

    Returns
    -------
    (str, int) or None
        The TransferSyntaxUID and the byte offset of the first dataset element; ``None``
        without a ``DICM`` marker, without a transfer syntax, or when the meta group does
        not end inside ``buf``.
    """
    if len(buf) < 144 or buf[128:132] != b"DICM":
        return None
    pos = 132
    ts = None
    n = len(buf)
    try:
        while pos + 8 <= n:  # file meta: always explicit VR little endian
            group, elem = struct.unpack_from("<HH", buf, pos)
            if group != 0x0002:
                break
            vr = buf[pos + 4 : pos + 6]
            if vr in _LONG_VRS:
                (length,) = struct.unpack_from("<I", buf, pos + 8)
                start = pos + 12
            else:
                (length,) = struct.unpack_from("<H", buf, pos + 6)
                start = pos + 8
            if elem == 0x0010:
                ts = buf[start : start + length].decode("latin-1").rstrip("\x00 ")
            pos = start + length
        else:
            return None
    except struct.error:
        return None
    return None if ts is None else (ts, pos)


def _parse(w: _Window, first: bytes, want: set[int]) -> tuple[MiniDataset, int] | None:
    meta = parse_file_meta(first)
    if meta is None:
        return None
    ts, pos = meta
    if ts == _IMPLICIT_LE:
        explicit = False
    elif ts.startswith("1.2.840.10008.1.2.") and ts not in (
        "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"
    ):
        explicit = True  # explicit VR LE and every encapsulated syntax
    else:
        return None
    out: dict[int, tuple[str, bytes]] = {}
    offset = _walk(w, pos, explicit, want, out)
    ds = MiniDataset(out, ts)
    image_type = ds.get("ImageType")
    if image_type is not None and "MOSAIC" in str(image_type).upper():
        return None  # needs the CSA header: pydicom
    return ds, (offset if ts in (_EXPLICIT_LE, _IMPLICIT_LE) else -1)
