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
  ``static_cast`` in ``ResampleImageFilter``).

Nearest, linear and label kernels are compiled with numba (``nogil``: dask threads run
them in parallel, one output chunk each).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["CUBIC_PREFILTER_MARGIN", "METHODS", "resample_box", "sample_box"]

METHODS = ("nearest", "linear", "cubic", "label")
CUBIC_PREFILTER_MARGIN = 16
"""Extra input voxels read around a box for the B-spline prefilter: the recursive filter's
influence decays as 0.268^d, so a cut 16 voxels away changes coefficients by < 1e-9."""


@numba.njit(cache=True, nogil=True, inline="always")
def _clampi(v: int, n: int) -> int:
    if v < 0:
        return 0
    if v > n - 1:
        return n - 1
    return v


@numba.njit(cache=True, nogil=True, inline="always")
def _store(out: Any, k: int, j: int, i: int, v: float, is_int: bool, vmin: float,
           vmax: float) -> None:
    if is_int:
        if v < vmin:
            v = vmin
        elif v > vmax:
            v = vmax
    out[k, j, i] = v


@numba.njit(cache=True, nogil=True, inline="always")
def _row_interval(a: float, b: float, lo: float, hi: float, n: int) -> tuple[int, int]:
    """Indices i in [0, n) with lo <= b + a·i <= hi (an interval, maybe empty)."""
    if abs(a) < 1e-300:
        if lo <= b <= hi:
            return 0, n
        return 0, 0
    t1 = (lo - b) / a
    t2 = (hi - b) / a
    tmin = min(t1, t2)
    tmax = max(t1, t2)
    s = max(0.0, math.ceil(tmin))
    e = min(float(n), math.floor(tmax) + 1.0)
    if e <= s:
        return 0, 0
    return int(s), int(e)


@numba.njit(cache=True, nogil=True)
def _linear_run(flat: Any, orow: Any, fs: int, fe: int, bz: float, by: float, bx: float,
                dz: float, dy: float, dx: float, sz: int, nx: int, is_int: bool,
                vmin: float, vmax: float) -> None:  # pragma: no cover - jit
    """Trilinear values of output row voxels ``fs … fe − 1``, all of whose neighbours lie
    inside the input (indices ≥ 0 there, so ``int`` is ``floor``): no clamping, no test,
    one branch-free loop."""
    for i in range(fs, fe):
        z = bz + dz * i
        y = by + dy * i
        x = bx + dx * i
        z0 = int(z)
        y0 = int(y)
        x0 = int(x)
        wz = z - z0
        wy = y - y0
        wx = x - x0
        o = z0 * sz + y0 * nx + x0
        v0 = float(flat[o])
        v1 = float(flat[o + nx])
        v2 = float(flat[o + sz])
        v3 = float(flat[o + sz + nx])
        c00 = v0 + (flat[o + 1] - v0) * wx
        c01 = v1 + (flat[o + nx + 1] - v1) * wx
        c10 = v2 + (flat[o + sz + 1] - v2) * wx
        c11 = v3 + (flat[o + sz + nx + 1] - v3) * wx
        c0 = c00 + (c01 - c00) * wy
        c1 = c10 + (c11 - c10) * wy
        v = c0 + (c1 - c0) * wz
        if is_int:
            v = min(max(v, vmin), vmax)
        orow[i] = v


@numba.njit(cache=True, nogil=True)
def _nearest_run(flat: Any, orow: Any, fs: int, fe: int, bz: float, by: float, bx: float,
                 dz: float, dy: float, dx: float, sz: int, nx: int, is_int: bool,
                 vmin: float, vmax: float, direct: bool) -> None:  # pragma: no cover - jit
    """Nearest values of output row voxels ``fs … fe − 1`` (all inside; ``x + ½ > 0``
    there, so ``int`` is ``floor``)."""
    if direct:
        for i in range(fs, fe):
            orow[i] = flat[int(bz + dz * i + 0.5) * sz + int(by + dy * i + 0.5) * nx
                           + int(bx + dx * i + 0.5)]
        return
    for i in range(fs, fe):
        v = float(flat[int(bz + dz * i + 0.5) * sz + int(by + dy * i + 0.5) * nx
                       + int(bx + dx * i + 0.5)])
        if is_int:
            v = min(max(v, vmin), vmax)
        orow[i] = v


