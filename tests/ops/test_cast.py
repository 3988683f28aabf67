"""round_to_dtype: the two rounding rules against Python's decimal module and SimpleITK."""

from __future__ import annotations

import decimal

import numpy as np
import pytest
import SimpleITK as sitk

from spatial_xr.errors import UnsupportedOptionError
from spatial_xr.ops.cast import ROUNDING_RULES, round_to_dtype

# halves of both signs, near-halves, and values beyond int8/uint8 ranges
VALUES = np.array([-300.0, -128.5, -2.5, -2.4999, -1.5, -0.5, -0.2, 0.0, 0.49999, 0.5, 1.5,
                   2.5, 3.7, 126.5, 127.49, 127.5, 254.5, 255.4, 255.5, 1e6])


def _half_up(v: float) -> int:
    """Nearest integer, halves toward +inf: decimal's HALF_UP rounds halves away from zero,
    so negative values take HALF_DOWN of their magnitude."""
    if v >= 0:
        return int(decimal.Decimal(v).to_integral_value(rounding=decimal.ROUND_HALF_UP))
    return -int(decimal.Decimal(-v).to_integral_value(rounding=decimal.ROUND_HALF_DOWN))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint64])
def test_half_up_rounds_halves_toward_plus_infinity_then_clamps(dtype):
    info = np.iinfo(dtype)
    want = [min(max(_half_up(v), info.min), info.max) for v in VALUES.tolist()]
    got = round_to_dtype(VALUES, np.dtype(dtype), "half_up")
    assert got.dtype == dtype
    assert got.tolist() == want


@pytest.mark.parametrize("pixel", [(np.int16, sitk.sitkInt16), (np.uint8, sitk.sitkUInt8),
                                   (np.int32, sitk.sitkInt32)])
def test_toward_zero_is_itk_static_cast_in_range(pixel):
    dtype, sitk_type = pixel
    info = np.iinfo(dtype)
    inside = VALUES[np.clip(VALUES, info.min, info.max) == VALUES].reshape(1, -1)
    ref = sitk.GetArrayFromImage(sitk.Cast(sitk.GetImageFromArray(inside), sitk_type))
    got = round_to_dtype(inside, np.dtype(dtype), "toward_zero")
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ref)


def test_toward_zero_clamps_out_of_range_values():
    got = round_to_dtype(VALUES, np.dtype(np.int8), "toward_zero")
    want = [min(max(int(v), -128), 127) for v in VALUES.tolist()]  # int() truncates
    assert got.tolist() == want


def test_booleans_floats_and_unknown_rule():
    v = np.array([-1.0, 0.0, 0.3, 0.5, 2.0])
    assert round_to_dtype(v, np.bool_, "half_up").tolist() == [False, False, False, True, True]
    # static_cast<bool>: anything non-zero is true
    assert round_to_dtype(v, np.bool_, "toward_zero").tolist() == [True, False, True, True,
                                                                    True]
    for rule in ROUNDING_RULES:
        same = round_to_dtype(v, np.float64, rule)
        assert same is v  # no copy when the dtype already fits
        np.testing.assert_array_equal(round_to_dtype(v, np.float32, rule), v.astype(np.float32))
    with pytest.raises(UnsupportedOptionError, match="unknown rounding rule 'banker'"):
        round_to_dtype(v, np.int16, "banker")  # type: ignore[arg-type]
