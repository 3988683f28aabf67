"""Which two files make an Analyze 7.5 / NIfTI pair, and whether a path is one.

A pair is a header ``name.hdr`` and a data file ``name.img``, both optionally
gzip-compressed (``.hdr.gz`` / ``.img.gz``); either name opens the pair. Recognition reads
the first 4 bytes of the header (``sizeof_hdr``: 348 for Analyze and NIfTI-1, 540 for
NIfTI-2, in either byte order) and nothing else.
"""

from __future__ import annotations

import gzip
import os
import struct
from typing import Any

from spatial_xr.errors import PathNotFoundError

__all__ = ["ANALYZE_EXTENSIONS", "analyze_pair", "has_analyze_header", "sniff_analyze"]

ANALYZE_EXTENSIONS = (".hdr", ".img", ".hdr.gz", ".img.gz")

_HEADER_SIZES = (348, 540)


def _split(path: str) -> tuple[str, str, str] | None:
    """``(stem, kind, gz)`` with kind ``"hdr"``/``"img"`` and gz ``".gz"`` or ``""``."""
    lower = path.lower()
    gz = ".gz" if lower.endswith(".gz") else ""
    base = path[: len(path) - len(gz)]
    for kind in ("hdr", "img"):
        if base.lower().endswith("." + kind):
            return base[: -len(kind) - 1], kind, gz
    return None


def _sibling(stem: str, kind: str, gz: str) -> str:
    """The pair member ``kind`` beside ``stem``, matching the case of an existing file
    (``.HDR`` beside ``.IMG``)."""
    for ext in (kind, kind.upper()):
        candidate = f"{stem}.{ext}{gz}"
        if os.path.exists(candidate):
            return candidate
    return f"{stem}.{kind}{gz}"


def analyze_pair(path: str) -> tuple[str, str]:
    """``(header path, data path)`` of the pair ``path`` belongs to.

    Raises
    ------
    PathNotFoundError
        The other member of the pair does not exist; the message names it.
    """
    parts = _split(path)
    if parts is None:
        raise PathNotFoundError(
            f"{path!r} is not named like an Analyze/NIfTI pair member (.hdr, .img, .hdr.gz, "
            ".img.gz)"
        )
    stem, kind, gz = parts
    hdr = path if kind == "hdr" else _sibling(stem, "hdr", gz)
    img = path if kind == "img" else _sibling(stem, "img", gz)
    for member, role in ((hdr, "header"), (img, "voxel data")):
        if not os.path.exists(member):
            raise PathNotFoundError(
                f"the Analyze/NIfTI pair of {path!r} has no {role} file {member!r}; an "
                "Analyze pair is two files with the same name, .hdr and .img (both gzipped "
                "or neither) — copy the missing one beside it"
            )
    return hdr, img


def has_analyze_header(path: str) -> bool:
    """Whether ``path`` starts with an Analyze/NIfTI-pair ``sizeof_hdr`` (reads 4 bytes,
    inflating only those for ``.gz``)."""
    try:
        opener: Any = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            first = f.read(4)
    except (OSError, EOFError):
        return False
    if len(first) < 4:
        return False
    return any(struct.unpack(f"{bo}i", first)[0] in _HEADER_SIZES for bo in "<>")


def sniff_analyze(probe: Any) -> bool:
    """Registry test: a ``.hdr``/``.img`` (optionally ``.gz``) path whose header file
    starts with an Analyze or NIfTI ``sizeof_hdr``."""
    if probe.kind != "file" or not probe.has_extension(ANALYZE_EXTENSIONS):
        return False
    parts = _split(probe.path)
    if parts is None:
        return False
    stem, kind, gz = parts
    return has_analyze_header(probe.path if kind == "hdr" else _sibling(stem, "hdr", gz))
