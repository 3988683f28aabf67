"""DICOM: series discovery, lazy series reading with exact geometry, series writing.

Public functions: :func:`discover_series`, :func:`open_dicom`, :func:`write_dicom_series`
and :func:`is_dicom` (the ``open_image`` dispatch test).
"""

from spatial_xr.io.dicom.detect import is_dicom
from spatial_xr.io.dicom.discover import SeriesInfo, discover_series
from spatial_xr.io.dicom.series import open_dicom
from spatial_xr.io.dicom.write import write_dicom_series

__all__ = ["SeriesInfo", "discover_series", "is_dicom", "open_dicom", "write_dicom_series"]
