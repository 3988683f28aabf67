"""NIfTI-Zarr: write (pyramid from memory), open (metadata only), full read of level 0,
10-slice slab, against the reference implementation ``niizarr`` (PyPI ``nifti-zarr``).

Write: both sides start from the CT in memory (read in the setup) and end with a complete
NIfTI-Zarr store (OME-NGFF 0.5, Zarr v3, 128³ chunks, Zstandard level 1). spatial_xr:
``da.spatial.to_ome_zarr(path, nifti=True)`` with its default pyramid (block mean,
anisotropy-aware factors). niizarr: ``nii2zarr(image, path, chunk=128,
compressor="zlib", compressor_options={"level": 1})`` (its "zlib" is Zstandard in Zarr v3)
with its default pyramid (scikit-image Gaussian, all axes halved until a level fits one
chunk), so the pyramids differ: the level shapes are in the notes.

Reads: both sides read the same store, written once per case by spatial_xr (not timed).
niizarr's reader is ``zarr2nii(path)``, a nibabel image whose ``dataobj`` is a dask array
over the Zarr array; reads end with a NumPy array and the sum of its values is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum, module_has, reader_registered, warm_spatial_xr
from benchmarks.cases._ngff import du, level_shapes
from benchmarks.harness import Case, Side

M = "benchmarks.cases.niftizarr"
SLAB = 10
OPTIONS = {"chunk": 128, "compressor": "zlib", "compressor_options": {"level": 1}}


def _available() -> str | None:
    return reader_registered("niftizarr") or module_has("niizarr", "nii2zarr", "zarr2nii")


def _slab(nz: int) -> tuple[int, int]:
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


def _store(p: dict[str, Any]) -> str:
    """The case's NIfTI-Zarr store of the CT, written by spatial_xr on first use."""
    import spatial_xr

    path = Path(p["work_root"]) / "ct.nii.zarr"
    if not path.exists():
        spatial_xr.open_image(p["input_path"]).spatial.to_ome_zarr(path, nifti=True)
    return str(path)


def _tiny_store(p: dict[str, Any]) -> str:
    """A 4×8×8 NIfTI-Zarr store for each side's warm-up call."""
    import numpy as np

    import spatial_xr

    out = Path(p["out_dir"]) / "tiny.nii.zarr"
    if not out.exists():
        spatial_xr.from_array(np.zeros((4, 8, 8), np.int16)).spatial.to_ome_zarr(
            out, nifti=True, pyramid=False)
    return str(out)


def _note(out: str) -> Callable[[], dict[str, str]]:
    return lambda: {"note": f"levels {level_shapes(out)}; {du(out) / 2**20:.0f} MiB"}


# --------------------------------------------------------------------- write
def ours_write(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    da = spatial_xr.open_image(p["input_path"]).load()
    out = str(Path(p["out_dir"]) / "ours.nii.zarr")
    da.isel(z=slice(0, 8), y=slice(0, 32), x=slice(0, 32)).spatial.to_ome_zarr(
        str(Path(p["out_dir"]) / "warm.nii.zarr"), nifti=True)

    def run() -> Any:
        da.spatial.to_ome_zarr(out, nifti=True)
        return {"summary": None, "extra": _note(out)}

    return run


def niizarr_write(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np
    from niizarr import nii2zarr

    img = nib.load(p["input_path"], mmap=False)
    mem = nib.Nifti1Image(np.asarray(img.dataobj), img.affine, img.header)
    out = str(Path(p["out_dir"]) / "theirs.nii.zarr")
    small = nib.Nifti1Image(np.asarray(img.dataobj)[:32, :32, :8], img.affine, img.header)
    nii2zarr(small, str(Path(p["out_dir"]) / "warm.nii.zarr"), **OPTIONS)

    def run() -> Any:
        nii2zarr(mem, out, **OPTIONS)
        return {"summary": None, "extra": _note(out)}

    return run


# --------------------------------------------------------------------- reads
def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    spatial_xr.open_image(_tiny_store(p)).values  # noqa: B018
    path = _store(p)

    def run() -> Any:
        return list(spatial_xr.open_image(path).shape)

    return run


def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    spatial_xr.open_image(_tiny_store(p)).values  # noqa: B018
    path = _store(p)

    def run() -> Any:
        return checksum(spatial_xr.open_image(path).values)

    return run


def ours_slab(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    spatial_xr.open_image(_tiny_store(p)).values  # noqa: B018
    path = _store(p)

    def run() -> Any:
        da = spatial_xr.open_image(path)
        z0, n = _slab(da.sizes["z"])
        return checksum(da.isel(z=slice(z0, z0 + n)).values)

    return run


def _warm_niizarr(p: dict[str, Any]) -> Any:
    import numpy as np
    from niizarr import zarr2nii

    np.asarray(zarr2nii(_tiny_store(p)).dataobj)
    return zarr2nii


def niizarr_open(p: dict[str, Any]) -> Callable[[], Any]:
    zarr2nii = _warm_niizarr(p)
    path = _store(p)

    def run() -> Any:
        return list(zarr2nii(path).shape[::-1])

    return run


def niizarr_read(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np

    zarr2nii = _warm_niizarr(p)
    path = _store(p)

    def run() -> Any:
        return checksum(np.asarray(zarr2nii(path).dataobj))

    return run


def niizarr_slab(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np

    zarr2nii = _warm_niizarr(p)
    path = _store(p)

    def run() -> Any:
        proxy = zarr2nii(path).dataobj
        z0, n = _slab(proxy.shape[2])
        return checksum(np.asarray(proxy[:, :, z0 : z0 + n]))

    return run


def _cases() -> list[Case]:
    out = [Case("niftizarr pyramid + write, from memory", Side("spatial_xr", f"{M}:ours_write"),
                peers=[Side("niizarr nii2zarr", f"{M}:niizarr_write")], inputs=("ct_nii",),
                requires=_available, repeats=3)]
    for op, what in (("open", "open (metadata only)"), ("read", "full read of level 0"),
                     ("slab", f"{SLAB}-slice slab")):
        out.append(Case(f"niftizarr {what}", Side("spatial_xr", f"{M}:ours_{op}"),
                        peers=[Side("niizarr zarr2nii", f"{M}:niizarr_{op}")],
                        inputs=("ct_nii",), requires=_available))
    return out


CASES = _cases()
