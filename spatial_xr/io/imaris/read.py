"""Lazy Imaris (``.ims``) reading: one resolution level as a DataArray, or every level
as a DataTree with the node layout of OME-Zarr pyramids (``scale0``, ``scale1``, …).

Opening reads the HDF5 metadata only (:func:`~spatial_xr.io.imaris.layout.read_layout`);
voxels are read per dask chunk through :class:`~spatial_xr.io.imaris.lazy.ImarisArray`,
whose chunks are whole HDF5 chunks, so a computation reads only the chunks it touches.

**Geometry.** Imaris stores the box ``ExtMin``–``ExtMax`` (x, y, z) of the voxels'
*corners*, the same for every level. A level of ``n`` voxels along an axis has spacing
``(ExtMax − ExtMin) / n``; the contract's origin is the centre of voxel 0,
``ExtMin + spacing / 2``. The direction is the identity (Imaris axes x, y, z are the world
axes). Coordinates keep the file's unit (``"um"`` → ``micrometer``) unless ``units=``
converts them.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import DimensionError, ParameterError
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import WHOLE_VOLUME_BYTES, chunks_by_name
from spatial_xr.io.imaris.layout import ImarisLayout, read_layout
from spatial_xr.io.imaris.lazy import ImarisArray
from spatial_xr.io.omezarr.metadata import canonical_unit, unit_factor
from spatial_xr.io.omezarr.read import select_level
from spatial_xr.io.units import spacing_in_unit

__all__ = ["is_imaris_path", "open_imaris", "open_imaris_multiscale"]

Selector = int | slice | Sequence[int] | None
DIMS = ("t", "c", "z", "y", "x")


def is_imaris_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an Imaris file (``.ims``)."""
    return os.fspath(path).lower().endswith(".ims")


def _default_chunks(layout: ImarisLayout, level: int) -> tuple[int, ...]:
    """One frame per chunk: the whole level when it holds at most
    :data:`~spatial_xr.io.chunking.WHOLE_VOLUME_BYTES`, else z slabs of whole planes that
    are whole HDF5 chunks deep and about dask's ``array.chunk-size``."""
    lv = layout.levels[level]
    nz, ny, nx = lv.shape_zyx
    plane = ny * nx * lv.dtype.itemsize
    if nz * plane <= WHOLE_VOLUME_BYTES:
        return (1, 1, nz, ny, nx)
    depth = lv.chunks_zyx[0] if lv.chunks_zyx else 1
    limit = dask.utils.parse_bytes(dask.config.get("array.chunk-size"))
    nzc = max(depth, (limit // max(1, plane)) // depth * depth)
    return (1, 1, min(nz, nzc), ny, nx)


def _resolve_chunks(chunks: Any, default: tuple[int, ...], shape: tuple[int, ...],
                    dims: tuple[str, ...]) -> Any:
    default = tuple(c for c, d in zip(default, DIMS, strict=True) if d in dims)
    if chunks is None:
        return default
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, dims, default, shape)
    if isinstance(chunks, tuple | list) and len(chunks) == 3 and len(dims) > 3:
        return (*default[:-3], *chunks)  # spatial only: z, y, x
    return chunks


def _indices(sel: Selector, size: int, what: str, dim: str) -> tuple[list[int], bool]:
    """The entries a ``t``/``c`` selection takes, and whether the dim stays (an int drops
    it; with no selection, a dim of one entry is dropped)."""
    if sel is None:
        return list(range(size)), size != 1
    if isinstance(sel, slice):
        return list(range(size))[sel], True
    single = isinstance(sel, int | np.integer)
    idx = [int(sel)] if isinstance(sel, int | np.integer) else [int(i) for i in sel]
    if any(not -size <= i < size for i in idx):
        raise DimensionError(f"{what}={sel!r} is out of range for {size} {dim!r} entries")
    return [i % size for i in idx], not single


def _level_dataarray(layout: ImarisLayout, level: int, *, chunks: Any = None,
                     units: str | None = None, channel: Selector = None,
                     timepoint: Selector = None) -> xr.DataArray:
    lv = layout.levels[level]
    ts, keep_t = _indices(timepoint, layout.n_timepoints, "timepoint", "t")
    cs, keep_c = _indices(channel, layout.n_channels, "channel", "c")
    if not ts or not cs:
        raise DimensionError(f"timepoint={timepoint!r}, channel={channel!r} select nothing")
    paths = tuple(tuple(layout.data_path(level, t, c) for c in cs) for t in ts)
    lazy = ImarisArray(layout.path, paths, lv.shape_zyx, lv.dtype, keep_t=keep_t,
                       keep_c=keep_c)
    dims = tuple(d for d, k in zip(DIMS, lazy.kept, strict=True) if k)
    c_chunks = _resolve_chunks(chunks, _default_chunks(layout, level), lazy.shape, dims)
    stat = os.stat(layout.path)
    token = dask.base.tokenize(layout.path, stat.st_mtime_ns, stat.st_size, level, paths,
                               lazy.kept, c_chunks)
    # fancy=True lets dask fuse later slices into the read (only touched chunks are read)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=c_chunks, asarray=False, fancy=True, name=f"imaris-{token}",
        meta=np.empty((0,) * lazy.ndim, lv.dtype)))
    unit = canonical_unit(units) or layout.unit
    factor = unit_factor(layout.unit, unit)
    attrs: dict[str, Any] = {"source_format": "Imaris"}
    if layout.version:
        attrs["imaris_version"] = layout.version
    if layout.time_start:
        attrs["acquisition_start"] = layout.time_start
    names = [layout.channel_names[c] for c in cs]
    if not keep_c:
        attrs["channel_name"] = names[0]
    da = xr.DataArray(data, dims=dims, name="image", attrs=attrs)
    if keep_c:
        da = da.assign_coords(c=("c", names))
    if keep_t and layout.times_s is not None:
        da = da.assign_coords(t=("t", np.asarray([layout.times_s[t] for t in ts], np.float64)))
        da.coords["t"].attrs["units"] = "second"
    for d in ("z", "y", "x"):
        da.coords[d] = xr.Variable((d,), np.zeros(da.sizes[d]), {"units": unit})
    return assign_grid(da, layout.grid(level, factor))


