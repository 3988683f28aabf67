"""NIfTI ``.nii`` and ``.nii.gz``: open, full read, 10-slice slab.

Peers: nibabel (``nib.load(path, mmap=False).dataobj``, the lazy proxy users index;
``mmap=False`` so that a full read reads the bytes instead of returning a memory map) and SimpleITK
(``ReadImage``; header-only open is ``ImageFileReader.ReadImageInformation``; the slab is
a streamed ``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). Full reads end
with a NumPy array in z, y, x order for every side (SimpleITK through
``GetArrayViewFromImage``, no copy); the summary is the sum of the values, compared
between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import checksum
from benchmarks.harness import Case, Side

M = "benchmarks.cases.nifti"
SLAB = 10


def _slab(nz: int) -> tuple[int, int]:
    """First slice and count of the slab: ``SLAB`` slices around the middle."""
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n




# --------------------------------------------------------------------- ours
def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 NIfTI file (same suffix as the input) for each side's warm-up call."""
    from pathlib import Path

    import nibabel as nib
    import numpy as np

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".nii.gz" if p["input_path"].endswith(".gz") else ".nii"
    path = out / f"tiny{suffix}"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    return str(path)


def _import_ours(p: dict[str, Any]) -> Any:
    """Import spatial_xr and make one call on a tiny file, so that one-time lazy imports
    (xarray loads its duck-array modules on first use) are not counted as open time."""
    import spatial_xr

    spatial_xr.open_image(_tiny(p)).values  # noqa: B018
    return spatial_xr


def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _import_ours(p)

    def run() -> Any:
        da = spatial_xr.open_image(p["input_path"])
        return list(da.shape)

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
        proxy = nib.load(p["input_path"]).dataobj
        return list(proxy.shape[::-1])

    return run


def nib_read(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np

    nib.load(_tiny(p)).get_fdata()

    def run() -> Any:
        # mmap=False: read the bytes (the default memory-maps a .nii and reads nothing)
        arr = np.asarray(nib.load(p["input_path"], mmap=False).dataobj).T  # z, y, x view
        return checksum(arr)

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


# --------------------------------------------------------------------- start-up
def ours_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import spatial_xr

        return list(spatial_xr.open_image(p["input_path"]).shape)

    return run


def nib_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import nibabel as nib

        return list(nib.load(p["input_path"]).dataobj.shape[::-1])

    return run


def sitk_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import SimpleITK as sitk

        reader = sitk.ImageFileReader()
        reader.SetFileName(p["input_path"])
        reader.ReadImageInformation()
        return list(reader.GetSize()[::-1])

    return run


def _cases() -> list[Case]:
    out = []
    for ext, inp in ((".nii", "ct_nii"), (".nii.gz", "ct_nii_gz")):
        for op, what in (("open", "open (header only)"), ("read", "full read"),
                         ("slab", f"{SLAB}-slice slab")):
            peers = [Side("nibabel dataobj", f"{M}:nib_{op}"),
                     Side("SimpleITK", f"{M}:sitk_{op}")]
            out.append(Case(name=f"nifti {ext} {what}", ours=Side("spatial_xr", f"{M}:ours_{op}"),
                            peers=peers, inputs=(inp,)))
    out.append(Case(name="nifti .nii full read, cold cache",
                    ours=Side("spatial_xr", f"{M}:ours_read"),
                    peers=[Side("nibabel dataobj", f"{M}:nib_read"),
                           Side("SimpleITK", f"{M}:sitk_read")],
                    inputs=("ct_nii",), cold=True, repeats=3, quick=False))
    out.append(Case(name="nifti .nii import + first open (fresh process)",
                    ours=Side("spatial_xr", f"{M}:ours_startup"),
                    peers=[Side("nibabel dataobj", f"{M}:nib_startup"),
                           Side("SimpleITK", f"{M}:sitk_startup")],
                    inputs=("ct_nii",), quick=False,
                    note="import of the library plus one header read, in a fresh "
                         "process with compiled bytecode: the one-time cost every other "
                         "row leaves out (each side's factory imports and warms up on a "
                         "tiny file before the timed call)."))
    return out


CASES = _cases()
