"""MetaImage header: read the text header of a ``.mha``/``.mhd`` file (and nothing else).

A header is ``Key = Value`` lines (ITK also accepts ``:`` as the separator) ending with
the ``ElementDataFile`` line. For ``ElementDataFile = LOCAL`` the voxels follow that line
in the same file; for ``LIST`` the following lines name one data file each.

Which field wins when several say the same thing follows what ITK 5.4 (SimpleITK) does:
``Origin`` over ``Offset`` over ``Position``; ``TransformMatrix`` over ``Rotation`` over
``Orientation``; ``BinaryDataByteOrderMSB`` over ``ElementByteOrderMSB``;
``ElementSpacing`` over ``ElementSize`` (``ElementSize`` is only a fallback spacing).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spatial_xr.errors import DimensionError, FormatError, PathNotFoundError
from spatial_xr.io import streams

__all__ = [
    "ELEMENT_TYPES",
    "MAX_HEADER_BYTES",
    "MAX_LINE_BYTES",
    "MetaImageHeader",
    "list_file_count",
    "read_metaimage_header",
]

MAX_LINE_BYTES = 4096
"""Longest header line accepted (ITK's own parser stops at 500 characters per value)."""
MAX_HEADER_BYTES = 1 << 20
"""Most bytes read looking for the ``ElementDataFile`` line."""
_BLOCK = 1024
"""Bytes read per step while scanning the header (a typical header is 300–600 bytes)."""

ELEMENT_TYPES: dict[str, str] = {
    "MET_CHAR": "i1", "MET_ASCII_CHAR": "i1", "MET_UCHAR": "u1",
    "MET_SHORT": "i2", "MET_USHORT": "u2",
    "MET_INT": "i4", "MET_UINT": "u4",
    "MET_LONG": "i4", "MET_ULONG": "u4",  # MetaIO's LONG is 4 bytes on every platform
    "MET_LONG_LONG": "i8", "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4", "MET_DOUBLE": "f8",
}
"""MetaIO ``ElementType`` names → NumPy type codes (``*_ARRAY`` variants map alike)."""


@dataclass(frozen=True)
class MetaImageHeader:
    """The parsed header of a MetaImage file.

    Attributes
    ----------
    path : str
        The header file.
    fields : dict of str to str
        Every ``Key = Value`` line up to ``ElementDataFile``, values stripped.
    ndims : int
        ``NDims``.
    dim_size : tuple of int
        ``DimSize`` (x fastest: x, y, z, t order).
    dtype : numpy.dtype
        Element type with the file's byte order.
    channels : int
        ``ElementNumberOfChannels`` (1 when absent).
    spacing : tuple of float
        ``ElementSpacing`` (or ``ElementSize``; 1 when both are absent), per axis.
    origin : tuple of float
        ``Origin``/``Offset``/``Position`` (0 when absent).
    matrix : numpy.ndarray, shape (ndims, ndims)
        The direction matrix D (columns are axis directions): the transpose of
        ``TransformMatrix`` as written, since MetaIO lists one axis direction after the
        other.
    matrix_field : str or None
        Which field the matrix came from (None: identity, no field).
    compressed : bool
        ``CompressedData``.
    compressed_size : int or None
        ``CompressedDataSize`` (None when absent or 0).
    header_size : int
        ``HeaderSize`` (0 when absent; -1: the data are the last bytes of the file).
    data_file : str
        ``ElementDataFile`` as written (``LOCAL``, ``LIST …``, a name or a pattern).
    data_offset : int
        Byte just after the ``ElementDataFile`` line (where ``LOCAL`` data start).
    list_files : tuple of str
        For ``LIST``: the names that follow the header (relative names as written).
    """

    path: str
    fields: dict[str, str]
    ndims: int
    dim_size: tuple[int, ...]
    dtype: np.dtype[Any]
    channels: int
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    matrix: np.ndarray
    matrix_field: str | None
    compressed: bool
    compressed_size: int | None
    header_size: int
    data_file: str
    data_offset: int
    list_files: tuple[str, ...] = field(default=())

    @property
    def is_local(self) -> bool:
        """Voxels follow the header in the same file."""
        return self.data_file.lower() == "local"

    @property
    def is_list(self) -> bool:
        """``ElementDataFile = LIST``: one file per slice (or per volume)."""
        return self.data_file[:4] == "LIST"

    @property
    def is_pattern(self) -> bool:
        """``ElementDataFile = name%03d.raw first last step``."""
        return "%" in self.data_file and not self.is_list


def _bad(path: str, what: str) -> FormatError:
    return FormatError(f"{path!r} is not a valid MetaImage header: {what}")


def _read_lines(path: str) -> tuple[list[tuple[int, str]], int, bytes, Any]:
    """The header lines up to and including ``ElementDataFile`` (line number, text), the
    byte just after it, the bytes read past it, and whether the file ended there."""
    lines: list[tuple[int, str]] = []
    try:
        f = streams.open_data_file(path)
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"no such MetaImage file: {path!r}") from exc
    try:
        return _scan(path, f, lines)
    except BaseException:
        f.close()
        raise


