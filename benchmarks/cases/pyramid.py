"""Pyramid build + OME-Zarr write of the CT volume, from memory.

Both sides start from the image in memory (read in the setup, not timed) and end with
a complete OME-NGFF 0.5 store (Zarr v3, Zstandard) on disk. spatial_xr:
``da.spatial.to_ome_zarr(path)`` (default pyramid: block mean, 128³ chunks, levels until
one chunk). ngff-zarr: ``to_multiscales`` (its default factors; its default method, which
is an ITK-Wasm Gaussian, and its two mean methods, bin shrink in dask and in ITK-Wasm)
then ``to_ngff_zarr``. The number of levels each side wrote is in the notes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import accessor_has, warm_spatial_xr
from benchmarks.cases._ngff import count_levels, du, ngff_image, ngff_pyramid_write
from benchmarks.harness import Case, Side

M = "benchmarks.cases.pyramid"


def _available() -> str | None:
    return accessor_has("pyramid", "to_ome_zarr")


def ours(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    da = spatial_xr.open_image(p["input_path"]).load()
    out = str(Path(p["out_dir"]) / "ours.ome.zarr")
    small = da.isel(z=slice(0, 8), y=slice(0, 32), x=slice(0, 32))
    small.spatial.to_ome_zarr(str(Path(p["out_dir"]) / "warm.ome.zarr"))

    def run() -> Any:
        da.spatial.to_ome_zarr(out)
        return {"summary": None, "extra": lambda: {
            "note": f"wrote {count_levels(out)} levels, {du(out) / 2**20:.0f} MiB"}}

    return run


def ngff(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np

    img = nib.load(p["input_path"], mmap=False)
    arr = np.ascontiguousarray(np.asarray(img.dataobj).T)  # z, y, x
    zooms = img.header.get_zooms()[:3][::-1]
    origin = (0.0, 0.0, 0.0)
    out = str(Path(p["out_dir"]) / "ngff.ome.zarr")
    ngff_pyramid_write(ngff_image(arr[:8, :32, :32], zooms, origin),
                       str(Path(p["out_dir"]) / "warm.ome.zarr"), p["method"])

    def run() -> Any:
        n = ngff_pyramid_write(ngff_image(arr, zooms, origin), out, p["method"])
        return {"summary": None, "extra": lambda: {
            "note": f"wrote {n} levels, {du(out) / 2**20:.0f} MiB"}}

    return run


CASES = [
    Case("pyramid + OME-Zarr write", Side("spatial_xr", f"{M}:ours"),
         peers=[Side(f"ngff-zarr {m}", f"{M}:ngff", {"method": m})
                for m in ("default", "dask_bin_shrink", "itkwasm_bin_shrink")],
         inputs=("ct_nii",), requires=_available, repeats=3),
]
