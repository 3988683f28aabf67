"""Imaris 5.5 (``.ims``) writing with h5py: every level, channel and time point as a
chunked, compressed HDF5 dataset, with the attributes Imaris and other readers use.

Layout and geometry are those :mod:`spatial_xr.io.imaris.layout` reads: the box
``ExtMin``–``ExtMax`` is level 0's voxel-corner box (``origin − spacing / 2`` to
``origin + (n − 1/2) · spacing``); attributes are arrays of one-byte strings, as Imaris
writes them; ``Data`` datasets are padded to whole HDF5 chunks (zeros), as Imaris pads
them, with the level's size in ``ImageSizeX/Y/Z``. Not written: histograms and the
thumbnail (``HistogramMin``/``HistogramMax`` are).
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime, timedelta
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import grid_of
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    SpatialXRWarning,
    UnitError,
    UnsupportedOptionError,
    require,
)
from spatial_xr.io.atomic import atomic_output
from spatial_xr.io.omezarr.metadata import LENGTH_UNITS, canonical_unit

__all__ = ["IMARIS_SPELLING", "write_imaris"]

IMARIS_SPELLING = {"micrometer": "um", "nanometer": "nm", "millimeter": "mm",
                   "centimeter": "cm", "meter": "m", "picometer": "pm"}
"""UDUNITS-2 names → the ``Unit`` spellings Imaris writes."""
_ORDER = ("t", "c", "z", "y", "x")
_DEFAULT_CHUNKS = (16, 128, 128)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _text(value: Any) -> np.ndarray:
    """An attribute value as Imaris stores it: an array of one-byte strings."""
    text = value if isinstance(value, str) else repr(float(value)) \
        if isinstance(value, float | np.floating) else str(value)
    return np.frombuffer(text.encode("utf-8") or b"\x00", dtype="S1").copy()


def _set(node: Any, **values: Any) -> None:
    for name, value in values.items():
        node.attrs.create(name, _text(value))


def _canonical(da: xr.DataArray) -> xr.DataArray:
    unknown = [d for d in da.dims if d not in _ORDER]
    if unknown:
        raise DimensionError(
            f"Imaris axes are t, c, z, y, x; the image has other dims {unknown}. Rename them "
            "or select one entry along them"
        )
    if "z" not in da.dims:
        da = da.expand_dims("z", axis=da.dims.index("y"))
    for d in ("t", "c"):
        if d not in da.dims:
            da = da.expand_dims(d)
    return da.transpose(*_ORDER)


def _levels(obj: xr.DataArray | xr.DataTree, pyramid: bool, levels: int | None
            ) -> list[xr.DataArray]:
    from spatial_xr.ops.pyramid import tree_levels

    if isinstance(obj, xr.DataTree):
        return list(tree_levels(obj))
    if pyramid:
        return list(tree_levels(obj.spatial.pyramid(levels=levels)))
    return [obj]


def _box(da: xr.DataArray, path: str) -> tuple[np.ndarray, np.ndarray]:
    grid = grid_of(da)
    if not np.allclose(grid.direction_xyz, np.eye(grid.ndim), atol=1e-9):
        raise GeometryError(
            f"cannot write {path!r}: Imaris files have no direction (their axes are the world "
            f"axes), and this image's direction is {grid.direction_xyz.tolist()}. Reorient "
            "axis-permuted or flipped images first (da.spatial.reorient('LPS')) or resample "
            "oblique ones onto an axis-aligned grid (da.spatial.resample)"
        )
    low = grid.origin_xyz - grid.spacing_xyz / 2
    return low, low + grid.spacing_xyz * np.asarray(grid.shape_xyz)


def _unit(da: xr.DataArray) -> str:
    unit = canonical_unit(da.coords["x"].attrs.get("units", "millimeter")) or "millimeter"
    if unit not in LENGTH_UNITS:
        raise UnitError(f"the x coordinate's unit {unit!r} is not a length unit")
    return IMARIS_SPELLING.get(unit, unit)


def _time_points(da: xr.DataArray) -> list[str]:
    start = datetime(2000, 1, 1)
    stamp = da.attrs.get("acquisition_start")
    if isinstance(stamp, str):
        for fmt in (_TIME_FORMAT, "%Y-%m-%d %H:%M:%S"):
            try:
                start = datetime.strptime(stamp, fmt)
                break
            except ValueError:
                continue
    n = da.sizes["t"]
    seconds = np.zeros(n)  # no times known: all alike, which readers take as undated
    if "t" in da.coords and np.issubdtype(da.coords["t"].dtype, np.number):
        values = np.asarray(da.coords["t"].values, np.float64)
        if da.coords["t"].attrs.get("units") == "second":
            seconds = values - values[0]
    return [(start + timedelta(seconds=float(s))).strftime(_TIME_FORMAT)[:-3] for s in seconds]


def write_imaris(
    obj: xr.DataArray | xr.DataTree,
    path: str | os.PathLike[str],
    *,
    pyramid: bool = False,
    levels: int | None = None,
    chunks: tuple[int, int, int] = _DEFAULT_CHUNKS,
    compression: str | None = "gzip",
    overwrite: bool = False,
) -> None:
    """Write an image (or a pyramid) as an Imaris 5.5 ``.ims`` file.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.DataTree
        An image with dims among ``t, c, z, y, x`` and identity direction (Imaris has no
        direction), or a pyramid DataTree (``scale0``, …) whose levels are written as its
        resolution levels.
    path : str or path-like
        Destination ``.ims`` file (written beside it and renamed when complete).
    pyramid : bool
        Build the resolution levels with ``da.spatial.pyramid(levels=levels)``.
    levels : int, optional
        Number of levels when ``pyramid`` is True (default: until a level fits a chunk).
    chunks : tuple of int
        HDF5 chunk shape ``(z, y, x)`` (clipped to each level's size).
    compression : {"gzip", None}
        HDF5 compression of the datasets.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    OverwriteError, GeometryError, DimensionError, UnitError, UnsupportedOptionError

    Warns
    -----
    SpatialXRWarning
        A coarser level does not cover level 0's box (an odd size halved), so readers that
        follow Imaris' rule (spacing = box / voxel count) place it slightly differently.
    """
    h5py = require("h5py", "imaris")
    if compression not in ("gzip", None):
        raise UnsupportedOptionError(f"compression must be 'gzip' or None, got {compression!r}")
    path = os.fspath(path)
    images = [_canonical(lv) for lv in _levels(obj, pyramid, levels)]
    first = images[0]
    low, high = _box(first, path)
    for k, lv in enumerate(images[1:], start=1):
        lo_k, hi_k = _box(lv, path)
        gap = float(np.abs(np.concatenate([lo_k - low, hi_k - high])).max())
        if gap > 1e-9 * float(np.abs(high - low).max()):
            warnings.warn(
                f"level {k} covers a box {gap:.3g} {_unit(first)} away from level 0's; Imaris "
                "derives every level's spacing from level 0's box, so it will place this "
                "level slightly differently (use sizes divisible by the pyramid factors)",
                SpatialXRWarning, stacklevel=2,
            )
    n_t, n_c = first.sizes["t"], first.sizes["c"]
    names = ([str(v) for v in first.coords["c"].values] if "c" in first.coords
             else [str(first.attrs.get("channel_name", f"Channel {c}")) for c in range(n_c)])
    with atomic_output(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        _set(f, DataSetDirectoryName="DataSet", DataSetInfoDirectoryName="DataSetInfo",
             ImarisDataSet="ImarisDataSet", ImarisVersion="5.5.0",
             ThumbnailDirectoryName="Thumbnail")
        f.attrs.create("NumberOfDataSets", np.array([1], np.uint32))
        sources, targets, regions, extrema = [], [], [], []
        for k, lv in enumerate(images):
            size = tuple(int(lv.sizes[d]) for d in ("z", "y", "x"))
            block = tuple(max(1, min(c, n)) for c, n in zip(chunks, size, strict=True))
            padded = tuple(-(-n // c) * c for n, c in zip(size, block, strict=True))
            data = lv.data if isinstance(lv.data, dsa.Array) else dsa.from_array(
                np.asarray(lv.data), chunks=(1, 1, *block))
            for t in range(n_t):
                for c in range(n_c):
                    group = f.create_group(f"DataSet/ResolutionLevel {k}/TimePoint {t}/"
                                           f"Channel {c}")
                    _set(group, ImageSizeX=size[2], ImageSizeY=size[1], ImageSizeZ=size[0])
                    ds = group.create_dataset(
                        "Data", shape=padded, dtype=lv.dtype, chunks=block,
                        compression=compression, fillvalue=0)
                    sources.append(data[t, c])
                    targets.append(ds)
                    regions.append(tuple(slice(0, n) for n in size))
                    if k == 0:
                        extrema += [data[t, c].min(), data[t, c].max()]
        stores = dsa.store(sources, targets, regions=regions, lock=True, compute=False)
        _, values = dask.compute(stores, extrema)
        for t in range(n_t):
            for c in range(n_c):
                lo, hi = values[2 * (t * n_c + c)], values[2 * (t * n_c + c) + 1]
                for k in range(len(images)):
                    _set(f[f"DataSet/ResolutionLevel {k}/TimePoint {t}/Channel {c}"],
                         HistogramMin=float(lo), HistogramMax=float(hi))
        info = f.create_group("DataSetInfo")
        nz, ny, nx = (int(first.sizes[d]) for d in ("z", "y", "x"))
        image = info.create_group("Image")
        _set(image, X=nx, Y=ny, Z=nz, Unit=_unit(first), Noc=n_c,
             Name=str(first.name or "image"), Description="written by spatial_xr",
             **{f"ExtMin{i}": float(low[i]) for i in range(3)},
             **{f"ExtMax{i}": float(high[i]) for i in range(3)})
        _set(info.create_group("ImarisDataSet"), Creator="spatial_xr", NumberOfImages=1,
             Version="5.5")
        _set(info.create_group("Imaris"), Version="5.5")
        for c in range(n_c):
            lo, hi = values[2 * c], values[2 * c + 1]
            _set(info.create_group(f"Channel {c}"), Name=names[c], Color="1.000 1.000 1.000",
                 ColorOpacity="1.000", ColorRange=f"{float(lo):.3f} {float(hi):.3f}")
        stamps = _time_points(first)
        _set(info.create_group("TimeInfo"), DatasetTimePoints=n_t, FileTimePoints=n_t,
             **{f"TimePoint{i + 1}": s for i, s in enumerate(stamps)})
