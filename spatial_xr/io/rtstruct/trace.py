"""Trace the outlines of a 2-D mask as closed polygons between pixel centres.

The outlines are scikit-image's marching squares (``skimage.measure.find_contours`` at
level 0.5 on the mask padded with a background border), so every vertex lies half a pixel
from the pixel centres on either side: re-filling the polygons by the centre-inside,
even-odd rule of :mod:`spatial_xr.io.rtstruct.raster` gives back exactly the mask
(holes come out as separate inner polygons; pixels that touch only diagonally are
separate islands). Vertices in the middle of straight runs are dropped, which changes no
filled pixel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import require

__all__ = ["trace_mask"]


def _drop_collinear(poly: NDArray[np.float64]) -> NDArray[np.float64]:
    """Remove vertices that lie on the straight line through their neighbours (same
    direction on both sides); the vertex coordinates are multiples of 0.5, so the test is
    exact."""
    if len(poly) <= 3:
        return poly
    prev = np.roll(poly, 1, axis=0)
    nxt = np.roll(poly, -1, axis=0)
    a, b = poly - prev, nxt - poly
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = (a * b).sum(axis=1)
    keep = ~((np.abs(cross) < 1e-9) & (dot > 0))
    return poly[keep] if keep.sum() >= 3 else poly


def trace_mask(mask: NDArray[np.bool_]) -> list[NDArray[np.float64]]:
    """Closed outlines of a 2-D mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (rows, cols)

    Returns
    -------
    list of ndarray, each (N, 2)
        Polygons in pixel-index coordinates ``(col, row)`` (the centre of pixel ``[r, c]``
        is ``(c, r)``), the last vertex joining the first; outer boundaries and hole
        boundaries alike.

    Raises
    ------
    DependencyError
        scikit-image is not installed (extra ``rtstruct``).
    """
    measure = require("skimage.measure", "rtstruct")
    if not mask.any():
        return []
    padded = np.pad(mask.astype(np.float32), 1)
    out = []
    for c in measure.find_contours(padded, 0.5):
        pts = c[:-1] if len(c) > 1 and np.array_equal(c[0], c[-1]) else c
        pts = pts[:, ::-1] - 1.0  # (row, col) → (col, row), minus the padding
        if len(pts) >= 3:
            out.append(_drop_collinear(np.ascontiguousarray(pts, dtype=np.float64)))
    return out
