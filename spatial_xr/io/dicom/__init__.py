"""DICOM: series discovery, lazy series reading with exact geometry, series writing.

Public functions: :func:`discover_series`, :func:`open_dicom`, :func:`write_dicom_series`
and :func:`is_dicom` (the registry's test). They are imported on first use, so that
recognising a path as DICOM does not import pydicom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.dicom.detect import is_dicom
    from spatial_xr.io.dicom.discover import SeriesInfo, discover_series
    from spatial_xr.io.dicom.series import open_dicom
    from spatial_xr.io.dicom.write import write_dicom_series

__all__ = ["SeriesInfo", "discover_series", "is_dicom", "open_dicom", "write_dicom_series"]

__getattr__, __dir__ = lazy_attributes(__name__, {
    "SeriesInfo": ".discover",
    "discover_series": ".discover",
    "is_dicom": ".detect",
    "open_dicom": ".series",
    "write_dicom_series": ".write",
})
