"""MGH ``.mgh``/``.mgz`` and the SimpleITK fallback (binary VTK): open, full read,
10-slice slab.

Peers: nibabel for MGH (``nib.load(path, mmap=False).dataobj``; SimpleITK has no MGH
reader) and SimpleITK for VTK (``ReadImageInformation``, ``ReadImage``, a streamed
``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). nibabel's ``load`` of a
``.mgz`` inflates the whole file to read the footer after the voxels; spatial_xr's open
reads the header fields only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum
from benchmarks.harness import Case, Side

M = "benchmarks.cases.mgh"
SLAB = 10


def _slab(nz: int) -> tuple[int, int]:
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 file of the input's kind for each side's warm-up call."""
    import numpy as np

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    suffix = "".join(Path(p["input_path"]).suffixes[-1:])
    path = out / f"tiny{suffix}"
    if suffix == ".vtk":
        import SimpleITK as sitk

        sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkInt16), str(path))
    else:
        import nibabel as nib

        nib.save(nib.MGHImage(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    return str(path)


# --------------------------------------------------------------------- ours
def _import_ours(p: dict[str, Any]) -> Any:
    import spatial_xr

    spatial_xr.open_image(_tiny(p)).values  # noqa: B018
    return spatial_xr


def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _import_ours(p)

    def run() -> Any:
        return list(spatial_xr.open_image(p["input_path"]).shape)

    return run


def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _import_ours(p)

    def run() -> Any:
        arr = spatial_xr.open_image(p["input_path"]).values
        return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

    return run


def ours_slab(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _import_ours(p)

    def run() -> Any:
        da = spatial_xr.open_image(p["input_path"])
        z0, n = _slab(da.sizes["z"])
        return checksum(da.isel(z=slice(z0, z0 + n)).values)

    return run


# --------------------------------------------------------------------- nibabel
def nib_open(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib

    nib.load(_tiny(p)).get_fdata()

    def run() -> Any:
        return [int(n) for n in nib.load(p["input_path"]).dataobj.shape[::-1]]

    return run


def nib_read(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np

    nib.load(_tiny(p)).get_fdata()

    def run() -> Any:
        return checksum(np.asarray(nib.load(p["input_path"], mmap=False).dataobj).T)

    return run


def nib_slab(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib

    nib.load(_tiny(p)).get_fdata()

    def run() -> Any:
        proxy = nib.load(p["input_path"], mmap=False).dataobj
        z0, n = _slab(proxy.shape[2])
        return checksum(proxy[:, :, z0 : z0 + n].T)

    return run


# --------------------------------------------------------------------- SimpleITK
def sitk_open(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    sitk.ReadImage(_tiny(p))

    def run() -> Any:
        reader = sitk.ImageFileReader()
        reader.SetFileName(p["input_path"])
        reader.ReadImageInformation()
        return list(reader.GetSize()[::-1])

    return run


def sitk_read(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    sitk.ReadImage(_tiny(p))

    def run() -> Any:
        img = sitk.ReadImage(p["input_path"])
        return checksum(sitk.GetArrayViewFromImage(img), keep=img)

    return run


def sitk_slab(p: dict[str, Any]) -> Callable[[], Any]:
    import SimpleITK as sitk

    sitk.ReadImage(_tiny(p))

    def run() -> Any:
        reader = sitk.ImageFileReader()
        reader.SetFileName(p["input_path"])
        reader.ReadImageInformation()
        nx, ny, nz = reader.GetSize()
        z0, n = _slab(nz)
        reader.SetExtractIndex([0, 0, z0])
        reader.SetExtractSize([nx, ny, n])
        img = reader.Execute()
        return checksum(sitk.GetArrayViewFromImage(img), keep=img)

    return run


def _cases() -> list[Case]:
    out = []
    for label, inp, peer, prefix in (
        ("mgh .mgh", "ct_mgh", "nibabel dataobj", "nib"),
        ("mgh .mgz", "ct_mgz", "nibabel dataobj", "nib"),
        ("sitk fallback .vtk", "ct_vtk", "SimpleITK", "sitk"),
    ):
        for op, what in (("open", "open (header only)"), ("read", "full read"),
                         ("slab", f"{SLAB}-slice slab")):
            out.append(Case(name=f"{label} {what}",
                            ours=Side("spatial_xr", f"{M}:ours_{op}"),
                            peers=[Side(peer, f"{M}:{prefix}_{op}")], inputs=(inp,)))
    return out


CASES = _cases()
