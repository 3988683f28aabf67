"""Decide cheaply whether a path is DICOM: a bounded prefix of a file, a few files of a
folder. Nothing here parses a whole file."""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["FOLDER_FILES_CHECKED", "is_dicom", "looks_like_dicom", "sniff_dicom"]

FOLDER_FILES_CHECKED = 8
"""How many files of a folder are looked at before deciding it holds no DICOM."""
_PREFIX = 132
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
    b"UL UN UR US UT UV".split()
)


def looks_like_dicom(head: bytes) -> bool:
    """Whether the first bytes of a file are DICOM.

    True with the ``DICM`` marker after the 128-byte preamble, and for files without a
    preamble (as some scanners and old archives write) when the file starts with a
    little-endian data element of group 0x0002 (file meta) or 0x0008 (identifying):
    explicit VR with a known VR code, or implicit VR with a plausible value length.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (132 are enough).
    """
    if head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    group, element = struct.unpack_from("<HH", head)
    if group not in (0x0002, 0x0008) or element > 0x0100:
        return False
    if head[4:6] in _VRS:
        return True
    (length,) = struct.unpack_from("<I", head, 4)
    return length <= 1024 and length % 2 == 0


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_PREFIX)
    except OSError:
        return b""


def sniff_dicom(probe: Probe) -> bool:
    """The registry's test: a file whose first bytes are DICOM (the extension alone does
    not decide: an empty or foreign ``.dcm`` file is not DICOM); a folder
    (not a Zarr store) holding ``DICOMDIR`` or a DICOM file among its first
    :data:`FOLDER_FILES_CHECKED` files."""
    if probe.kind == "file":
        return looks_like_dicom(probe.head)
    if probe.kind != "folder":
        return False
    from spatial_xr.io.omezarr.detect import is_zarr_folder

    if probe.name.endswith(".zarr") or is_zarr_folder(probe.path):
        return False
    if probe.has_member("DICOMDIR"):
        return True
    files = [e for e in probe.entries if e.is_file()][:FOLDER_FILES_CHECKED]
    return any(looks_like_dicom(_head(e.path)) for e in files)


def is_dicom(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a DICOM file or a folder of DICOM files (see
    :func:`sniff_dicom`); reads at most a few hundred bytes per file."""
    from spatial_xr.io.formats import Probe

    probe = Probe(path)
    return os.path.exists(probe.path) and sniff_dicom(probe)