@numba.njit(cache=True, nogil=True)
def _affine_kernel(src: Any, out: Any, a: Any, lo: Any, hi: Any, fill: float, order: int,
                   is_int: bool, vmin: float, vmax: float,
                   direct: bool) -> None:  # pragma: no cover - jit
    nz, ny, nx = src.shape
    oz, oy, ox = out.shape
    flat = src.reshape(-1)  # C-contiguous: neighbours at fixed offsets
    sz = ny * nx
    eps = 1e-6
    # fast region of a row: every neighbour inside the box, no clamping or inside test
    if order == 0:
        fz0, fz1 = -0.5 + eps, nz - 0.5 - eps
        fy0, fy1 = -0.5 + eps, ny - 0.5 - eps
        fx0, fx1 = -0.5 + eps, nx - 0.5 - eps
    else:
        fz0, fz1 = eps, nz - 1 - eps
        fy0, fy1 = eps, ny - 1 - eps
        fx0, fx1 = eps, nx - 1 - eps
    for k in range(oz):
        for j in range(oy):
            bz = a[0, 0] * k + a[0, 1] * j + a[0, 3]
            by = a[1, 0] * k + a[1, 1] * j + a[1, 3]
            bx = a[2, 0] * k + a[2, 1] * j + a[2, 3]
            s1, e1 = _row_interval(a[0, 2], bz, fz0, fz1, ox)
            s2, e2 = _row_interval(a[1, 2], by, fy0, fy1, ox)
            s3, e3 = _row_interval(a[2, 2], bx, fx0, fx1, ox)
            fs = max(s1, max(s2, s3))
            fe = min(e1, min(e2, e3))
            if fe < fs:
                fe = fs
            if order == 0:
                _nearest_run(flat, out[k, j], fs, fe, bz, by, bx, a[0, 2], a[1, 2], a[2, 2],
                             sz, nx, is_int, vmin, vmax, direct)
            else:
                _linear_run(flat, out[k, j], fs, fe, bz, by, bx, a[0, 2], a[1, 2], a[2, 2],
                            sz, nx, is_int, vmin, vmax)
            # inside interval of the row (widened by one voxel; the exact test below
            # decides): fill beyond it, clamped reads between it and the fast region
            t1, u1 = _row_interval(a[0, 2], bz, lo[0], hi[0], ox)
            t2, u2 = _row_interval(a[1, 2], by, lo[1], hi[1], ox)
            t3, u3 = _row_interval(a[2, 2], bx, lo[2], hi[2], ox)
            s0 = max(0, max(t1, max(t2, t3)) - 1)
            e0 = min(ox, min(u1, min(u2, u3)) + 1)
            if e0 <= s0:
                s0 = 0
                e0 = 0
            orow = out[k, j]
            orow[:s0] = fill
            orow[e0:] = fill
            for i in range(s0, e0):
                if fs <= i < fe:
                    continue
                z = bz + a[0, 2] * i
                y = by + a[1, 2] * i
                x = bx + a[2, 2] * i
                if not (lo[0] <= z < hi[0] and lo[1] <= y < hi[1] and lo[2] <= x < hi[2]):
                    out[k, j, i] = fill
                    continue
                if order == 0:
                    iz = _clampi(math.floor(z + 0.5), nz)
                    iy = _clampi(math.floor(y + 0.5), ny)
                    ix = _clampi(math.floor(x + 0.5), nx)
                    _store(out, k, j, i, float(src[iz, iy, ix]), is_int, vmin, vmax)
                    continue
                fz = math.floor(z)
                fy = math.floor(y)
                fx = math.floor(x)
                wz = z - fz
                wy = y - fy
                wx = x - fx
                z0 = _clampi(fz, nz)
                z1 = _clampi(fz + 1, nz)
                y0 = _clampi(fy, ny)
                y1 = _clampi(fy + 1, ny)
                x0 = _clampi(fx, nx)
                x1 = _clampi(fx + 1, nx)
                c00 = src[z0, y0, x0] + (src[z0, y0, x1] - float(src[z0, y0, x0])) * wx
                c01 = src[z0, y1, x0] + (src[z0, y1, x1] - float(src[z0, y1, x0])) * wx
                c10 = src[z1, y0, x0] + (src[z1, y0, x1] - float(src[z1, y0, x0])) * wx
                c11 = src[z1, y1, x0] + (src[z1, y1, x1] - float(src[z1, y1, x0])) * wx
                c0 = c00 + (c01 - c00) * wy
                c1 = c10 + (c11 - c10) * wy
                _store(out, k, j, i, c0 + (c1 - c0) * wz, is_int, vmin, vmax)


