"""OME-TIFF and TIFF-stack writing, streamed tile by tile.

:func:`to_ome_tiff` writes a tiled, compressed OME-TIFF whose pyramid levels are SubIFDs of
each plane (the OME-TIFF 6 layout that Bio-Formats, QuPath, napari-ome-zarr's readers and
tifffile read), with OME-XML holding the physical sizes and units, the plane positions
(the origin), the time increment and the channel names. The image is computed in bands
of whole tile rows (at most ``band_bytes`` each) and handed to tifffile as an iterator of
tiles, so a dask-backed image is never held in memory whole. Level ``k + 1`` is reduced
from each band of level ``k`` as it is written (2 × 2 blocks in ``y`` and ``x``: OME-TIFF
sub-resolutions keep every plane, so ``z`` is not reduced) into a scratch file beside the
output, then streamed from there: one pass over the image, memory bounded by a band.
The reduction is :func:`spatial_xr.ops.pyramid.downsample`, so the levels equal those of
``da.spatial.pyramid(factors={"y": 2, "x": 2})`` voxel for voxel.

Output is written beside the destination and renamed into place when complete
(:func:`spatial_xr.io.atomic.atomic_output`); nothing is overwritten without
``overwrite=True``.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    UnitError,
    UnsupportedOptionError,
    require,
)
from spatial_xr.io.atomic import atomic_output
from spatial_xr.io.omezarr.metadata import LENGTH_UNITS
from spatial_xr.io.tiff.detect import TIFF_EXTENSIONS
from spatial_xr.io.units import PIXEL, length_unit
from spatial_xr.ops.pyramid import downsample, tree_levels
from spatial_xr.ops.pyramid_plan import LABEL_SAFE_METHODS as LABEL_METHODS

__all__ = ["BAND_BYTES", "BIGTIFF_BYTES", "to_ome_tiff", "to_tiff_stack", "write_tiff"]

BAND_BYTES = 64 << 20
"""Most bytes of a band of whole tile rows computed at once by the writers."""
BIGTIFF_BYTES = 2 << 30
"""Uncompressed size (all levels) from which :func:`to_ome_tiff` writes BigTIFF: classic
TIFF addresses 4 GiB, and compressed tiles can exceed their raw size a little."""

_OME_UNITS = {
    "micrometer": "µm", "nanometer": "nm", "millimeter": "mm", "centimeter": "cm",
    "decimeter": "dm", "meter": "m", "kilometer": "km", "picometer": "pm",
    "femtometer": "fm", "angstrom": "Å", "inch": "in", "foot": "ft", "yard": "yd",
    "mile": "mi", PIXEL: "pixel",
}
_OME_TIME_UNITS = {"second": "s", "millisecond": "ms", "microsecond": "µs",
                   "nanosecond": "ns", "minute": "min", "hour": "h"}
_OME_DTYPES = ("int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64",
               "complex64", "complex128")
_ORDER = ("t", "c", "z", "y", "x")
_BLOCK_METHODS = ("mean", "mode", "nearest")


# ---------------------------------------------------------------------- checks
def _canonical(da: xr.DataArray, what: str) -> xr.DataArray:
    unknown = [d for d in da.dims if d not in _ORDER]
    if unknown:
        raise DimensionError(
            f"{what} holds dims t, c, z, y, x; the image has other dims {unknown}. Rename "
            "them (e.g. da.rename(band='c')) or select one entry along them."
        )
    spatial_dims(da)
    return da.transpose(*[d for d in _ORDER if d in da.dims])


def _check_direction(da: xr.DataArray) -> None:
    d = grid_of(da).direction_xyz
    if not np.allclose(d, np.eye(len(d)), atol=1e-9):
        raise GeometryError(
            "OME-TIFF stores no direction: the image's direction is not the identity "
            f"(orientation {grid_of(da).orientation}); write da.spatial.reorient('LPS') "
            "for a signed permutation, or resample onto an axis-aligned grid first"
        )


def _unit(da: xr.DataArray, d: str) -> str:
    raw = da.coords[d].attrs.get("units", "millimeter") if d in da.coords else "millimeter"
    unit = length_unit(raw)
    if unit not in _OME_UNITS:
        raise UnitError(
            f"the {d!r} coordinate is in {raw!r}, which OME-XML cannot name; convert the "
            f"image to one of {sorted(_OME_UNITS)}"
        )
    return unit


def _tile(tile: Any) -> tuple[int, int]:
    t = (int(tile), int(tile)) if isinstance(tile, int | np.integer) else tuple(map(int, tile))
    if len(t) != 2 or any(v < 16 or v % 16 for v in t):
        raise UnsupportedOptionError(
            f"tile must be (rows, columns), each a multiple of 16 (TIFF's rule), got {tile!r}"
        )
    return t


# ---------------------------------------------------------------------- metadata
def _ome_metadata(da: xr.DataArray, name: str | None) -> dict[str, Any]:
    grid = grid_of(da)
    by_axis = dict(zip(grid.axes, zip(grid.spacing_xyz, grid.origin_xyz, strict=True),
                       strict=True))
    md: dict[str, Any] = {"axes": "".join(str(d).upper() for d in da.dims)}
    if name:
        md["Name"] = name
    units = {}
    for d, (spacing, _) in by_axis.items():
        units[d] = _unit(da, d)
        md[f"PhysicalSize{d.upper()}"] = float(spacing)
        md[f"PhysicalSize{d.upper()}Unit"] = _OME_UNITS[units[d]]
    lead = [d for d in da.dims if d not in ("y", "x")]
    n_planes = math.prod(da.sizes[d] for d in lead)
    if units and all(u in LENGTH_UNITS for u in units.values()):
        plane: dict[str, list[Any]] = {}
        index = np.unravel_index(np.arange(n_planes), [da.sizes[d] for d in lead]) \
            if lead else ()
        for d, (spacing, origin) in by_axis.items():
            if d == "z":
                zi = index[lead.index("z")]
                values = (origin + spacing * np.asarray(zi, np.float64)).tolist()
            else:
                values = [float(origin)] * n_planes
            plane[f"Position{d.upper()}"] = values
            plane[f"Position{d.upper()}Unit"] = [_OME_UNITS[units[d]]] * n_planes
        md["Plane"] = plane
    if "t" in da.dims and "t" in da.coords and np.issubdtype(da.coords["t"].dtype, np.number):
        v = np.asarray(da.coords["t"].values, np.float64)
        if v.size > 1 and np.allclose(np.diff(v), v[1] - v[0], rtol=1e-6) and v[1] > v[0]:
            md["TimeIncrement"] = float(v[1] - v[0])
            tu = _OME_TIME_UNITS.get(str(da.coords["t"].attrs.get("units", "second")))
            if tu:
                md["TimeIncrementUnit"] = tu
    if "c" in da.dims and "c" in da.coords and da.coords["c"].dtype.kind in "UO":
        md["Channel"] = {"Name": [str(v) for v in da.coords["c"].values]}
    return md


# ---------------------------------------------------------------------- streaming
def _compute(block: Any) -> np.ndarray:
    if isinstance(block, dsa.Array):
        return np.asarray(block.compute())
    return np.asarray(block)


def _bands(data: Any, tile_rows: int, band_bytes: int) -> Iterator[tuple[tuple[int, ...],
                                                                          int, np.ndarray]]:
    """``(plane index, first row, rows × columns block)`` in page order, each block whole
    tile rows of one plane; planes along the last leading axis are computed together when
    they fit in ``band_bytes`` (one computation per group, not per plane)."""
    lead, (ny, nx) = tuple(data.shape[:-2]), data.shape[-2:]
    row_bytes = nx * data.dtype.itemsize
    plane_bytes = ny * row_bytes
    if lead and plane_bytes <= band_bytes:
        k = max(1, min(lead[-1], band_bytes // max(1, plane_bytes)))
        for outer in np.ndindex(*lead[:-1]):
            for z0 in range(0, lead[-1], k):
                block = _compute(data[(*outer, slice(z0, z0 + k))])
                for i in range(block.shape[0]):
                    yield (*outer, z0 + i), 0, block[i]
        return
    rows = max(tile_rows, (band_bytes // max(1, row_bytes)) // tile_rows * tile_rows)
    for idx in np.ndindex(*lead):
        for y0 in range(0, ny, rows):
            yield idx, y0, _compute(data[(*idx, slice(y0, y0 + rows))])


def _reduce(band: np.ndarray, method: str) -> np.ndarray:
    """2 × 2 blocks of a band (trailing odd row/column dropped), as ``downsample`` does."""
    band = band[: band.shape[0] // 2 * 2, : band.shape[1] // 2 * 2]
    if band.size == 0:
        return band[: band.shape[0] // 2, : band.shape[1] // 2]
    small = downsample(xr.DataArray(band, dims=("y", "x")), {"y": 2, "x": 2}, method)
    return np.asarray(small.data.compute(scheduler="synchronous")
                      if isinstance(small.data, dsa.Array) else small.data)


class _Level:
    """Tiles of one level, in page order, reducing each band into the next level."""

    def __init__(self, data: Any, tile: tuple[int, int], band_bytes: int,
                 nxt: np.ndarray | None, method: str) -> None:
        self.data, self.tile, self.band_bytes = data, tile, band_bytes
        self.next, self.method = nxt, method

    def tiles(self) -> Iterator[np.ndarray]:
        th, tw = self.tile
        for idx, y0, band in _bands(self.data, th, self.band_bytes):
            if self.next is not None:
                small = _reduce(band, self.method)
                r0 = y0 // 2
                key: tuple[Any, ...] = (*idx, slice(r0, r0 + small.shape[0]))
                self.next[key] = small
            for ty in range(0, band.shape[0], th):
                for tx in range(0, band.shape[1], tw):
                    yield band[ty:ty + th, tx:tx + tw]


def _pyramid_shapes(shape: tuple[int, ...], tile: tuple[int, int],
                    levels: int | None) -> list[tuple[int, ...]]:
    shapes = [tuple(shape)]
    while True:
        ny, nx = shapes[-1][-2:]
        if levels is not None:
            if len(shapes) >= levels:
                break
        elif ny <= tile[0] and nx <= tile[1]:
            break
        if ny < 2 or nx < 2:
            if levels is not None:
                raise UnsupportedOptionError(
                    f"levels={levels} is too many: level {len(shapes) - 1} is already "
                    f"{ny} × {nx} pixels"
                )
            break
        shapes.append((*shape[:-2], ny // 2, nx // 2))
    return shapes


def _given_levels(tree: xr.DataTree, da0: xr.DataArray) -> list[xr.DataArray]:
    levels = [_canonical(lv, "OME-TIFF") for lv in tree_levels(tree)]
    for k, lv in enumerate(levels):
        if lv.dims != levels[0].dims or any(lv.sizes[d] != levels[0].sizes[d]
                                            for d in lv.dims if d not in ("y", "x")):
            raise DimensionError(
                f"OME-TIFF sub-resolutions reduce y and x only; level {k} has sizes "
                f"{dict(lv.sizes)} but level 0 {dict(levels[0].sizes)} — build the pyramid "
                "with factors={'y': 2, 'x': 2}"
            )
    if dict(levels[0].sizes) != dict(da0.sizes):
        raise DimensionError(
            f"pyramid level 0 has sizes {dict(levels[0].sizes)} but the image has "
            f"{dict(da0.sizes)}; pass the pyramid built from this image"
        )
    return levels


def to_ome_tiff(
    obj: xr.DataArray | xr.DataTree,
    path: str | os.PathLike[str],
    *,
    tile: int | tuple[int, int] = (256, 256),
    compression: str | None = "zlib",
    pyramid: bool | xr.DataTree = True,
    levels: int | None = None,
    method: str | None = None,
    label: bool | None = None,
    bigtiff: bool | None = None,
    name: str | None = None,
    overwrite: bool = False,
    band_bytes: int = BAND_BYTES,
) -> None:
    """Write an image (or a pyramid) as a tiled, compressed, pyramidal OME-TIFF.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.DataTree
        Image with dims among ``t, c, z, y, x`` and identity direction, or a pyramid
        DataTree (``scale0``, … reducing ``y`` and ``x`` only).
    path : str or path-like
        Destination file (``.ome.tif``).
    tile : int or (int, int)
        Tile rows and columns, multiples of 16.
    compression : str or None
        tifffile compression name (``"zlib"``, ``"zstd"``, ``"lzw"``, ``"jpeg"``, …) or
        None. zlib is readable everywhere.
    pyramid : bool or xarray.DataTree
        ``True``: SubIFD levels by 2 × 2 reduction until a level fits in one tile (or
        ``levels`` in total); ``False``: one level; a DataTree: write its levels.
    levels : int, optional
        Total number of levels including level 0.
    method : {"mean", "mode", "nearest"}, optional
        Reduction; default ``"mean"``, or ``"mode"`` for label images.
    label : bool, optional
        Label image (never averaged); default ``attrs["kind"] == "label"`` or
        ``attrs["label"]``.
    bigtiff : bool, optional
        Default: BigTIFF when the uncompressed levels exceed :data:`BIGTIFF_BYTES`.
    name : str, optional
        ``Image/@Name`` (default the DataArray's name).
    overwrite : bool
        Replace an existing file (only once the new one is complete).
    band_bytes : int
        Most bytes computed at once (whole tile rows of a plane).

    Raises
    ------
    OverwriteError
        The destination exists and ``overwrite`` is False (nothing is written).
    GeometryError
        The direction is not the identity (OME-TIFF cannot store it).
    DimensionError, UnitError, UnsupportedOptionError
    """
    tifffile = require("tifffile", "tiff")
    th, tw = _tile(tile)
    given: list[xr.DataArray] | None = None
    if isinstance(obj, xr.DataTree):
        given = _given_levels(obj, tree_levels(obj)[0])
        da = given[0]
    else:
        da = _canonical(obj, "OME-TIFF")
        if isinstance(pyramid, xr.DataTree):
            given = _given_levels(pyramid, da)
    _check_direction(da)
    if str(da.dtype) not in _OME_DTYPES:
        raise UnsupportedOptionError(
            f"OME-TIFF pixel types are {', '.join(_OME_DTYPES)}; the image is {da.dtype} — "
            "cast it, e.g. da.astype('float64')"
        )
    is_label = (da.attrs.get("kind") == "label" or bool(da.attrs.get("label", False))) \
        if label is None else bool(label)
    method = method or ("mode" if is_label else "mean")
    if method not in _BLOCK_METHODS or (is_label and method not in LABEL_METHODS):
        raise UnsupportedOptionError(
            f"method={method!r}: the OME-TIFF writer reduces blocks with "
            f"{', '.join(_BLOCK_METHODS)} ({', '.join(LABEL_METHODS)} for labels); for "
            "another method pass pyramid=da.spatial.pyramid(factors={'y': 2, 'x': 2}, ...)"
        )
    if given is not None:
        shapes = [tuple(lv.shape) for lv in given]
    else:
        shapes = _pyramid_shapes(tuple(da.shape), (th, tw), levels if pyramid else 1)
    metadata = _ome_metadata(da, name or (str(da.name) if da.name is not None else None))
    total = sum(math.prod(s) for s in shapes) * da.dtype.itemsize
    big = total > BIGTIFF_BYTES if bigtiff is None else bool(bigtiff)
    options = dict(tile=(th, tw), compression=compression, photometric="minisblack",
                   dtype=da.dtype)
    with atomic_output(path, overwrite=overwrite) as tmp, \
            tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(tmp)),
                                        prefix=".tiff-levels-") as scratch, \
            tifffile.TiffWriter(tmp, bigtiff=big, ome=True) as writer:
        source: Any = da.data
        for k, shape in enumerate(shapes):
            if given is not None:
                source, nxt = given[k].data, None
            elif k + 1 < len(shapes):  # the next level, reduced band by band, on disk
                nxt = np.lib.format.open_memmap(
                    os.path.join(scratch, f"level{k + 1}.npy"), mode="w+",
                    dtype=da.dtype, shape=shapes[k + 1])
            else:
                nxt = None
            level = _Level(source, (th, tw), band_bytes, nxt, method)
            extra = (dict(subifds=len(shapes) - 1, metadata=metadata) if k == 0
                     else dict(subfiletype=1, metadata=None))
            try:
                writer.write(level.tiles(), shape=shape, **options, **extra)
            except (ValueError, KeyError, NotImplementedError) as exc:
                raise UnsupportedOptionError(
                    f"tifffile refused to write level {k} ({type(exc).__name__}: {exc}); "
                    f"check compression={compression!r} and the dtype {da.dtype}"
                ) from exc
            if nxt is not None:
                nxt.flush()
                source = nxt


def to_tiff_stack(
    da: xr.DataArray,
    folder: str | os.PathLike[str],
    *,
    prefix: str = "z",
    compression: str | None = "zlib",
    overwrite: bool = False,
) -> None:
    """Write a 3-D image as a folder of 2-D TIFF files, one per ``z`` (``z0000.tif``, …).

    Each file is an OME-TIFF of one plane with the physical sizes (x, y and z) and its
    plane position, so the folder opens again as the same volume with
    ``open_image(folder)``. Files are computed and written one plane at a time; the folder
    is written beside its destination and renamed into place when complete.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims ``z, y, x`` (optionally ``c`` first) and identity direction.
    folder : str or path-like
        Destination folder.
    prefix : str
        File name prefix; names are ``{prefix}{index:0Nd}.tif`` with enough digits.
    compression : str or None
        tifffile compression name, or None.
    overwrite : bool
        Replace an existing folder (only once the new one is complete).

    Raises
    ------
    OverwriteError, DimensionError, GeometryError, UnitError
    """
    tifffile = require("tifffile", "tiff")
    da = _canonical(da, "a TIFF stack")
    if "z" not in da.dims or "t" in da.dims:
        raise DimensionError(
            f"a TIFF stack is one file per z of a 3-D image; the image has dims {da.dims} "
            "(select one t, or write a 2-D image with to_ome_tiff)"
        )
    _check_direction(da)
    if str(da.dtype) not in _OME_DTYPES:
        raise UnsupportedOptionError(f"TIFF stacks hold {', '.join(_OME_DTYPES)}, not {da.dtype}")
    nz = da.sizes["z"]
    digits = max(4, len(str(nz - 1)))
    with atomic_output(folder, overwrite=overwrite) as tmp:
        os.makedirs(tmp)
        for z in range(nz):
            plane = da.isel(z=slice(z, z + 1))  # keeps z: its spacing and position
            tifffile.imwrite(os.path.join(tmp, f"{prefix}{z:0{digits}d}.tif"),
                             _compute(plane.data), ome=True, photometric="minisblack",
                             compression=compression, metadata=_ome_metadata(plane, None))


def write_tiff(da: xr.DataArray | xr.DataTree, path: str | os.PathLike[str], *,
               overwrite: bool = False, **options: Any) -> None:
    """The registry's writer: :func:`to_ome_tiff` for a name with a TIFF extension,
    :func:`to_tiff_stack` for any other (a folder)."""
    if os.fspath(path).lower().rstrip("/\\").endswith(TIFF_EXTENSIONS):
        to_ome_tiff(da, path, overwrite=overwrite, **options)
    elif isinstance(da, xr.DataTree):
        raise DimensionError(
            "a pyramid is written as one OME-TIFF file: name the destination *.ome.tif"
        )
    else:
        to_tiff_stack(da, path, overwrite=overwrite, **options)
