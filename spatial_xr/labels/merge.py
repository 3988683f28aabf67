"""Mask workflows: put a cropped mask back on its image's grid, start an empty one, merge
masks drawn on different grids.

The recipe for repositioning a mask is ``mask.spatial.resample(like=image)``: on a label
image it uses the label rule (per-label linear vote, SimpleITK's ``sitkLabelLinear``)
wherever the grids differ, and it is exact where the mask's voxels are voxels of the
image (a crop, a flip, a reorientation). :func:`full_mask` is the strict form: it refuses
masks whose voxels are not the image's, so nothing is ever interpolated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import dask.array as dsa
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    LabelOverlapError,
    ParameterError,
    UnsupportedOptionError,
)
from spatial_xr.geometry.resampling import on_voxels_of
from spatial_xr.labels.segments import (
    LABEL_KIND,
    Segment,
    SegmentsLike,
    as_label,
    is_label,
    label_dtype,
    segment_table,
    segments_from_json,
)

__all__ = ["MERGE_RULES", "full_mask", "merge", "merge_tables"]

MERGE_RULES = ("union", "priority", "majority", "error")
"""How :func:`merge` settles voxels that several masks label."""

Rule = Literal["union", "priority", "majority", "error"]


def _require_label(da: xr.DataArray, what: str) -> None:
    if not is_label(da):
        raise ParameterError(
            f"{what} is not a label image (attrs['kind'] != 'label'); mark it with "
            "spatial_xr.labels.as_label(da, segments=...)"
        )
    if "c" in da.dims:
        raise DimensionError(
            f"{what} has a c dim (one mask per segment); merge takes label images without "
            "one: give its masks one by one, e.g. [m.isel(c=i) for i in range(m.sizes['c'])] "
            "marked with their segment numbers"
        )


def full_mask(
    mask: xr.DataArray | None = None,
    *,
    like: xr.DataArray,
    segments: SegmentsLike | None = None,
) -> xr.DataArray:
    """A label image on the grid of ``like``: ``mask`` placed exactly, or an empty one.

    Parameters
    ----------
    mask : xarray.DataArray, optional
        A label image whose voxels are voxels of ``like`` (e.g. cropped from it, or
        reoriented). Default: an all-background mask (uint8 zeros, lazy).
    like : xarray.DataArray
        The image whose grid the result takes.
    segments : segment table, optional
        Table of the result (default: the mask's, or empty).

    Returns
    -------
    xarray.DataArray
        Lazy when ``mask`` or ``like`` is; background (0) outside the mask.

    Raises
    ------
    GeometryError
        The mask's voxels are not voxels of ``like`` (other spacing, rotation or a
        sub-voxel shift): resample it instead, ``mask.spatial.resample(like=like)``.
    """
    from spatial_xr.ops.resample import resample

    target = grid_of(like)
    if mask is None:
        dims = spatial_dims(like)
        shape = tuple(like.sizes[d] for d in dims)
        empty = xr.DataArray(dsa.zeros(shape, dtype=np.uint8, chunks=shape), dims=dims,
                             name="mask")
        from spatial_xr.coords import assign_grid

        return as_label(assign_grid(empty, target), [] if segments is None else segments)
    if not is_label(mask):
        mask = as_label(mask, segments or [])
    if not on_voxels_of(grid_of(mask), target):
        raise GeometryError(
            "the mask's voxels are not voxels of the image (other spacing, orientation or a "
            "sub-voxel shift), so it cannot be placed exactly; resample it with the label "
            "rule instead: mask.spatial.resample(like=image)"
        )
    out = resample(mask, like=like, interpolation="nearest")
    return out if segments is None else as_label(out, segments)


def merge_tables(tables: Sequence[list[Segment]]) -> list[Segment]:
    """One segment table from several, by number.

    Raises
    ------
    ParameterError
        One number names different segments (different names) in two tables.
    """
    by_number: dict[int, Segment] = {}
    for table in tables:
        for seg in table:
            known = by_number.get(seg.number)
            if known is not None and known.name != seg.name:
                raise ParameterError(
                    f"segment number {seg.number} is {known.name!r} in one mask and "
                    f"{seg.name!r} in another; renumber one of them first "
                    "(e.g. xr.where(m == 1, 5, m) and a new segment table)"
                )
            by_number.setdefault(seg.number, seg)
    return [by_number[n] for n in sorted(by_number)]


def _merge_block(*blocks: NDArray[Any], rule: str, out_dtype: np.dtype[Any]) -> NDArray[Any]:
    dtype = out_dtype
    stack = np.stack([np.asarray(b) for b in blocks])
    labelled = stack != 0
    if rule == "priority":
        first = np.argmax(labelled, axis=0)
        out = np.take_along_axis(stack, first[np.newaxis], axis=0)[0]
        return out.astype(dtype, copy=False)
    if rule == "majority":
        out = np.zeros(stack.shape[1:], dtype)
        need = stack.shape[0] // 2 + 1
        for value in np.unique(stack[labelled]):
            votes = (stack == value).sum(axis=0)
            out[votes >= need] = value
        return out
    count = labelled.sum(axis=0)
    top = stack.max(axis=0)
    if rule == "error":
        bad = count > 1
        what = "labelled by more than one mask"
    else:  # union: the same label from several masks is fine, different ones are not
        low = np.where(labelled, stack, np.iinfo(np.int64).max).min(axis=0)
        bad = (count > 1) & (low != top)
        what = "given different labels by two masks"
    if bad.any():
        raise LabelOverlapError(
            f"{int(bad.sum())} voxels are {what} (rule={rule!r}); pick rule='priority' "
            "(first mask wins) or 'majority', or keep the masks apart on a c dim"
        )
    return top.astype(dtype, copy=False)


def merge(
    masks: Sequence[xr.DataArray],
    rule: Rule = "union",
    *,
    like: xr.DataArray | None = None,
) -> xr.DataArray:
    """Merge label images (possibly on different grids) into one, lazily.

    Every mask is brought onto the target grid with the label rule
    (``resample(like=…)``, exact where the voxels coincide), then combined voxel by voxel.

    Parameters
    ----------
    masks : sequence of xarray.DataArray
        Label images (``attrs["kind"] == "label"``) without a ``c`` dim.
    rule : {"union", "priority", "majority", "error"}
        ``"union"``: a voxel takes the label any mask gives it; masks giving it different
        labels raise :class:`~spatial_xr.errors.LabelOverlapError` when computed.
        ``"priority"``: the first mask (in list order) that labels a voxel wins.
        ``"majority"``: a voxel takes the label more than half of the masks give it
        (background counts as a vote), else background — the consensus of raters.
        ``"error"``: any voxel labelled by two masks raises.
    like : xarray.DataArray, optional
        The target grid (default: the first mask's).

    Returns
    -------
    xarray.DataArray
        A label image on the target grid; its table merges the masks' tables by number.

    Raises
    ------
    ParameterError
        No masks, a mask that is no label image, or one number naming two segments.
    UnsupportedOptionError
        An unknown rule.
    """
    from spatial_xr.ops.resample import resample

    if rule not in MERGE_RULES:
        raise UnsupportedOptionError(f"rule must be one of {MERGE_RULES}, got {rule!r}")
    masks = list(masks)
    if not masks:
        raise ParameterError("merge needs at least one mask")
    for i, m in enumerate(masks):
        _require_label(m, f"mask {i}")
    table = merge_tables([segment_table(m) for m in masks])
    ref = masks[0] if like is None else like
    target = grid_of(ref)
    dims = spatial_dims(masks[0])
    placed = []
    for m in masks:
        on = m if grid_of(m).isclose(target) else resample(m, like=ref)
        placed.append(on.transpose(*dims))
    numbers = [s.number for s in table]
    dtype = np.result_type(*[p.dtype for p in placed],
                           label_dtype(max(numbers)) if numbers else np.uint8)
    arrays = [p.data if isinstance(p.data, dsa.Array) else dsa.from_array(
        np.asarray(p.data)) for p in placed]
    chunks = arrays[0].chunks
    arrays = [a.rechunk(chunks) for a in arrays]
    data = dsa.map_blocks(_merge_block, *arrays, rule=rule, out_dtype=dtype, dtype=dtype,
                          meta=np.empty((0,) * len(dims), dtype))
    out = placed[0].copy(data=data)
    out.attrs = {k: v for k, v in masks[0].attrs.items()
                 if k not in ("segments", "kind")}
    out.attrs.update({"kind": LABEL_KIND, "merge_rule": rule})
    return as_label(out, segments_from_json([s.to_json() for s in table]))
