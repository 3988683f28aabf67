"""Pyramidal OME-TIFF: open, full read and a 512² tile of level 0, and the pyramid write.

Input: a tiled (256²), zlib-compressed OME-TIFF with 3 SubIFD levels, uint16, written by
tifffile (``benchmarks.inputs``: 32768² = 2 GiB in the full profile, 8192² = 128 MiB in
``--quick``). Peers: tifffile (``imread``; ``aszarr`` store + ``zarr.open``, the path our
reader uses) and bioio with its OME-TIFF plugin. Full reads end with a NumPy array of
level 0; tile reads open the file and read a 512 × 512 box that straddles tile borders.
The write rows start from level 0 in memory (read in the setup) and end with a tiled,
zlib, 3-level SubIFD OME-TIFF: ``da.spatial.to_ome_tiff`` against tifffile's own writer
given levels from 2 × 2 block means computed with NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum, reader_registered, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.tiff"
TILE = 512


def _available() -> str | None:
    return reader_registered("tiff")


def _box(shape: tuple[int, ...]) -> tuple[slice, slice]:
    """A 512² box near the centre, straddling tile borders (3 × 3 tiles of 256²)."""
    ny, nx = shape[-2:]
    y0 = max(0, min(ny - TILE, ny // 2 - TILE // 2 + 128))
    x0 = max(0, min(nx - TILE, nx // 2 - TILE // 2 + 128))
    return slice(y0, y0 + TILE), slice(x0, x0 + TILE)


def _warm_tiff(p: dict[str, Any]) -> str:
    """A tiny OME-TIFF for warm-up calls (one-time imports are not timed)."""
    import numpy as np
    import tifffile

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "warm.ome.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint16), tile=(32, 32), compression="zlib",
                     metadata={"axes": "YX", "PhysicalSizeX": 1.0})
    return str(path)


# --------------------------------------------------------------------- spatial_xr
def _ours(p: dict[str, Any]) -> Any:
    spatial_xr = warm_spatial_xr(p)
    spatial_xr.open_image(_warm_tiff(p)).values  # noqa: B018
    return spatial_xr


def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _ours(p)
    return lambda: list(spatial_xr.open_image(p["input_path"]).shape)


def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _ours(p)

    def run() -> Any:
        return checksum(spatial_xr.open_image(p["input_path"]).values)

    return run


def ours_tile(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _ours(p)

    def run() -> Any:
        da = spatial_xr.open_image(p["input_path"])
        ys, xs = _box(da.shape)
        return checksum(da.isel(y=ys, x=xs).values)

    return run


def ours_write(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _ours(p)
    import tifffile

    arr = tifffile.imread(p["input_path"])
    da = spatial_xr.from_array(arr, spacing=0.325, units="micrometer")
    out = Path(p["out_dir"]) / "ours.ome.tif"
    small = da.isel(y=slice(0, 64), x=slice(0, 64))
    small.spatial.to_ome_tiff(Path(p["out_dir"]) / "warm-out.ome.tif", overwrite=True)

    def run() -> Any:
        da.spatial.to_ome_tiff(out, levels=3, overwrite=True)
        return {"summary": None, "extra": _written(out)}

    return run


def _written(path: Path) -> Callable[[], dict[str, str]]:
    def note() -> dict[str, str]:
        import tifffile

        with tifffile.TiffFile(path) as tf:
            shapes = [lv.shape for lv in tf.series[0].levels]
        return {"note": f"levels {shapes}; {path.stat().st_size / 2**20:.0f} MiB"}

    return note


# --------------------------------------------------------------------- tifffile
def tifffile_open(p: dict[str, Any]) -> Callable[[], Any]:
    import tifffile

    tifffile.imread(_warm_tiff(p))

    def run() -> Any:
        with tifffile.TiffFile(p["input_path"]) as tf:
            return list(tf.series[0].shape)

    return run


def tifffile_read(p: dict[str, Any]) -> Callable[[], Any]:
    import tifffile

    tifffile.imread(_warm_tiff(p))
    return lambda: checksum(tifffile.imread(p["input_path"]))


def _zarr_level(path: str) -> Any:
    import tifffile
    import zarr

    store = tifffile.imread(path, aszarr=True, level=0)
    return store, zarr.open_array(store, mode="r")


def aszarr_open(p: dict[str, Any]) -> Callable[[], Any]:
    _zarr_level(_warm_tiff(p))[0].close()

    def run() -> Any:
        store, arr = _zarr_level(p["input_path"])
        store.close()
        return list(arr.shape)

    return run


def aszarr_read(p: dict[str, Any]) -> Callable[[], Any]:
    _zarr_level(_warm_tiff(p))[0].close()

    def run() -> Any:
        store, arr = _zarr_level(p["input_path"])
        out = arr[:]
        store.close()
        return checksum(out)

    return run


def aszarr_tile(p: dict[str, Any]) -> Callable[[], Any]:
    _zarr_level(_warm_tiff(p))[0].close()

    def run() -> Any:
        store, arr = _zarr_level(p["input_path"])
        out = arr[_box(arr.shape)]
        store.close()
        return checksum(out)

    return run


def tifffile_write(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np
    import tifffile

    arr = tifffile.imread(p["input_path"])
    out = Path(p["out_dir"]) / "tifffile.ome.tif"
    out.parent.mkdir(parents=True, exist_ok=True)

    def mean2(a: Any) -> Any:
        a = a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2].astype(np.uint32)
        total = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
        return ((total + 2) // 4).astype(np.uint16)

    def run() -> Any:
        md = {"axes": "YX", "PhysicalSizeX": 0.325, "PhysicalSizeXUnit": "µm",
              "PhysicalSizeY": 0.325, "PhysicalSizeYUnit": "µm"}
        opts = dict(tile=(256, 256), compression="zlib", photometric="minisblack")
        with tifffile.TiffWriter(out, bigtiff=arr.nbytes > 2**31, ome=True) as tw:
            tw.write(arr, subifds=2, metadata=md, **opts)
            level = arr
            for _ in range(2):
                level = mean2(level)
                tw.write(level, subfiletype=1, **opts)
        return {"summary": None, "extra": _written(out)}

    return run


# --------------------------------------------------------------------- bioio
def _bioio(path: str) -> Any:
    import bioio_ome_tiff
    from bioio import BioImage

    return BioImage(path, reader=bioio_ome_tiff.Reader)


def bioio_open(p: dict[str, Any]) -> Callable[[], Any]:
    _bioio(_warm_tiff(p)).get_image_data("YX")
    return lambda: list(_bioio(p["input_path"]).shape)


def bioio_read(p: dict[str, Any]) -> Callable[[], Any]:
    _bioio(_warm_tiff(p)).get_image_data("YX")
    return lambda: checksum(_bioio(p["input_path"]).get_image_data("YX"))


def bioio_tile(p: dict[str, Any]) -> Callable[[], Any]:
    _bioio(_warm_tiff(p)).get_image_data("YX")

    def run() -> Any:
        lazy = _bioio(p["input_path"]).get_image_dask_data("YX")
        return checksum(lazy[_box(lazy.shape)].compute())

    return run


_PEERS = {
    "open": [("tifffile TiffFile", "tifffile_open"), ("tifffile aszarr + zarr", "aszarr_open"),
             ("bioio", "bioio_open")],
    "read": [("tifffile imread", "tifffile_read"), ("tifffile aszarr + zarr", "aszarr_read"),
             ("bioio", "bioio_read")],
    "tile": [("tifffile aszarr + zarr", "aszarr_tile"), ("bioio", "bioio_tile")],
}
CASES = [
    Case(f"OME-TIFF pyramid: {what}", Side("spatial_xr", f"{M}:ours_{what}"),
         peers=[Side(label, f"{M}:{func}") for label, func in peers],
         inputs=("tiff_pyramid",), requires=_available,
         note="level 0 of a tiled zlib OME-TIFF (3 SubIFD levels), uint16"
         if what != "tile" else "a 512 × 512 box of level 0 (9 tiles of 256²), file opened "
                                "in run()")
    for what, peers in _PEERS.items()
] + [
    Case("OME-TIFF pyramid: write 3 levels", Side("spatial_xr", f"{M}:ours_write"),
         peers=[Side("tifffile TiffWriter", f"{M}:tifffile_write")],
         inputs=("tiff_pyramid",), requires=_available,
         note="from level 0 in memory; tiled 256², zlib, SubIFDs, 2 × 2 block means"),
]
