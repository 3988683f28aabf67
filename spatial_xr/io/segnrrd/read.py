"""Open a 3D Slicer segmentation (``.seg.nrrd``) lazily as a label image.

The voxels come from the NRRD reader (:func:`spatial_xr.io.nrrd.open_nrrd`: lazy, only
the planes a chunk needs). Slicer's fields (see :mod:`spatial_xr.io.segnrrd.fields`)
become the segment table.

**Layouts.**

- One layer (a 3-D file, or a 4-D file whose ``list`` axis has size 1): a label image
  ``(z, y, x)``; each segment's ``number`` is its ``LabelValue``.
- Several layers (4-D, ``kinds: list domain domain domain``): Slicer puts segments on
  separate layers when they overlap. By default (``combine=None``) the layers are merged
  into one label image when the segments' ``Extent`` boxes of different layers do not
  intersect (so no voxel can belong to two segments); otherwise the result has a ``c``
  dim with one binary mask per segment, in segment order. ``combine=True`` always merges
  (computing a chunk where segments overlap raises
  :class:`~spatial_xr.errors.LabelOverlapError`); ``combine=False`` always gives masks.
  A segment's ``number`` is its ``LabelValue`` when the label values of all segments
  differ, else its position in the table plus one.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr
from dask.base import tokenize

from spatial_xr.errors import FormatError, LabelOverlapError, ParameterError
from spatial_xr.io.nrrd import open_nrrd
from spatial_xr.io.segnrrd.fields import (
    SlicerSegment,
    parse_segment_fields,
    segment_from_slicer,
)
from spatial_xr.labels import LABEL_KIND, Segment, label_dtype

__all__ = ["is_seg_nrrd_path", "open_seg_nrrd"]


def is_seg_nrrd_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named like a Slicer segmentation (``.seg.nrrd``)."""
    return os.fspath(path).lower().endswith(".seg.nrrd")


def _extent(seg: SlicerSegment, shape_xyz: tuple[int, ...]) -> tuple[int, ...] | None:
    text = seg.fields.get("Extent")
    if text is None:
        return tuple(v for n in shape_xyz for v in (0, n - 1))
    try:
        ext = tuple(int(v) for v in text.split())
    except ValueError:
        return None
    return ext if len(ext) == 6 else None


def _disjoint_layers(segs: list[SlicerSegment], shape_xyz: tuple[int, ...]) -> bool:
    """Whether the Extent boxes of segments on different layers never intersect."""
    boxes = []
    for s in segs:
        ext = _extent(s, shape_xyz)
        if ext is None:
            return False
        if any(ext[2 * a] > ext[2 * a + 1] for a in range(3)):
            continue  # an empty segment
        boxes.append((s.layer, ext))
    for i, (la, a) in enumerate(boxes):
        for lb, b in boxes[i + 1:]:
            if la != lb and all(a[2 * k] <= b[2 * k + 1] and b[2 * k] <= a[2 * k + 1]
                                for k in range(3)):
                return False
    return True


