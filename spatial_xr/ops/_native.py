"""The compiled interpolation kernels (``_interp.cpp``), called through :mod:`ctypes`.

The kernels are a plain shared library beside this file (``libspatialxr_interp.so``,
``.dylib`` on macOS, ``.dll`` on Windows), built by ``setup.py`` and shipped in the wheel.

ctypes releases the GIL for the duration of each call, so dask's threads (or the
in-memory path's thread pool) run kernels in parallel. Arrays are passed as a base
pointer with shape and strides in elements, so strided views (transposes, slabs of a
larger output) are read and written in place, without copies.

Every function takes 3-D boxes in ``z, y, x`` order. Supported dtypes are the native
byte-order integers of 8 to 64 bits, float32, float64 and bool; anything else is
converted (input) or computed into a float64 buffer and cast (output).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import DependencyError, ParameterError

__all__ = ["BLOCK_MEAN_DTYPES", "affine", "block_mean", "points", "separable"]

BLOCK_MEAN_DTYPES = frozenset(np.dtype(t) for t in ("i1", "u1", "i2", "u2", "i4", "u4", "?"))
"""Dtypes (native byte order) whose block means :func:`block_mean` computes."""

_CODES = {"i1": 0, "u1": 1, "i2": 2, "u2": 3, "i4": 4, "u4": 5, "i8": 6, "u8": 7,
          "f4": 8, "f8": 9, "b1": 10}
_ORDERS = {"nearest": 0, "linear": 1, "label": 2}

_P = ctypes.c_void_p
_D = ctypes.c_double
_I = ctypes.c_int


LIBRARY = Path(__file__).with_name(
    "libspatialxr_interp" + {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so"))
"""Where the compiled kernels are (the file ``setup.py`` builds)."""


class KernelsMissingError(DependencyError):
    """The compiled kernels are not built (a source checkout that was not installed)."""


@functools.cache
def _lib() -> ctypes.CDLL:
    if not LIBRARY.is_file():
        raise KernelsMissingError(
            f"spatial_xr's compiled interpolation kernels are missing ({LIBRARY} does not "
            "exist): install spatial-xr from its wheel (pip install spatial-xr, no compiler "
            "needed), or in a source checkout run pip install -e . (compiles "
            "spatial_xr/ops/_interp.cpp; needs a C++17 compiler)"
        )
    lib = ctypes.CDLL(str(LIBRARY))
    lib.sxr_affine.argtypes = [_P, _I, _P, _P, _P, _I, _P, _P, _P, _P, _P, _D, _I]
    lib.sxr_separable.argtypes = [_P, _I, _P, _P, _P, _I, _P, _P, *([_P] * 12), _D, _I]
    lib.sxr_points.argtypes = [_P, _I, _P, _P, _P, ctypes.c_int64, _P, _P, _P, _D, _I]
    lib.sxr_block_mean.argtypes = [_P, _I, _P, _P, _P, _P, _P, _P]
    for f in (lib.sxr_affine, lib.sxr_separable, lib.sxr_points, lib.sxr_block_mean):
        f.restype = _I
    return lib


def _code(dtype: np.dtype[Any]) -> int | None:
    if not dtype.isnative:
        return None
    return _CODES.get(f"{dtype.kind}{dtype.itemsize}")


def _source(src: NDArray[Any]) -> tuple[NDArray[Any], int]:
    """The box as the kernels read it (converted only if its dtype is not supported)."""
    code = _code(src.dtype)
    if code is None:
        native = src.dtype.newbyteorder("=")
        src = src.astype(native if _code(native) is not None else np.float64)
        code = _CODES[f"{src.dtype.kind}{src.dtype.itemsize}"]
    return src, code


def _shape_strides(a: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    shape = np.asarray(a.shape, dtype=np.int64)
    strides = np.asarray(a.strides, dtype=np.int64) // a.itemsize
    return shape, strides


def _ptr(a: NDArray[Any]) -> int:
    return int(a.ctypes.data)


def _f64(a: Any) -> NDArray[np.float64]:
    return np.ascontiguousarray(a, dtype=np.float64)


def _run(call: Any, src: NDArray[Any], out: NDArray[Any], *args: Any) -> None:
    """Run a resampling kernel from ``src`` into ``out``. A non-native byte order is
    written through a native buffer (integer clamping kept); a dtype the kernels do not
    write (float16, complex) through a float64 one."""
    if any(n == 0 for n in out.shape):
        return
    src, tin = _source(src)
    dst = out
    if _code(out.dtype) is None:  # big-endian: native buffer, then swap; else float64
        native = out.dtype.newbyteorder("=")
        dst = np.empty(out.shape, native if _code(native) is not None else np.float64)
    tout = _code(dst.dtype)
    sshape, sstrides = _shape_strides(src)
    oshape, ostrides = _shape_strides(dst)
    rc = call(_ptr(src), tin, _ptr(sshape), _ptr(sstrides), _ptr(dst), tout, _ptr(oshape),
              _ptr(ostrides), *args)
    if rc != 0:  # pragma: no cover - the codes above are the kernels' own
        raise ParameterError(f"no interpolation kernel for {src.dtype} → {out.dtype}")
    if dst is not out:
        out[...] = dst


def affine(src: NDArray[Any], out: NDArray[Any], a: NDArray[np.float64],
           lo: NDArray[np.float64], hi: NDArray[np.float64], fill: float, method: str) -> None:
    """Resample ``src`` (nz, ny, nx) into ``out`` through an affine index mapping.

    Parameters
    ----------
    src : ndarray, shape (nz, ny, nx)
    out : ndarray, shape (oz, oy, ox)
        Written in place (any strides).
    a : ndarray, shape (3, 4)
        Output index (k, j, i, 1) → continuous ``src`` index (z, y, x).
    lo, hi : ndarray, shape (3,)
        Inside test ``lo ≤ index < hi``; outside ⇒ ``fill``.
    fill : float
    method : {"nearest", "linear", "label"}
    """
    a, lo, hi = _f64(a), _f64(lo), _f64(hi)
    _run(_lib().sxr_affine, src, out, _ptr(a), _ptr(lo), _ptr(hi), float(fill),
         _ORDERS[method])


def separable(src: NDArray[Any], out: NDArray[Any],
              tables: list[tuple[NDArray[Any], ...]], fill: float, method: str) -> None:
    """Resample ``src`` into ``out`` when each output axis reads one input axis.

    Parameters
    ----------
    src : ndarray, shape (nz, ny, nx)
        Axes already permuted to match the output's.
    out : ndarray, shape (oz, oy, ox)
    tables : list of 3 tuples (i0, i1, w, inside)
        Per output axis: lower (or nearest) input index, upper index, weight of the upper
        one (int64, int64, float64, bool; length of the output axis).
    fill : float
    method : {"nearest", "linear"}
    """
    keep: list[NDArray[Any]] = []
    for i0, i1, w, inside in tables:
        keep += [np.ascontiguousarray(i0, np.int64), np.ascontiguousarray(i1, np.int64),
                 _f64(w), np.ascontiguousarray(inside, np.uint8)]
    _run(_lib().sxr_separable, src, out, *[_ptr(t) for t in keep], float(fill),
         _ORDERS[method])


def points(src: NDArray[Any], pts: NDArray[np.float64], lo: NDArray[np.float64],
           hi: NDArray[np.float64], fill: float, method: str) -> NDArray[np.float64]:
    """Values of ``src`` at continuous indices.

    Parameters
    ----------
    src : ndarray, shape (nz, ny, nx)
    pts : ndarray, shape (N, 3)
        Continuous indices, z, y, x order.
    lo, hi, fill
        As in :func:`affine`.
    method : {"nearest", "linear", "label"}

    Returns
    -------
    ndarray, shape (N,), float64
    """
    pts, lo, hi = _f64(pts), _f64(lo), _f64(hi)
    out = np.empty(pts.shape[0], np.float64)
    if pts.shape[0] == 0:
        return out
    src, tin = _source(src)
    sshape, sstrides = _shape_strides(src)
    _lib().sxr_points(_ptr(src), tin, _ptr(sshape), _ptr(sstrides), _ptr(pts),
                      pts.shape[0], _ptr(out), _ptr(lo), _ptr(hi), float(fill),
                      _ORDERS[method])
    return out


def block_mean(block: NDArray[Any], factors: tuple[int, ...]) -> NDArray[Any]:
    """Mean of each ``factors`` block, exactly, in the block's own integer (or bool) dtype.

    Parameters
    ----------
    block : ndarray, shape (..., n_1, …, n_k)
        Any number of axes; every ``n_a`` a multiple of ``factors[a]``. Dtype one of
        :data:`BLOCK_MEAN_DTYPES`.
    factors : tuple of int
        One factor per axis; axes before the last three must have factor 1.

    Returns
    -------
    ndarray, shape (n_1 / f_1, …), dtype of ``block``
        ``floor((2 s + n) / 2n)`` of each block's integer sum ``s`` over its ``n`` voxels
        (halves round up); for bool, whether at least half the block is True.
    """
    if block.dtype not in BLOCK_MEAN_DTYPES:
        raise ParameterError(f"no block-mean kernel for {block.dtype}")
    if any(f != 1 for f in factors[:-3]):
        raise ParameterError("only the last three axes can be reduced")
    out = np.empty(tuple(n // f for n, f in zip(block.shape, factors, strict=True)),
                   block.dtype)
    pad = 3 - min(3, block.ndim)
    f3 = np.asarray((1,) * pad + tuple(factors[-3:]), np.int64)
    code = _CODES[f"{block.dtype.kind}{block.dtype.itemsize}"]
    call = _lib().sxr_block_mean
    for idx in np.ndindex(*block.shape[:-3]):
        src = block[idx].reshape((1,) * pad + block.shape[max(0, block.ndim - 3):])
        dst = out[idx].reshape((1,) * pad + out.shape[max(0, out.ndim - 3):])
        sshape, sstrides = _shape_strides(src)
        oshape, ostrides = _shape_strides(dst)
        call(_ptr(src), code, _ptr(sshape), _ptr(sstrides), _ptr(dst), _ptr(oshape),
             _ptr(ostrides), _ptr(f3))
    return out