def _scan(path: str, f: Any, lines: list[tuple[int, str]]
          ) -> tuple[list[tuple[int, str]], int, bytes, Any]:
    buf = b""
    pos = 0  # file offset of buf[0]
    lineno = 0
    while True:
        nl = buf.find(b"\n")
        if nl < 0:
            if len(buf) > MAX_LINE_BYTES:
                raise _bad(path, f"line {lineno + 1} is longer than {MAX_LINE_BYTES} bytes "
                           "(a header line holds one 'Key = Value'; is this a MetaImage "
                           "file, and does it end its header with ElementDataFile?)")
            if pos + len(buf) >= MAX_HEADER_BYTES:
                raise _bad(path, f"no 'ElementDataFile' line in its first "
                           f"{MAX_HEADER_BYTES} bytes; the header must end with it")
            more = f.read(_BLOCK)
            if not more:
                if buf.strip():
                    lines.append((lineno + 1, buf.decode("latin-1")))
                raise _bad(path, "it ends before an 'ElementDataFile' line; the header "
                           "must end with 'ElementDataFile = LOCAL' or the data file name")
            buf += more
            continue
        line = buf[:nl]
        if len(line) > MAX_LINE_BYTES:
            raise _bad(path, f"line {lineno + 1} is {len(line)} bytes long (more than "
                       f"{MAX_LINE_BYTES}); the header is corrupt or this is not a "
                       "MetaImage file")
        lineno += 1
        text = line.decode("latin-1").rstrip("\r")
        buf = buf[nl + 1:]
        pos += nl + 1
        lines.append((lineno, text))
        key = text.split("=", 1)[0].split(":", 1)[0].strip()
        if key == "ElementDataFile":
            return lines, pos, buf, f
        if pos >= MAX_HEADER_BYTES:
            raise _bad(path, f"no 'ElementDataFile' line in its first {MAX_HEADER_BYTES} "
                       "bytes; the header must end with it")


def _split(path: str, lineno: int, text: str) -> tuple[str, str] | None:
    stripped = text.strip()
    if not stripped:
        return None
    cut = [i for i in (stripped.find("="), stripped.find(":")) if i > 0]
    if not cut:
        raise _bad(path, f"line {lineno} ({stripped[:60]!r}) is not 'Key = Value'")
    i = min(cut)
    return stripped[:i].strip(), stripped[i + 1:].strip()


def _numbers(path: str, fields: dict[str, str], key: str, count: int) -> list[float] | None:
    if key not in fields:
        return None
    words = fields[key].split()
    if len(words) < count:
        raise _bad(path, f"{key} = {fields[key]!r} has {len(words)} values; NDims needs "
                   f"{count}")
    try:
        return [float(w) for w in words[:count]]
    except ValueError as exc:
        raise _bad(path, f"{key} = {fields[key]!r} holds a value that is not a number") from exc


