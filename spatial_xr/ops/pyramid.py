"""Multiscale pyramids: lazy block downsampling with exact geometry (DESIGN §3).

Level ``k`` is computed from level ``k − 1`` (never from level 0), so the dask graph of a
level adds one layer of small tasks to the previous one. With integer factor ``f`` along
an axis of spacing ``S``, the coarse spacing is ``f·S`` and the coarse voxel 0 sits at the
centre of the first fine block: image-frame coordinate ``coord0 + (f − 1)·S/2``. The
direction is unchanged, so the geometry is right for oblique directions too. Trailing
voxels that do not fill a whole block are dropped (the extent shrinks by less than one
coarse voxel). The options, per-level factors and level grids are fixed first by
:func:`spatial_xr.ops.pyramid_plan.plan_pyramid`; :func:`pyramid` and the OME-Zarr writer
both build their levels from that plan.

Methods
-------
``mean``
    Block average; integers are rounded half up back to their dtype
    (:func:`spatial_xr.ops.cast.round_to_dtype`, ``"half_up"``), which matches
    ITK's ``BinShrinkImageFilter`` voxel for voxel.
``gaussian``
    Anti-aliased: Gaussian smoothing with ``σ² = (2f² + 1)/12`` voxels (total blur of
    σ = f/2 together with the block average), then the block average.
``mode``
    Most frequent value in each block (ties: the smallest value). Label-safe.
``nearest``
    The voxel at offset ``(f − 1)//2`` of each block. Label-safe and fastest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid, grid_of, spatial_dims
from spatial_xr.errors import DimensionError, UnsupportedOptionError
from spatial_xr.labels.segments import LABEL_KIND
from spatial_xr.ops import _native
from spatial_xr.ops.cast import round_to_dtype
from spatial_xr.ops.pyramid_plan import (
    Factors,
    check_pyramid_method,
    default_chunk,
    default_factors,
    level_chunks,
    plan_pyramid,
)
from spatial_xr.ops.smooth import gaussian_smooth

__all__ = [
    "default_chunk",
    "default_factors",
    "downsample",
    "pyramid",
    "tree_levels",
]


# ---------------------------------------------------------------------- block kernels
def _accumulator(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float64) if dtype.itemsize > 4 else np.dtype(np.float32)
    if np.issubdtype(dtype, np.complexfloating):
        return dtype
    return np.dtype(np.float32) if dtype.itemsize <= 2 else np.dtype(np.float64)


def _blocked(block: np.ndarray, factors: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """View ``block`` as (n0/f0, f0, n1/f1, f1, …); return it and the factor axes."""
    shape: list[int] = []
    for n, f in zip(block.shape, factors, strict=True):
        shape += [n // f, f]
    return block.reshape(shape), tuple(range(1, 2 * block.ndim, 2))


def _block_sum(block: np.ndarray, factors: tuple[int, ...], acc: np.dtype[Any]) -> np.ndarray:
    """Sums over f-blocks by strided adds, one axis at a time (fast, exact for integers)."""
    out = block
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        index = [slice(None)] * out.ndim
        index[axis] = slice(0, None, f)
        total = out[tuple(index)].astype(acc, copy=True)
        for o in range(1, f):
            index[axis] = slice(o, None, f)
            total += out[tuple(index)]
        out = total
    return out if out is not block else block.astype(acc)


def _block_mean(block: np.ndarray, factors: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    n = int(np.prod(factors))
    if (block.dtype == dtype and dtype in _native.BLOCK_MEAN_DTYPES
            and all(f == 1 for f in factors[:-3])):
        return _native.block_mean(block, factors)  # the integer rule below, compiled
    if block.dtype.kind == "f" and dtype.kind in "iub":  # smoothed (gaussian) integers
        mean = _block_sum(block, factors, np.dtype(np.float64)) / n
        return round_to_dtype(mean, dtype, "half_up")
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        # exact integer arithmetic; rounds half up: floor(sum / n + 1/2)
        acc = np.dtype(np.int64) if dtype.itemsize >= 4 else np.dtype(np.int32)
        if dtype == np.uint64:
            mean = _block_sum(block, factors, np.dtype(np.float64)) / n
        return round_to_dtype(mean, dtype, "half_up")
        total = _block_sum(block, factors, acc)
        if dtype == np.bool_:
            return 2 * total >= n
        return ((2 * total + n) // (2 * n)).astype(dtype)
    total = _block_sum(block, factors, _accumulator(dtype))
    return round_to_dtype(total / total.dtype.type(n), dtype, "half_up")


def _block_nearest(block: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    return block[tuple(slice((f - 1) // 2, None, f) for f in factors)]


def _block_mode(block: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    view, axes = _blocked(block, factors)
    keep = tuple(range(0, 2 * block.ndim, 2))
    out_shape = tuple(view.shape[a] for a in keep)
    flat = view.transpose(keep + axes).reshape(-1, int(np.prod(factors)))
    m = flat.shape[1]
    counts = np.zeros(flat.shape, dtype=np.int32)
    for j in range(m):
        counts += flat == flat[:, j : j + 1]
    best = counts.max(axis=1, keepdims=True)
    if np.issubdtype(flat.dtype, np.integer) or flat.dtype == np.bool_:
        fill: float = np.iinfo(flat.dtype).max if flat.dtype != np.bool_ else True
    else:
        fill = np.inf
    candidates = np.where(counts == best, flat, fill)
    return candidates.min(axis=1).astype(block.dtype).reshape(out_shape)


def _reduce_block(
    block: np.ndarray, factors: tuple[int, ...], method: str, out_dtype: np.dtype[Any]
) -> np.ndarray:
    if method == "nearest":
        return np.ascontiguousarray(_block_nearest(block, factors))
    if method == "mode":
        return _block_mode(block, factors)
    return _block_mean(block, factors, out_dtype)


def _gaussian_sigmas(factors: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(float(np.sqrt((2 * f * f + 1) / 12.0)) if f > 1 else 0.0 for f in factors)


# ---------------------------------------------------------------------- one level
def downsample(
    da: xr.DataArray,
    factors: Mapping[Any, int],  # keys: dim names (any hashable; a dict[str, int] fits)
    method: str = "mean",
    chunks: Mapping[str, int] | int | None = None,
) -> xr.DataArray:
    """Downsample an image by integer factors per spatial dim, lazily, with exact geometry.

    Parameters
    ----------
    da : xarray.DataArray
        Image (numpy- or dask-backed); non-spatial dims keep factor 1.
    factors : mapping spatial dim → int
        Block size along each dim (missing dims: 1).
    method : {"mean", "gaussian", "mode", "nearest"}
    chunks : int or mapping dim → int, optional
        Output chunk edge per spatial dim; default one output chunk per input chunk
        (``1/f`` of its size).

    Returns
    -------
    xarray.DataArray
        Sizes ``n // f``; spacing ``f·S``; first image-frame coordinate
        ``coord0 + (f − 1)·S/2``; the same direction and attrs.
    """
    method = check_pyramid_method(method, False, da.dtype)
    sdims = spatial_dims(da)
    bad = {d: v for d, v in factors.items() if d not in sdims and v != 1}
    if bad:
        raise DimensionError(f"factors apply to spatial dims {sdims} only, got {bad}")
    f = {d: int(factors.get(d, 1)) for d in da.dims}
    for d, v in f.items():
        if v < 1 or v > da.sizes[d]:
            raise UnsupportedOptionError(
                f"factor {v} along {d!r} must be between 1 and the size {da.sizes[d]}"
            )
    grid = grid_of(da)
    data = da.data if isinstance(da.data, dsa.Array) else dsa.from_array(da.data, chunks="auto")
    target = level_chunks(chunks, da) if chunks is not None else {}
    # each input chunk (rounded to whole blocks) gives one small output chunk, so a task
    # holds one input chunk; the output is then merged into the target chunks
    in_chunks = []
    for axis, d in enumerate(da.dims):
        c = data.chunks[axis][0]
        in_chunks.append(min(max(f[d], c - c % f[d]), data.shape[axis]))
    data = data.rechunk(tuple(in_chunks))
    ftuple = tuple(f[d] for d in da.dims)
    out_dtype = np.dtype(da.dtype)
    if method == "gaussian":  # smooth before trimming, so the last block sees its neighbours
        data = gaussian_smooth(data, _gaussian_sigmas(ftuple), _accumulator(out_dtype))
    data = data[tuple(slice(0, (da.sizes[d] // f[d]) * f[d]) for d in da.dims)]
    # blocks must hold whole f-blocks (map_overlap may have merged small edge chunks)
    data = data.rechunk(tuple(max(fa, c - c % fa) for c, fa in zip(in_chunks, ftuple,
                                                                     strict=True)))
    out_chunks = tuple(tuple(c // fa for c in cs) for cs, fa in zip(data.chunks, ftuple,
                                                                      strict=True))
    reduced = data.map_blocks(
        _reduce_block, factors=ftuple, method="mean" if method == "gaussian" else method,
        out_dtype=out_dtype, dtype=out_dtype, chunks=out_chunks,
        meta=np.empty((0,) * data.ndim, out_dtype),
    )
    if target:
        reduced = reduced.rechunk({a: target[d] for a, d in enumerate(da.dims) if d in target})
    new_grid = grid.zoom_out([f[a] for a in grid.axes])
    coords = {
        k: v for k, v in da.coords.items() if not set(v.dims) & set(sdims)
    }
    out = xr.DataArray(reduced, dims=da.dims, coords=coords, name=da.name, attrs=da.attrs)
    for d in sdims:
        attrs = dict(da.coords[d].attrs) if d in da.coords else {}
        out.coords[d] = xr.Variable((d,), np.zeros(out.sizes[d]), attrs)
    return assign_grid(out, new_grid)


# ---------------------------------------------------------------------- the pyramid
def pyramid(
    da: xr.DataArray,
    levels: int | None = None,
    factors: Factors = None,
    method: str | None = None,
    chunks: int | Mapping[str, int] | None = None,
    *,
    label: bool | None = None,
) -> xr.DataTree:
    """Build a multiscale pyramid lazily; each level is computed from the previous one.

    Parameters
    ----------
    da : xarray.DataArray
        Image obeying the geometry contract (numpy- or dask-backed).
    levels : int, optional
        Total number of levels including level 0. Default: until a level fits in a chunk.
    factors : int, mapping or sequence, optional
        Per-level factor relative to the previous level: an int for every spatial dim,
        a mapping dim → int, or a list with one int/mapping per level after level 0.
        Default: 2, skipping axes much coarser than the finest (anisotropy-aware).
    method : {"mean", "gaussian", "mode", "nearest"}, optional
        Default ``"mean"``, or ``"mode"`` for label images.
    chunks : int or mapping dim → int, optional
        Chunk edge of every level per spatial dim; default 128 (3-D) or 256 (2-D).
    label : bool, optional
        Whether ``da`` is a label image (default: ``attrs["kind"] == "label"``, see
        :func:`spatial_xr.labels.is_label`); labels are never averaged. ``label=True``
        marks every level as a label image.

    Returns
    -------
    xarray.DataTree
        Empty root; children ``scale0``, ``scale1``, … each a Dataset with variable
        ``image``.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.ones((8, 64, 64), "int16"), spacing=(4.0, 1.0, 1.0))
    >>> tree = da.spatial.pyramid(levels=3, chunks=32)
    >>> [tuple(tree[f"scale{k}"]["image"].shape) for k in range(3)]
    [(8, 64, 64), (8, 32, 32), (8, 16, 16)]
    """
    plan = plan_pyramid(da, levels, factors, chunks, method, label=label)
    level0 = assign_grid(da, plan.grids[0])
    data0 = level0.data if isinstance(level0.data, dsa.Array) else dsa.from_array(level0.data)
    rechunk = {a: plan.chunks.get(str(d), data0.chunksize[a])
               for a, d in enumerate(level0.dims)}
    level0 = level0.copy(data=data0.rechunk(rechunk))
    if plan.label:
        level0.attrs = {"segments": [], **level0.attrs, "kind": LABEL_KIND}
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset()}
    nodes["scale0"] = level0.to_dataset(name="image")
    current = level0
    for k, f in enumerate(plan.factors, start=1):
        current = assign_grid(downsample(current, f, plan.method, chunks=plan.chunks),
                              plan.grids[k])
        nodes[f"scale{k}"] = current.to_dataset(name="image")
    return xr.DataTree.from_dict(nodes)


def tree_levels(tree: xr.DataTree) -> list[xr.DataArray]:
    """The level images of a pyramid DataTree (``scale0``, ``scale1``, … by number).

    Raises
    ------
    DimensionError
        If the tree has no ``scale<k>`` children holding one image variable.
    """
    named = []
    for name, child in tree.children.items():
        if name.startswith("scale") and name[5:].isdigit():
            named.append((int(name[5:]), child))
    if not named:
        raise DimensionError(
            f"a pyramid DataTree needs children scale0, scale1, …; this one has "
            f"{list(tree.children)}"
        )
    out = []
    for _, child in sorted(named, key=lambda kv: kv[0]):
        ds = child.to_dataset()
        if "image" in ds.data_vars:
            out.append(ds["image"])
        elif len(ds.data_vars) == 1:
            out.append(next(iter(ds.data_vars.values())))
        else:
            raise DimensionError(
                f"pyramid node {child.name!r} must hold one image variable (named 'image'); "
                f"it holds {list(ds.data_vars)}"
            )
    return out
