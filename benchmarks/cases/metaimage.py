"""MetaImage ``.mha``/``.mhd``: open, full read (raw and zlib), 10-slice slab.

Inputs are the benchmark CT written by SimpleITK itself (``WriteImage``; zlib at its
default level for the compressed file). Peer: SimpleITK (header-only open is
``ImageFileReader.ReadImageInformation``; full read ``ReadImage``; the slab a streamed
``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). Every side ends with a
NumPy array in z, y, x order (SimpleITK through ``GetArrayViewFromImage``, no copy); the
summary is the sum of the values, compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import checksum, reader_registered
from benchmarks.harness import Case, Side

M = "benchmarks.cases.metaimage"
SLAB = 10


def slab_range(nz: int) -> tuple[int, int]:
    """First slice and count of the slab: ``SLAB`` slices around the middle."""
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


def tiny_file(p: dict[str, Any], side: str) -> str:
    """A 4×4×4 MetaImage file like the input (same suffix and compression) for each
    side's warm-up call, written by that side (so no side imports the other's library)."""
    from pathlib import Path

    import numpy as np

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    src = Path(p["input_path"])
    with open(src, "rb") as f:
        compress = b"CompressedData = True" in f.read(2048)
    path = out / f"tiny-{side}{'-z' if compress else ''}{src.suffix}"
    zeros = np.zeros((4, 4, 4), np.int16)
    if path.exists():
        pass
    elif side == "ours":
        import spatial_xr

        spatial_xr.from_array(zeros).spatial.to_metaimage(path, compress=compress)
    else:
        import SimpleITK as sitk

        sitk.WriteImage(sitk.GetImageFromArray(zeros), str(path), useCompression=compress)
    return str(path)


# --------------------------------------------------------------------- ours
def _import_ours(p: dict[str, Any]) -> Any:
    """Import spatial_xr and read a tiny file whole and as a slab, so that one-time lazy
    imports are not counted."""
    import spatial_xr

    tiny = spatial_xr.open_image(tiny_file(p, "ours"))
    tiny.values  # noqa: B018
    tiny.isel(z=slice(1, 3)).values  # noqa: B018
    return spatial_xr


def _warm_sitk(p: dict[str, Any]) -> Any:
    """Import SimpleITK and read a tiny file whole and as an extracted slab."""
    import SimpleITK as sitk

    path = tiny_file(p, "sitk")
    sitk.ReadImage(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    reader.SetExtractIndex([0, 0, 1])
    reader.SetExtractSize([4, 4, 2])
    reader.Execute()
    return sitk


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
        z0, n = slab_range(da.sizes["z"])
        return checksum(da.isel(z=slice(z0, z0 + n)).values)

    return run


# --------------------------------------------------------------------- SimpleITK
def sitk_open(p: dict[str, Any]) -> Callable[[], Any]:
    sitk = _warm_sitk(p)

    def run() -> Any:
        reader = sitk.ImageFileReader()
        reader.SetFileName(p["input_path"])
        reader.ReadImageInformation()
        return list(reader.GetSize()[::-1])

    return run


def sitk_read(p: dict[str, Any]) -> Callable[[], Any]:
    sitk = _warm_sitk(p)

    def run() -> Any:
        img = sitk.ReadImage(p["input_path"])
        return checksum(sitk.GetArrayViewFromImage(img), keep=img)

    return run


def sitk_slab(p: dict[str, Any]) -> Callable[[], Any]:
    sitk = _warm_sitk(p)

    def run() -> Any:
        reader = sitk.ImageFileReader()
        reader.SetFileName(p["input_path"])
        reader.ReadImageInformation()
        nx, ny, nz = reader.GetSize()
        z0, n = slab_range(nz)
        reader.SetExtractIndex([0, 0, z0])
        reader.SetExtractSize([nx, ny, n])
        img = reader.Execute()
        return checksum(sitk.GetArrayViewFromImage(img), keep=img)

    return run


def _cases() -> list[Case]:
    def needs() -> str | None:
        return reader_registered("metaimage")

    peer = "SimpleITK"
    rows = [
        ("metaimage .mha open (header only)", "open", "ct_mha", peer),
        ("metaimage .mha full read", "read", "ct_mha", peer),
        ("metaimage .mha zlib full read", "read", "ct_mha_zlib", peer),
        (f"metaimage .mhd {SLAB}-slice slab", "slab", "ct_mhd", f"{peer} ImageFileReader extract"),
        (f"metaimage .mha {SLAB}-slice slab", "slab", "ct_mha", f"{peer} ImageFileReader extract"),
    ]
    return [Case(name=name, ours=Side("spatial_xr", f"{M}:ours_{op}"),
                 peers=[Side(label, f"{M}:sitk_{op}")], inputs=(inp,), requires=needs,
                 quick=inp != "ct_mha" or op != "slab")
            for name, op, inp, label in rows]


CASES = _cases()
