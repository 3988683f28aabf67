"""Recognise a 3D Slicer segmentation: a NRRD file named ``*.seg.nrrd``, or any NRRD file
whose header (within the bounded prefix) holds Slicer's ``Segment0_ID`` field."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["SEGMENT_MARKER", "sniff_seg_nrrd"]

SEGMENT_MARKER = b"\nSegment0_ID:="
"""The header line that every Slicer segmentation with segments has."""


def sniff_seg_nrrd(probe: Probe) -> bool:
    """The registry's test (see the module docstring)."""
    if probe.kind != "file":
        return False
    head = probe.head
    if not head.startswith(b"NRRD000"):
        return False
    if probe.has_extension((".seg.nrrd",)):
        return True
    end = head.find(b"\n\n")
    return SEGMENT_MARKER in (head if end < 0 else head[:end + 1])
