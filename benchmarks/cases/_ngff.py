"""ngff-zarr helpers for the pyramid, out-of-core and batch cases (the peer).

:func:`same_pyramid` gives the ngff-zarr arguments that make it write the pyramid
spatial_xr writes by default for an image: the same levels (our anisotropy-aware factors,
given to ``to_multiscales`` as absolute factors per level), the same 128³ chunks and the
same compressor (Zstandard level 1, spatial_xr's ``"zstd-fast"`` default, no checksum).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["METHODS", "count_levels", "du", "level_shapes", "ngff_image", "ngff_pyramid_write",
           "same_pyramid"]

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


def same_pyramid(shape_zyx: Sequence[int], spacing_zyx: Sequence[float],
                 chunk: int = 128) -> dict[str, Any]:
    """``to_multiscales``/``to_ngff_zarr`` keyword arguments for the pyramid spatial_xr
    writes by default for an image of this shape and spacing (see the module doc)."""
    import zarr.codecs

    from spatial_xr.ops.pyramid import default_factors

    dims = ("z", "y", "x")
    steps = default_factors(dict(zip(dims, shape_zyx, strict=True)),
                            dict(zip(dims, spacing_zyx, strict=True)),
                            dict.fromkeys(dims, chunk))
    absolute, total = [], dict.fromkeys(dims, 1)
    for step in steps:
        total = {d: total[d] * step[d] for d in dims}
        absolute.append(dict(total))
    return {"scale_factors": absolute, "chunks": chunk,
            "compressors": [zarr.codecs.ZstdCodec(level=1, checksum=False)]}


def ngff_pyramid_write(image: Any, out: str, method: str,
                       same: dict[str, Any] | None = None) -> int:
    """``to_multiscales`` with ``method`` (a key of :data:`METHODS`) then ``to_ngff_zarr``
    (OME-NGFF 0.5); returns the number of levels. ``same``: the arguments of
    :func:`same_pyramid` (else ngff-zarr's defaults: its own factors, zstd level 3)."""
    import ngff_zarr as nz

    name = METHODS[method]
    kwargs: dict[str, Any] = {}
    if same is not None:
        kwargs = {"scale_factors": same["scale_factors"], "chunks": same["chunks"]}
    ms = nz.to_multiscales(image, method=None if name is None else nz.Methods[name],
                           **kwargs)
    write: dict[str, Any] = {}
    if same is not None:
        write["compressors"] = same["compressors"]
    nz.to_ngff_zarr(out, ms, version="0.5", **write)
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


def level_shapes(store: str | Path) -> str:
    """The array shapes of an OME-NGFF 0.5 store's levels, e.g. ``300×512×512, …``."""
    import json

    root = Path(store)
    attrs = json.loads((root / "zarr.json").read_text())["attributes"]
    out = []
    for ds in attrs.get("ome", attrs)["multiscales"][0]["datasets"]:
        meta = json.loads((root / ds["path"] / "zarr.json").read_text())
        out.append("×".join(map(str, meta["shape"])))
    return ", ".join(out)


def du(path: str | Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
