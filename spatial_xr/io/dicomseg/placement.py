"""Where the pixels of SEG frames land on a target grid (geometry only, no pixels).

A frame's pixel (row ``i``, column ``j``) sits at world point
``IPP + j·Δc·r̂ + i·Δr·ĉ`` (``r̂``, ``ĉ`` the two cosines of ImageOrientationPatient,
``Δr``, ``Δc`` the PixelSpacing). On the target grid this is the continuous index
``q₀ + j·a + i·b``. The frames lie *exactly* on the grid when ``a`` and ``b`` are unit
steps (±1) along two different array axes and every ``q₀`` is a whole index, each within
:data:`ON_GRID_TOL` voxel over the whole frame; the third axis is then the slice axis.
Anything else (another spacing, a rotation, a half-voxel shift) is refused: the SEG must be
resampled explicitly, nothing is rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import GeometryError
from spatial_xr.geometry import Grid

__all__ = ["ON_GRID_TOL", "FramePlacement", "place_frames"]

ON_GRID_TOL = 0.01
"""Largest distance (in voxels of the target grid) of a frame pixel from a voxel centre."""


@dataclass(frozen=True)
class FramePlacement:
    """How every frame maps onto a 3-D target grid (array axes in ``z, y, x`` order).

    Attributes
    ----------
    shape_zyx : tuple of 3 int
        Target array shape.
    slice_axis, row_axis, col_axis : int
        Array axes (0 = z, 1 = y, 2 = x) of the frame normal, of increasing frame row and
        of increasing frame column.
    row_sign, col_sign : int
        ±1: whether the target index grows (+1) or falls (−1) with the frame row/column.
    origin_zyx : ndarray of int, shape (n_frames, 3)
        Target index (z, y, x) of pixel (0, 0) of every frame.
    """

    shape_zyx: tuple[int, int, int]
    slice_axis: int
    row_axis: int
    row_sign: int
    col_axis: int
    col_sign: int
    origin_zyx: NDArray[np.int64]

    def slice_index(self) -> NDArray[np.int64]:
        """Index of every frame along the slice axis, shape (n_frames,)."""
        return self.origin_zyx[:, self.slice_axis]


def _unit_axis(v: NDArray[np.float64], n_pix: int, what: str) -> tuple[int, int]:
    """The axis and sign of an (almost) unit index step, or GeometryError."""
    axis = int(np.argmax(np.abs(v)))
    sign = 1 if v[axis] > 0 else -1
    target = np.zeros(3)
    target[axis] = sign
    err = float(np.max(np.abs(v - target))) * max(n_pix - 1, 1)
    if err > ON_GRID_TOL:
        raise GeometryError(
            f"the SEG's {what} step is {np.round(v, 6).tolist()} voxels of the target grid "
            f"(index x, y, z), not one voxel along one axis: its pixel spacing or "
            "orientation differs from the grid's. Open the SEG on its own grid (no "
            "reference=) and bring it onto the image with seg.spatial.resample(like=image)"
        )
    return axis, sign


def place_frames(
    grid: Grid,
    ipp: NDArray[np.float64],
    iop: NDArray[np.float64],
    pixel_spacing: NDArray[np.float64],
    rows: int,
    cols: int,
) -> FramePlacement:
    """Map SEG frames onto ``grid`` exactly, or raise.

    Parameters
    ----------
    grid : Grid
        3-D target grid.
    ipp : ndarray, shape (n_frames, 3)
        ImagePositionPatient of every frame (LPS mm).
    iop : ndarray, shape (6,)
        ImageOrientationPatient shared by the frames.
    pixel_spacing : ndarray, shape (2,)
        Spacing between rows, then between columns (mm).
    rows, cols : int
        Frame size.

    Returns
    -------
    FramePlacement

    Raises
    ------
    GeometryError
        A 2-D grid; frames whose pixels are not on voxel centres (other spacing,
        orientation or a sub-voxel shift), or that reach outside the grid.
    """
    if grid.ndim != 3:
        raise GeometryError("SEG frames are placed on a 3-D grid; the reference is 2-D")
    linear = grid.direction_xyz * grid.spacing_xyz[np.newaxis, :]
    inv = np.linalg.inv(linear)
    row_cos, col_cos = np.asarray(iop[:3], np.float64), np.asarray(iop[3:], np.float64)
    a = inv @ (row_cos * float(pixel_spacing[1]))  # one column step, index x, y, z
    b = inv @ (col_cos * float(pixel_spacing[0]))  # one row step
    col_ax, col_sign = _unit_axis(a, cols, "column")
    row_ax, row_sign = _unit_axis(b, rows, "row")
    if col_ax == row_ax:
        raise GeometryError("the SEG's rows and columns map onto the same axis of the grid")
    slice_ax = 3 - col_ax - row_ax
    q0 = (np.asarray(ipp, np.float64) - grid.origin_xyz) @ inv.T  # (n, 3) index x, y, z
    whole = np.rint(q0)
    off = np.abs(q0 - whole).max(axis=1) if len(q0) else np.zeros(0)
    bad = np.flatnonzero(off > ON_GRID_TOL)
    if bad.size:
        k = int(bad[0])
        raise GeometryError(
            f"SEG frame {k + 1} (ImagePositionPatient {np.round(ipp[k], 4).tolist()}) lies "
            f"{off[k]:.3g} voxel off the voxel centres of the target grid ({bad.size} frames "
            "are off-grid); the SEG was not made on this grid. Open it on its own grid (no "
            "reference=) and resample explicitly: seg.spatial.resample(like=image)"
        )
    start = whole.astype(np.int64)
    shape_xyz = np.asarray(grid.shape_xyz, np.int64)
    last = start.copy()
    last[:, col_ax] += col_sign * (cols - 1)
    last[:, row_ax] += row_sign * (rows - 1)
    lo, hi = np.minimum(start, last), np.maximum(start, last)
    outside = np.flatnonzero(np.any(lo < 0, axis=1) | np.any(hi >= shape_xyz, axis=1))
    if outside.size:
        k = int(outside[0])
        raise GeometryError(
            f"SEG frame {k + 1} covers index {lo[k].tolist()}–{hi[k].tolist()} (x, y, z) of a "
            f"grid of shape {shape_xyz.tolist()}: {outside.size} frames reach outside the "
            "reference. Pass the full image the SEG was made on, or open the SEG on its own "
            "grid and crop or resample it explicitly"
        )
    return FramePlacement(
        shape_zyx=tuple(int(v) for v in shape_xyz[::-1]),  # type: ignore[arg-type]
        slice_axis=2 - slice_ax,
        row_axis=2 - row_ax,
        row_sign=row_sign,
        col_axis=2 - col_ax,
        col_sign=col_sign,
        origin_zyx=start[:, ::-1].copy(),
    )
