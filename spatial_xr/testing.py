"""Helpers for testing code that uses spatial_xr (and for spatial_xr's own tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import require
from spatial_xr.geometry import Grid

__all__ = ["random_direction", "random_grid", "sitk_physical_points"]


def random_direction(rng: np.random.Generator, ndim: int = 3, det: float = 1.0) -> NDArray[Any]:
    """A random orthonormal (ndim, ndim) matrix whose determinant has the sign of ``det``."""
    q, r = np.linalg.qr(rng.normal(size=(ndim, ndim)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) * det < 0:
        q[:, 0] *= -1
    return q


def random_grid(rng: np.random.Generator, ndim: int = 3, max_size: int = 12) -> Grid:
    """A random grid: sizes 1..max_size, spacing 0.2..4 mm, origin ±100 mm, any direction."""
    return Grid(
        shape_xyz=tuple(int(v) for v in rng.integers(1, max_size + 1, ndim)),
        spacing_xyz=rng.uniform(0.2, 4.0, ndim),
        origin_xyz=rng.uniform(-100, 100, ndim),
        direction_xyz=random_direction(rng, ndim, det=float(rng.choice([-1.0, 1.0]))),
    )


def sitk_physical_points(grid: Grid, index_xyz: ArrayLike) -> NDArray[np.float64]:
    """World points SimpleITK gives for integer indices on an image with ``grid``'s geometry.

    Parameters
    ----------
    grid : Grid
    index_xyz : array_like of int, shape (N, n)

    Returns
    -------
    ndarray, shape (N, n)
    """
    sitk: Any = require("SimpleITK", "itk")
    img = sitk.Image([int(v) for v in grid.shape_xyz], sitk.sitkUInt8)
    img.SetSpacing(grid.spacing_xyz.tolist())
    img.SetOrigin(grid.origin_xyz.tolist())
    img.SetDirection(grid.direction_xyz.ravel().tolist())
    idx = np.asarray(index_xyz)
    return np.array([img.TransformIndexToPhysicalPoint([int(v) for v in row]) for row in idx])
