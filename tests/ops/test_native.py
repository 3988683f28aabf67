"""The compiled kernels against a plain NumPy evaluation of the same conventions, for every
dtype pair, strided views and the exactness of copies (the SimpleITK comparisons are in
test_resample.py and test_sample.py)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spatial_xr.errors import DependencyError, ParameterError, SpatialXRError
from spatial_xr.ops import _kernels, _native
from spatial_xr.ops.cast import round_to_dtype

IN_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
             "float32", "float64", "float16", ">i2", ">f8"]
OUT_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
              "float32", "float64", "bool", "float16", ">i2", ">f4"]


def _reference(src: np.ndarray, a: np.ndarray, out_shape, lo, hi, fill: float,
               method: str) -> np.ndarray:
    """float64 values by the documented rules, evaluated with NumPy in the kernels' order."""
    k, j, i = np.indices(out_shape, dtype=np.float64)
    z = a[0, 0] * k + a[0, 1] * j + a[0, 3] + a[0, 2] * i
    y = a[1, 0] * k + a[1, 1] * j + a[1, 3] + a[1, 2] * i
    x = a[2, 0] * k + a[2, 1] * j + a[2, 3] + a[2, 2] * i
    inside = ((lo[0] <= z) & (z < hi[0]) & (lo[1] <= y) & (y < hi[1])
              & (lo[2] <= x) & (x < hi[2]))
    s = src.astype(np.float64)
    n = src.shape
    if method == "nearest":
        iz, iy, ix = (np.clip(np.floor(c + 0.5), 0, m - 1).astype(int)
                      for c, m in zip((z, y, x), n, strict=True))
        v = s[iz, iy, ix]
    else:
        fz, fy, fx = np.floor(z), np.floor(y), np.floor(x)
        wz, wy, wx = z - fz, y - fy, x - fx
        z0, z1 = (np.clip(fz + d, 0, n[0] - 1).astype(int) for d in (0, 1))
        y0, y1 = (np.clip(fy + d, 0, n[1] - 1).astype(int) for d in (0, 1))
        x0, x1 = (np.clip(fx + d, 0, n[2] - 1).astype(int) for d in (0, 1))
        if method == "linear":
            c00 = s[z0, y0, x0] + (s[z0, y0, x1] - s[z0, y0, x0]) * wx
            c01 = s[z0, y1, x0] + (s[z0, y1, x1] - s[z0, y1, x0]) * wx
            c10 = s[z1, y0, x0] + (s[z1, y0, x1] - s[z1, y0, x0]) * wx
            c11 = s[z1, y1, x0] + (s[z1, y1, x1] - s[z1, y1, x0]) * wx
            c0 = c00 + (c01 - c00) * wy
            c1 = c10 + (c11 - c10) * wy
            v = c0 + (c1 - c0) * wz
        else:  # label: the label with the largest summed weight, ties to the smaller
            labels = np.unique(s)
            score = np.zeros((len(labels), *out_shape))
            for (zz, wz_), (yy, wy_), (xx, wx_) in itertools.product(
                    ((z0, 1 - wz), (z1, wz)), ((y0, 1 - wy), (y1, wy)), ((x0, 1 - wx), (x1, wx))):
                val = s[zz, yy, xx]
                for m, lab in enumerate(labels):
                    score[m] += np.where(val == lab, wz_ * wy_ * wx_, 0.0)
            v = labels[np.argmax(score, axis=0)]  # argmax takes the first (smaller) label
    return np.where(inside, v, fill)


def _expected(values: np.ndarray, dtype) -> np.ndarray:
    return round_to_dtype(values, np.dtype(dtype), "toward_zero")


@pytest.fixture(scope="module")
def box():
    rng = np.random.default_rng(7)
    return rng.integers(0, 100, size=(6, 7, 8))


OBLIQUE = np.array([[0.9, 0.2, 0.1, -0.6], [-0.15, 1.1, 0.05, 0.3], [0.1, -0.2, 0.8, 0.4]])
SCALED = np.array([[0.6, 0.0, 0.0, -0.4], [0.0, 1.3, 0.0, 0.2], [0.0, 0.0, -0.7, 7.3]])
LO = np.full(3, -0.5)


@pytest.mark.parametrize("in_dtype", IN_DTYPES)
@pytest.mark.parametrize("out_dtype", OUT_DTYPES)
def test_every_dtype_pair_matches_the_rules(box, in_dtype, out_dtype):
    """Affine (oblique) and separable (scaled, flipped) kernels, nearest and linear, for
    every input/output dtype: exactly the rule's value, cast by the documented rule."""
    src = (box - 40).astype(in_dtype) if np.dtype(in_dtype).kind in "if" else box.astype(in_dtype)
    hi = np.array(src.shape) - 0.5
    out_shape = (5, 9, 10)
    for a, method in itertools.product((OBLIQUE, SCALED), ("nearest", "linear")):
        out = np.empty(out_shape, out_dtype)
        _kernels.resample_box(src, a, out_shape, LO, hi, method, 3.0, out.dtype, out=out)
        ref = _expected(_reference(src, a, out_shape, LO, hi, 3.0, method), out_dtype)
        np.testing.assert_array_equal(out, ref, err_msg=f"{method} {a is OBLIQUE}")


