"""DICOM: series discovery, lazy series reading with exact geometry, series writing.

Public functions: :func:`discover_series`, :func:`open_dicom`, :func:`write_dicom_series`
and :func:`is_dicom` (the registry's test). They are imported on first use, so that
recognising a path as DICOM does not import pydicom.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.dicom.detect import is_dicom
    from spatial_xr.io.dicom.discover import SeriesInfo, discover_series
    from spatial_xr.io.dicom.series import open_dicom
    from spatial_xr.io.dicom.write import write_dicom_series

__all__ = ["SeriesInfo", "discover_series", "is_dicom", "open_dicom", "write_dicom_series"]

_WHERE = {
    "SeriesInfo": "discover",
    "discover_series": "discover",
    "is_dicom": "detect",
    "open_dicom": "series",
    "write_dicom_series": "write",
}


def __getattr__(name: str) -> object:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
