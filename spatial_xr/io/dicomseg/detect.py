"""Recognise a DICOM Segmentation file from the first bytes of its header."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["sniff_dicomseg", "sop_class_in_head"]

_SEG_CLASSES = ("1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation Storage
                "1.2.840.10008.5.1.4.1.1.66.7")  # Label Map Segmentation Storage
# (tag bytes, explicit VR?) of MediaStorageSOPClassUID (file meta) and SOPClassUID
_TAGS = (b"\x02\x00\x02\x00", b"\x08\x00\x16\x00")


def sop_class_in_head(head: bytes) -> str | None:
    """The SOP Class UID found in a DICOM file's first bytes: the file meta's
    MediaStorageSOPClassUID (0002,0002), else SOPClassUID (0008,0016) in explicit or
    implicit little-endian encoding; None if neither is found."""
    for tag in _TAGS:
        at = head.find(tag)
        while at >= 0:
            if head[at + 4:at + 6] == b"UI":  # explicit VR: 2-byte length
                (n,) = struct.unpack_from("<H", head, at + 6) if at + 8 <= len(head) else (0,)
                start = at + 8
            elif at + 8 <= len(head):  # implicit VR: 4-byte length
                (n,) = struct.unpack_from("<I", head, at + 4)
                start = at + 8
            else:
                break
            if 0 < n <= 64 and start + n <= len(head):
                value = head[start:start + n].rstrip(b"\x00 ")
                if value[:1].isdigit():
                    return value.decode("ascii", "replace")
            at = head.find(tag, at + 1)
    return None


def sniff_dicomseg(probe: Probe) -> bool:
    """The registry's test: a file whose header (within the first bytes the registry
    reads) names the Segmentation or Label Map Segmentation Storage SOP class."""
    if probe.kind != "file":
        return False
    from spatial_xr.io.dicom.detect import looks_like_dicom

    head = probe.head
    return looks_like_dicom(head) and sop_class_in_head(head) in _SEG_CLASSES
