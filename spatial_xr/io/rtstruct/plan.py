"""Place each ROI's closed contours on the slices of a grid (no rasterising yet).

Contour points (LPS mm, x, y, z) are mapped into the grid's continuous index space with
its direction, so contours on oblique series land on their slices exactly. The contours
must be parallel to one family of grid planes: the array axis along which every contour is
flat (``z`` for a structure set drawn on the grid's own series) is the *plane axis*; each
contour lies on the plane (slice) nearest to it, and must lie within ``tolerance`` (a
fraction of the spacing along the plane axis) of it.

**Off the grid.** A contour on no slice of the grid (before the first or after the last)
is left out; one that extends beyond the in-plane extent is clipped at the edge. Both
are reported by :attr:`Placement.off_grid` for the reader to warn about or refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import FormatError, GeometryError
from spatial_xr.geometry import Grid
from spatial_xr.io.rtstruct.structure import Roi

__all__ = ["DEFAULT_TOLERANCE", "EDGE_TOL", "Placement", "RoiPlacement", "place_rois"]

DEFAULT_TOLERANCE = 0.25
"""Largest distance of a contour point from its slice, in slice spacings."""
EDGE_TOL = 0.01
"""How far (voxels) a contour may pass the grid's outer voxel faces without counting as
clipped (outlines of edge voxels run along those faces)."""


@dataclass(frozen=True)
class RoiPlacement:
    """The contours of one ROI on the grid.

    Attributes
    ----------
    planes : dict
        Slice index along the plane axis → tuple of (N, 2) float64 polygons in the
        continuous index coordinates ``(col, row)`` of the two other array axes (in the
        array's ``z, y, x`` order, ``row`` is the first of them).
    dropped : int
        Contours on no slice of the grid.
    clipped : int
        Contours that extend beyond the grid's in-plane extent.
    """

    planes: dict[int, tuple[NDArray[np.float64], ...]]
    dropped: int = 0
    clipped: int = 0


@dataclass(frozen=True)
class Placement:
    """Contours of every ROI placed on a grid.

    Attributes
    ----------
    axis : int
        The plane axis as an array axis in ``z, y, x`` order (0 for ``z``).
    shape_zyx : tuple of int
    rois : tuple of RoiPlacement
        One per ROI, in the order given.
    world_off : dict
        ROI position → mean world points (x, y, z, mm) of the contours left out.
    """

    axis: int
    shape_zyx: tuple[int, int, int]
    rois: tuple[RoiPlacement, ...]
    world_off: dict[int, list[list[float]]] = field(default_factory=dict)

    @property
    def off_grid(self) -> dict[int, tuple[int, int]]:
        """ROI position → (contours left out, contours clipped), for ROIs with any."""
        return {i: (r.dropped, r.clipped) for i, r in enumerate(self.rois)
                if r.dropped or r.clipped}


def _indices_zyx(grid: Grid, pts_xyz: NDArray[np.float64]) -> NDArray[np.float64]:
    return grid.world_to_index(pts_xyz)[:, ::-1]


def _plane_axis(grid: Grid, rois: Sequence[Roi], tolerance: float) -> int:
    """The array axis along which every closed contour is flat."""
    spread = np.zeros(3)
    any_contour = False
    for roi in rois:
        for c in roi.closed:
            if len(c.points) < 1:
                continue
            idx = _indices_zyx(grid, c.points)
            spread = np.maximum(spread, np.ptp(idx, axis=0))
            any_contour = True
    if not any_contour:
        return 0
    flat = [a for a in (0, 1, 2) if spread[a] <= 2 * tolerance]
    if not flat:
        normal = grid.direction_xyz[:, 2]
        raise GeometryError(
            "the contours are not parallel to any family of planes of the reference grid "
            f"(they span {np.round(spread[::-1], 3).tolist()} voxels along x, y, z; the "
            f"grid's slice normal is {np.round(normal, 4).tolist()}): they were drawn on a "
            "series of another orientation. Rasterise onto that series (reference= its "
            "folder) and resample the mask onto this grid with "
            "mask.spatial.resample(like=...)"
        )
    return 0 if 0 in flat else int(flat[int(np.argmin(spread[flat]))])


def place_rois(
    grid: Grid,
    rois: Sequence[Roi],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    invalid: str = "raise",
) -> Placement:
    """Put each ROI's closed contours on the slices of ``grid``.

    Parameters
    ----------
    grid : Grid
        3-D reference grid.
    rois : sequence of Roi
    tolerance : float
        Largest distance of a contour point from its slice plane, in slice spacings.
    invalid : {"raise", "skip", "outline"}
        What to do with a closed contour of fewer than 3 points: refuse it, drop it, or
        keep it as a line (or point) that takes the voxels whose centres it passes
        through, as OpenCV-based tools draw such contours.

    Returns
    -------
    Placement

    Raises
    ------
    FormatError
        A closed contour with fewer than 3 points (``invalid="raise"``).
    GeometryError
        Contours not parallel to the grid's planes, or lying between two slices.
    """
    axis = _plane_axis(grid, rois, tolerance)
    shape = grid.shape_zyx
    others = [a for a in (0, 1, 2) if a != axis]
    out: list[RoiPlacement] = []
    world_off: dict[int, list[list[float]]] = {}
    for pos, roi in enumerate(rois):
        planes: dict[int, list[NDArray[np.float64]]] = {}
        dropped = clipped = 0
        for n, c in enumerate(roi.closed):
            if (len(c.points) < 3 and invalid == "skip") or (
                    len(c.points) == 0 and invalid == "outline"):
                continue
            if len(c.points) < 3 and invalid != "outline":
                raise FormatError(
                    f"ROI {roi.number} ({roi.name!r}): closed contour {n} has "
                    f"{len(c.points)} point(s); a closed planar contour needs at least 3. "
                    "Leave the ROI out (rois=[...]), pass invalid_contours='skip' to drop "
                    "such contours, or 'outline' to keep the voxels they pass through"
                )
            idx = _indices_zyx(grid, c.points)
            level = float(np.mean(idx[:, axis]))
            k = int(np.floor(level + 0.5))
            off = float(np.max(np.abs(idx[:, axis] - k)))
            if off > tolerance:
                raise GeometryError(
                    f"ROI {roi.number} ({roi.name!r}): contour {n} lies {off:.3g} slice "
                    f"spacings from the nearest slice of the reference grid (more than "
                    f"tolerance={tolerance}): it is between slices, so the grid is not the "
                    "one it was drawn on. Pass the series it references as reference=, or "
                    "a larger tolerance"
                )
            if not 0 <= k < shape[axis]:
                dropped += 1
                world_off.setdefault(pos, []).append(
                    np.round(c.points.mean(axis=0), 3).tolist())
                continue
            poly = idx[:, others[::-1]].copy()  # (col, row)
            lo, hi = poly.min(axis=0), poly.max(axis=0)
            extent = np.array([shape[others[1]], shape[others[0]]], dtype=np.float64)
            edge = 0.5 + EDGE_TOL  # the grid's outer voxel faces, and a little slack
            if np.any(hi < -edge) or np.any(lo > extent - 1 + edge):
                dropped += 1
                world_off.setdefault(pos, []).append(
                    np.round(c.points.mean(axis=0), 3).tolist())
                continue
            if np.any(lo < -edge) or np.any(hi > extent - 1 + edge):
                clipped += 1
            planes.setdefault(k, []).append(poly)
        out.append(RoiPlacement({k: tuple(v) for k, v in sorted(planes.items())},
                                dropped, clipped))
    return Placement(axis, (int(shape[0]), int(shape[1]), int(shape[2])), tuple(out),
                     world_off)
