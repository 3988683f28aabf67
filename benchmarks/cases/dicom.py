"""DICOM series (one uncompressed CT slice per file): header scan and full read.

Peer: SimpleITK's series reader as its documentation shows it —
``ImageSeriesReader.GetGDCMSeriesFileNames(folder)`` (which scans the headers with GDCM
and sorts the files), then ``Execute`` for the pixels. SimpleITK has no header-only
series open, so the header scan is compared with its lookup alone and with its full read
(the DICOM issue's target: our open ≤ 0.5× SimpleITK's full read). Full reads end with a
NumPy array (z, y, x) of HU values; sums are compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import checksum, reader_registered, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.dicom"


def _available() -> str | None:
    return reader_registered("dicom")


def _warm(p: dict[str, Any]) -> Any:
    """``warm_spatial_xr`` plus the DICOM reader's one-time import (the reader modules
    load on the first DICOM open since ``import spatial_xr`` loads no reader)."""
    import importlib

    importlib.import_module("spatial_xr.io.dicom")
    return warm_spatial_xr(p)


def ours_scan(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _warm(p)

    def run() -> Any:
        return list(spatial_xr.open_image(p["input_path"]).shape)

    return run


def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _warm(p)

    def run() -> Any:
        arr = spatial_xr.open_image(p["input_path"]).values
        return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

    return run


def sitk_lookup(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    def run() -> Any:
        names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(p["input_path"])
        return {"summary": None, "extra": {"note": f"{len(names)} files"}}

    return run


def sitk_read(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    def run() -> Any:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(p["input_path"]))
        img = reader.Execute()
        return checksum(sitk.GetArrayViewFromImage(img), keep=img)

    return run


def sitk_read_shape(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    def run() -> Any:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(p["input_path"]))
        return list(reader.Execute().GetSize()[::-1])

    return run


CASES = [
    Case("dicom series header scan (open)", Side("spatial_xr", f"{M}:ours_scan"),
         peers=[Side("SimpleITK GetGDCMSeriesFileNames", f"{M}:sitk_lookup"),
                Side("SimpleITK full series read", f"{M}:sitk_read_shape")],
         inputs=("ct_dicom",), requires=_available),
    Case("dicom series full read", Side("spatial_xr", f"{M}:ours_read"),
         peers=[Side("SimpleITK ImageSeriesReader", f"{M}:sitk_read")],
         inputs=("ct_dicom",), requires=_available),
]
