"""DICOM RT Structure Sets (RTSTRUCT): lazy rasterising onto a reference grid, and writing
label images as planar contours.

Public functions: :func:`open_rtstruct`, :func:`write_rtstruct`, :func:`read_structure_set`.
"""

from spatial_xr.io.rtstruct.read import open_rtstruct
from spatial_xr.io.rtstruct.structure import read_structure_set
from spatial_xr.io.rtstruct.write import write_rtstruct

__all__ = ["open_rtstruct", "read_structure_set", "write_rtstruct"]
