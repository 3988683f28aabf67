"""Write a label image as a 3D Slicer segmentation (``.seg.nrrd``) that keeps Slicer's
fields.

**Layers.** A label image ``(z, y, x)`` is written as one layer (a 3-D file): each
segment's ``LabelValue`` is its number; voxels whose value is no segment's number are
written as 0. Masks ``(c, z, y, x)`` (one segment per ``c`` index, overlaps allowed) are
written as a 4-D file with a ``list`` axis of layers: with ``layers="keep"`` (default) on
the layers and label values they were read with (their ``slicer_fields``), when every
segment has them and no two share a layer and value; otherwise, and with
``layers="separate"``, each segment on its own layer with its number as label value.
Segments that share a layer must not overlap: computing such a voxel raises
:class:`~spatial_xr.errors.LabelOverlapError` (and nothing is written).

**Fields.** Every ``Segment<i>_…`` field read (``slicer_fields``) is written back,
updated where the table changed (name, colour, category/type) and with the layout of the
file written (``LabelValue``, ``Layer``). ``Extent`` is kept while it still covers the
voxels of the segment's layer (one pass over the data finds them), else it becomes the
whole image. The other key/value pairs (``attrs["nrrd_fields"]``: ``Segmentation_*`` and
unknown keys) are written unchanged; ``Segmentation_MasterRepresentation``,
``Segmentation_ContainedRepresentationNames`` and
``Segmentation_ReferenceImageExtentOffset`` get Slicer's defaults when absent.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any, Literal

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
from dask.base import tokenize

from spatial_xr.coords import spatial_dims
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    LabelOverlapError,
    UnsupportedOptionError,
)
from spatial_xr.io.atomic import check_overwrite
from spatial_xr.io.label_table import writer_segments
from spatial_xr.io.nrrd import write_nrrd
from spatial_xr.io.segnrrd.fields import FIELDS_KEY, slicer_fields_for, stored_layout
from spatial_xr.io.segnrrd.read import is_seg_nrrd_path
from spatial_xr.labels import Segment, label_dtype

__all__ = ["write_seg_nrrd"]

_SEGMENT_FIELD = re.compile(r"^Segment\d+_")
_DEFAULT_FIELDS = {
    "Segmentation_MasterRepresentation": "Binary labelmap",
    "Segmentation_ContainedRepresentationNames": "Binary labelmap|",
    "Segmentation_ReferenceImageExtentOffset": "0 0 0",
}


def _layer_block(block: np.ndarray, members: list[tuple[int, int, int]], n_layers: int,
                 dtype: Any) -> np.ndarray:
    """(segments, z, y, x) masks → (layers, z, y, x) labels, refusing overlaps on a
    layer; ``members`` holds (mask index, layer, label value)."""
    out = np.zeros((n_layers, *block.shape[1:]), dtype=dtype)
    for index, layer, value in members:
        mask = block[index] != 0
        view = out[layer]
        clash = mask & (view != 0)
        if clash.any():
            raise LabelOverlapError(
                f"two segments on layer {layer} overlap ({int(clash.sum())} voxels in this "
                f"chunk, label values {int(view[clash][0])} and {value}); write with "
                "layers='separate' to put each segment on its own layer"
            )
        view[mask] = value
    return out


def _label_block(block: np.ndarray, numbers: np.ndarray, dtype: Any) -> np.ndarray:
    """Label image block with values that are no segment's number set to 0."""
    return np.where(np.isin(block, numbers), block, 0).astype(dtype)


def _layout(da: xr.DataArray, rows: list[Segment], layers: str
            ) -> tuple[list[tuple[int, int]], int]:
    """(layer, label value) per segment and the number of layers."""
    if "c" not in da.dims:
        return [(0, s.number) for s in rows], 1
    stored = [stored_layout(s) for s in rows]
    if layers == "keep" and stored and all(p is not None for p in stored):
        pairs = [p for p in stored if p is not None]
        if len(set(pairs)) == len(pairs) and all(layer >= 0 and value >= 1
                                                 for layer, value in pairs):
            return pairs, max(layer for layer, _ in pairs) + 1
    return [(i, s.number) for i, s in enumerate(rows)], len(rows)


def _extent_text(lo: np.ndarray | None, hi: np.ndarray | None) -> str:
    if lo is None or hi is None:
        return "0 -1 0 -1 0 -1"
    return " ".join(f"{int(a)} {int(b)}" for a, b in zip(lo, hi, strict=True))


def _covers(text: str | None, lo: np.ndarray | None, hi: np.ndarray | None) -> bool:
    if text is None:
        return False
    try:
        ext = [int(v) for v in text.split()]
    except ValueError:
        return False
    if len(ext) != 6:
        return False
    if lo is None or hi is None:
        return True  # nothing to cover
    return all(ext[2 * a] <= lo[a] and hi[a] <= ext[2 * a + 1] for a in range(3))