@numba.njit(cache=True, nogil=True)
def _label_vote(src: Any, z: float, y: float, x: float, labels: Any,
                weights: Any) -> float:  # pragma: no cover - jit
    nz, ny, nx = src.shape
    fz = math.floor(z)
    fy = math.floor(y)
    fx = math.floor(x)
    wz = z - fz
    wy = y - fy
    wx = x - fx
    zs = (_clampi(int(fz), nz), _clampi(int(fz) + 1, nz))
    ys = (_clampi(int(fy), ny), _clampi(int(fy) + 1, ny))
    xs = (_clampi(int(fx), nx), _clampi(int(fx) + 1, nx))
    wzs = (1.0 - wz, wz)
    wys = (1.0 - wy, wy)
    wxs = (1.0 - wx, wx)
    n = 0
    for a in range(2):
        for b in range(2):
            for c in range(2):
                w = wzs[a] * wys[b] * wxs[c]
                v = float(src[zs[a], ys[b], xs[c]])
                found = False
                for m in range(n):
                    if labels[m] == v:
                        weights[m] += w
                        found = True
                        break
                if not found:
                    labels[n] = v
                    weights[n] = w
                    n += 1
    best = labels[0]
    best_w = weights[0]
    for m in range(1, n):
        if weights[m] > best_w or (weights[m] == best_w and labels[m] < best):
            best = labels[m]
            best_w = weights[m]
    return best


@numba.njit(cache=True, nogil=True)
def _affine_label_kernel(src: Any, out: Any, a: Any, lo: Any, hi: Any,
                         fill: float) -> None:  # pragma: no cover - jit
    oz, oy, ox = out.shape
    labels = np.empty(8, dtype=np.float64)
    weights = np.empty(8, dtype=np.float64)
    for k in range(oz):
        for j in range(oy):
            for i in range(ox):
                z = a[0, 0] * k + a[0, 1] * j + a[0, 2] * i + a[0, 3]
                y = a[1, 0] * k + a[1, 1] * j + a[1, 2] * i + a[1, 3]
                x = a[2, 0] * k + a[2, 1] * j + a[2, 2] * i + a[2, 3]
                if not (lo[0] <= z < hi[0] and lo[1] <= y < hi[1] and lo[2] <= x < hi[2]):
                    out[k, j, i] = fill
                else:
                    out[k, j, i] = _label_vote(src, z, y, x, labels, weights)


