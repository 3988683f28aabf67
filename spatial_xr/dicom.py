"""DICOM series: discover, open lazily, write. See :mod:`spatial_xr.io.dicom`."""

from spatial_xr.io.dicom import (
    SeriesInfo,
    discover_series,
    is_dicom,
    open_dicom,
    write_dicom_series,
)

__all__ = ["SeriesInfo", "discover_series", "is_dicom", "open_dicom", "write_dicom_series"]
