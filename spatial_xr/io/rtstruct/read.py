"""Open an RT Structure Set (RTSTRUCT) as a lazy label image on a reference grid.

**Placement.** Every ROI's ``CLOSED_PLANAR`` contours are mapped from world space (LPS mm)
into the reference grid's continuous index space with its direction, so contours on
oblique series land on their slices exactly (see :mod:`spatial_xr.io.rtstruct.plan`).

**Inclusion rule.** On each slice, a voxel belongs to an ROI when its **centre** lies
inside the region the ROI's contours on that slice enclose by the **even-odd rule** (a
contour inside another is a hole, one inside the hole an island again), or on one of
those contours (within 0.01 voxel). See :mod:`spatial_xr.io.rtstruct.raster`.

**Laziness.** Opening reads the structure set (no pixels) and the reference series'
headers. Rasterising happens per dask chunk: each chunk fills only its slices, with only
the contours lying on them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    ParameterError,
    SpatialXRWarning,
    UnsupportedOptionError,
)
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import chunks_by_name, default_z_chunk
from spatial_xr.io.rtstruct.lazy import ContourMaskArray
from spatial_xr.io.rtstruct.plan import DEFAULT_TOLERANCE, Placement, place_rois
from spatial_xr.io.rtstruct.reference import (
    ReferenceLike,
    check_frame_of_reference,
    resolve_reference,
)
from spatial_xr.io.rtstruct.structure import Roi, StructureSet, read_structure_set
from spatial_xr.labels import LABEL_KIND, Segment, label_dtype

__all__ = ["open_rtstruct", "roi_segment"]

OffGrid = Literal["warn", "raise", "ignore"]


def roi_segment(roi: Roi) -> Segment:
    """The segment-table row of an ROI: ``number`` (ROINumber), ``name``, ``color``
    (ROIDisplayColor), ``algorithm`` (ROIGenerationAlgorithm), and, when present,
    ``rt_roi_interpreted_type`` (RTROIInterpretedType) and ``description``
    (ROIDescription).

    Raises
    ------
    FormatError
        An ROI number below 1 (it cannot be a label value).
    """
    if roi.number < 1:
        raise FormatError(
            f"ROI {roi.name!r} has ROINumber {roi.number}; label values start at 1, so it "
            "cannot be placed in a label image. Leave it out with rois=[...]"
        )
    extra: dict[str, Any] = {}
    if roi.interpreted_type:
        extra["rt_roi_interpreted_type"] = roi.interpreted_type
    if roi.description:
        extra["description"] = roi.description
    algorithm = roi.algorithm if roi.algorithm in ("MANUAL", "SEMIAUTOMATIC",
                                                   "AUTOMATIC") else None
    return Segment(roi.number, roi.name, color=roi.color, algorithm=algorithm, extra=extra)


def _is_area(roi: Roi) -> bool:
    """An ROI to rasterise: it has closed contours, or none at all (nothing drawn yet)."""
    return roi.loaded and (bool(roi.closed) or not roi.contours)


def _choose(ss: StructureSet, rois: Sequence[int | str] | None) -> list[Roi]:
    if rois is None:
        return [r for r in ss.rois if _is_area(r)]
    if isinstance(rois, str | int):
        rois = [rois]
    by_number = {r.number: r for r in ss.rois}
    chosen: list[Roi] = []
    for want in rois:
        if isinstance(want, int | np.integer) and not isinstance(want, bool):
            roi = by_number.get(int(want))
        else:
            hits = [r for r in ss.rois if r.name == want]
            if len(hits) > 1:
                raise ParameterError(
                    f"{len(hits)} ROIs are called {want!r} (numbers "
                    f"{[r.number for r in hits]}); choose them by number"
                )
            roi = hits[0] if hits else None
        if roi is None:
            listing = ", ".join(f"{r.number} {r.name!r}" for r in ss.rois)
            raise ParameterError(f"no ROI {want!r} in {os.path.basename(ss.path)!r}; it "
                                 f"holds: {listing}")
        if not _is_area(roi):
            kinds = sorted({c.geometric_type for c in roi.contours})
            raise UnsupportedOptionError(
                f"ROI {roi.number} ({roi.name!r}) has only {', '.join(kinds)} contours, which "
                "enclose no area; its points are in attrs['rtstruct_markers']"
            )
        if roi not in chosen:
            chosen.append(roi)
    return chosen


def _markers(ss: StructureSet, chosen: list[Roi]) -> list[dict[str, Any]]:
    out = []
    for roi in ss.rois:
        if roi in chosen or not roi.loaded or _is_area(roi):
            continue
        kinds = sorted({c.geometric_type for c in roi.contours})
        entry: dict[str, Any] = {"number": roi.number, "name": roi.name, "types": kinds}
        if kinds == ["POINT"]:
            entry["points"] = [np.round(p, 6).tolist() for c in roi.contours
                               for p in c.points]
        out.append(entry)
    return out


def _report_off_grid(placement: Placement, chosen: list[Roi], off_grid: OffGrid,
                     path: str) -> None:
    if off_grid not in ("warn", "raise", "ignore"):
        raise UnsupportedOptionError(
            f"off_grid must be 'warn', 'raise' or 'ignore', got {off_grid!r}")
    found = placement.off_grid
    if not found or off_grid == "ignore":
        return
    parts = []
    for pos, (dropped, clipped) in found.items():
        roi = chosen[pos]
        what = []
        if dropped:
            where = placement.world_off.get(pos, [])[:3]
            what.append(f"{dropped} contour(s) on no slice of the grid (centres at "
                        f"{where}{' …' if dropped > 3 else ''}) left out")
        if clipped:
            what.append(f"{clipped} contour(s) beyond its in-plane extent clipped")
        parts.append(f"ROI {roi.number} ({roi.name!r}): " + "; ".join(what))
    text = (f"{os.path.basename(path)}: contours off the reference grid — "
            + " | ".join(parts) + ". Pass a reference that covers the structures, or "
            "off_grid='ignore' to accept this")
    if off_grid == "raise":
        raise GeometryError(text + " (off_grid='raise')")
    warnings.warn(text, SpatialXRWarning, stacklevel=3)


def _chunks(chunks: Any, names: tuple[str, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    nz = shape[names.index("z")]
    plane = shape[names.index("y")] * shape[names.index("x")]
    default = tuple(1 if n == "c" else default_z_chunk(nz, plane) if n == "z" else s
                    for n, s in zip(names, shape, strict=True))
    if chunks is None:
        return default
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, names, default, shape)
    raise DimensionError("chunks must be a mapping of dim name to chunk size, e.g. {'z': 16}")


def open_rtstruct(
    path: str | os.PathLike[str],
    *,
    reference: ReferenceLike | None = None,
    rois: Sequence[int | str] | None = None,
    combine: bool = False,
    chunks: Any = None,
    tolerance: float = DEFAULT_TOLERANCE,
    off_grid: OffGrid = "warn",
    invalid_contours: Literal["raise", "skip", "outline"] = "raise",
) -> xr.DataArray:
    """Open an RTSTRUCT lazily as masks (or one label image) on a reference grid.

    Parameters
    ----------
    path : str or path-like
        The RT Structure Set file.
    reference : folder, file list, DataArray or Grid, optional
        Where to place the structures: the referenced series (a folder or files holding
        it), an opened image, or any 3-D :class:`~spatial_xr.geometry.Grid`. Default: the
        series the structure set references, found among the files beside it. The frame
        of reference is checked when both sides name one (a Grid is used as given).
    rois : sequence of int or str, optional
        ROI numbers or names to open, in that order. Default: every ROI that encloses an
        area (ROIs with only ``POINT``/open contours are listed in
        ``attrs["rtstruct_markers"]``). Only the contours of the ROIs opened are read.
    combine : bool
        False (default): dims ``(c, z, y, x)``, one uint8 mask (1 inside) per ROI on
        ``c``, so overlapping ROIs are kept. True: one label image ``(z, y, x)`` whose
        voxels hold the ROI number; computing a chunk where two ROIs overlap raises
        :class:`~spatial_xr.errors.LabelOverlapError`.
    chunks : mapping, optional
        dask chunks by dim name. Default: one ROI per chunk (``c``) and whole volumes of up
        to 512 MiB, else z slabs (see :mod:`spatial_xr.io.chunking`).
    tolerance : float
        Largest distance of a contour point from its slice, in slice spacings (0.25).
    off_grid : {"warn", "raise", "ignore"}
        Contours on no slice of the grid are left out, contours beyond its in-plane extent
        clipped; by default with a :class:`~spatial_xr.errors.SpatialXRWarning`, or
        refused with :class:`~spatial_xr.errors.GeometryError`.
    invalid_contours : {"raise", "skip", "outline"}
        A closed contour with fewer than 3 points (mask-to-contour tools write them for
        structures one voxel thin) raises :class:`~spatial_xr.errors.FormatError`; with
        ``"skip"`` it is dropped; with ``"outline"`` it takes the voxels whose centres it
        passes through (the rasterising rule's on-contour part, as OpenCV draws it).

    Returns
    -------
    xarray.DataArray
        dask-backed, on the reference grid; ``attrs``: ``kind`` ``"label"``, ``segments``
        (one per ROI, in ``c`` order: number, name, color, algorithm,
        rt_roi_interpreted_type, description), ``source_format`` ``"RTSTRUCT"``,
        ``frame_of_reference_uid``, ``referenced_series_uid``, ``structure_set_label``.

    Raises
    ------
    FormatError
        Not an RT Structure Set, malformed contours, a contour with fewer than 3 points.
    SeriesSelectionError
        The referenced series is not found and no ``reference`` is given.
    FrameOfReferenceError
        The reference lies in another frame of reference.
    GeometryError
        Contours not parallel to the reference's slices, between slices, or off the grid
        with ``off_grid="raise"``.
    """
    path = os.fspath(path)
    if isinstance(rois, str | int):
        rois = [rois]
    ss = read_structure_set(path, only=None if rois is None else set(rois))
    chosen = _choose(ss, rois)
    if invalid_contours not in ("raise", "skip", "outline"):
        raise UnsupportedOptionError(
            "invalid_contours must be 'raise', 'skip' or 'outline', got "
            f"{invalid_contours!r}")
    if not (isinstance(tolerance, int | float) and 0 < tolerance < 0.5):
        raise ParameterError(f"tolerance must be a fraction of the slice spacing in "
                             f"(0, 0.5), got {tolerance!r}")
    if not chosen:
        raise FormatError(f"{os.path.basename(path)!r} holds no ROI that encloses an area "
                          f"(ROIs: {[(r.number, r.name) for r in ss.rois]})")
    segments = [roi_segment(r) for r in chosen]
    ref = resolve_reference(ss, reference)
    check_frame_of_reference(ss, ref, [r.number for r in chosen])
    placement = place_rois(ref.grid, chosen, tolerance=tolerance, invalid=invalid_contours)
    _report_off_grid(placement, chosen, off_grid, path)

    numbers = [r.number for r in chosen]
    dtype = label_dtype(max(numbers)) if combine else np.dtype(np.uint8)
    lazy = ContourMaskArray(placement, numbers, [r.name for r in chosen], combine=combine,
                            dtype=dtype)
    names = ("z", "y", "x") if combine else ("c", "z", "y", "x")
    st = os.stat(path)
    token = dask.base.tokenize(path, st.st_mtime_ns, st.st_size, ref.grid, numbers,
                               combine, tolerance, invalid_contours)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=_chunks(chunks, names, lazy.shape), asarray=False, fancy=True,
        name=f"rtstruct-{token}", meta=np.empty((0,) * lazy.ndim, dtype)))
    attrs: dict[str, Any] = {
        "source_format": "RTSTRUCT",
        "source": os.path.basename(path),
        "kind": LABEL_KIND,
        "segments": [s.to_json() for s in segments],
    }
    fr = ref.frame_of_reference_uid or (ss.frame_of_reference_uids[0]
                                        if ss.frame_of_reference_uids else None)
    if fr:
        attrs["frame_of_reference_uid"] = fr
    if ref.series_uid:
        attrs["referenced_series_uid"] = ref.series_uid
    if ref.attrs.get("study_uid"):
        attrs["study_uid"] = ref.attrs["study_uid"]
    if ss.label:
        attrs["structure_set_label"] = ss.label
    markers = _markers(ss, chosen)
    if markers:
        attrs["rtstruct_markers"] = markers
    da = xr.DataArray(data, dims=names, name="labels", attrs=attrs)
    return assign_grid(da, ref.grid)
