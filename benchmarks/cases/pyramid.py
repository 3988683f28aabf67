"""Pyramid build + OME-Zarr write of the CT volume, from memory, like for like.

Both sides start from the image in memory (read in the setup, not timed) and end with
a complete OME-NGFF 0.5 store (Zarr v3) on disk holding the same pyramid: spatial_xr's
default one for this image (block mean; anisotropy-aware factors: y and x halved twice
while z stays at 2.5 mm, then all three halved twice, so five levels 300×512×512,
300×256×256, 300×128×128, 150×64×64, 75×32×32), 128³ chunks, Zstandard level 1 without
checksum. spatial_xr: ``da.spatial.to_ome_zarr(path)`` with its defaults. ngff-zarr:
``to_multiscales`` given the same absolute factors per level and ``chunks=128`` (its
default method, an ITK-Wasm Gaussian, and its two mean methods, bin shrink in dask and
in ITK-Wasm), then ``to_ngff_zarr(..., compressors=[ZstdCodec(level=1)])``. The level
shapes each side wrote are in the notes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import accessor_has, warm_spatial_xr
from benchmarks.cases._ngff import du, level_shapes, ngff_image, ngff_pyramid_write, same_pyramid
from benchmarks.harness import Case, Side

M = "benchmarks.cases.pyramid"


def _available() -> str | None:
    return accessor_has("pyramid", "to_ome_zarr")


def _note(out: str) -> Callable[[], dict[str, str]]:
    return lambda: {"note": f"levels {level_shapes(out)}; {du(out) / 2**20:.0f} MiB"}


def ours(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    da = spatial_xr.open_image(p["input_path"]).load()
    out = str(Path(p["out_dir"]) / "ours.ome.zarr")
    small = da.isel(z=slice(0, 8), y=slice(0, 32), x=slice(0, 32))
    small.spatial.to_ome_zarr(str(Path(p["out_dir"]) / "warm.ome.zarr"))

    def run() -> Any:
        da.spatial.to_ome_zarr(out)
        return {"summary": None, "extra": _note(out)}

    return run


def ngff(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np

    img = nib.load(p["input_path"], mmap=False)
    arr = np.ascontiguousarray(np.asarray(img.dataobj).T)  # z, y, x
    zooms = img.header.get_zooms()[:3][::-1]
    origin = (0.0, 0.0, 0.0)
    out = str(Path(p["out_dir"]) / "ngff.ome.zarr")
    same = same_pyramid(arr.shape, zooms)
    small = arr[:8, :32, :32]
    ngff_pyramid_write(ngff_image(small, zooms, origin),
                       str(Path(p["out_dir"]) / "warm.ome.zarr"), p["method"],
                       same_pyramid(small.shape, zooms))

    def run() -> Any:
        ngff_pyramid_write(ngff_image(arr, zooms, origin), out, p["method"], same)
        return {"summary": None, "extra": _note(out)}

    return run


CASES = [
    Case("pyramid + OME-Zarr write", Side("spatial_xr", f"{M}:ours"),
         peers=[Side(f"ngff-zarr {m}", f"{M}:ngff", {"method": m})
                for m in ("default", "dask_bin_shrink", "itkwasm_bin_shrink")],
         inputs=("ct_nii",), requires=_available, repeats=3),
]
