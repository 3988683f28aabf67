"""Homogeneous-affine helpers: compose, decompose, apply, and LPS↔RAS.

All functions are pure numpy. World points are in x, y, z order. An ``n``-D affine is an
``(n + 1, n + 1)`` float64 matrix mapping a homogeneous index ``(i, j, k, 1)`` (``i`` along
the array axis named ``x``) to a homogeneous world point ``(x, y, z, 1)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import GeometryError

__all__ = [
    "apply_affine",
    "compose_affine",
    "decompose_affine",
    "lps_ras_flip",
    "orthonormalize",
    "rotation_matrix",
]

ORTHONORMAL_TOL = 1e-6
"""Largest allowed ``|DᵀD − I|`` entry for a direction matrix given by the user."""


def lps_ras_flip(affine: ArrayLike) -> NDArray[np.float64]:
    """Convert a world-space affine between LPS and RAS (the map is its own inverse).

    Parameters
    ----------
    affine : array_like, shape (n + 1, n + 1)
        Homogeneous affine whose output is a world point (LPS or RAS, n = 2 or 3).

    Returns
    -------
    ndarray, shape (n + 1, n + 1)
        The same affine with its x and y output rows negated.
    """
    a = np.array(affine, dtype=np.float64)
    a[:2, :] *= -1.0
    return a


def compose_affine(
    origin: ArrayLike, spacing: ArrayLike, direction: ArrayLike
) -> NDArray[np.float64]:
    """Build the homogeneous affine ``P = O + D · diag(S) · I``.

    Parameters
    ----------
    origin : array_like, shape (n,)
        World position (mm, xyz) of the centre of voxel 0.
    spacing : array_like, shape (n,)
        Voxel spacing (mm) along index axes i, j, k.
    direction : array_like, shape (n, n)
        Columns are the world unit vectors of index axes i, j, k.

    Returns
    -------
    ndarray, shape (n + 1, n + 1)
    """
    o = np.asarray(origin, dtype=np.float64)
    s = np.asarray(spacing, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    n = o.shape[0]
    out = np.eye(n + 1)
    out[:n, :n] = d * s[np.newaxis, :]
    out[:n, n] = o
    return out


def orthonormalize(matrix: ArrayLike, tol: float = 1e-4) -> NDArray[np.float64]:
    """Return the orthonormal matrix nearest to ``matrix`` (polar decomposition).

    Used on direction matrices read from files, whose entries were rounded to float32.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        Columns of approximately unit length and approximately orthogonal.
    tol : float
        Largest allowed ``|MᵀM − I|`` entry before the matrix is called sheared.

    Returns
    -------
    ndarray, shape (n, n)

    Raises
    ------
    GeometryError
        If the matrix is further than ``tol`` from orthonormal.
    """
    m = np.asarray(matrix, dtype=np.float64)
    err = np.abs(m.T @ m - np.eye(m.shape[0])).max()
    if not np.isfinite(err) or err > tol:
        raise GeometryError(
            f"direction matrix is not orthonormal (max |DᵀD − I| = {err:.3g} > {tol:g}); "
            f"the matrix is sheared or scaled:\n{np.array2string(m, precision=6)}\n"
            "Fix the file's affine, or choose the other affine stored in it."
        )
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def decompose_affine(
    affine: ArrayLike, tol: float = 1e-4
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Split a homogeneous affine into origin, spacing and an orthonormal direction.

    Parameters
    ----------
    affine : array_like, shape (n + 1, n + 1)
        Maps a homogeneous index to a homogeneous world point.
    tol : float
        Tolerance for the orthonormality of the normalised columns.

    Returns
    -------
    origin : ndarray, shape (n,)
    spacing : ndarray, shape (n,)
        Column norms of the linear part (> 0).
    direction : ndarray, shape (n, n)
        Orthonormal; determinant +1 or −1.

    Raises
    ------
    GeometryError
        If the affine is not finite, is singular (a zero column) or is sheared.
    """
    a = np.asarray(affine, dtype=np.float64)
    n = a.shape[0] - 1
    if a.shape != (n + 1, n + 1) or n < 1:
        raise GeometryError(f"an affine must be a square (n+1, n+1) matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise GeometryError(f"affine has non-finite entries:\n{a}\nFix the file's affine.")
    linear = a[:n, :n]
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing <= 1e-12):
        raise GeometryError(
            f"affine is singular (a zero column, spacing {spacing.tolist()}):\n{a}\n"
            "Every axis needs a non-zero voxel size; fix the file's affine."
        )
    direction = orthonormalize(linear / spacing, tol=tol)
    return a[:n, n].copy(), spacing, direction


def rotation_matrix(axis: int, degrees: float) -> NDArray[np.float64]:
    """Rotation about a world axis, right-handed.

    Parameters
    ----------
    axis : {0, 1, 2}
        World axis (0 = x, 1 = y, 2 = z).
    degrees : float
        Angle in degrees.

    Returns
    -------
    ndarray, shape (3, 3)
    """
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def apply_affine(affine: ArrayLike, points: ArrayLike) -> NDArray[np.float64]:
    """Apply a homogeneous affine to points.

    Parameters
    ----------
    affine : array_like, shape (n + 1, n + 1)
    points : array_like, shape (..., n)

    Returns
    -------
    ndarray, shape (..., n)
    """
    a = np.asarray(affine, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    n = a.shape[0] - 1
    return p @ a[:n, :n].T + a[:n, n]
