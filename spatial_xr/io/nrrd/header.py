"""Reading and parsing a NRRD header (``.nrrd`` attached or ``.nhdr`` detached).

Only the header is read: in blocks of :data:`READ_BLOCK` bytes up to the blank line that
ends it (attached data follow that line) or the end of a detached header. A line longer
than :data:`MAX_LINE` bytes, or a header longer than :data:`MAX_HEADER` bytes, is refused
with :class:`~spatial_xr.errors.FormatError` before anything else is read.

Field names follow the NRRD format (versions ``NRRD0001`` to ``NRRD0005``), with their
old spellings (``datafile``, ``byteskip``, ``axismins``, ``centerings``, …); key/value
pairs (``key:=value``) are kept as strings.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRWarning

__all__ = [
    "ENCODINGS",
    "MAX_HEADER",
    "MAX_LINE",
    "NRRD_TYPES",
    "READ_BLOCK",
    "SPACES",
    "NrrdHeader",
    "parse_nrrd_header",
    "read_nrrd_header",
]

MAX_LINE = 64 * 1024
"""Longest header line accepted (bytes)."""
MAX_HEADER = 64 * 1024 * 1024
"""Longest header accepted (bytes), a ``data file: LIST`` of file names included."""
READ_BLOCK = 4096
"""Bytes read at a time while looking for the end of the header."""

NRRD_TYPES: dict[str, str] = {}
"""NRRD type names (all spellings) → numpy type codes."""
for _code, _names in {
    "i1": "signed char, int8, int8_t",
    "u1": "uchar, unsigned char, uint8, uint8_t",
    "i2": "short, short int, signed short, signed short int, int16, int16_t",
    "u2": "ushort, unsigned short, unsigned short int, uint16, uint16_t",
    "i4": "int, signed int, int32, int32_t",
    "u4": "uint, unsigned int, uint32, uint32_t",
    "i8": "longlong, long long, long long int, signed long long, signed long long int, "
          "int64, int64_t",
    "u8": "ulonglong, unsigned long long, unsigned long long int, uint64, uint64_t",
    "f4": "float",
    "f8": "double",
}.items():
    for _name in _names.split(", "):
        NRRD_TYPES[_name] = _code

ENCODINGS = {"raw": "raw", "gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2",
             "ascii": "ascii", "text": "ascii", "txt": "ascii", "hex": "hex"}
"""NRRD encoding names → stream codecs of :mod:`spatial_xr.io.streams`."""

SPACES = {
    "right-anterior-superior": "right-anterior-superior", "ras": "right-anterior-superior",
    "left-anterior-superior": "left-anterior-superior", "las": "left-anterior-superior",
    "left-posterior-superior": "left-posterior-superior", "lps": "left-posterior-superior",
    "right-anterior-superior-time": "right-anterior-superior-time",
    "rast": "right-anterior-superior-time",
    "left-anterior-superior-time": "left-anterior-superior-time",
    "last": "left-anterior-superior-time",
    "left-posterior-superior-time": "left-posterior-superior-time",
    "lpst": "left-posterior-superior-time",
    "scanner-xyz": "scanner-xyz", "scanner-xyz-time": "scanner-xyz-time",
    "3d-right-handed": "3D-right-handed", "3d-left-handed": "3D-left-handed",
    "3d-right-handed-time": "3D-right-handed-time",
    "3d-left-handed-time": "3D-left-handed-time",
}
"""NRRD ``space`` names and abbreviations (lower case) → canonical names."""

_ALIASES = {"datafile": "data file", "lineskip": "line skip", "byteskip": "byte skip",
            "axismins": "axis mins", "axismaxs": "axis maxs", "centerings": "centers",
            "oldmin": "old min", "oldmax": "old max", "blocksize": "block size"}
_FIELDS = {
    "dimension", "type", "encoding", "sizes", "endian", "content", "min", "max", "old min",
    "old max", "data file", "line skip", "byte skip", "number", "sample units", "spacings",
    "thicknesses", "axis mins", "axis maxs", "centers", "labels", "units", "kinds", "space",
    "space dimension", "space units", "space origin", "space directions",
    "measurement frame", "block size",
}
_MAGIC = re.compile(rb"^NRRD000([1-9])$")
_VECTOR = re.compile(r"\(([^()]*)\)|none|\S+", re.I)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class NrrdHeader:
    """A parsed NRRD header.

    Per-axis lists are in NRRD axis order (the fastest axis first). Vectors are tuples of
    floats in the file's space (not yet converted to LPS).

    Attributes
    ----------
    path : str
        The header file.
    version : int
        The digit of ``NRRD000X``.
    dimension : int
    sizes : tuple of int
    dtype : numpy.dtype
        Element type with the file's byte order.
    encoding : str
        Stream codec (``raw``, ``gzip``, ``bzip2``, ``ascii``, ``hex``).
    data_offset : int or None
        Byte offset of attached data (after the blank line), None for a header without
        attached data.
    data_files : tuple of str
        Detached data files (absolute paths), empty when the data are attached.
    data_subdim : int
        Axes held by each data file (``dimension`` for one file).
    line_skip, byte_skip : int
    space : str or None
        Canonical ``space`` name.
    space_dimension : int
        From ``space`` or ``space dimension``; 0 when neither is given.
    space_directions : tuple of (tuple of float or None) or None
    space_origin : tuple of float or None
    space_units : tuple of str or None
    measurement_frame : tuple of tuple of float or None
    kinds, centers, labels, units : tuple of str or None
    spacings, thicknesses, axis_mins, axis_maxs : tuple of float or None
    fields : dict
        Every field as written (canonical name → value string).
    key_values : dict
        The ``key:=value`` pairs.
    header_bytes : int
        Bytes of the header read.
    """

    path: str
    version: int
    dimension: int
    sizes: tuple[int, ...]
    dtype: np.dtype[Any]
    encoding: str
    data_offset: int | None
    data_files: tuple[str, ...]
    data_subdim: int
    line_skip: int
    byte_skip: int
    space: str | None
    space_dimension: int
    space_directions: tuple[tuple[float, ...] | None, ...] | None
    space_origin: tuple[float, ...] | None
    space_units: tuple[str, ...] | None
    measurement_frame: tuple[tuple[float, ...], ...] | None
    kinds: tuple[str, ...] | None
    centers: tuple[str, ...] | None
    labels: tuple[str, ...] | None
    units: tuple[str, ...] | None
    spacings: tuple[float, ...] | None
    thicknesses: tuple[float, ...] | None
    axis_mins: tuple[float, ...] | None
    axis_maxs: tuple[float, ...] | None
    fields: dict[str, str] = field(default_factory=dict)
    key_values: dict[str, str] = field(default_factory=dict)
    header_bytes: int = 0


def _read_lines(path: str) -> tuple[list[str], int | None, int]:
    """The header's lines (decoded, without line ends), the offset of attached data (None
    when the header runs to the end of the file) and the bytes read."""
    lines: list[str] = []
    buf = b""
    pos = 0  # file offset of buf[0]
    list_mode = False
    try:
        f = open(path, "rb", buffering=0)  # noqa: SIM115
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"no such NRRD file: {path!r}") from exc
    with f:
        first = True
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > MAX_LINE:
                    raise FormatError(
                        f"{path!r}: header line {len(lines) + 1} is longer than {MAX_LINE} "
                        "bytes; a NRRD header holds short text lines — the file is corrupt, "
                        "or its header lacks the blank line that ends it"
                    )
                block = f.read(READ_BLOCK)
                if first and len(buf + block) >= 7 and not (buf + block).startswith(b"NRRD000"):
                    raise FormatError(
                        f"{path!r} is not a NRRD file: it starts with {(buf + block)[:16]!r}, "
                        "not 'NRRD000X'"
                    )
                if not block:
                    if buf.strip():
                        lines.append(_decode(buf, path, len(lines)))
                    return lines, None, pos + len(buf)
                buf += block
                continue
            raw = buf[:nl].rstrip(b"\r")
            if nl > MAX_LINE:
                raise FormatError(
                    f"{path!r}: header line {len(lines) + 1} is longer than {MAX_LINE} bytes; "
                    "a NRRD header holds short text lines — the file is corrupt"
                )
            pos += nl + 1
            buf = buf[nl + 1:]
            if pos > MAX_HEADER:
                raise FormatError(
                    f"{path!r}: the header is longer than {MAX_HEADER} bytes without ending; "
                    "the file is corrupt (a NRRD header ends with a blank line)"
                )
            if first:
                if not _MAGIC.match(raw):
                    raise FormatError(
                        f"{path!r} is not a NRRD file: it starts with {raw[:16]!r}, not "
                        "'NRRD000X'"
                    )
                first = False
            if not raw.strip():
                if list_mode:
                    continue
                return lines, pos, pos
            text = _decode(raw, path, len(lines))
            lines.append(text)
            if not list_mode and re.match(r"^\s*data ?file\s*:\s*LIST\b", text, re.I):
                list_mode = True


def _decode(raw: bytes, path: str, index: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"{path!r}: header line {index + 1} is not text ({exc}); the file is corrupt, or "
            "its header lacks the blank line that ends it"
        ) from exc


def read_nrrd_header(path: str | os.PathLike[str]) -> NrrdHeader:
    """Read and parse the header of a ``.nrrd`` or ``.nhdr`` file (nothing else).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    NrrdHeader

    Raises
    ------
    PathNotFoundError
        The file does not exist.
    FormatError
        Not a NRRD file, an overlong line, a missing or malformed required field.
    """
    path = os.fspath(path)
    lines, offset, nread = _read_lines(path)
    return parse_nrrd_header(lines, path, data_offset=offset, header_bytes=nread)


def parse_nrrd_header(lines: list[str], path: str, *, data_offset: int | None = None,
                      header_bytes: int = 0) -> NrrdHeader:
    """Parse header lines (the first being the ``NRRD000X`` magic).

    Parameters
    ----------
    lines : list of str
        Header lines without line ends.
    path : str
        The header's file, for messages and to resolve relative data file names.
    data_offset : int, optional
        Offset of attached data.
    header_bytes : int
        Bytes read, recorded on the result.

    Returns
    -------
    NrrdHeader
    """
    version = int(lines[0].strip()[-1])
    fields: dict[str, str] = {}
    key_values: dict[str, str] = {}
    listed: list[str] = []
    in_list = False
    for number, line in enumerate(lines[1:], start=2):
        if in_list:
            if line.strip() and not line.lstrip().startswith("#"):
                listed.append(line.strip())
            continue
        if line.startswith("#") or not line.strip():
            continue
        kv = line.find(":=")
        colon = line.find(": ")
        if colon < 0 and line.rstrip().endswith(":"):
            colon = len(line.rstrip()) - 1
        if kv >= 0 and (colon < 0 or kv < colon or
                        line[:colon].strip().lower() not in _FIELDS | set(_ALIASES)):
            key_values[_unescape(line[:kv])] = _unescape(line[kv + 2:])
            continue
        if colon < 0:
            raise FormatError(
                f"{path!r}: header line {number} ({line[:80]!r}) is neither a field "
                "('name: value'), a key/value pair ('key:=value') nor a comment ('#'); the "
                "header is corrupt"
            )
        name = line[:colon].strip().lower()
        name = _ALIASES.get(name, name)
        value = line[colon + 1:].strip()
        if name not in _FIELDS:
            warnings.warn(
                f"{os.path.basename(path)}: header line {number} has the unknown field "
                f"{name!r}; it is ignored",
                SpatialXRWarning,
                stacklevel=3,
            )
            continue
        if name in fields:
            raise FormatError(f"{path!r}: the field {name!r} appears twice in the header; "
                              "keep one")
        fields[name] = value
        if name == "data file" and re.match(r"^LIST\b", value):
            in_list = True
    return _build(path, version, fields, key_values, listed, data_offset, header_bytes)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\\\", "\\")


def _required(fields: dict[str, str], name: str, path: str) -> str:
    if name not in fields:
        raise FormatError(f"{path!r}: the NRRD header has no {name!r} field, which every "
                          "NRRD header needs; the file is incomplete")
    return fields[name]


def _int(value: str, name: str, path: str) -> int:
    try:
        return int(value.split()[0])
    except (ValueError, IndexError) as exc:
        raise FormatError(f"{path!r}: {name!r} must be an integer, got {value!r}") from exc


def _floats(value: str, name: str, path: str, count: int) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value.split())
    except ValueError as exc:
        raise FormatError(f"{path!r}: {name!r} must hold numbers, got {value!r}") from exc
    if len(out) != count:
        raise FormatError(f"{path!r}: {name!r} has {len(out)} values but the image has "
                          f"{count} axes ({value!r})")
    return out


def _words(value: str, name: str, path: str, count: int) -> tuple[str, ...]:
    out = tuple(value.split())
    if len(out) != count:
        raise FormatError(f"{path!r}: {name!r} has {len(out)} entries but the image has "
                          f"{count} axes ({value!r})")
    return out


def _quoted(value: str, name: str, path: str, count: int) -> tuple[str, ...]:
    out = tuple(_unescape(v) for v in _QUOTED.findall(value))
    if len(out) != count:
        raise FormatError(f"{path!r}: {name!r} has {len(out)} quoted entries, expected "
                          f"{count} ({value!r})")
    return out


def _vectors(value: str, name: str, path: str, count: int, length: int
             ) -> tuple[tuple[float, ...] | None, ...]:
    """``(a,b,c) none (d,e,f)`` → vectors (None for ``none``)."""
    out: list[tuple[float, ...] | None] = []
    for m in _VECTOR.finditer(value):
        token = m.group(0)
        if token.lower() == "none":
            out.append(None)
            continue
        if m.group(1) is None:
            raise FormatError(f"{path!r}: {name!r} holds {token!r}, which is neither a "
                              "vector '(x,y,z)' nor 'none'")
        try:
            vec = tuple(float(v) for v in m.group(1).split(","))
        except ValueError as exc:
            raise FormatError(f"{path!r}: {name!r} holds the vector {token!r} whose entries "
                              "are not all numbers") from exc
        if len(vec) != length:
            raise FormatError(f"{path!r}: {name!r} holds the vector {token!r} of {len(vec)} "
                              f"values, but the space has {length} dimensions")
        out.append(vec)
    if len(out) != count:
        raise FormatError(f"{path!r}: {name!r} has {len(out)} entries, expected {count} "
                          f"({value!r})")
    return tuple(out)


def _data_files(value: str, listed: list[str], path: str, dimension: int
                ) -> tuple[tuple[str, ...], int]:
    folder = os.path.dirname(os.path.abspath(path))

    def resolve(name: str) -> str:
        return os.path.normpath(os.path.join(folder, os.path.expanduser(name)))

    words = value.split()
    if words and words[0] == "LIST":
        subdim = _int(words[1], "data file", path) if len(words) > 1 else dimension - 1
        if not listed:
            raise FormatError(f"{path!r}: 'data file: LIST' names no files (the file names "
                              "must follow it, one per line)")
        return tuple(resolve(n) for n in listed), subdim
    if "%" in value and len(words) in (4, 5):
        fmt = words[0]
        try:
            lo, hi, step = (int(v) for v in words[1:4])
        except ValueError as exc:
            raise FormatError(f"{path!r}: 'data file: {value}' must be '<format> <min> <max> "
                              "<step> [<subdim>]' with integers") from exc
        subdim = _int(words[4], "data file", path) if len(words) == 5 else dimension - 1
        if step == 0 or (hi - lo) * step < 0:
            raise FormatError(f"{path!r}: 'data file: {value}' has step {step}, which never "
                              f"goes from {lo} to {hi}")
        if len(re.findall(r"%[-+ #0]*\d*[diu]", fmt)) != 1 or fmt.count("%") != 1:
            raise FormatError(f"{path!r}: 'data file: {value}' needs exactly one integer "
                              "conversion such as %03d in its file name format")
        count = (hi - lo) // step + 1
        if count > 10_000_000:
            raise FormatError(f"{path!r}: 'data file: {value}' names {count} files")
        return tuple(resolve(fmt.replace("%u", "%d") % i)
                     for i in range(lo, hi + (1 if step > 0 else -1), step)), subdim
    return (resolve(value),), dimension


def _build(path: str, version: int, fields: dict[str, str], key_values: dict[str, str],
           listed: list[str], data_offset: int | None, header_bytes: int) -> NrrdHeader:
    dimension = _int(_required(fields, "dimension", path), "dimension", path)
    if not 1 <= dimension <= 16:
        raise FormatError(f"{path!r}: dimension {dimension} is outside 1–16 (NRRD's limit)")
    sizes = tuple(int(v) for v in _floats(_required(fields, "sizes", path), "sizes", path,
                                          dimension))
    if any(v < 1 for v in sizes) or any(
            str(int(v)) != w for v, w in zip(sizes, fields["sizes"].split(), strict=True)):
        raise FormatError(f"{path!r}: sizes must be positive integers, got "
                          f"{fields['sizes']!r}")
    type_name = " ".join(_required(fields, "type", path).lower().split())
    if type_name == "block":
        raise FormatError(f"{path!r}: type 'block' (opaque blocks) holds no numbers; "
                          "spatial_xr reads numeric NRRD types only")
    if type_name not in NRRD_TYPES:
        raise FormatError(f"{path!r}: unknown NRRD type {fields['type']!r}; known types: "
                          "int8, uint8, int16, uint16, int32, uint32, int64, uint64, float, "
                          "double (and their C spellings)")
    encoding_name = _required(fields, "encoding", path).strip().lower()
    if encoding_name not in ENCODINGS:
        raise FormatError(f"{path!r}: unknown NRRD encoding {fields['encoding']!r}; "
                          "spatial_xr reads raw, gzip (gz), bzip2 (bz2), ascii (text, txt) "
                          "and hex")
    encoding = ENCODINGS[encoding_name]
    code = NRRD_TYPES[type_name]
    endian = fields.get("endian", "").strip().lower()
    if endian not in ("", "little", "big"):
        raise FormatError(f"{path!r}: endian must be 'little' or 'big', got {endian!r}")
    if not endian and code[1] != "1" and encoding not in ("ascii",):
        raise FormatError(f"{path!r}: the header has no 'endian' field, which {type_name} "
                          f"data in {encoding} encoding need; add 'endian: little' (or "
                          "'big') to the header")
    dtype = np.dtype(("<" if endian != "big" else ">") + code)

    space = None
    space_dim = 0
    if "space" in fields:
        key = fields["space"].strip().lower()
        if key not in SPACES:
            raise FormatError(f"{path!r}: unknown NRRD space {fields['space']!r}; known: "
                              f"{', '.join(sorted(set(SPACES.values())))}")
        space = SPACES[key]
        space_dim = 4 if space.endswith("-time") else 3
    if "space dimension" in fields:
        sd = _int(fields["space dimension"], "space dimension", path)
        if space is not None and sd != space_dim:
            raise FormatError(f"{path!r}: 'space dimension: {sd}' contradicts 'space: "
                              f"{space}' ({space_dim} dimensions); keep one of them")
        if not 1 <= sd <= 8:
            raise FormatError(f"{path!r}: 'space dimension' must be 1–8, got {sd}")
        space_dim = sd

    def per_axis_floats(name: str) -> tuple[float, ...] | None:
        return _floats(fields[name], name, path, dimension) if name in fields else None

    def per_axis_words(name: str) -> tuple[str, ...] | None:
        return _words(fields[name], name, path, dimension) if name in fields else None

    directions = origin = frame = units = None
    if space_dim:
        if "space directions" in fields:
            directions = _vectors(fields["space directions"], "space directions", path,
                                  dimension, space_dim)
        if "space origin" in fields:
            vecs = _vectors(fields["space origin"], "space origin", path, 1, space_dim)
            origin = vecs[0]
        if "measurement frame" in fields:
            mf = _vectors(fields["measurement frame"], "measurement frame", path, space_dim,
                          space_dim)
            if any(v is None for v in mf):
                raise FormatError(f"{path!r}: 'measurement frame' holds 'none'; it needs "
                                  f"{space_dim} vectors")
            frame = tuple(v for v in mf if v is not None)
        if "space units" in fields:
            units = _quoted(fields["space units"], "space units", path, space_dim)
    else:
        for name in ("space directions", "space origin", "measurement frame", "space units"):
            if name in fields:
                raise FormatError(f"{path!r}: {name!r} needs a 'space' or 'space dimension' "
                                  "field, which the header lacks")

    line_skip = _int(fields.get("line skip", "0"), "line skip", path)
    byte_skip = _int(fields.get("byte skip", "0"), "byte skip", path)
    if line_skip < 0:
        raise FormatError(f"{path!r}: 'line skip' must be ≥ 0, got {line_skip}")
    if byte_skip < -1:
        raise FormatError(f"{path!r}: 'byte skip' must be ≥ -1, got {byte_skip}")
    if byte_skip == -1 and encoding != "raw":
        raise FormatError(f"{path!r}: 'byte skip: -1' (data at the end of the file) is "
                          f"only allowed with raw encoding, not {encoding}")

    if "data file" in fields:
        files, subdim = _data_files(fields["data file"], listed, path, dimension)
        if not 1 <= subdim <= dimension:
            raise FormatError(f"{path!r}: the data file sub-dimension {subdim} is outside "
                              f"1–{dimension}")
        expected = math.prod(sizes[subdim:])
        if len(files) != expected:
            raise FormatError(
                f"{path!r}: 'data file' names {len(files)} files, but sizes {sizes} with "
                f"{subdim} axes per file need {expected}; fix the list or the sizes"
            )
        offset = None
    else:
        if data_offset is None:
            raise FormatError(f"{path!r}: the header has no 'data file' field and no blank "
                              "line after it, so it holds no data; add the data or a "
                              "'data file:' line")
        files, subdim, offset = (), dimension, data_offset

    return NrrdHeader(
        path=path, version=version, dimension=dimension, sizes=sizes, dtype=dtype,
        encoding=encoding, data_offset=offset, data_files=files, data_subdim=subdim,
        line_skip=line_skip, byte_skip=byte_skip, space=space, space_dimension=space_dim,
        space_directions=directions, space_origin=origin, space_units=units,
        measurement_frame=frame, kinds=per_axis_words("kinds"),
        centers=per_axis_words("centers"),
        labels=_quoted(fields["labels"], "labels", path, dimension)
        if "labels" in fields else None,
        units=_quoted(fields["units"], "units", path, dimension) if "units" in fields else None,
        spacings=per_axis_floats("spacings"), thicknesses=per_axis_floats("thicknesses"),
        axis_mins=per_axis_floats("axis mins"), axis_maxs=per_axis_floats("axis maxs"),
        fields=fields, key_values=key_values, header_bytes=header_bytes,
    )