@pytest.mark.parametrize("in_dtype", ["uint8", "int16", "int32", "float32"])
def test_label_vote_matches_the_rule(box, in_dtype):
    src = (box % 4).astype(in_dtype)
    hi = np.array(src.shape) - 0.5
    out_shape = (5, 9, 10)
    out = _kernels.resample_box(src, OBLIQUE, out_shape, LO, hi, "label", 0.0, src.dtype)
    ref = _reference(src, OBLIQUE, out_shape, LO, hi, 0.0, "label")
    np.testing.assert_array_equal(out, ref.astype(in_dtype))


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_nearest_copies_64_bit_values_exactly(dtype):
    """Values beyond float64's 53-bit mantissa survive nearest in both kernels."""
    big = np.iinfo(dtype).max - np.arange(4 * 4 * 4, dtype=dtype).reshape(4, 4, 4) * 3
    hi = np.full(3, 3.5)
    ident = np.hstack([np.eye(3), np.zeros((3, 1))])
    tilted = ident.copy()
    tilted[1, 2] = 1e-9  # oblique by a hair: the general kernel
    for a in (ident, tilted):
        out = _kernels.resample_box(big, a, (4, 4, 4), LO, hi, "nearest", 0.0, big.dtype)
        np.testing.assert_array_equal(out, big)


def test_strided_views_read_and_written_in_place(box):
    """A transposed, stepped source and a stepped output view give the contiguous result,
    and the voxels between the written ones are untouched."""
    src = np.ascontiguousarray(box.astype(np.int16).transpose(2, 0, 1))[:, ::-1, ::2]
    hi = np.array(src.shape) - 0.5
    for a, method in itertools.product((OBLIQUE, SCALED), ("nearest", "linear", "label")):
        if method == "label" and a is SCALED:
            continue
        want = _kernels.resample_box(np.ascontiguousarray(src), a, (4, 5, 6), LO, hi,
                                     method, -1.0, np.dtype(np.float32))
        canvas = np.full((4, 10, 12), 99.0, np.float32)
        view = canvas[:, ::2, 1::2]
        _kernels.resample_box(src, a, view.shape, LO, hi, method, -1.0, view.dtype, out=view)
        np.testing.assert_array_equal(view, want)
        assert np.all(canvas[:, 1::2, :] == 99.0) and np.all(canvas[:, :, ::2] == 99.0)


@pytest.mark.parametrize("method", ["nearest", "linear", "label"])
@pytest.mark.parametrize("in_dtype", ["uint8", "int16", ">i2", "float64", "float16"])
def test_points_match_the_rules(box, method, in_dtype):
    src = (box % 5).astype(in_dtype)
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1.0, 8.0, size=(200, 3))
    hi = np.array(src.shape) - 0.5
    got = _kernels.sample_box(src, pts, LO, hi, method, -2.0, np.dtype(np.float64))
    # the reference evaluates each point as a one-voxel output at offset p
    ref = np.concatenate([
        _reference(src, np.hstack([np.zeros((3, 3)), p[:, None]]), (1, 1, 1), LO, hi,
                   -2.0, method).ravel() for p in pts])
    np.testing.assert_array_equal(got, ref)


def test_empty_output_and_empty_points(box):
    src = box.astype(np.int16)
    hi = np.array(src.shape) - 0.5
    out = _kernels.resample_box(src, OBLIQUE, (0, 3, 3), LO, hi, "linear", 0.0, src.dtype)
    assert out.shape == (0, 3, 3)
    got = _kernels.sample_box(src, np.zeros((0, 3)), LO, hi, "linear", 0.0, src.dtype)
    assert got.shape == (0,)


def test_missing_build_names_the_fix(monkeypatch):
    """A source checkout that was never installed has no compiled library: the error (a
    SpatialXRError and an ImportError) says how to get it."""
    monkeypatch.setattr(_native, "LIBRARY", _native.LIBRARY.with_name("missing.so"))
    _native._lib.cache_clear()
    try:
        with pytest.raises(_native.KernelsMissingError,
                           match=r"missing\.so does not exist.*pip install spatial-xr.*"
                                 r"pip install -e \.") as info:
            _native._lib()
        assert isinstance(info.value, DependencyError)  # caught by except SpatialXRError
        assert isinstance(info.value, SpatialXRError) and isinstance(info.value, ImportError)
    finally:
        monkeypatch.undo()
        _native._lib.cache_clear()
    assert _native._lib() is not None


