"""Fill planar polygons on a pixel lattice (pure numpy): which pixel centres lie inside.

Polygons are given in continuous pixel-index coordinates ``(col, row)`` of one plane: the
centre of pixel ``[r, c]`` is the point ``(c, r)``. A pixel is **inside** when its centre

- lies inside the region the polygons enclose by the **even-odd rule** (a centre is inside
  when a ray from it crosses the polygons' edges an odd number of times, so a contour
  inside another cuts a hole, a contour inside that hole is an island again, and the
  overlap of two crossing contours is outside), or
- lies **on** an edge of any polygon, within :data:`BOUNDARY_TOL` pixels (measured along
  the row or the column), so that contours drawn through the centres of the boundary
  pixels, as mask-to-contour tools that trace pixel centres write them, give back those
  pixels, on outer and inner (hole) boundaries alike.

Contours traced between pixel centres (as :mod:`spatial_xr.io.rtstruct.trace` writes
them, half a pixel from the centres) never come near a centre, so for them only the
even-odd rule decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["BOUNDARY_TOL", "fill_polygons"]

BOUNDARY_TOL = 0.01
"""Largest distance (pixels, along a row or column) at which a centre counts as on an
edge."""


def _edges(polygons: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
    """All edges as an (E, 4) array of ``x0, y0, x1, y1`` (closing edges included)."""
    parts = []
    for p in polygons:
        p = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        if len(p) == 0:
            continue
        q = np.roll(p, -1, axis=0)
        parts.append(np.concatenate([p, q], axis=1))
    if not parts:
        return np.empty((0, 4))
    return np.concatenate(parts, axis=0)


def _expand(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> tuple[NDArray[np.int64],
                                                                   NDArray[np.int64]]:
    """For ranges ``[lo, hi]`` (inclusive; empty when hi < lo): the index of the range of
    each member and the member values."""
    counts = np.maximum(hi - lo + 1, 0)
    which = np.repeat(np.arange(len(lo)), counts)
    if which.size == 0:
        return which, which.copy()
    starts = np.cumsum(counts) - counts
    offset = np.arange(which.size) - np.repeat(starts, counts)
    return which, lo[which] + offset


def _interior(e: NDArray[np.float64], rows: tuple[int, int], cols: tuple[int, int]
              ) -> NDArray[np.bool_]:
    """Even-odd interior of the centres in the window (half-open crossing rule)."""
    r0, r1 = rows
    c0, c1 = cols
    acc = np.zeros((r1 - r0, c1 - c0 + 1), dtype=np.uint8)  # parity survives wrapping
    x0, y0, x1, y1 = e.T
    keep = y0 != y1
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    # rows j with ylo <= j < yhi cross the edge (each vertex counted once)
    lo = np.maximum(np.ceil(ylo), r0).astype(np.int64)
    hi = np.minimum(np.ceil(yhi) - 1, r1 - 1).astype(np.int64)
    which, j = _expand(lo, hi)
    if j.size:
        x = x0[which] + (j - y0[which]) * ((x1 - x0) / (y1 - y0))[which]
        # the crossing toggles every centre strictly right of it
        t = np.clip(np.floor(x).astype(np.int64) + 1, c0, c1) - c0
        np.add.at(acc, (j - r0, t), 1)
    np.cumsum(acc, axis=1, dtype=np.uint8, out=acc)
    return (acc[:, : c1 - c0] & 1).view(bool)


def _on_edges(e: NDArray[np.float64], rows: tuple[int, int], cols: tuple[int, int],
              tol: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows and columns (window-relative) of the centres within ``tol`` of an edge."""
    r0, r1 = rows
    c0, c1 = cols
    out_r, out_c = [], []
    x0, y0, x1, y1 = e.T
    dx, dy = x1 - x0, y1 - y0
    steep = np.abs(dy) >= np.abs(dx)
    for major_is_row in (True, False):
        sel = steep if major_is_row else ~steep
        if not np.any(sel):
            continue
        if major_is_row:  # walk the rows the edge spans, the column varies less
            a0, a1, b0, b1 = y0[sel], y1[sel], x0[sel], x1[sel]
            lo_lim, hi_lim = r0, r1 - 1
        else:
            a0, a1, b0, b1 = x0[sel], x1[sel], y0[sel], y1[sel]
            lo_lim, hi_lim = c0, c1 - 1
        alo, ahi = np.minimum(a0, a1), np.maximum(a0, a1)
        lo = np.maximum(np.ceil(alo - tol), lo_lim).astype(np.int64)
        hi = np.minimum(np.floor(ahi + tol), hi_lim).astype(np.int64)
        which, a = _expand(lo, hi)
        if a.size == 0:
            continue
        da = (a1 - a0)[which]
        frac = np.where(da != 0, (a - a0[which]) / np.where(da != 0, da, 1.0), 0.0)
        b = b0[which] + np.clip(frac, 0.0, 1.0) * (b1 - b0)[which]
        near = np.rint(b)
        ok = np.abs(b - near) <= tol
        # an end beyond the edge (within tol) must still be within tol of the end point
        ok &= (a >= alo[which] - tol) & (a <= ahi[which] + tol)
        a, near = a[ok], near[ok].astype(np.int64)
        if major_is_row:
            r, c = a, near
        else:
            r, c = near, a
        inside = (r >= r0) & (r < r1) & (c >= c0) & (c < c1)
        out_r.append(r[inside] - r0)
        out_c.append(c[inside] - c0)
    if not out_r:
        empty = np.empty(0, np.int64)
        return empty, empty
    return np.concatenate(out_r), np.concatenate(out_c)


def fill_polygons(
    polygons: Sequence[NDArray[np.float64]],
    rows: tuple[int, int],
    cols: tuple[int, int],
    *,
    tol: float = BOUNDARY_TOL,
) -> NDArray[np.bool_]:
    """Pixels of a window whose centres the polygons enclose (see the module docstring).

    Parameters
    ----------
    polygons : sequence of ndarray, each (N, 2)
        Closed polygons (the last vertex joins the first) in pixel-index coordinates
        ``(col, row)``; they may extend beyond the window or lie outside it.
    rows, cols : tuple of int
        The window: rows ``rows[0]`` to ``rows[1] - 1`` and columns ``cols[0]`` to
        ``cols[1] - 1``.
    tol : float
        Distance (pixels) within which a centre counts as on an edge (and so inside).

    Returns
    -------
    ndarray of bool, shape (rows[1] - rows[0], cols[1] - cols[0])
    """
    e = _edges(polygons)
    shape = (max(rows[1] - rows[0], 0), max(cols[1] - cols[0], 0))
    out = np.zeros(shape, dtype=bool)
    if e.size == 0 or 0 in shape:
        return out
    # only the rows and columns the polygons span can be inside
    xs, ys = e[:, [0, 2]], e[:, [1, 3]]
    box_r = (max(rows[0], int(np.floor(ys.min() - tol))),
             min(rows[1], int(np.ceil(ys.max() + tol)) + 1))
    box_c = (max(cols[0], int(np.floor(xs.min() - tol))),
             min(cols[1], int(np.ceil(xs.max() + tol)) + 1))
    if box_r[0] >= box_r[1] or box_c[0] >= box_c[1]:
        return out
    inner = _interior(e, box_r, box_c)
    r, c = _on_edges(e, box_r, box_c, tol)
    inner[r, c] = True
    out[box_r[0] - rows[0]:box_r[1] - rows[0], box_c[0] - cols[0]:box_c[1] - cols[0]] = inner
    return out