def _check(segs: list[SlicerSegment], n_layers: int, dtype: np.dtype[Any], where: str
           ) -> None:
    top = int(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else None
    seen: dict[tuple[int, int], int] = {}
    for s in segs:
        name = s.fields.get("Name", s.fields.get("ID"))
        if not 0 <= s.layer < n_layers:
            raise FormatError(
                f"{where}: Segment{s.index} ({name!r}) is on Layer {s.layer}, but the data "
                f"have {n_layers} layer(s) (the size of the 'list' axis); the header and the "
                "data disagree — re-save the segmentation from Slicer"
            )
        if s.label_value < 1 or (top is not None and s.label_value > top):
            raise FormatError(
                f"{where}: Segment{s.index} ({name!r}) has LabelValue {s.label_value}, which "
                f"the data (type {dtype}) cannot hold as a segment (1 to {top}); the header "
                "and the data disagree"
            )
        key = (s.layer, s.label_value)
        if key in seen:
            raise FormatError(
                f"{where}: Segment{s.index} ({name!r}) and Segment{seen[key]} both have "
                f"LabelValue {s.label_value} on Layer {s.layer}, so their voxels cannot be "
                "told apart; the header is corrupt"
            )
        seen[key] = s.index


def _masks_block(block: np.ndarray, layers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(layers, z, y, x) block → (segments, z, y, x) uint8 masks."""
    return (block[layers] == values[:, None, None, None]).astype(np.uint8)


def _combine_block(block: np.ndarray, layers: np.ndarray, values: np.ndarray,
                   numbers: np.ndarray, names: list[str], dtype: Any) -> np.ndarray:
    """(layers, z, y, x) block → (z, y, x) label image; refuses overlapping segments."""
    out = np.zeros(block.shape[1:], dtype=dtype)
    for layer, value, number, name in zip(layers, values, numbers, names, strict=True):
        mask = block[layer] == value
        clash = mask & (out != 0)
        if clash.any():
            other = int(out[clash][0])
            raise LabelOverlapError(
                f"segments {other} and {int(number)} ({name!r}) overlap "
                f"({int(clash.sum())} voxels in this chunk), so they cannot share one label "
                "image; open with combine=False for one mask per segment on a 'c' dim"
            )
        out[mask] = number
    return out


def open_seg_nrrd(path: str | os.PathLike[str], *, chunks: Any = None,
                  combine: bool | None = None) -> xr.DataArray:
    """Open a Slicer ``.seg.nrrd`` lazily as a label image with its segment table.

    Parameters
    ----------
    path : str or path-like
    chunks : optional
        dask chunks as for :func:`~spatial_xr.io.nrrd.open_nrrd` (by dim name).
    combine : bool, optional
        For files with several layers: None (default) merges them into one label image
        when the segments' extents show they cannot overlap, else gives masks on ``c``;
        True always merges; False always gives masks (also for one layer).

    Returns
    -------
    xarray.DataArray
        ``(z, y, x)`` label image or ``(c, z, y, x)`` masks (one per segment), dask-backed.
        ``attrs``: ``kind`` ``"label"``, ``segments`` (number, name, color 0–255,
        category/type from the terminology entry, ``slicer_fields`` with every
        ``Segment<i>_…`` field as read), ``nrrd_fields`` (the ``Segmentation_*`` and other
        pairs), ``source_format`` ``"SEG.NRRD"``.

    Raises
    ------
    FormatError
        A segment's ``Layer`` or ``LabelValue`` disagrees with the data, or two segments
        share a layer and value; and what :func:`~spatial_xr.io.nrrd.open_nrrd` raises.
    """
    path = os.fspath(path)
    if combine not in (None, True, False):
        raise ParameterError(f"combine must be None, True or False, got {combine!r}")
    img = open_nrrd(path, chunks=chunks)
    where = os.path.basename(path)
    extra_dims = [d for d in img.dims if d not in ("c", "z", "y", "x")]
    if extra_dims or "z" not in img.dims:
        raise FormatError(f"{where}: a Slicer segmentation is a 3-D image with an optional "
                          f"'list' axis; this file has dims {tuple(img.dims)}")
    segs, others = parse_segment_fields(img.attrs.get("nrrd_fields") or {}, where)
    n_layers = img.sizes.get("c", 1)
    dtype = np.dtype(img.dtype)
    _check(segs, n_layers, dtype, where)
    attrs = {k: v for k, v in img.attrs.items() if k not in ("nrrd_fields", "nrrd_kinds",
                                                              "direction")}
    attrs.update(source_format="SEG.NRRD", source=where, kind=LABEL_KIND)
    if others:
        attrs["nrrd_fields"] = others
    values = [s.label_value for s in segs]
    unique_values = len(set(values)) == len(values)
    numbers = [v if unique_values else i + 1 for i, v in enumerate(values)]
    table: list[Segment] = [segment_from_slicer(s, n) for s, n in zip(segs, numbers,
                                                                      strict=True)]
    shape_xyz = (img.sizes["x"], img.sizes["y"], img.sizes["z"])
    if combine is None:
        combine = n_layers == 1 or _disjoint_layers(segs, shape_xyz)
    if not segs or (combine and n_layers == 1):
        data = img.isel(c=0, drop=True) if "c" in img.dims and n_layers == 1 else img
    else:
        stack = img if "c" in img.dims else img.expand_dims("c")
        stack = stack.transpose("c", "z", "y", "x").chunk({"c": -1})
        arr = stack.data
        layers = np.array([s.layer for s in segs], dtype=np.intp)
        vals = np.array(values, dtype=dtype)
        coords = {d: stack.coords[d] for d in ("z", "y", "x")}
        if combine:
            out_dtype = label_dtype(max(numbers))
            fn = functools.partial(_combine_block, layers=layers, values=vals,
                                   numbers=np.array(numbers), names=[t.name for t in table],
                                   dtype=out_dtype)
            lazy = dsa.map_blocks(fn, arr, dtype=out_dtype, drop_axis=0,
                                  name=f"segnrrd-combine-{tokenize(arr.name, numbers)}")
            data = xr.DataArray(lazy, dims=("z", "y", "x"), coords=coords)
        else:
            fn = functools.partial(_masks_block, layers=layers, values=vals)
            lazy = dsa.map_blocks(fn, arr, dtype=np.uint8,
                                  chunks=((len(segs),), *arr.chunks[1:]),
                                  name=f"segnrrd-masks-{tokenize(arr.name, values)}")
            data = xr.DataArray(lazy, dims=("c", "z", "y", "x"), coords=coords)
    data.name = "labels"
    data.attrs = {**attrs, "direction": img.attrs["direction"],
                  "segments": [s.to_json() for s in table]}
    return data
