"""3D Slicer segmentations (``.seg.nrrd``): lazy reading into a label image with its
segment table, and writing that keeps Slicer's fields.

Public functions: :func:`open_seg_nrrd`, :func:`write_seg_nrrd`.
"""

from spatial_xr.io.segnrrd.read import is_seg_nrrd_path, open_seg_nrrd
from spatial_xr.io.segnrrd.write import write_seg_nrrd

__all__ = ["is_seg_nrrd_path", "open_seg_nrrd", "write_seg_nrrd"]
