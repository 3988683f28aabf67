"""Interpolation kernels on in-memory boxes (numpy in, numpy out).

Every kernel works on a 3-D box in ``z, y, x`` order (a 2-D image is a box with one
``z`` plane) and follows ITK's conventions, so that results agree with SimpleITK's
``ResampleImageFilter``:

- a continuous index ``x`` is *inside* when ``lo ≤ x < hi`` per axis, with ``lo = −½`` and
  ``hi = n − ½`` of the whole input expressed in box coordinates; outside ⇒ fill value;
- ``nearest`` takes voxel ``floor(x + ½)`` (halves round up);
- ``linear`` is trilinear with neighbours clamped to the input (half-voxel border
  replicates the edge voxel);
- ``label`` is per-label linear interpolation (ITK's ``LabelImageGenericInterpolate``
  with a linear interpolator, SimpleITK's ``sitkLabelLinear``): the label whose indicator
  interpolates highest wins, ties going to the smaller label;
- ``cubic`` is a cubic B-spline with mirror boundaries (ITK's
  ``BSplineInterpolateImageFunction``, ``sitkBSpline``): coefficients from
  ``scipy.ndimage.spline_filter(mode="mirror")``, evaluated with
  ``scipy.ndimage.map_coordinates(order=3, mode="mirror")``;
- integer outputs are clamped to the dtype's range, then truncated toward zero (ITK's
  ``static_cast`` in ``ResampleImageFilter``; :func:`spatial_xr.ops.cast.round_to_dtype`
  with ``rounding="toward_zero"``).

Nearest, linear and label kernels are compiled C++ (:mod:`spatial_xr.ops._native`); they
release the GIL, so dask threads run them in parallel, one output chunk each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.ops import _native
from spatial_xr.ops.cast import round_to_dtype

__all__ = ["resample_box", "sample_box"]


def _axis_table(scale: float, offset: float, n_out: int, n_src: int, lo: float, hi: float,
                order: int) -> tuple[NDArray[Any], ...]:
    """Per-axis indices, weights and inside flags of a diagonal mapping ``scale·o + offset``."""
    c = scale * np.arange(n_out, dtype=np.float64) + offset
    inside = (c >= lo) & (c < hi)
    if order == 0:
        i0 = np.clip(np.floor(c + 0.5), 0, n_src - 1).astype(np.int64)
        return i0, i0, np.zeros(n_out), inside
    f = np.floor(c)
    i0 = np.clip(f, 0, n_src - 1).astype(np.int64)
    i1 = np.clip(f + 1, 0, n_src - 1).astype(np.int64)
    return i0, i1, c - f, inside


def axis_permutation(mapping_zyx: NDArray[np.float64], tol: float = 1e-12) -> list[int] | None:
    """Input axis read by each output axis when the mapping only scales, flips and permutes
    axes (``None`` for an oblique mapping)."""
    lin = np.asarray(mapping_zyx, np.float64)[:, :3]
    big = np.abs(lin) > tol * max(np.abs(lin).max(), 1.0)
    if not (np.all(big.sum(axis=0) == 1) and np.all(big.sum(axis=1) == 1)):
        return None
    # row r (input axis r) is driven by output axis argmax(big[r]); output axis a reads
    # input axis perm[a]
    perm = [0, 0, 0]
    for r in range(3):
        perm[int(np.argmax(big[r]))] = r
    return perm


def _separable(src: NDArray[Any], a: NDArray[np.float64], perm: list[int],
               out: NDArray[Any], lo: NDArray[np.float64], hi: NDArray[np.float64],
               method: str, fill: float) -> None:
    """Axis-aligned fast path: per-axis tables, gathers (nearest) or separable lerps."""
    src_t = src.transpose(perm)
    order = 0 if method == "nearest" else 1
    tables = [
        _axis_table(a[perm[ax], ax], a[perm[ax], 3], out.shape[ax], src_t.shape[ax],
                    lo[perm[ax]], hi[perm[ax]], order)
        for ax in range(3)
    ]
    _native.separable(src_t, out, tables, fill, method)


def _cubic(src: NDArray[Any], coords_zyx: NDArray[np.float64]) -> NDArray[np.float64]:
    """B-spline (order 3, mirror) values of a 3-D box at continuous indices (3, ...)."""
    from scipy import ndimage

    keep = [a for a in range(3) if src.shape[a] > 1]
    s = src.reshape([src.shape[a] for a in keep]).astype(np.float64)
    coef = ndimage.spline_filter(s, order=3, mode="mirror", output=np.float64)
    return ndimage.map_coordinates(
        coef, coords_zyx[keep], order=3, mode="mirror", prefilter=False, output=np.float64
    )


def resample_box(
    src: NDArray[Any],
    mapping_zyx: NDArray[np.float64],
    out_shape_zyx: tuple[int, int, int],
    lo_zyx: NDArray[np.float64],
    hi_zyx: NDArray[np.float64],
    method: str,
    fill: float,
    dtype: np.dtype[Any],
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Resample one 3-D box onto an output box through an affine index mapping.

    Parameters
    ----------
    src : ndarray, shape (nz, ny, nx)
        Input voxels (any real dtype).
    mapping_zyx : ndarray, shape (3, 4)
        Output index (k, j, i, 1) → continuous box index (z, y, x).
    out_shape_zyx : tuple of int
    lo_zyx, hi_zyx : ndarray, shape (3,)
        Inside test ``lo ≤ index < hi`` in box coordinates.
    method : {"nearest", "linear", "cubic", "label"}
    fill : float
        Value outside the input.
    dtype : numpy dtype
        Output dtype (integers: clamp, then truncate toward zero).
    out : ndarray, optional
        Array (shape ``out_shape_zyx``, dtype ``dtype``) to write into.

    Returns
    -------
    ndarray, shape ``out_shape_zyx``, dtype ``dtype``
    """
    if out is None:
        out = np.empty(out_shape_zyx, dtype=dtype)
    a = np.ascontiguousarray(mapping_zyx, dtype=np.float64)
    lo = np.ascontiguousarray(lo_zyx, dtype=np.float64)
    hi = np.ascontiguousarray(hi_zyx, dtype=np.float64)
    perm = axis_permutation(a) if method in ("nearest", "linear") else None
    if perm is not None:
        _separable(src, a, perm, out, lo, hi, method, fill)
    elif method in ("nearest", "linear", "label"):
        _native.affine(src, out, a, lo, hi, fill, method)
    else:
        grid = np.indices(out_shape_zyx, dtype=np.float64).reshape(3, -1)
        coords = a[:, :3] @ grid + a[:, 3:]
        inside = np.all((coords >= lo[:, None]) & (coords < hi[:, None]), axis=0)
        values = np.full(coords.shape[1], float(fill))
        if inside.any():
            values[inside] = _cubic(src, coords[:, inside])
        out[...] = round_to_dtype(values, out.dtype, "toward_zero").reshape(out_shape_zyx)
    return out