def _layer_boxes(layered: dsa.Array) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """Per layer of (layers, z, y, x) data: the (x, y, z) index box of its non-zero
    voxels (None, None when empty), from one pass over the data."""
    nz = layered != 0
    profiles = dask.compute(nz.any(axis=(2, 3)), nz.any(axis=(1, 3)), nz.any(axis=(1, 2)))
    out: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    for layer in range(layered.shape[0]):
        z, y, x = (np.flatnonzero(p[layer]) for p in profiles)
        if z.size == 0:
            out.append((None, None))
        else:
            out.append((np.array([x[0], y[0], z[0]]), np.array([x[-1], y[-1], z[-1]])))
    return out


def write_seg_nrrd(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    segments: Any = None,
    layers: Literal["keep", "separate"] = "keep",
    encoding: Literal["raw", "gzip"] = "gzip",
    overwrite: bool = False,
) -> Path:
    """Write a label image or masks as a Slicer ``.seg.nrrd`` (see the module docstring).

    Parameters
    ----------
    da : xarray.DataArray
        Label image ``(z, y, x)`` or masks ``(c, z, y, x)``, integer or bool.
    path : str or path-like
        Destination, named ``*.seg.nrrd``.
    segments : segment table, optional
        Default: ``attrs["segments"]``, else one segment per label value (or ``c`` index).
    layers : {"keep", "separate"}
        For masks: reuse the layers and label values read from a ``.seg.nrrd``, or put
        every segment on its own layer.
    encoding : {"gzip", "raw"}
        gzip (Slicer's default) or raw.
    overwrite : bool
        Replace an existing file (only after the new one is complete).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FormatError
        The name does not end in ``.seg.nrrd``.
    DimensionError
        Dims other than ``c, z, y, x``.
    ParameterError
        A non-integer image or a table that does not match it.
    LabelOverlapError
        Two segments that share a layer overlap.
    OverwriteError
        The file exists and ``overwrite`` is False.
    """
    path = Path(path)
    if not is_seg_nrrd_path(path):
        raise FormatError(f"Slicer segmentation files are named *.seg.nrrd; got {str(path)!r}")
    check_overwrite(path, overwrite)
    if layers not in ("keep", "separate"):
        raise UnsupportedOptionError(f"layers must be 'keep' or 'separate', got {layers!r}")
    sdims = spatial_dims(da)
    extra = [d for d in da.dims if d not in sdims and d != "c"]
    if len(sdims) != 3 or extra:
        raise DimensionError(
            "a Slicer segmentation is written from a 3-D label image (z, y, x) or masks "
            f"(c, z, y, x); got dims {tuple(da.dims)}"
        )
    rows = writer_segments(da, segments)
    pairs, n_layers = _layout(da, rows, layers)
    dtype = label_dtype(max((v for _, v in pairs), default=1))
    if "c" in da.dims:
        masks = da.transpose("c", "z", "y", "x").chunk({"c": -1})
        members = [(i, layer, value) for i, (layer, value) in enumerate(pairs)]
        fn = functools.partial(_layer_block, members=members, n_layers=n_layers, dtype=dtype)
        arr = dsa.map_blocks(fn, masks.data, dtype=dtype,
                             chunks=((n_layers,), *masks.data.chunks[1:]),
                             name=f"segnrrd-layers-{tokenize(masks.data.name, members)}")
        layered = arr
        out = xr.DataArray(arr, dims=("c", "z", "y", "x"),
                           coords={d: masks.coords[d] for d in ("z", "y", "x")})
    else:
        image = da.transpose("z", "y", "x")
        src = image.data if isinstance(image.data, dsa.Array) else dsa.from_array(
            image.data, chunks={0: max(1, min(image.shape[0], 32))})
        numbers = np.array([s.number for s in rows])
        fn = functools.partial(_label_block, numbers=numbers, dtype=dtype)
        arr = dsa.map_blocks(fn, src, dtype=dtype)
        layered = arr[None]
        out = xr.DataArray(arr, dims=("z", "y", "x"),
                           coords={d: image.coords[d] for d in ("z", "y", "x")})
    boxes = _layer_boxes(layered)
    shape_xyz = (da.sizes["x"], da.sizes["y"], da.sizes["z"])
    whole = " ".join(f"0 {n - 1}" for n in shape_xyz)
    fields: dict[str, str] = dict(_DEFAULT_FIELDS)
    fields.update({str(k): str(v) for k, v in (da.attrs.get("nrrd_fields") or {}).items()
                   if not _SEGMENT_FIELD.match(str(k))})
    for i, (seg, (layer, value)) in enumerate(zip(rows, pairs, strict=True)):
        lo, hi = boxes[layer]
        stored = (seg.extra.get(FIELDS_KEY) or {}).get("Extent")
        extent = stored if _covers(stored, lo, hi) else (
            whole if lo is not None else _extent_text(None, None))
        for key, text in slicer_fields_for(seg, label_value=value, layer=layer,
                                           extent=str(extent)).items():
            fields[f"Segment{i}_{key}"] = text
    attrs = {"direction": da.attrs.get("direction", np.eye(3)), "nrrd_fields": fields}
    if "c" in out.dims:
        attrs["nrrd_kinds"] = {"c": "list"}
    if da.attrs.get("nrrd_content"):
        attrs["nrrd_content"] = da.attrs["nrrd_content"]
    out.attrs = attrs
    return write_nrrd(out, path, encoding=encoding, overwrite=overwrite)