@numba.njit(cache=True, nogil=True)
def _points_kernel(src: Any, pts: Any, out: Any, lo: Any, hi: Any, fill: float, order: int,
                   is_int: bool, vmin: float, vmax: float) -> None:  # pragma: no cover - jit
    nz, ny, nx = src.shape
    labels = np.empty(8, dtype=np.float64)
    weights = np.empty(8, dtype=np.float64)
    for p in range(pts.shape[0]):
        z = pts[p, 0]
        y = pts[p, 1]
        x = pts[p, 2]
        if not (lo[0] <= z < hi[0] and lo[1] <= y < hi[1] and lo[2] <= x < hi[2]):
            out[p] = fill
            continue
        if order == 2:
            out[p] = _label_vote(src, z, y, x, labels, weights)
            continue
        if order == 0:
            v = float(src[_clampi(math.floor(z + 0.5), nz),
                          _clampi(math.floor(y + 0.5), ny),
                          _clampi(math.floor(x + 0.5), nx)])
        else:
            fz = math.floor(z)
            fy = math.floor(y)
            fx = math.floor(x)
            wz = z - fz
            wy = y - fy
            wx = x - fx
            z0 = _clampi(int(fz), nz)
            z1 = _clampi(int(fz) + 1, nz)
            y0 = _clampi(int(fy), ny)
            y1 = _clampi(int(fy) + 1, ny)
            x0 = _clampi(int(fx), nx)
            x1 = _clampi(int(fx) + 1, nx)
            c00 = src[z0, y0, x0] + (src[z0, y0, x1] - float(src[z0, y0, x0])) * wx
            c01 = src[z0, y1, x0] + (src[z0, y1, x1] - float(src[z0, y1, x0])) * wx
            c10 = src[z1, y0, x0] + (src[z1, y0, x1] - float(src[z1, y0, x0])) * wx
            c11 = src[z1, y1, x0] + (src[z1, y1, x1] - float(src[z1, y1, x0])) * wx
            c0 = c00 + (c01 - c00) * wy
            c1 = c10 + (c11 - c10) * wy
            v = c0 + (c1 - c0) * wz
        if is_int:
            v = min(max(v, vmin), vmax)
        out[p] = v


@numba.njit(cache=True, nogil=True)
def _bilinear_plane(src: Any, z: int, y0: Any, y1: Any, wy: Any, x0: Any, x1: Any, wx: Any,
                    dst: Any) -> None:  # pragma: no cover - jit
    for j in range(dst.shape[0]):
        ya = y0[j]
        yb = y1[j]
        w = wy[j]
        for i in range(dst.shape[1]):
            xa = x0[i]
            xb = x1[i]
            v = wx[i]
            c0 = src[z, ya, xa] + (src[z, ya, xb] - float(src[z, ya, xa])) * v
            c1 = src[z, yb, xa] + (src[z, yb, xb] - float(src[z, yb, xa])) * v
            dst[j, i] = c0 + (c1 - c0) * w