def sample_box(
    src: NDArray[Any],
    index_zyx: NDArray[np.float64],
    lo_zyx: NDArray[np.float64],
    hi_zyx: NDArray[np.float64],
    method: str,
    fill: float,
    dtype: np.dtype[Any],
) -> NDArray[Any]:
    """Values of a 3-D box at continuous box indices.

    Parameters
    ----------
    src : ndarray, shape (nz, ny, nx)
    index_zyx : ndarray, shape (N, 3)
        Continuous indices in box coordinates, z, y, x order.
    lo_zyx, hi_zyx, method, fill, dtype
        As in :func:`resample_box`.

    Returns
    -------
    ndarray, shape (N,), dtype ``dtype``
    """
    pts = np.ascontiguousarray(index_zyx, dtype=np.float64)
    lo = np.ascontiguousarray(lo_zyx, dtype=np.float64)
    hi = np.ascontiguousarray(hi_zyx, dtype=np.float64)
    if method == "cubic":
        inside = np.all((pts >= lo) & (pts < hi), axis=1)
        values = np.full(pts.shape[0], float(fill))
        if inside.any():
            values[inside] = _cubic(src, pts[inside].T)
        return round_to_dtype(values, dtype, "toward_zero")
    return round_to_dtype(_native.points(src, pts, lo, hi, fill, method), dtype,
                          "toward_zero")
