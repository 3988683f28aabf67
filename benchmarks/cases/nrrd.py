"""NRRD ``.nrrd`` raw and gzip (the CT written by SimpleITK): open, full read, 10-slice
slab.

Peers: SimpleITK (``ReadImage``; header-only open is ``ImageFileReader.
ReadImageInformation``; the slab is an ``ImageFileReader`` with ``SetExtractIndex``/
``SetExtractSize``) and pynrrd (``nrrd.read_header`` for the open, ``nrrd.read`` for the
full read with ``index_order="C"``; pynrrd has no partial read, so it has no slab row).
Full reads end with a NumPy array in z, y, x order for every side; the summary is the sum
of the values, compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import checksum, module_has, reader_registered
from benchmarks.harness import Case, Side

M = "benchmarks.cases.nrrd"
SLAB = 10


def _slab(nz: int) -> tuple[int, int]:
    """First slice and count of the slab: ``SLAB`` slices around the middle."""
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 NRRD file with the input's encoding, for each side's warm-up call."""
    from pathlib import Path

    import numpy as np
    import SimpleITK as sitk

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    gz = p["input_path"].endswith("_gz.nrrd")
    path = out / f"tiny{'_gz' if gz else ''}.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 4, 4), np.int16)), str(path),
                    useCompression=gz)
    return str(path)


def _requires() -> str | None:
    return reader_registered("nrrd") or module_has("nrrd", "read_header", "read")


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


# --------------------------------------------------------------------- pynrrd
def pynrrd_open(p: dict[str, Any]) -> Callable[[], Any]:
    import nrrd

    nrrd.read(_tiny(p))

    def run() -> Any:
        return [int(v) for v in nrrd.read_header(p["input_path"])["sizes"][::-1]]

    return run


def pynrrd_read(p: dict[str, Any]) -> Callable[[], Any]:
    import nrrd

    nrrd.read(_tiny(p))

    def run() -> Any:
        data, _ = nrrd.read(p["input_path"], index_order="C")
        return checksum(data)

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
    for label, inp in (("raw", "ct_nrrd"), ("gzip", "ct_nrrd_gz")):
        for op, what in (("open", "open (header only)"), ("read", "full read"),
                         ("slab", f"{SLAB}-slice slab")):
            peers = [Side("SimpleITK", f"{M}:sitk_{op}")]
            if op != "slab":
                peers.append(Side("pynrrd", f"{M}:pynrrd_{op}"))
            out.append(Case(name=f"nrrd {label} .nrrd {what}",
                            ours=Side("spatial_xr", f"{M}:ours_{op}"), peers=peers,
                            inputs=(inp,), requires=_requires, quick=label == "raw"))
    return out


CASES = _cases()
