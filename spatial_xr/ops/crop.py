"""Cropping by world boxes or index ranges, and patches around world points.

Geometry first (:func:`~spatial_xr.geometry.resampling.covering_index_box`,
:meth:`~spatial_xr.geometry.Grid.window`), data second: ``isel`` of the part inside the
image, then a constant pad for the part outside. Both are lazy on dask-backed images and
read only the chunks inside the box.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dask.array
import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from spatial_xr.coords import assign_grid, grid_of, spatial_dims, values_by_dim
from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.geometry import Grid
from spatial_xr.geometry.resampling import centered_start, covering_index_box
from spatial_xr.labels.segments import check_label_fill
from spatial_xr.ops.fill import check_fill

__all__ = ["crop", "crop_centered", "crop_index_box"]

IndexRange = tuple[int, int] | slice


def crop_index_box(
    da: xr.DataArray,
    start_xyz: Sequence[int],
    stop_xyz: Sequence[int],
    *,
    clip: bool = True,
    fill_value: float = 0,
) -> xr.DataArray:
    """Crop to the half-open index box ``[start, stop)`` (index order i, j, k).

    Parameters
    ----------
    da : xarray.DataArray
    start_xyz, stop_xyz : sequence of int, length n
        Box along the dims x, y, z; may reach outside the image.
    clip : bool
        Keep only the part inside the image (default). ``False`` keeps the whole box and
        fills voxels outside the image with ``fill_value``.
    fill_value : float
        Pad value when ``clip=False``; must be storable in ``da.dtype``. On a label image
        (``attrs["kind"] == "label"``) only 0 (background) or a segment number.

    Returns
    -------
    xarray.DataArray
        Same dims and dim order; grid ``grid.window(start, stop − start)``.

    Raises
    ------
    GeometryError
        If the box is empty, or lies wholly outside the image with ``clip=True``.
    UnsupportedOptionError
        A fill value that is no segment of a label image.
    """
    grid = grid_of(da)
    names = grid.axes
    start = np.asarray(start_xyz, np.int64)
    stop = np.asarray(stop_xyz, np.int64)
    if start.shape != (grid.ndim,) or stop.shape != (grid.ndim,):
        raise GeometryError(f"an index box needs {grid.ndim} starts and stops (x, y, z order)")
    if np.any(stop <= start):
        raise GeometryError(f"empty index box: start {start.tolist()}, stop {stop.tolist()}")
    shape = np.asarray(grid.shape_xyz, np.int64)
    inner0 = np.clip(start, 0, shape)
    inner1 = np.clip(stop, 0, shape)
    overlaps = bool(np.all(inner1 > inner0))
    if clip:
        if not overlaps:
            raise GeometryError(
                f"the box (index start {start.tolist()}, stop {stop.tolist()} along x, y, z) "
                f"lies outside the image of shape {list(grid.shape_xyz)}; use clip=False to "
                "get a box of fill values"
            )
        start, stop = inner0, inner1
    else:
        check_fill(fill_value, da.dtype)
        check_label_fill(da, fill_value)
    window = grid.window(start.tolist(), (stop - start).tolist())
    units = {a: da.coords[a].attrs.get("units") for a in names if a in da.coords}
    dropped = [c for c, v in da.coords.items() if set(v.dims) & set(names)]
    base = da.drop_vars(dropped)
    pad = {a: (int(inner0[i] - start[i]), int(stop[i] - inner1[i])) for i, a in enumerate(names)}
    if not overlaps:
        full_shape = tuple(
            int(stop[names.index(d)] - start[names.index(d)]) if d in names else base.sizes[d]
            for d in base.dims
        )
        if isinstance(base.data, dask.array.Array):
            filled: Any = dask.array.full(full_shape, fill_value, dtype=da.dtype)
        else:
            filled = np.full(full_shape, fill_value, dtype=da.dtype)
        out = xr.DataArray(filled, dims=base.dims, coords=base.coords, attrs=base.attrs,
                           name=base.name)
        return _finish(out, window, units)
    out = base.isel({a: slice(int(inner0[i]), int(inner1[i])) for i, a in enumerate(names)})
    if any(b or e for b, e in pad.values()):
        widths = [pad.get(str(d), (0, 0)) for d in out.dims]
        data = out.data
        if isinstance(data, dask.array.Array):
            padded = dask.array.pad(data, widths, mode="constant", constant_values=fill_value)
        else:
            padded = np.pad(np.asarray(data), widths, mode="constant",
                            constant_values=fill_value)
        out = xr.DataArray(padded, dims=out.dims, coords=out.coords, attrs=out.attrs,
                           name=out.name)
    return _finish(out, window, units)


def _finish(out: xr.DataArray, window: Grid, units: dict[str, Any]) -> xr.DataArray:
    res = assign_grid(out, window)
    for a, u in units.items():
        if u:
            res.coords[a].attrs["units"] = u
    return res


def _ranges_from_index(
    grid: Grid, dims: Sequence[str], index: Mapping[Hashable, IndexRange]
) -> tuple[list[int], list[int]]:
    unknown = set(index) - set(dims)
    if unknown:
        raise ParameterError(
            f"index= keys must be spatial dims {tuple(dims)}, got unknown "
            f"{sorted(map(str, unknown))}"
        )
    start = [0] * grid.ndim
    stop = list(grid.shape_xyz)
    for a, name in enumerate(grid.axes):
        if name not in index:
            continue
        r = index[name]
        if isinstance(r, slice):
            if r.step not in (None, 1):
                raise ParameterError(f"index range for {name!r} must have step 1, got {r}")
            b = 0 if r.start is None else int(r.start)
            e = grid.shape_xyz[a] if r.stop is None else int(r.stop)
        else:
            try:
                b, e = (int(v) for v in r)
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"index range for {name!r} must be (start, stop) or a slice, got {r!r}"
                ) from exc
        start[a], stop[a] = b, e
    return start, stop


def crop(
    da: xr.DataArray,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    *,
    index: Mapping[Hashable, IndexRange] | None = None,
    clip: bool = True,
    fill_value: float = 0,
) -> xr.DataArray:
    """Crop to a world-space box or to index ranges.

    Parameters
    ----------
    da : xarray.DataArray
    lower, upper : array_like, shape (n,), optional
        Opposite corners of a world box (LPS mm, **x, y, z order**). The result is the
        smallest index box whose voxels cover the world box (for an oblique image, the box
        covering the rotated world box): from the voxel holding the lowest continuous index
        of the box's corners to the voxel holding the highest, per axis.
    index : mapping dim → (start, stop) or slice, optional
        Half-open index ranges by spatial dim name, absolute (a negative start is before
        voxel 0, not counted from the end); dims not named are kept whole.
    clip : bool
        Keep only the part inside the image (default); ``False`` keeps the whole box and
        pads with ``fill_value`` (lazily for dask-backed images).
    fill_value : float
        Pad value for ``clip=False`` (0, the background of a label image, by default).

    Returns
    -------
    xarray.DataArray
        A lazy view for dask-backed images: only the chunks inside the box are read.

    Raises
    ------
    ParameterError
        If both or neither of a world box and ``index`` are given.
    GeometryError
        If the box is empty or, with ``clip=True``, outside the image.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.zeros((10, 10, 10)), spacing=2.0)
    >>> da.spatial.crop([0, 0, 0], [5, 5, 5]).spatial.shape
    {'z': 4, 'y': 4, 'x': 4}
    """
    grid = grid_of(da)
    world = lower is not None or upper is not None
    if world == (index is not None):
        raise ParameterError("give either a world box (lower=, upper=) or index=, not both")
    if world:
        if lower is None or upper is None:
            raise ParameterError("a world box needs both lower= and upper= (x, y, z, LPS mm)")
        start, stop = covering_index_box(grid, lower, upper)
        return crop_index_box(da, start.tolist(), stop.tolist(), clip=clip,
                              fill_value=fill_value)
    assert index is not None
    start_l, stop_l = _ranges_from_index(grid, spatial_dims(da), index)
    return crop_index_box(da, start_l, stop_l, clip=clip, fill_value=fill_value)


def crop_centered(
    da: xr.DataArray,
    center: ArrayLike,
    size_mm: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    shape: int | Sequence[int] | Mapping[Hashable, int] | None = None,
    *,
    fill_value: float = 0,
) -> xr.DataArray | list[xr.DataArray]:
    """Patches of a fixed voxel shape centred on world points (no interpolation).

    Parameters
    ----------
    da : xarray.DataArray
    center : array_like, shape (n,) or (N, n)
        World point(s) (LPS mm, x, y, z).
    size_mm : float, sequence or mapping, optional
        Patch size in mm along the image axes (scalar, per spatial dim in the array's dim
        order, or a mapping); voxels per axis ``max(1, round(size / spacing))``.
    shape : int, sequence or mapping, optional
        Patch size in voxels (instead of ``size_mm``).
    fill_value : float
        Value of patch voxels outside the image (patches always have the full shape).

    Returns
    -------
    xarray.DataArray or list of xarray.DataArray
        One patch for one centre, a list (same order) for ``N`` centres. Each patch starts
        at ``floor(c − (shape − 1)/2 + ½)``, the box whose centre is nearest to the
        point's continuous index ``c``; lazy for dask-backed images.
    """
    grid = grid_of(da)
    dims = spatial_dims(da)
    if (size_mm is None) == (shape is None):
        raise ParameterError("give exactly one of size_mm= and shape=")
    if shape is not None:
        per = values_by_dim(shape, dims, "shape")
        if any(v != int(v) or v < 1 for v in per.values()):
            raise ParameterError(f"shape must hold positive integers, got {shape!r}")
        shape_xyz = [int(per[a]) for a in grid.axes]
    else:
        per = values_by_dim(size_mm, dims, "size_mm")
        if any(not np.isfinite(v) or v <= 0 for v in per.values()):
            raise ParameterError(f"size_mm must be positive, got {size_mm!r}")
        shape_xyz = [max(1, int(np.floor(per[a] / s + 0.5)))
                     for a, s in zip(grid.axes, grid.spacing_xyz, strict=True)]
    try:
        pts = np.asarray(center, np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"center must be world points (x, y, z, LPS mm), got {center!r}"
        ) from exc
    if pts.shape[-1:] != (grid.ndim,) or pts.ndim not in (1, 2) or not np.all(np.isfinite(pts)):
        raise ParameterError(
            f"center must be finite world points of shape ({grid.ndim},) or (N, {grid.ndim}) "
            f"(x, y, z, LPS mm), got shape {pts.shape}"
        )
    starts = centered_start(grid, pts, shape_xyz)
    size = np.asarray(shape_xyz, np.int64)
    patches = [crop_index_box(da, s.tolist(), (s + size).tolist(), clip=False,
                              fill_value=fill_value) for s in np.atleast_2d(starts)]
    return patches[0] if pts.ndim == 1 else patches