@numba.njit(cache=True, nogil=True)
def _separable_kernel(src: Any, out: Any, z0: Any, z1: Any, wz: Any, y0: Any, y1: Any,
                      wy: Any, x0: Any, x1: Any, wx: Any, inside_z: Any, inside_y: Any,
                      inside_x: Any, fill: float, order: int, is_int: bool, vmin: float,
                      vmax: float, direct: bool) -> None:  # pragma: no cover - jit
    oz, oy, ox = out.shape
    # inside_x is one run of True (the mapping is linear in i)
    xs = 0
    while xs < ox and not inside_x[xs]:
        xs += 1
    xe = xs
    while xe < ox and inside_x[xe]:
        xe += 1
    if order == 0:
        for k in range(oz):
            for j in range(oy):
                orow = out[k, j]
                if not (inside_z[k] and inside_y[j]):
                    orow[:] = fill
                    continue
                orow[:xs] = fill
                orow[xe:] = fill
                srow = src[z0[k], y0[j]]
                if direct:
                    for i in range(xs, xe):
                        orow[i] = srow[x0[i]]
                else:
                    for i in range(xs, xe):
                        _store(out, k, j, i, float(srow[x0[i]]), is_int, vmin, vmax)
        return
    # linear: bilinear planes of the input slices in y/x (each computed once, two cached),
    # then a lerp along z per output slice
    plane_a = np.empty((oy, ox), dtype=np.float64)
    plane_b = np.empty((oy, ox), dtype=np.float64)
    za = -1
    zb = -1
    for k in range(oz):
        if not inside_z[k]:
            for j in range(oy):
                for i in range(ox):
                    out[k, j, i] = fill
            continue
        lo = z0[k]
        hi = z1[k]
        # make plane_a hold slice lo and plane_b slice hi, reusing what is cached
        if za != lo:
            if zb == lo:
                plane_a, plane_b = plane_b, plane_a
                za, zb = zb, za
            else:
                _bilinear_plane(src, lo, y0, y1, wy, x0, x1, wx, plane_a)
                za = lo
        if zb != hi:
            if hi == lo:
                zb = -1
            else:
                _bilinear_plane(src, hi, y0, y1, wy, x0, x1, wx, plane_b)
                zb = hi
        w = wz[k]
        for j in range(oy):
            if not inside_y[j]:
                out[k, j, :] = fill
                continue
            out[k, j, :xs] = fill
            out[k, j, xe:] = fill
            pa = plane_a[j]
            pb = plane_b[j]
            if hi == lo:
                for i in range(xs, xe):
                    _store(out, k, j, i, pa[i], is_int, vmin, vmax)
            else:
                for i in range(xs, xe):
                    _store(out, k, j, i, pa[i] + (pb[i] - pa[i]) * w, is_int, vmin, vmax)


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
               order: int, fill: float) -> None:
    """Axis-aligned fast path: per-axis tables, gathers (nearest) or separable lerps."""
    src_t = src.transpose(perm)
    tables = [
        _axis_table(a[perm[ax], ax], a[perm[ax], 3], out.shape[ax], src_t.shape[ax],
                    lo[perm[ax]], hi[perm[ax]], order)
        for ax in range(3)
    ]
    is_int, vmin, vmax = _int_range(out.dtype)
    (z0, z1, wz, iz), (y0, y1, wy, iy), (x0, x1, wx, ix) = tables
    direct = order == 0 and src_t.dtype == out.dtype
    _separable_kernel(src_t, out, z0, z1, wz, y0, y1, wy, x0, x1, wx, iz, iy, ix,
                      float(fill), order, is_int, vmin, vmax, direct)


def _int_range(dtype: np.dtype[Any]) -> tuple[bool, float, float]:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return True, float(info.min), float(info.max)
    return False, 0.0, 0.0


def _cast(values: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """Clamp to an integer dtype's range and truncate toward zero, or plain cast."""
    is_int, vmin, vmax = _int_range(dtype)
    if is_int:
        values = np.trunc(np.clip(values, vmin, vmax))
    return values.astype(dtype, copy=False)


def _cubic(src: NDArray[Any], coords_zyx: NDArray[np.float64]) -> NDArray[np.float64]:
    """B-spline (order 3, mirror) values of a 3-D box at continuous indices (3, ...)."""
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
        _separable(src, a, perm, out, lo, hi, 0 if method == "nearest" else 1, fill)
    elif method in ("nearest", "linear"):
        src = np.ascontiguousarray(src)
        is_int, vmin, vmax = _int_range(out.dtype)
        order = 0 if method == "nearest" else 1
        _affine_kernel(src, out, a, lo, hi, float(fill), order, is_int, vmin, vmax,
                       order == 0 and src.dtype == out.dtype)
    elif method == "label":
        _affine_label_kernel(src, out, a, lo, hi, float(fill))
    else:
        grid = np.indices(out_shape_zyx, dtype=np.float64).reshape(3, -1)
        coords = a[:, :3] @ grid + a[:, 3:]
        inside = np.all((coords >= lo[:, None]) & (coords < hi[:, None]), axis=0)
        values = np.full(coords.shape[1], float(fill))
        if inside.any():
            values[inside] = _cubic(src, coords[:, inside])
        out[...] = _cast(values, out.dtype).reshape(out_shape_zyx)
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
        return _cast(values, np.dtype(dtype))
    out = np.empty(pts.shape[0], dtype=np.float64)
    is_int, vmin, vmax = _int_range(np.dtype(dtype))
    order = {"nearest": 0, "linear": 1, "label": 2}[method]
    _points_kernel(src, pts, out, lo, hi, float(fill), order, is_int, vmin, vmax)
    if is_int:
        out = np.trunc(out)
    return out.astype(dtype)