def _flag(value: str | None) -> bool | None:
    if value is None or not value:
        return None
    return value[0] in "Tt1"


def _integer(path: str, key: str, text: str) -> int:
    try:
        v = float(text)
    except ValueError as exc:
        raise _bad(path, f"{key} = {text!r} is not an integer") from exc
    if not math.isfinite(v) or v != int(v):
        raise _bad(path, f"{key} = {text!r} is not an integer")
    return int(v)


def _list_lines(path: str, f: Any, rest: bytes, count: int) -> tuple[str, ...]:
    """The ``count`` file names after a ``LIST`` header line (fewer if the file ends)."""
    names: list[str] = []
    buf = rest
    while len(names) < count:
        nl = buf.find(b"\n")
        if nl < 0:
            more = f.read(_BLOCK)
            if not more:
                if buf.strip():
                    names.append(buf.decode("latin-1").strip())
                break
            buf += more
            if len(buf) > MAX_LINE_BYTES and buf.find(b"\n") < 0:
                raise _bad(path, f"a LIST file name is longer than {MAX_LINE_BYTES} bytes")
            continue
        line = buf[:nl].decode("latin-1").strip()
        if len(line) > MAX_LINE_BYTES:
            raise _bad(path, f"a LIST file name is longer than {MAX_LINE_BYTES} bytes")
        buf = buf[nl + 1:]
        if line:
            names.append(line)
    return tuple(names)


def list_file_count(ndims: int, dim_size: tuple[int, ...], data_file: str) -> tuple[int, int]:
    """For ``ElementDataFile = LIST [kD]``: the dims per file and the number of files.

    ITK's rule: ``LIST`` alone or with a dimension outside ``1 … NDims-1`` means
    ``NDims - 1`` dims per file (one slice per file); ``LIST 2D`` means 2.
    """
    words = data_file.split()
    per = ndims - 1
    if len(words) > 1:
        digits = "".join(ch for ch in words[1] if ch.isdigit() or ch in ".-")
        try:
            per = int(float(digits)) if digits else per
        except ValueError:
            per = ndims - 1
    if per <= 0 or per >= ndims:
        per = ndims - 1
    return per, math.prod(dim_size[per:])


