"""Geometry of a stack of parallel 2-D slices (DICOM series), in pure numpy.

A DICOM slice has a position (``ImagePositionPatient``: the world point of the centre of
its first pixel) and an orientation (``ImageOrientationPatient``: the row direction — the
world direction in which the **column index** grows, our ``x`` axis — and the column
direction, in which the **row index** grows, our ``y`` axis). A stack of such slices is a
regular 3-D grid only when the slices are parallel, evenly spaced and lie along their
common normal; this module checks that, names what is wrong otherwise, and plans a linear
resampling onto a regular grid when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import GantryTiltError, GeometryError, SliceSpacingError
from spatial_xr.geometry.affine import orthonormalize

__all__ = [
    "ResamplePlan",
    "check_regular_stack",
    "plan_regular_resample",
    "slice_direction",
    "slice_distances",
]

POSITION_TOL = 1e-2
"""Default largest deviation (mm) of a slice from the regular grid fitted through a stack."""


def slice_direction(iop: ArrayLike) -> NDArray[np.float64]:
    """Direction matrix of a slice stack from ``ImageOrientationPatient``.

    Parameters
    ----------
    iop : array_like, shape (6,)
        Row direction cosine (world direction of increasing column index) then column
        direction cosine (increasing row index), LPS.

    Returns
    -------
    ndarray, shape (3, 3)
        Orthonormal, det +1; columns (row, column, normal = row × column), i.e. the world
        directions of the array axes ``x``, ``y``, ``z``.

    Raises
    ------
    GeometryError
        If the two cosines are not (nearly) unit length and orthogonal.
    """
    v = np.asarray(iop, dtype=np.float64).reshape(-1)
    if v.shape != (6,) or not np.all(np.isfinite(v)):
        raise GeometryError(f"ImageOrientationPatient must hold 6 finite numbers, got {iop!r}")
    row, col = v[:3], v[3:]
    d = np.column_stack([row, col, np.cross(row, col)])
    try:
        d = orthonormalize(d, tol=1e-3)
    except GeometryError as exc:
        raise GeometryError(
            f"ImageOrientationPatient {v.tolist()} does not hold two orthogonal unit vectors; "
            "the file's orientation is corrupt"
        ) from exc
    if np.linalg.det(d) < 0:  # pragma: no cover - cross product guarantees det +1
        d[:, 2] *= -1
    return d


def slice_distances(positions: ArrayLike, normal: ArrayLike) -> NDArray[np.float64]:
    """Signed distance (mm) of each slice position along the slice normal.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        ``ImagePositionPatient`` of each slice (LPS, mm).
    normal : array_like, shape (3,)
        Unit slice normal.

    Returns
    -------
    ndarray, shape (n,)
    """
    return np.asarray(positions, np.float64) @ np.asarray(normal, np.float64)


def _inplane_offsets(positions: NDArray[np.float64], direction: NDArray[np.float64]) -> NDArray:
    """In-plane (row, column) offset (mm) of each slice position from the first one."""
    rel = positions - positions[0]
    return rel @ direction[:, :2]


def check_regular_stack(
    positions: ArrayLike, direction: ArrayLike, tol: float = POSITION_TOL
) -> float:
    """Check that sorted slice positions form a regular grid and return the slice spacing.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        Slice positions sorted by ascending distance along the normal (LPS, mm).
    direction : array_like, shape (3, 3)
        From :func:`slice_direction`.
    tol : float
        Largest allowed deviation (mm) of a slice from the regular grid through the first
        and last slice, along the normal and in plane.

    Returns
    -------
    float
        Distance between slices (mm), > 0 (NaN for a single slice).

    Raises
    ------
    GantryTiltError
        The positions do not lie along the normal (a sheared grid).
    SliceSpacingError
        Uneven spacing or a missing slice.
    """
    p = np.asarray(positions, np.float64)
    d = np.asarray(direction, np.float64)
    n = p.shape[0]
    if n < 2:
        return float("nan")
    dist = p @ d[:, 2]
    offsets = _inplane_offsets(p, d)
    shift = float(np.abs(offsets).max())
    if shift > tol:
        extent = dist[-1] - dist[0]
        angle = np.degrees(np.arctan2(np.linalg.norm(offsets[-1]), extent))
        raise GantryTiltError(
            f"the slices do not stack along their normal: slice positions drift in plane by up "
            f"to {shift:.4g} mm over {extent:.4g} mm (a tilt of about {angle:.3g}°, e.g. CT "
            "gantry tilt), so the voxels form a sheared grid that no origin/spacing/direction "
            "describes. Pass irregular='resample' to resample lazily onto a regular grid "
            "along the normal, or open the slices one at a time."
        )
    spacing = (dist[-1] - dist[0]) / (n - 1)
    deviation = np.abs(dist - (dist[0] + spacing * np.arange(n)))
    if spacing <= 0 or float(deviation.max()) > tol:
        steps = np.diff(dist)
        worst = int(np.argmax(np.abs(steps - np.median(steps))))
        raise SliceSpacingError(
            f"the {n} slices are not evenly spaced: steps along the normal range from "
            f"{steps.min():.6g} to {steps.max():.6g} mm (median {np.median(steps):.6g}; the "
            f"largest irregularity is between sorted slices {worst} and {worst + 1}, at "
            f"{dist[worst]:.6g} and {dist[worst + 1]:.6g} mm). A slice is missing or the "
            "series mixes acquisitions. Select a regular sub-series (select=..., or a list "
            "of files), or pass irregular='resample' to resample lazily onto a regular grid."
        )
    return float(spacing)


@dataclass(frozen=True)
class ResamplePlan:
    """How to resample an irregular slice stack onto a regular grid (linear along the normal,
    bilinear in plane).

    Attributes
    ----------
    origin : ndarray, shape (3,)
        World position of voxel 0 of the target grid (that of the first source slice).
    spacing_z : float
        Target slice spacing (mm).
    n_slices : int
        Number of target slices.
    lower, upper : ndarray of int, shape (n_slices,)
        Source slices bracketing each target slice.
    weight : ndarray, shape (n_slices,)
        Weight of ``upper`` (``1 - weight`` for ``lower``).
    shift_rc : ndarray, shape (n_src, 2)
        Offset, in pixels (row, column), of the target grid's in-plane index relative to each
        source slice's: target pixel (r, c) sits at source pixel (r + shift[0], c + shift[1]).
    """

    origin: NDArray[np.float64]
    spacing_z: float
    n_slices: int
    lower: NDArray[np.intp]
    upper: NDArray[np.intp]
    weight: NDArray[np.float64]
    shift_rc: NDArray[np.float64]


def plan_regular_resample(
    positions: ArrayLike,
    direction: ArrayLike,
    spacing_rc: ArrayLike,
    spacing_z: float | None = None,
) -> ResamplePlan:
    """Plan the resampling of a sorted, tilted or unevenly spaced stack onto a regular grid.

    The target grid has the stack's direction (row, column, normal), the first slice's
    position as origin and the first slice's in-plane field of view; its slices are evenly
    spaced along the normal from the first to the last source slice.

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        Source slice positions sorted by ascending distance along the normal.
    direction : array_like, shape (3, 3)
    spacing_rc : array_like, shape (2,)
        Pixel spacing (mm) between rows and between columns (DICOM ``PixelSpacing``).
    spacing_z : float, optional
        Target slice spacing; default the median source step (adjusted so the last target
        slice lands on the last source slice).

    Returns
    -------
    ResamplePlan
    """
    p = np.asarray(positions, np.float64)
    d = np.asarray(direction, np.float64)
    srow, scol = (float(v) for v in np.asarray(spacing_rc, np.float64))
    dist = p @ d[:, 2]
    extent = float(dist[-1] - dist[0])
    if p.shape[0] < 2 or extent <= 0:
        raise GeometryError("resampling a slice stack needs at least two distinct positions")
    step = float(np.median(np.diff(dist))) if spacing_z is None else float(spacing_z)
    if not step > 0:
        raise GeometryError(f"target slice spacing must be > 0, got {step}")
    n_out = round(extent / step) + 1
    step = extent / (n_out - 1) if n_out > 1 else step
    target = dist[0] + step * np.arange(n_out)
    upper = np.clip(np.searchsorted(dist, target, side="left"), 1, len(dist) - 1)
    lower = upper - 1
    gap = dist[upper] - dist[lower]
    weight = np.clip((target - dist[lower]) / gap, 0.0, 1.0)
    rel = p[0] - p  # origin minus each slice position
    shift_rc = np.column_stack([rel @ d[:, 1] / srow, rel @ d[:, 0] / scol])
    return ResamplePlan(p[0].copy(), step, int(n_out), lower.astype(np.intp),
                        upper.astype(np.intp), weight, shift_rc)
