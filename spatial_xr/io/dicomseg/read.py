"""Open a DICOM Segmentation (SEG) lazily as a label image on its own grid or on a reference.

Opening reads the SEG's header and per-frame functional groups with highdicom (never the
Pixel Data); the frames a computation touches are decoded by highdicom's frame reader when
the chunk holding them is computed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid, grid_of
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    ParameterError,
    SeriesSelectionError,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import chunks_by_name, default_z_chunk
from spatial_xr.io.dicomseg.header import SegHeader, read_seg_header
from spatial_xr.io.dicomseg.lazy import SegFrameArray
from spatial_xr.io.dicomseg.placement import FramePlacement, place_frames
from spatial_xr.labels.segments import as_label, label_dtype

__all__ = ["open_dicomseg", "reference_grid", "resolve_layout"]

Layout = Literal["auto", "label", "stack"]
Fractional = Literal["keep", "threshold"]
_DIMS = ("z", "y", "x")


def _ref_uid(da: xr.DataArray, key: str) -> str | None:
    value = da.attrs.get(key)
    return str(value) if value else None


def reference_grid(
    reference: Any, header: SegHeader
) -> tuple[Grid, dict[str, Any]]:
    """The grid to place a SEG on, checked against what the SEG says it was made from.

    Parameters
    ----------
    reference : xarray.DataArray, str, path-like or list of paths
        An image (its grid; its ``series_uid`` and ``frame_of_reference_uid`` attrs, when
        present, are checked), or a DICOM folder or file list holding the referenced series
        (opened lazily: headers only).
    header : SegHeader

    Returns
    -------
    grid : Grid
    info : dict
        ``series_uid`` and ``frame_of_reference_uid`` of the reference (None if unknown).

    Raises
    ------
    SeriesSelectionError
        The reference is (or the folder holds) no series the SEG references.
    GeometryError
        The frames of reference differ, or the reference is not 3-D.
    """
    if isinstance(reference, xr.DataArray):
        image = reference
    elif isinstance(reference, str | os.PathLike | list | tuple):
        image = _open_reference_series(reference, header)
    else:
        raise ParameterError(
            "reference= must be an image (xarray.DataArray) or a DICOM folder or list of "
            f"files, got {type(reference).__name__}"
        )
    grid = grid_of(image)
    if grid.ndim != 3:
        raise GeometryError("reference= must be a 3-D image: SEG frames are slices of a volume")
    series = _ref_uid(image, "series_uid")
    refs = header.referenced_series_uids
    if series is not None and refs and series not in refs:
        raise SeriesSelectionError(
            f"the SEG {os.path.basename(header.path)!r} was made from series {refs}, but the "
            f"reference is series {series}; pass the referenced series (or an image without "
            "DICOM UIDs to place it by geometry alone)"
        )
    frame = _ref_uid(image, "frame_of_reference_uid")
    if frame and header.frame_of_reference_uid and frame != header.frame_of_reference_uid:
        raise GeometryError(
            f"the SEG's FrameOfReferenceUID {header.frame_of_reference_uid} differs from the "
            f"reference's {frame}: their positions are in different patient coordinate "
            "systems and cannot be compared; register the images first"
        )
    return grid, {"series_uid": series, "frame_of_reference_uid": frame}


def _open_reference_series(reference: Any, header: SegHeader) -> xr.DataArray:
    from spatial_xr.io.dicom.discover import discover_series
    from spatial_xr.io.dicom.series import open_dicom

    refs = header.referenced_series_uids
    if isinstance(reference, str | os.PathLike) and os.path.isdir(reference):
        found = [s for s in discover_series(reference) if s.kind == "image"]
        match = [s for s in found if s.series_uid in refs]
        if not match:
            listing = "; ".join(f"{s.series_uid} ({s.modality}, {s.n_files} files)"
                                for s in found) or "no image series"
            raise SeriesSelectionError(
                f"the SEG {os.path.basename(header.path)!r} references series {refs}, which "
                f"{os.fspath(reference)!r} does not hold (it holds {listing}); pass the folder "
                "of the series the SEG was made from"
            )
        return open_dicom(reference, series_uid=match[0].series_uid)
    return open_dicom(reference)


def _selected_numbers(header: SegHeader, segments: Sequence[int] | None) -> list[int]:
    have = header.segment_numbers
    if segments is None:
        return have
    try:
        wanted = [int(s) for s in segments]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"segments= must be segment numbers, got {segments!r}") from exc
    missing = [s for s in wanted if s not in have]
    if missing or not wanted or len(set(wanted)) != len(wanted):
        raise ParameterError(
            f"segments={wanted} must name distinct segment numbers of this SEG; "
            f"{missing or 'none'} are not among its segments {have}"
        )
    return wanted


def resolve_layout(
    header: SegHeader,
    numbers: list[int],
    placement: FramePlacement,
    layout: Layout,
    fractional: Fractional,
) -> tuple[str, str]:
    """The layout (``"label"`` or ``"stack"``) and frame-value kind of a SEG read.

    ``layout="auto"``: fractions kept as fractions need a ``c`` dim; one segment, a
    LABELMAP, or a file that says ``SegmentsOverlap = NO`` give one label image; a file
    that says ``YES`` gives a stack; otherwise one label image when no two of the selected
    segments have frames at the same slice, else a stack (overlap cannot be excluded
    without reading pixels).

    Raises
    ------
    UnsupportedOptionError
        An unknown layout/fractional option, or fractions kept in one label image.
    """
    if layout not in ("auto", "label", "stack"):
        raise UnsupportedOptionError(
            f"layout must be 'auto', 'label' or 'stack', got {layout!r}"
        )
    if fractional not in ("keep", "threshold"):
        raise UnsupportedOptionError(
            f"fractional must be 'keep' or 'threshold', got {fractional!r}"
        )
    kind = {"BINARY": "binary", "LABELMAP": "labelmap"}.get(header.segmentation_type)
    if kind is None:
        kind = "fraction" if fractional == "keep" else "threshold"
    if kind == "fraction":
        if layout == "label":
            raise UnsupportedOptionError(
                "a FRACTIONAL SEG holds fractions, which one label image cannot: use "
                "layout='stack' (float32 fractions, one c index per segment) or "
                "fractional='threshold' (voxels ≥ ½ belong to the segment)"
            )
        return "stack", kind
    if layout != "auto":
        return layout, kind
    if len(numbers) == 1 or kind == "labelmap" or header.segments_overlap == "NO":
        return "label", kind
    if header.segments_overlap == "YES":
        return "stack", kind
    chosen = np.isin(header.frame_segment, numbers)
    slices = placement.slice_index()[chosen]
    segs = header.frame_segment[chosen]
    pairs = {(int(s), int(g)) for s, g in zip(slices, segs, strict=True)}
    per_slice = np.bincount([s for s, _ in pairs]) if pairs else np.zeros(1)
    return ("label" if per_slice.max() <= 1 else "stack"), kind


def _chunks(chunks: Any, names: tuple[str, ...], shape: tuple[int, ...], slice_dim: str,
            itemsize: int) -> tuple[int, ...]:
    si = names.index(slice_dim)
    per_slice = int(np.prod([n for i, n in enumerate(shape) if i != si])) * itemsize
    default = tuple(default_z_chunk(n, per_slice) if i == si else n
                    for i, n in enumerate(shape))
    if chunks is None:
        return default
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, names, default, shape)
    raise DimensionError("chunks must be a mapping of dim name to chunk size, e.g. {'z': 16}")


def open_dicomseg(
    path: str | os.PathLike[str],
    *,
    reference: Any = None,
    layout: Layout = "auto",
    segments: Sequence[int] | None = None,
    fractional: Fractional = "keep",
    chunks: Any = None,
) -> xr.DataArray:
    """Open a DICOM SEG lazily as a label image (``attrs["kind"] == "label"``).

    Parameters
    ----------
    path : str or path-like
        A Segmentation Storage file (BINARY, FRACTIONAL or LABELMAP; BitsAllocated 1, 8
        or 16; native or compressed transfer syntaxes highdicom decodes).
    reference : xarray.DataArray, str, path-like or list of paths, optional
        Place the SEG exactly on this image's grid: an image, or the DICOM folder (or
        file list) of the series it was made from. Default: the SEG's own grid
        (highdicom's volume geometry of its frames, slices along the frame normal).
        Every frame must lie on voxel centres of the grid (within 0.01 voxel) and inside
        it; the SEG's referenced series and frame of reference must match the
        reference's when the reference has them.
    layout : {"auto", "label", "stack"}
        ``"label"``: one label image (voxel value = segment number; overlapping segments
        raise :class:`~spatial_xr.errors.LabelOverlapError` when computed). ``"stack"``: a
        ``c`` dim with one mask per segment (``segments`` attr in ``c`` order). ``"auto"``
        decides from the header alone, see :func:`resolve_layout`.
    segments : sequence of int, optional
        Segment numbers to read (default all), in the order wanted along ``c``.
    fractional : {"keep", "threshold"}
        FRACTIONAL SEGs: ``"keep"`` gives float32 fractions in [0, 1] on a ``c`` dim (not a
        label image: no ``kind`` attr, the segment table is kept); ``"threshold"`` gives
        labels (fraction ≥ ½).
    chunks : mapping, optional
        dask chunks by dim name; default: whole slices, one chunk up to 512 MiB.

    Returns
    -------
    xarray.DataArray
        dims ``(z, y, x)`` (label layout) or ``(c, z, y, x)`` (stack), dask-backed;
        uint8/uint16 labels, uint8 masks or float32 fractions.

    Raises
    ------
    DependencyError
        highdicom is missing (``pip install 'spatial-xr[seg]'``).
    FormatError
        A malformed SEG (see :func:`~spatial_xr.io.dicomseg.header.read_seg_header`).
    ParameterError
        ``segments=`` names numbers the SEG does not have.
    GeometryError
        Frames off the grid or outside it; different frames of reference; frames that form
        no regular grid and no ``reference=``.
    SeriesSelectionError
        The reference is not the series the SEG references.

    Examples
    --------
    A SEG placed on the grid of the series it segments (``docs/dicom-seg.md`` runs this on
    real files)::

        seg = spatial_xr.open_image("seg.dcm", reference="ct/")
    """
    header = read_seg_header(path)
    numbers = _selected_numbers(header, segments)
    if reference is None:
        if header.own_grid is None:
            raise GeometryError(
                f"the frames of {os.fspath(path)!r} form no regular volume (uneven or "
                "non-parallel positions); pass reference= (the image it was made from)"
            )
        ref_info: dict[str, Any] = {}
        grid = header.own_grid
    else:
        grid, ref_info = reference_grid(reference, header)
    placement = place_frames(grid, header.frame_ipp, header.iop, header.pixel_spacing,
                             header.rows, header.cols)
    lay, kind = resolve_layout(header, numbers, placement, layout, fractional)
    table = {s.number: s for s in header.segments}
    lut = None
    if kind == "labelmap":
        frames = np.arange(header.n_frames)
        values = np.zeros(header.n_frames, np.int64)
        lut = np.zeros(2 ** min(header.bits_allocated, 16), np.int64)
        for i, n in enumerate(numbers):
            if n < lut.size:
                lut[n] = n if lay == "label" else i + 1
    else:
        frames = np.flatnonzero(np.isin(header.frame_segment, numbers))
        segs = header.frame_segment[frames]
        values = segs if lay == "label" else np.array([numbers.index(int(s)) for s in segs],
                                                       np.int64)
    dtype: np.dtype[Any]
    if kind == "fraction":
        dtype = np.dtype(np.float32)
    elif lay == "stack":
        dtype = np.dtype(np.uint8)
    else:
        dtype = label_dtype(max(numbers))
    order = numbers if lay == "stack" else sorted(numbers)
    lazy = SegFrameArray(os.fspath(path), placement, frames, values, lay, kind,
                         header.max_fraction, dtype, n_channels=len(numbers), lut=lut,
                         names={n: table[n].name for n in numbers})
    names = (("c",) if lay == "stack" else ()) + _DIMS
    backend = _chunks(chunks, names, lazy.shape, _DIMS[placement.slice_axis],
                      dtype.itemsize)
    token = dask.base.tokenize(os.fspath(path), os.stat(path).st_mtime_ns, grid, numbers,
                               lay, kind)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=backend, asarray=False, fancy=True, name=f"dicomseg-{token}",
        meta=np.empty((0,) * lazy.ndim, dtype)))
    attrs: dict[str, Any] = {
        "source_format": "DICOM-SEG",
        "source": os.path.basename(os.fspath(path)),
        "modality": "SEG",
        "series_uid": header.series_uid,
        "sop_instance_uid": header.sop_instance_uid,
        "frame_of_reference_uid": header.frame_of_reference_uid,
        "referenced_series_uids": header.referenced_series_uids,
        "segmentation_type": header.segmentation_type,
        "segment_layout": lay,
    }
    if header.fractional_type:
        attrs["fractional_type"] = header.fractional_type
    if ref_info:
        attrs["placed_on"] = "reference"
    da = assign_grid(xr.DataArray(data, dims=names, name="segmentation", attrs=attrs), grid)
    rows = [table[n] for n in order]
    if kind == "fraction":
        da.attrs["segments"] = [s.to_json() for s in rows]
        return da
    if lay == "stack":
        da = da.assign_coords(c=("c", np.asarray(order, np.int64)))
        da.coords["c"].attrs["long_name"] = "segment number"
    return as_label(da, rows)

