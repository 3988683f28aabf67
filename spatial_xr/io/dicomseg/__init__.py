"""DICOM Segmentation (SEG) objects: lazy reading onto their own grid or an image's, and
writing from a label image and its source series (through highdicom, extra ``seg``).

Public functions: :func:`open_dicomseg`, :func:`write_dicomseg`, :func:`read_seg_header`.
They are imported on first use, so that recognising a SEG file does not import highdicom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.dicomseg.header import SegHeader, read_seg_header
    from spatial_xr.io.dicomseg.read import open_dicomseg
    from spatial_xr.io.dicomseg.write import write_dicomseg

__all__ = ["SegHeader", "open_dicomseg", "read_seg_header", "write_dicomseg"]

_WHERE = {
    "SegHeader": ".header",
    "open_dicomseg": ".read",
    "read_seg_header": ".header",
    "write_dicomseg": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
