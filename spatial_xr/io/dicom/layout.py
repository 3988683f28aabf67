"""Arrange the slices of one series into a (t, z) table with exact geometry.

Rules (see ``docs/dicom.md``): slices are ordered by ``ImagePositionPatient`` projected on
the normal of ``ImageOrientationPatient`` (row × column), never by file name or
InstanceNumber; repeated positions become a ``t`` dim ordered by the first tag that
separates them; inconsistent or irregular stacks raise an error that names the problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spatial_xr.errors import (
    DuplicateSliceError,
    FormatError,
    GantryTiltError,
    GeometryError,
    MixedGeometryError,
    SliceSpacingError,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid
from spatial_xr.geometry.slices import (
    POSITION_TOL,
    ResamplePlan,
    check_regular_stack,
    plan_regular_resample,
    slice_direction,
)
from spatial_xr.io.dicom.headers import T_TAGS, FrameHeader

__all__ = ["Layout", "arrange"]

Irregular = Literal["raise", "resample"]
_SAME_POSITION = 1e-3  # mm: slices closer than this along the normal share a position


@dataclass(frozen=True)
class Layout:
    """Slices of a series arranged as a regular (t, z) stack.

    Attributes
    ----------
    frames : list of FrameHeader
    table : ndarray of int, shape (nt, nz_src)
        Index into ``frames`` of the slice at each (t, source z).
    grid : Grid
        Geometry of the output volume (after resampling, if planned).
    t_tag : str or None
        Tag that separates the volumes (``None`` for one volume).
    t_values : list or None
        Value of ``t_tag`` for each volume (at the first position).
    plan : ResamplePlan or None
        Set when the stack is irregular and ``irregular="resample"``.
    """

    frames: list[FrameHeader]
    table: np.ndarray
    grid: Grid
    t_tag: str | None
    t_values: list[Any] | None
    plan: ResamplePlan | None

    @property
    def shape(self) -> dict[str, int]:
        """Output sizes by dim name."""
        nx, ny, nz = self.grid.shape_xyz
        out = {"t": int(self.table.shape[0])} if self.t_tag is not None else {}
        out.update(z=int(nz), y=int(ny), x=int(nx))
        if self.frames[0].samples > 1:
            out["c"] = self.frames[0].samples
        return out


def _fmt(v: Any) -> str:
    return "(" + ", ".join(f"{x:.6g}" for x in v) + ")" if isinstance(v, tuple) else repr(v)


def _one_file_without_geometry(frames: Sequence[FrameHeader]) -> bool:
    """All frames come from one multi-frame file that has no position/orientation."""
    return len({f.path for f in frames}) == 1 and all(
        f.ipp is None and f.iop is None for f in frames
    )


def _check_consistent(frames: Sequence[FrameHeader]) -> np.ndarray:
    """Check sizes, pixel spacing and orientation agree; return the direction matrix."""
    for what, key in (
        ("sizes (Rows x Columns)", lambda f: (f.rows, f.cols)),
        ("samples per pixel", lambda f: f.samples),
        ("bits allocated / pixel representation",
         lambda f: (f.bits_allocated, f.pixel_representation)),
    ):
        seen = Counter(key(f) for f in frames)
        if len(seen) > 1:
            raise MixedGeometryError(
                f"the slices of series {frames[0].series_uid} disagree on {what}: "
                + ", ".join(f"{_fmt(k)} in {n} slices" for k, n in seen.items())
                + ". Select the slices that belong together (select=..., or a list of files)."
            )
    bad = [f for f in frames if f.pixel_spacing is not None and min(f.pixel_spacing) <= 0]
    if bad:
        raise GeometryError(
            f"{bad[0].path!r} has PixelSpacing {_fmt(bad[0].pixel_spacing)}; the spacing "
            "between rows and between columns must be > 0 mm — the file is corrupt"
        )
    spacings = np.array([f.pixel_spacing or (np.nan, np.nan) for f in frames], np.float64)
    if np.any(np.isfinite(spacings)) and (
        np.nanmax(spacings, 0) - np.nanmin(spacings, 0) > 1e-4 * np.nanmax(spacings, 0)
    ).any():
        seen = Counter(f.pixel_spacing for f in frames)
        raise MixedGeometryError(
            f"the slices of series {frames[0].series_uid} disagree on PixelSpacing: "
            + ", ".join(f"{_fmt(k)} in {n} slices" for k, n in seen.items())
            + ". Select the slices that belong together (select=..., or a list of files)."
        )
    iops = [f.iop for f in frames]
    if any(f.iop is None or f.ipp is None for f in frames):
        if len(frames) == 1 or _one_file_without_geometry(frames):
            return np.eye(3) if iops[0] is None else slice_direction(np.asarray(iops[0]))
        no_ipp = [f for f in frames if f.ipp is None]
        no_iop = [f for f in frames if f.iop is None]
        first = (no_ipp or no_iop)[0].path
        raise FormatError(
            f"series {frames[0].series_uid} has {len(frames)} slices but {len(no_ipp)} lack a "
            f"valid ImagePositionPatient and {len(no_iop)} a valid ImageOrientationPatient "
            f"(e.g. {first!r}), so they cannot be stacked in space; open the files one at a "
            "time"
        )
    if len(frames) > 1 and any(f.ipp is None for f in frames):
        raise FormatError(
            f"series {frames[0].series_uid} has {len(frames)} slices but some lack "
            "ImagePositionPatient, so they cannot be stacked in space; open the files one at "
            "a time"
        )
    arr = np.asarray(iops, np.float64)
    if np.abs(arr - arr[0]).max() > 1e-4:
        groups = Counter(tuple(round(x, 4) for x in v) for v in iops)  # type: ignore[union-attr]
        raise MixedGeometryError(
            f"the slices of series {frames[0].series_uid} have {len(groups)} different "
            "orientations (ImageOrientationPatient): "
            + "; ".join(f"{_fmt(k)} in {n} slices" for k, n in groups.most_common())
            + ". A localizer or a multi-planar series cannot form one volume; select one "
            "orientation (select={'ImageOrientationPatient': ...} or a callable, or a list of "
            "files)."
        )
    return slice_direction(arr.mean(axis=0))


def _split_positions(
    frames: Sequence[FrameHeader], order: np.ndarray, dist: np.ndarray
) -> list[list[int]]:
    groups: list[list[int]] = []
    for i in order:
        if not groups or dist[i] - dist[groups[-1][0]] > _SAME_POSITION:
            groups.append([int(i)])
        else:
            groups[-1].append(int(i))
    return groups


def _t_tag(frames: Sequence[FrameHeader], groups: list[list[int]], forced: str | None) -> str:
    candidates = (forced,) if forced else T_TAGS
    for tag in candidates:
        ok = True
        for g in groups:
            vals = [frames[i].tags.get(tag) for i in g]
            if any(v is None for v in vals) or len(set(vals)) != len(vals):
                ok = False
                break
        if ok:
            return tag
    where = groups[0]
    raise DuplicateSliceError(
        f"{len(groups[0])} slices share the position {_fmt(frames[where[0]].ipp)} (and "
        f"{len(groups) - 1} other positions repeat too), and "
        + (f"the tag {forced!r} does not" if forced else
           f"none of the tags {', '.join(T_TAGS)} does")
        + " tell them apart. The files are duplicates from different exports or different "
        "acquisitions in one series: select the files to use (select=..., or a list of files)."
    )


def _sortable(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float) else (1, str(v))


def _drop_identical_duplicates(
    frames: list[FrameHeader], groups: list[list[int]]
) -> list[list[int]] | None:
    """If every repeated slice is a pixel-identical copy, keep one per position."""
    from spatial_xr.io.dicom.lazy import decode_source

    for g in groups:
        if len(g) < 2:
            continue
        ref = decode_source(frames[g[0]].source, frames[g[0]].rows, frames[g[0]].cols)
        for i in g[1:]:
            other = decode_source(frames[i].source, frames[i].rows, frames[i].cols)
            if not np.array_equal(ref, other) or (
                frames[i].slope, frames[i].intercept
            ) != (frames[g[0]].slope, frames[g[0]].intercept):
                return None
    return [[g[0]] for g in groups]


def arrange(
    frames: Sequence[FrameHeader],
    *,
    irregular: Irregular = "raise",
    t_tag: str | None = None,
    tol: float = POSITION_TOL,
    check_duplicates: bool = True,
) -> Layout:
    """Sort the slices of one series into a regular (t, z) stack and compute its geometry.

    Parameters
    ----------
    frames : sequence of FrameHeader
        Slices of one series.
    irregular : {"raise", "resample"}
        What to do with a tilted or unevenly spaced stack.
    t_tag : str, optional
        Tag that separates repeated positions into volumes (default: the first of
        :data:`~spatial_xr.io.dicom.headers.T_TAGS` that does).
    tol : float
        Largest deviation (mm) of a slice from a regular grid.
    check_duplicates : bool
        When nothing separates repeated positions, decode them to see whether they are
        identical copies (kept once) or conflicting slices (error).

    Returns
    -------
    Layout

    Raises
    ------
    MixedGeometryError, SliceSpacingError, GantryTiltError, DuplicateSliceError, FormatError
    """
    if irregular not in ("raise", "resample"):
        raise UnsupportedOptionError(f"irregular must be 'raise' or 'resample', got {irregular!r}")
    frames = list(frames)
    if not frames:
        raise FormatError("no image slices to arrange")
    direction = _check_consistent(frames)
    f0 = frames[0]
    srow, scol = f0.pixel_spacing or (1.0, 1.0)
    if f0.pixel_spacing is None and f0.ipp is not None and f0.iop is not None:
        raise FormatError(
            f"{f0.path!r} has ImagePositionPatient and ImageOrientationPatient but no valid "
            "PixelSpacing (or ImagerPixelSpacing), so its in-plane voxel size is unknown; fix "
            "the file's PixelSpacing"
        )
    if f0.ipp is None or f0.iop is None:  # a slice, or one file's frames, without geometry
        thick = f0.spacing_between_slices or f0.slice_thickness or 1.0
        by_frame = sorted(range(len(frames)), key=lambda i: frames[i].frame)
        grid = Grid((f0.cols, f0.rows, len(frames)), (scol, srow, thick), (0.0, 0.0, 0.0),
                    direction)
        return Layout(frames, np.array([by_frame], np.intp), grid, None, None, None)

    pos = np.array([f.ipp for f in frames], np.float64)
    dist = pos @ direction[:, 2]
    order = np.argsort(dist, kind="stable")
    groups = _split_positions(frames, order, dist)
    counts = Counter(len(g) for g in groups)
    if len(counts) > 1:
        raise MixedGeometryError(
            f"positions repeat unevenly in series {f0.series_uid}: "
            + ", ".join(f"{n} positions hold {k} slices" for k, n in sorted(counts.items()))
            + ". Volumes are incomplete or the series mixes acquisitions; select the slices "
            "that belong together (select=..., or a list of files)."
        )
    nt = len(groups[0])
    tag: str | None = None
    t_values: list[Any] | None = None
    if nt > 1:
        try:
            tag = _t_tag(frames, groups, t_tag)
        except DuplicateSliceError:
            kept = _drop_identical_duplicates(frames, groups) if check_duplicates else None
            if kept is None:
                raise
            import warnings

            from spatial_xr.errors import SpatialXRWarning

            warnings.warn(
                f"series {f0.series_uid}: {nt - 1} identical copies of each slice were "
                "ignored", SpatialXRWarning, stacklevel=4)
            groups, nt = kept, 1
    if tag is not None:
        groups = [sorted(g, key=lambda i: _sortable(frames[i].tags[tag])) for g in groups]
        t_values = [frames[i].tags[tag] for i in groups[0]]
    table = np.array(groups, dtype=np.intp).T  # (nt, nz)
    first = pos[table[0]]  # positions of the first volume, sorted along the normal
    for t in range(1, nt):
        if np.abs(pos[table[t]] - first).max() > tol:
            raise MixedGeometryError(
                f"volume {t} of series {f0.series_uid} (split by {tag}) has different slice "
                "positions from volume 0; select the volumes that belong together"
            )
    nz = table.shape[1]
    plan = None
    if nz == 1:
        thick = f0.spacing_between_slices or f0.slice_thickness or 1.0
        spacing_z = float(thick)
    else:
        try:
            spacing_z = check_regular_stack(first, direction, tol)
        except (SliceSpacingError, GantryTiltError):
            if irregular != "resample":
                raise
            plan = plan_regular_resample(first, direction, (srow, scol))
            spacing_z = plan.spacing_z
    n_out = plan.n_slices if plan is not None else nz
    grid = Grid((f0.cols, f0.rows, n_out), (scol, srow, spacing_z), first[0], direction)
    return Layout(frames, table, grid, tag, t_values, plan)
