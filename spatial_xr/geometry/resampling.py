"""Target grids and index boxes for cropping and resampling (pure numpy).

Everything here works on :class:`~spatial_xr.geometry.Grid` values and 4×4 (3×3 in 2-D)
homogeneous matrices; per-axis values are in index order i, j, k (dims x, y, z).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import GeometryError
from spatial_xr.geometry.grid import Grid

IndexLike = Sequence[int] | NDArray[np.int64]
"""Integer indices, one per axis: a sequence or a 1-D array."""

__all__ = [
    "CUBIC_PREFILTER_MARGIN",
    "INTERPOLATION_MARGIN",
    "INTERPOLATION_METHODS",
    "centered_start",
    "covering_index_box",
    "grid_with_shape",
    "grid_with_spacing",
    "index_mapping",
    "on_voxels_of",
    "source_box",
]

INTERPOLATION_METHODS = ("nearest", "linear", "cubic", "label")
"""Interpolation methods of resampling and point sampling (see
:mod:`spatial_xr.ops._kernels`)."""

CUBIC_PREFILTER_MARGIN = 16
"""Extra input voxels read on each side of a box for the cubic B-spline prefilter: the
recursive filter's influence decays as 0.268^d, so a cut 16 voxels away changes the
coefficients by < 1e-9."""

INTERPOLATION_MARGIN: dict[str, tuple[int, int]] = {
    "nearest": (0, 1),
    "linear": (0, 1),
    "label": (0, 1),
    "cubic": (1 + CUBIC_PREFILTER_MARGIN, 2 + CUBIC_PREFILTER_MARGIN),
}
"""Input voxels read below ``floor(x)`` and above it for a continuous index ``x``, per
method of :data:`INTERPOLATION_METHODS`: the kernel's support (cubic: 1 below, 2 above)
plus, for cubic, :data:`CUBIC_PREFILTER_MARGIN`."""


def grid_with_spacing(grid: Grid, spacing_xyz: ArrayLike) -> Grid:
    """The grid with a new spacing that keeps the field of view and its centre.

    Parameters
    ----------
    grid : Grid
    spacing_xyz : array_like, shape (n,)
        New voxel spacing (mm) along i, j, k.

    Returns
    -------
    Grid
        ``shape = max(1, round(n · s / s'))`` per axis (the extent ``n · s`` is kept as
        closely as whole voxels allow), same direction, and the centre of the voxel-corner
        box unchanged: ``origin' = centre − D · diag(s') · (shape' − 1) / 2``.
    """
    new = np.asarray(spacing_xyz, np.float64)
    if new.shape != (grid.ndim,) or not np.all(np.isfinite(new)) or np.any(new <= 0):
        raise GeometryError(
            f"spacing must be {grid.ndim} finite values > 0 (mm), got {np.asarray(spacing_xyz)}"
        )
    extent = np.asarray(grid.shape_xyz, np.float64) * grid.spacing_xyz
    shape = tuple(max(1, int(np.floor(e / s + 0.5))) for e, s in zip(extent, new, strict=True))
    return _centred(grid, shape, new)


def grid_with_shape(grid: Grid, shape_xyz: Sequence[int]) -> Grid:
    """The grid with a new shape covering exactly the same voxel-corner box.

    Parameters
    ----------
    grid : Grid
    shape_xyz : sequence of int, length n

    Returns
    -------
    Grid
        ``spacing' = n · s / n'`` per axis, same direction, same corner box.
    """
    shape = tuple(int(v) for v in shape_xyz)
    if len(shape) != grid.ndim or any(v < 1 for v in shape):
        raise GeometryError(f"shape must be {grid.ndim} positive integers, got {shape_xyz}")
    extent = np.asarray(grid.shape_xyz, np.float64) * grid.spacing_xyz
    return _centred(grid, shape, extent / np.asarray(shape, np.float64))


def _centred(grid: Grid, shape: tuple[int, ...], spacing: NDArray[np.float64]) -> Grid:
    half = grid.direction_xyz @ (spacing * (np.asarray(shape, np.float64) - 1) / 2)
    return Grid(shape, spacing, grid.center - half, grid.direction_xyz)


def index_mapping(
    out_grid: Grid, in_grid: Grid, transform: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Homogeneous matrix mapping output indices to continuous input indices.

    Parameters
    ----------
    out_grid, in_grid : Grid
        Same dimensionality n.
    transform : array_like, shape (n + 1, n + 1), optional
        World-space affine mapping output points to input points (SimpleITK's
        ``ResampleImageFilter`` convention). Default identity.

    Returns
    -------
    ndarray, shape (n + 1, n + 1)
        ``inv(in.affine) · transform · out.affine``; index order i, j, k.
    """
    if out_grid.ndim != in_grid.ndim:
        raise GeometryError(
            f"cannot resample a {in_grid.ndim}-D image onto a {out_grid.ndim}-D grid"
        )
    n = in_grid.ndim
    t = np.eye(n + 1) if transform is None else np.asarray(transform, np.float64)
    if t.shape != (n + 1, n + 1) or not np.all(np.isfinite(t)):
        raise GeometryError(
            f"transform must be a finite ({n + 1}, {n + 1}) homogeneous matrix for a {n}-D "
            f"image, got shape {t.shape}"
        )
    inv_in = np.eye(n + 1)
    inv_in[:n, :n] = (in_grid.direction_xyz / in_grid.spacing_xyz[np.newaxis, :]).T
    inv_in[:n, n] = -inv_in[:n, :n] @ in_grid.origin_xyz
    return inv_in @ t @ out_grid.affine


def _box_corners(start: IndexLike, stop: IndexLike) -> NDArray[np.float64]:
    return np.array(
        list(itertools.product(*[(a, b - 1) for a, b in zip(start, stop, strict=True)])),
        dtype=np.float64,
    )


def source_box(
    mapping: ArrayLike,
    out_start_xyz: IndexLike,
    out_stop_xyz: IndexLike,
    in_shape_xyz: Sequence[int],
    margin: tuple[int, int],
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """Input index box that output voxels ``[start, stop)`` read from.

    Parameters
    ----------
    mapping : array_like, shape (n + 1, n + 1)
        Output index → continuous input index (:func:`index_mapping`).
    out_start_xyz, out_stop_xyz : sequence or ndarray of int, length n
        Half-open output index box.
    in_shape_xyz : sequence of int, length n
        Input grid shape.
    margin : (int, int)
        Extra input voxels needed below and above ``floor(x)`` (see
        :data:`INTERPOLATION_MARGIN`).

    Returns
    -------
    (start, stop) : tuple of int64 ndarray, shape (n,), or None
        Half-open input box clipped to the input, or ``None`` when no output voxel of the
        box maps inside the input (every voxel takes the fill value).
    """
    m = np.asarray(mapping, np.float64)
    n = m.shape[0] - 1
    idx = _box_corners(out_start_xyz, out_stop_xyz) @ m[:n, :n].T + m[:n, n]
    lo = np.floor(idx.min(axis=0) - 1e-6).astype(np.int64) - margin[0]
    hi = np.floor(idx.max(axis=0) + 1e-6).astype(np.int64) + margin[1] + 1
    shape = np.asarray(in_shape_xyz, np.int64)
    start = np.clip(lo, 0, shape)
    stop = np.clip(hi, 0, shape)
    if np.any(stop <= start):
        return None
    return start, stop


def covering_index_box(
    grid: Grid, lower_xyz: ArrayLike, upper_xyz: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Smallest index box whose voxels cover a world box.

    The world box's corners are mapped to continuous indices; the result runs from the
    voxel containing the smallest index to the voxel containing the largest, along each
    axis (voxel ``i`` holds ``[i − ½, i + ½)``, as ITK's ``TransformPhysicalPointToIndex``
    rounds halves up). For an oblique grid the box covers the rotated world box.

    Parameters
    ----------
    grid : Grid
    lower_xyz, upper_xyz : array_like, shape (n,)
        Opposite corners of the world box (LPS mm); each coordinate of ``lower`` ≤ ``upper``.

    Returns
    -------
    (start, stop) : tuple of int64 ndarray, shape (n,)
        Half-open index box; may reach outside the grid.
    """
    try:
        lo = np.asarray(lower_xyz, np.float64)
        hi = np.asarray(upper_xyz, np.float64)
    except (TypeError, ValueError):  # not numbers: refused by the shape check below
        lo = hi = np.empty(0)
    n = grid.ndim
    if lo.shape != (n,) or hi.shape != (n,) or not np.all(np.isfinite(lo) & np.isfinite(hi)):
        raise GeometryError(
            f"a world box needs finite lower and upper corners with {n} values (x, y, z "
            f"order, LPS mm); got {lower_xyz!r} and {upper_xyz!r}"
        )
    if np.any(hi < lo):
        raise GeometryError(
            f"world box lower {lo.tolist()} exceeds upper {hi.tolist()} along an axis; "
            "swap the values"
        )
    corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))))
    idx = grid.world_to_index(corners)
    start = np.floor(idx.min(axis=0) + 0.5).astype(np.int64)
    stop = np.floor(idx.max(axis=0) + 0.5).astype(np.int64) + 1
    return start, stop


def centered_start(
    grid: Grid, center_xyz: ArrayLike, shape_xyz: Sequence[int]
) -> NDArray[np.int64]:
    """First index of the box of ``shape`` voxels whose centre is closest to a world point.

    Parameters
    ----------
    grid : Grid
    center_xyz : array_like, shape (..., n)
        World points (LPS mm).
    shape_xyz : sequence of int, length n

    Returns
    -------
    ndarray of int64, shape (..., n)
        ``floor(c − (shape − 1)/2 + ½)`` with ``c`` the continuous index of the point.
    """
    c = grid.world_to_index(center_xyz)
    half = (np.asarray(shape_xyz, np.float64) - 1) / 2
    return np.floor(c - half + 0.5).astype(np.int64)


def on_voxels_of(grid: Grid, other: Grid, tol: float = 0.01) -> bool:
    """Whether every voxel centre of ``grid`` is a voxel centre of ``other``.

    True when ``grid`` is ``other`` cropped, padded, flipped or with its axes permuted
    (same spacing along matching axes, whole-voxel offset), within ``tol`` voxel over the
    grid's extent; then resampling between them with ``"nearest"`` moves values exactly.

    Parameters
    ----------
    grid, other : Grid
        Same dimensionality.
    tol : float
        Largest deviation, in voxels of ``other``.
    """
    if grid.ndim != other.ndim:
        return False
    m = index_mapping(grid, other)
    lin, off = m[:-1, :-1], m[:-1, -1]
    perm = np.rint(lin)
    if np.abs(lin - perm).max() * max(grid.shape_xyz) > tol:
        return False
    ones = np.abs(perm)
    if not (np.all(ones.sum(axis=0) == 1) and np.all(ones.sum(axis=1) == 1)):
        return False
    return bool(np.abs(off - np.rint(off)).max() <= tol)
