"""RT Structure Set rasterisation: the structure set rt-utils built on the benchmark CT
series (300 slices of 512×512: body outline, bone ring with a hole on every slice, two
lungs), turned into voxel masks on the series' grid.

Peer: rt-utils, the common Python tool for RTSTRUCT masks. Its reader loads the series
(every file, pixels included) in ``RTStructBuilder.create_from`` and then fills each ROI's
polygons slice by slice with OpenCV (``get_roi_mask_by_name``).

- *open + rasterise every ROI*: ours ``open_rtstruct(file, reference=series).values``
  (structure set and series headers, then the masks as one (3, z, y, x) uint8 array); the
  peer ``create_from`` plus ``get_roi_mask_by_name`` for each ROI.
- *rasterise one ROI, series known*: ours on a grid opened in setup; the peer's
  ``get_roi_mask_by_name`` on the structure set loaded in setup.

Summaries are the number of voxels inside, compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import module_has, reader_registered, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.rtstruct"
ROIS = ("body", "bone", "lungs")


def _available() -> str | None:
    return reader_registered("rtstruct")


def _peer_available() -> str | None:
    return module_has("rt_utils", "RTStructBuilder")


def _both() -> str | None:
    return _available() or _peer_available()


def _warm(p: dict[str, Any]) -> Any:
    import importlib

    importlib.import_module("spatial_xr.io.rtstruct")
    importlib.import_module("spatial_xr.io.dicom")
    return warm_spatial_xr(p)


def _voxels(mask: Any) -> Callable[[], int]:
    import numpy as np

    def total() -> int:
        return int(np.count_nonzero(mask))

    return total


def ours_all(p: dict[str, Any]) -> Callable[[], Any]:
    _warm(p)
    from spatial_xr.io.rtstruct import open_rtstruct

    def run() -> Any:
        masks = open_rtstruct(p["input_ct_rtstruct"], reference=p["input_ct_dicom"],
                              invalid_contours="outline").values
        return {"summary": _voxels(masks), "extra": {"bytes": int(masks.nbytes)}}

    return run


def ours_one(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _warm(p)
    from spatial_xr.io.rtstruct import open_rtstruct

    grid = spatial_xr.open_image(p["input_ct_dicom"]).spatial.grid

    def run() -> Any:
        mask = open_rtstruct(p["input_ct_rtstruct"], reference=grid, rois=["bone"],
                             invalid_contours="outline").values[0]
        return _voxels(mask)

    return run


def rtutils_all(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np
    from rt_utils import RTStructBuilder

    def run() -> Any:
        rt = RTStructBuilder.create_from(dicom_series_path=p["input_ct_dicom"],
                                         rt_struct_path=p["input_ct_rtstruct"])
        masks = np.stack([rt.get_roi_mask_by_name(n) for n in ROIS])
        return _voxels(masks)

    return run


def rtutils_one(p: dict[str, Any]) -> Callable[[], Any]:
    from rt_utils import RTStructBuilder

    rt = RTStructBuilder.create_from(dicom_series_path=p["input_ct_dicom"],
                                     rt_struct_path=p["input_ct_rtstruct"])

    def run() -> Any:
        return _voxels(rt.get_roi_mask_by_name("bone"))

    return run


CASES = [
    Case("rtstruct open + rasterise every ROI", Side("spatial_xr", f"{M}:ours_all"),
         peers=[Side("rt-utils create_from + get_roi_mask_by_name", f"{M}:rtutils_all")],
         inputs=("ct_dicom", "ct_rtstruct"), requires=_both),
    Case("rtstruct rasterise one ROI (series known)", Side("spatial_xr", f"{M}:ours_one"),
         peers=[Side("rt-utils get_roi_mask_by_name", f"{M}:rtutils_one")],
         inputs=("ct_dicom", "ct_rtstruct"), requires=_both),
]
