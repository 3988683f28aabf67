"""ngff-zarr helpers for the pyramid, out-of-core and batch cases (the peer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["METHODS", "count_levels", "ngff_image", "ngff_pyramid_write"]

METHODS = {"default": None, "dask_bin_shrink": "DASK_BIN_SHRINK",
           "itkwasm_bin_shrink": "ITKWASM_BIN_SHRINK"}


def ngff_image(arr: Any, spacing_zyx: Any, origin_zyx: Any) -> Any:
    """An ``NgffImage`` of a (z, y, x) array with the given spacing and translation."""
    import ngff_zarr as nz

    dims = ["z", "y", "x"]
    return nz.to_ngff_image(
        arr, dims=dims,
        scale={d: float(s) for d, s in zip(dims, spacing_zyx, strict=True)},
        translation={d: float(o) for d, o in zip(dims, origin_zyx, strict=True)},
        axes_units=dict.fromkeys(dims, "millimeter"))


def ngff_pyramid_write(image: Any, out: str, method: str) -> int:
    """``to_multiscales`` with ``method`` (a key of :data:`METHODS`) and its default scale
    factors, then ``to_ngff_zarr`` (OME-NGFF 0.5); returns the number of levels."""
    import ngff_zarr as nz

    name = METHODS[method]
    ms = nz.to_multiscales(image, method=None if name is None else nz.Methods[name])
    nz.to_ngff_zarr(out, ms, version="0.5")
    return len(ms.images)


def count_levels(store: str | Path) -> int:
    """Number of multiscale levels an OME-Zarr store's metadata lists."""
    import json

    root = Path(store)
    meta = root / "zarr.json"
    if meta.exists():
        attrs = json.loads(meta.read_text()).get("attributes", {})
        ms = attrs.get("ome", attrs).get("multiscales", [{}])
    else:
        ms = json.loads((root / ".zattrs").read_text()).get("multiscales", [{}])
    return len(ms[0].get("datasets", []))


def du(path: str | Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
