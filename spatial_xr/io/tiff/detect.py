"""Whether a path is a TIFF file, a folder of TIFF files or a glob of them, decided
without importing tifffile and without reading more than the registry's bounded probe."""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = [
    "STACK_EXTENSIONS",
    "TIFF_EXTENSIONS",
    "TIFF_MAGIC",
    "is_glob",
    "is_stack_source",
    "is_tiff_name",
    "sniff_tiff",
]

TIFF_MAGIC = ((0, b"II*\x00"), (0, b"MM\x00*"), (0, b"II+\x00"), (0, b"MM\x00+"))
"""Classic TIFF and BigTIFF headers, little- and big-endian."""
TIFF_EXTENSIONS = (".ome.tif", ".ome.tiff", ".ome.btf", ".tif", ".tiff", ".btf", ".tf8")
STACK_EXTENSIONS = (".tif", ".tiff")
"""Names of the files that make a TIFF stack (a folder's other files are ignored)."""


def is_tiff_name(name: str) -> bool:
    """Whether a file name has a TIFF extension (any case)."""
    return name.lower().endswith(TIFF_EXTENSIONS)


def is_glob(path: str) -> bool:
    """Whether ``path`` is a glob pattern rather than an existing path."""
    return glob.has_magic(path) and not os.path.exists(path)


def is_stack_source(path: str) -> bool:
    """Whether ``path`` names a TIFF stack: a local folder or a glob pattern."""
    return os.path.isdir(path) or is_glob(path)


def sniff_tiff(probe: Probe) -> bool:
    """The registry's test: a file starting with a TIFF or BigTIFF header (unless it is
    also DICOM: ``DICM`` at byte 128, as pydicom's ``CT_small.dcm``); a glob whose
    pattern ends with a TIFF extension; a folder whose listed entries (the registry's
    bounded probe) include TIFF files and no more other files than TIFF files."""
    if probe.kind == "file":
        if not probe.exists:
            return probe.has_extension(TIFF_EXTENSIONS)
        if probe.head[128:132] == b"DICM":  # a dual DICOM/TIFF file (TIFF header in the
            return False  # DICOM preamble): its DICOM dataset is the image with geometry
        return any(probe.head[o:o + len(m)] == m for o, m in TIFF_MAGIC)
    if probe.kind != "folder":
        return False
    tiffs = others = 0
    for entry in probe.entries:
        try:
            if not entry.is_file():
                continue
        except OSError:
            continue
        if entry.name.lower().endswith(STACK_EXTENSIONS):
            tiffs += 1
        else:
            others += 1
    return tiffs > 0 and tiffs >= others
