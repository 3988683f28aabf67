"""NRRD (``.nrrd`` attached, ``.nhdr`` detached): lazy reading, atomic writing.

Public functions: :func:`open_nrrd`, :func:`write_nrrd`, :func:`read_nrrd_header`,
:func:`is_nrrd_path`.
"""

from spatial_xr.io.nrrd.header import NrrdHeader, read_nrrd_header
from spatial_xr.io.nrrd.read import is_nrrd_path, open_nrrd
from spatial_xr.io.nrrd.write import write_nrrd

__all__ = ["NrrdHeader", "is_nrrd_path", "open_nrrd", "read_nrrd_header", "write_nrrd"]
