"""Imaris attribute values: text stored as arrays of one-byte strings, read robustly.

Imaris writes every attribute of its groups as an HDF5 array of single characters
(``dtype |S1``: ``[b"5", b"1", b"2"]`` for ``"512"``); other writers store fixed or
variable-length strings, bytes, or numbers. :func:`attr_text` turns any of these into one
``str``, and :func:`attr_number` parses a number from it, raising
:class:`~spatial_xr.errors.FormatError` naming the attribute and its group when it is
missing or not a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from spatial_xr.errors import FormatError

__all__ = ["attr_number", "attr_size", "attr_text", "decode_text"]


def _decode(raw: bytes) -> str:
    """UTF-8 text up to the first NUL byte; Latin-1 when it is not UTF-8 (older files
    spell micrometres with the single byte 0xB5)."""
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def decode_text(value: Any) -> str:
    """One ``str`` from an Imaris attribute value.

    Parameters
    ----------
    value : numpy array, bytes, str or number
        What h5py returns for the attribute: an array of one-byte strings (Imaris), a
        fixed- or variable-length string (scalar or 1-element array), bytes, or numbers.

    Returns
    -------
    str
        The text with trailing NUL bytes and surrounding blanks removed (numbers are
        formatted with ``repr`` of a Python number; several numbers are joined by blanks).
    """
    if isinstance(value, bytes | np.bytes_):
        return _decode(bytes(value))
    if isinstance(value, str):
        return value.split("\x00", 1)[0].strip()
    arr = np.asarray(value)
    if arr.dtype.kind == "S":  # |S1 per character (Imaris) or fixed-length strings
        return _decode(b"".join(bytes(v) for v in arr.ravel()))
    if arr.dtype.kind in "UO":
        parts = [decode_text(v) for v in arr.ravel()]
        return "".join(parts).strip()
    if arr.dtype.kind in "iuf":
        return " ".join(repr(v) for v in arr.ravel().tolist())
    return str(value).strip()


def attr_text(attrs: Mapping[str, Any], name: str, default: str | None = None) -> str | None:
    """The text of attribute ``name`` of an HDF5 attribute set (``default`` if absent)."""
    if name not in attrs:
        return default
    return decode_text(attrs[name])


def attr_number(attrs: Mapping[str, Any], name: str, where: str, path: str) -> float:
    """The finite number that attribute ``name`` holds.

    Parameters
    ----------
    attrs : mapping
        The attribute set (``h5py.AttributeManager``).
    name : str
        Attribute name (``"ExtMin0"``).
    where : str
        HDF5 path of the group, for messages.
    path : str
        File path, for messages.

    Raises
    ------
    FormatError
        The attribute is missing, or its text is not a finite number.
    """
    text = attr_text(attrs, name)
    if text is None:
        raise FormatError(
            f"{path!r}: attribute {name!r} of {where!r} is missing; an Imaris file stores it "
            "(re-export the file from Imaris or the software that wrote it)"
        )
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise FormatError(
            f"{path!r}: attribute {name!r} of {where!r} is {text!r}, not a finite number; "
            "the file's metadata are corrupt"
        )
    return number


def attr_size(attrs: Mapping[str, Any], name: str, where: str, path: str) -> int:
    """A voxel count (a positive integer) held by attribute ``name``.

    Raises
    ------
    FormatError
        Missing, not a number, not an integer, or not positive.
    """
    number = attr_number(attrs, name, where, path)
    if number != int(number) or number < 1:
        raise FormatError(
            f"{path!r}: attribute {name!r} of {where!r} is {number!r}; a size must be a "
            "positive integer"
        )
    return int(number)
