"""Imaris ``.ims`` and zipped OME-Zarr ``.ozx``: open, full read, 10-slice slab of the
benchmark CT (converted once from ``ct.nii``, outside the timed call).

Peers: for Imaris, h5py reading the level-0 ``Data`` dataset directly (cropped to the
image size) and imaris-ims-file-reader (``ims(path)[0, 0, …]``); for ``.ozx``, zarr's own
``ZipStore`` with ``zarr.open_array`` and ngff-zarr's RFC-9 reader
(``from_ngff_zarr(path).images[0].data``). Every full read ends with a NumPy array in
z, y, x order; the summary is the sum of the values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum, module_has, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.imaris_ozx"
SLAB = 10
IMS_CHUNKS = (16, 128, 128)


def _converted(p: dict[str, Any], suffix: str) -> str:
    """``ct.ims`` / ``ct.ozx`` beside the NIfTI input, written once from it."""
    src = Path(p["input_path"])
    dest = src.with_name(f"{src.name.split('.')[0]}{suffix}")
    if not dest.exists():
        import spatial_xr

        da = spatial_xr.open_image(src).compute()
        if suffix == ".ims":
            da.spatial.to_imaris(dest, chunks=IMS_CHUNKS)
        else:
            da.spatial.to_ozx(dest, pyramid=False)
    return str(dest)


def _slab(nz: int) -> tuple[int, int]:
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


# --------------------------------------------------------------------- ours
def ours(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    path = _converted(p, p["suffix"])
    spatial_xr.open_image(path).isel(z=0, y=0, x=slice(0, 2)).values  # noqa: B018

    def run() -> Any:
        da = spatial_xr.open_image(path)
        if p["op"] == "open":
            return list(da.shape)
        if p["op"] == "slab":
            z0, n = _slab(da.sizes["z"])
            return checksum(da.isel(z=slice(z0, z0 + n)).values)
        arr = da.values
        return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

    return run


# --------------------------------------------------------------------- Imaris peers
def h5py_side(p: dict[str, Any]) -> Callable[[], Any]:
    import h5py

    path = _converted(p, ".ims")
    where = "DataSet/ResolutionLevel 0/TimePoint 0/Channel 0"

    def run() -> Any:
        with h5py.File(path, "r") as f:
            group = f[where]
            size = [int(b"".join(group.attrs[f"ImageSize{a}"]).decode()) for a in "ZYX"]
            if p["op"] == "open":
                return size
            data = group["Data"]
            if p["op"] == "slab":
                z0, n = _slab(size[0])
                return checksum(data[z0:z0 + n, :size[1], :size[2]])
            return checksum(data[:size[0], :size[1], :size[2]])

    return run


def ims_reader_side(p: dict[str, Any]) -> Callable[[], Any]:
    from imaris_ims_file_reader.ims import ims

    path = _converted(p, ".ims")

    def run() -> Any:
        reader = ims(path, squeeze_output=False)
        if p["op"] == "open":
            return list(reader.shape[2:])
        if p["op"] == "slab":
            z0, n = _slab(reader.shape[2])
            return checksum(reader[0, 0, z0:z0 + n, :, :][0, 0], keep=reader)
        return checksum(reader[0, 0, :, :, :][0, 0], keep=reader)

    return run


# --------------------------------------------------------------------- .ozx peers
def zipstore_side(p: dict[str, Any]) -> Callable[[], Any]:
    import zarr

    path = _converted(p, ".ozx")

    def run() -> Any:
        store = zarr.storage.ZipStore(path, mode="r")
        arr = zarr.open_array(store, path="scale0/image", mode="r")
        if p["op"] == "open":
            return list(arr.shape)
        if p["op"] == "slab":
            z0, n = _slab(arr.shape[0])
            return checksum(arr[z0:z0 + n])
        return checksum(arr[...])

    return run


def ngff_zarr_side(p: dict[str, Any]) -> Callable[[], Any]:
    import ngff_zarr

    path = _converted(p, ".ozx")

    def run() -> Any:
        data = ngff_zarr.from_ngff_zarr(path).images[0].data
        if p["op"] == "open":
            return list(data.shape)
        if p["op"] == "slab":
            z0, n = _slab(data.shape[0])
            return checksum(data[z0:z0 + n].compute())
        return checksum(data.compute())

    return run


def _cases() -> list[Case]:
    out = []
    ops = (("open", "open (metadata only)"), ("read", "full read"),
           ("slab", f"{SLAB}-slice slab"))
    for op, what in ops:
        out.append(Case(
            name=f"imaris .ims {what}",
            ours=Side("spatial_xr", f"{M}:ours", {"suffix": ".ims", "op": op}),
            peers=[Side("h5py", f"{M}:h5py_side", {"op": op}),
                   Side("imaris-ims-file-reader", f"{M}:ims_reader_side", {"op": op})],
            inputs=("ct_nii",), requires=lambda: module_has("h5py", "File"),
            note="" if op != "open" else
            "the CT as Imaris 5.5 (gzip, 16x128x128 HDF5 chunks, written once from ct.nii)"))
    for op, what in ops:
        out.append(Case(
            name=f"ozx {what}",
            ours=Side("spatial_xr", f"{M}:ours", {"suffix": ".ozx", "op": op}),
            peers=[Side("zarr ZipStore", f"{M}:zipstore_side", {"op": op}),
                   Side("ngff-zarr", f"{M}:ngff_zarr_side", {"op": op})],
            inputs=("ct_nii",),
            note="" if op != "open" else
            "the CT as zipped OME-Zarr 0.5 (one level, 128³ zstd chunks, stored ZIP entries)"))
    return out


CASES = _cases()