def _level_index(layout: ImarisLayout, level: int | None, spacing: Any, unit: str) -> int:
    n = len(layout.levels)
    if level is not None and spacing is not None:
        raise ParameterError("give level= or spacing=, not both")
    if spacing is not None:
        factor = unit_factor(layout.unit, unit)
        per_level = [dict(zip("xyz", (layout.spacing_xyz(k) * factor).tolist(), strict=True))
                     for k in range(n)]
        per_level = [{d: s[d] for d in ("z", "y", "x")} for s in per_level]
        return select_level(per_level, spacing_in_unit(spacing, unit))
    k = 0 if level is None else int(level)
    if not -n <= k < n:
        raise DimensionError(
            f"level={level} is out of range: the file has {n} resolution levels (0–{n - 1})")
    return k % n


def open_imaris(
    path: str | os.PathLike[str],
    *,
    level: int | None = None,
    spacing: float | str | Sequence[float | str] | Mapping[Hashable, float | str] | None = None,
    channel: Selector = None,
    timepoint: Selector = None,
    chunks: Any = None,
    units: str | None = None,
) -> xr.DataArray:
    """Open one resolution level of an Imaris ``.ims`` file lazily.

    Parameters
    ----------
    path : str or path-like
        ``.ims`` file (HDF5; needs ``h5py``: ``pip install 'spatial-xr[imaris]'``).
    level : int, optional
        Resolution level (0 = finest, negative counts from the coarsest). Default 0.
    spacing : float, str, sequence or mapping, optional
        Instead of ``level``: the target voxel size; the level with the closest spacing is
        opened. Numbers are in the image's unit (the file's, or ``units``); strings carry
        their own (``"2 um"``).
    channel, timepoint : int, slice or sequence of int, optional
        Select along ``c``/``t``; an int drops the dim. A file with one channel (or one
        time point) opens without that dim.
    chunks : dict, tuple or "auto", optional
        dask chunks: a dict by dim name, three values for ``z, y, x``, or one per dim of
        the result. Default: one chunk per time point and channel (z slabs a
        whole number of HDF5 chunks deep for levels above 512 MiB).
    units : str, optional
        Convert the spatial coordinates to this length unit; default keeps the file's.

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus single-entry ``t``/``c``; ``c`` labelled with the
        channel names, ``t`` in seconds from the first time point when the file dates
        them; identity direction.

    Raises
    ------
    PathNotFoundError, FormatError, GeometryError, UnitError, DimensionError
    """
    layout = read_layout(path)
    unit = canonical_unit(units) or layout.unit
    k = _level_index(layout, level, spacing, unit)
    return _level_dataarray(layout, k, chunks=chunks, units=units, channel=channel,
                            timepoint=timepoint)


def open_imaris_multiscale(
    path: str | os.PathLike[str],
    *,
    channel: Selector = None,
    timepoint: Selector = None,
    chunks: Any = None,
    units: str | None = None,
) -> xr.DataTree:
    """Open every resolution level of an Imaris file lazily as an ``xarray.DataTree``.

    The root holds the file's description (``source_format``, ``imaris_version``, unit,
    channel names); children ``scale0``, ``scale1``, … (finest first) are Datasets with
    one variable ``image``, as :func:`spatial_xr.open_multiscale` gives for OME-Zarr.
    Parameters are as for :func:`open_imaris` (``chunks`` applies to every level).

    Returns
    -------
    xarray.DataTree
    """
    layout = read_layout(path)
    root: dict[str, Any] = {
        "source_format": "Imaris",
        "unit": layout.unit,
        "channel_names": list(layout.channel_names),
        "levels": len(layout.levels),
    }
    if layout.version:
        root["imaris_version"] = layout.version
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs=root)}
    for k in range(len(layout.levels)):
        da = _level_dataarray(layout, k, chunks=chunks, units=units, channel=channel,
                              timepoint=timepoint)
        nodes[f"scale{k}"] = da.to_dataset(name="image")
    return xr.DataTree.from_dict(nodes)