def test_kernels_run_in_parallel_threads(box):
    """ctypes releases the GIL: two threads resampling at once give the serial results."""
    import concurrent.futures

    src = np.random.default_rng(3).normal(size=(40, 60, 70))
    hi = np.array(src.shape) - 0.5
    serial = [_kernels.resample_box(src, a, (30, 50, 60), LO, hi, "linear", 0.0,
                                    np.dtype(np.float64)) for a in (OBLIQUE, SCALED)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        par = list(pool.map(lambda a: _kernels.resample_box(
            src, a, (30, 50, 60), LO, hi, "linear", 0.0, np.dtype(np.float64)),
            (OBLIQUE, SCALED)))
    for s, p in zip(serial, par, strict=True):
        np.testing.assert_array_equal(s, p)


def test_resampling_needs_no_jit_compiler():
    """A fresh interpreter resamples and samples without importing numba or llvmlite."""
    code = (
        "import sys, numpy as np, spatial_xr\n"
        "da = spatial_xr.from_array(np.arange(4*5*6, dtype=np.int16).reshape(4, 5, 6),"
        " spacing=1.0)\n"
        "for m in ('nearest', 'linear', 'label'):\n"
        "    da.spatial.resample(spacing=0.7, interpolation=m).values\n"
        "da.spatial.sample(np.zeros((3, 3)), interpolation='linear')\n"
        "print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _block_mean_rule(block: np.ndarray, factors: tuple[int, ...]) -> np.ndarray:
    """floor((2s + n) / 2n) of each block's exact sum (bool: at least half True)."""
    view = block.astype(np.int64).reshape(
        [v for n, f in zip(block.shape, factors, strict=True) for v in (n // f, f)])
    s = view.sum(axis=tuple(range(1, 2 * block.ndim, 2)))
    n = int(np.prod(factors))
    if block.dtype == np.bool_:
        return 2 * s >= n
    return ((2 * s + n) // (2 * n)).astype(block.dtype)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32",
                                   "bool"])
@pytest.mark.parametrize("factors", [(1, 2, 2), (2, 2, 2), (3, 1, 2), (1, 1, 1), (2, 3, 4)])
def test_block_mean_is_the_exact_integer_rule(dtype, factors):
    """Halves round up (also for negative sums), over each dtype's full range."""
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype) if dtype != "bool" else None
    lo, hi = (int(info.min), int(info.max)) if info else (0, 1)
    x = rng.integers(lo, hi, size=(6, 12, 24), endpoint=True).astype(dtype)
    got = _native.block_mean(x, factors)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, _block_mean_rule(x, factors))
    # a flipped (negative-stride) view with a leading t axis, and a 2-D image
    y = np.stack([x, x[::-1]])[..., ::-1]
    want = np.stack([_block_mean_rule(y[0], factors), _block_mean_rule(y[1], factors)])
    np.testing.assert_array_equal(_native.block_mean(y, (1, *factors)), want)
    np.testing.assert_array_equal(_native.block_mean(x[0], factors[1:]),
                                  _block_mean_rule(x[0], factors[1:]))


def test_block_mean_ties_round_half_up():
    x = np.array([[[-3, -2, 1, 2, 5, 6, -1, 0]]], np.int16)  # pairs: -2.5, 1.5, 5.5, -0.5
    np.testing.assert_array_equal(_native.block_mean(x, (1, 1, 2)), [[[-2, 2, 6, 0]]])
    z = np.array([[[-3, -2, -1, 1, 0, 0, -1, -1, 1]]], np.int8)  # triples: -2, 1/3, -1/3
    np.testing.assert_array_equal(_native.block_mean(z, (1, 1, 3)), [[[-2, 0, 0]]])


def test_block_mean_refuses_other_dtypes():
    with pytest.raises(ParameterError, match="float32"):
        _native.block_mean(np.zeros((2, 2, 2), np.float32), (1, 2, 2))


@pytest.mark.parametrize("out_dtype", [">i2", "<i2", ">u1"])
def test_out_of_range_values_clamp_in_any_byte_order(out_dtype):
    """Integer outputs clamp to their range (then truncate), big-endian ones too."""
    src = np.array([[[-1e6, -2.7, 2.7, 1e6]]])
    ident = np.hstack([np.eye(3), np.zeros((3, 1))])
    hi = np.array([0.5, 0.5, 3.5])
    for method in ("nearest", "linear"):
        out = _kernels.resample_box(src, ident, (1, 1, 4), LO, hi, method, 0.0,
                                    np.dtype(out_dtype))
        info = np.iinfo(out_dtype)
        want = np.array([[[info.min, max(-2, info.min), 2, info.max]]]).astype(out_dtype)
        np.testing.assert_array_equal(out, want)
        assert out.dtype == np.dtype(out_dtype)