def read_metaimage_header(path: str | os.PathLike[str]) -> MetaImageHeader:
    """Parse the header of a MetaImage file, reading only the header's bytes.

    Parameters
    ----------
    path : str or path-like
        A ``.mha`` or ``.mhd`` file.

    Returns
    -------
    MetaImageHeader

    Raises
    ------
    FormatError
        A line longer than :data:`MAX_LINE_BYTES`, no ``ElementDataFile`` line within
        :data:`MAX_HEADER_BYTES`, a missing required field (``NDims``, ``DimSize``,
        ``ElementType``), an unknown ``ElementType``, or values that are not numbers.
    DimensionError
        ``NDims`` outside 2–4.
    PathNotFoundError
        No such file.
    """
    path = os.fspath(path)
    lines, data_offset, rest, f = _read_lines(path)
    fields: dict[str, str] = {}
    for lineno, text in lines:
        kv = _split(path, lineno, text)
        if kv is not None:
            fields[kv[0]] = kv[1]  # a repeated key: the last one wins, as in ITK
    for key in ("NDims", "DimSize", "ElementType"):
        if key not in fields:
            raise _bad(path, f"the required field {key} is missing")
    ndims = _integer(path, "NDims", fields["NDims"])
    if not 2 <= ndims <= 4:
        raise DimensionError(
            f"{path!r} has NDims = {ndims}; spatial_xr reads 2-D to 4-D MetaImage (x, y, "
            "z and t; channels through ElementNumberOfChannels)"
        )
    words = fields["DimSize"].split()
    if len(words) < ndims:
        raise _bad(path, f"DimSize = {fields['DimSize']!r} has {len(words)} values but "
                   f"NDims = {ndims}")
    dim_size = tuple(_integer(path, "DimSize", w) for w in words[:ndims])
    if any(v < 1 for v in dim_size):
        raise _bad(path, f"DimSize = {fields['DimSize']!r}: every size must be at least 1")

    etype = fields["ElementType"].split()[0] if fields["ElementType"].split() else ""
    base = etype[:-6] if etype.endswith("_ARRAY") else etype
    if base not in ELEMENT_TYPES:
        raise FormatError(
            f"{path!r} has ElementType = {fields['ElementType']!r}, which is not a MetaIO "
            f"element type spatial_xr reads; known: {', '.join(ELEMENT_TYPES)} (and their "
            "_ARRAY forms). Fix the header or re-export the file"
        )
    msb = _flag(fields.get("BinaryDataByteOrderMSB"))
    if msb is None:
        msb = _flag(fields.get("ElementByteOrderMSB"))
    dtype = np.dtype(ELEMENT_TYPES[base]).newbyteorder(">" if msb else "<")
    if dtype.itemsize == 1:
        dtype = dtype.newbyteorder("|")
    if _flag(fields.get("BinaryData", "True")) is False:
        raise FormatError(
            f"{path!r} stores its voxels as text (BinaryData = False); spatial_xr reads "
            "binary MetaImage only — re-save it as binary (e.g. SimpleITK WriteImage)"
        )

    channels = 1
    if "ElementNumberOfChannels" in fields:
        channels = _integer(path, "ElementNumberOfChannels", fields["ElementNumberOfChannels"])
        if channels < 1:
            raise _bad(path, f"ElementNumberOfChannels = {channels} must be at least 1")

    spacing = _numbers(path, fields, "ElementSpacing", ndims)
    if spacing is None:
        spacing = _numbers(path, fields, "ElementSize", ndims)
    origin = None
    for key in ("Origin", "Offset", "Position"):
        origin = _numbers(path, fields, key, ndims)
        if origin is not None:
            break
    matrix_field = None
    matrix = np.eye(ndims)
    for key in ("TransformMatrix", "Rotation", "Orientation"):
        values = _numbers(path, fields, key, ndims * ndims)
        if values is not None:
            matrix = np.asarray(values, np.float64).reshape(ndims, ndims).T
            matrix_field = key
            break

    compressed = bool(_flag(fields.get("CompressedData")))
    csize = None
    if compressed and "CompressedDataSize" in fields:
        csize = _integer(path, "CompressedDataSize", fields["CompressedDataSize"].split()[0]
                         if fields["CompressedDataSize"].split() else "")
        if csize < 0:
            raise _bad(path, f"CompressedDataSize = {csize} is negative")
        csize = csize or None
    header_size = 0
    if "HeaderSize" in fields:
        header_size = _integer(path, "HeaderSize", fields["HeaderSize"])
        if header_size < -1:
            raise _bad(path, f"HeaderSize = {header_size}; it is -1 (data at the end of the "
                       "file) or a byte count ≥ 0")

    data_file = fields.get("ElementDataFile", "")
    if not data_file:
        raise _bad(path, "ElementDataFile is empty; it must be LOCAL, LIST or a file name")
    list_files: tuple[str, ...] = ()
    with f:
        if data_file[:4] == "LIST":
            _, count = list_file_count(ndims, dim_size, data_file)
            list_files = _list_lines(path, f, rest, count)
    return MetaImageHeader(
        path=path, fields=fields, ndims=ndims, dim_size=dim_size, dtype=dtype,
        channels=channels,
        spacing=tuple(spacing) if spacing is not None else (1.0,) * ndims,
        origin=tuple(origin) if origin is not None else (0.0,) * ndims,
        matrix=matrix, matrix_field=matrix_field, compressed=compressed,
        compressed_size=csize, header_size=header_size, data_file=data_file,
        data_offset=data_offset, list_files=list_files,
    )
