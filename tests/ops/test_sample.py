"""sample() against SimpleITK's interpolators evaluated at the same world points."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
from ops_oracles import DIRECTIONS, sitk_points, to_sitk

import spatial_xr
from spatial_xr.errors import ParameterError
from spatial_xr.ops.sample import sample


@pytest.fixture(scope="module")
def image(rng_volume):
    return spatial_xr.from_array(dsa.from_array(rng_volume, chunks=(5, 8, 7)),
                                 spacing=(2.1, 0.9, 1.2), origin=(-3.0, 4.0, 7.5),
                                 direction=DIRECTIONS["oblique"])


@pytest.fixture(scope="module")
def points(image):
    rng = np.random.default_rng(3)
    idx = rng.uniform(-1.5, 21.5, size=(300, 3))
    return image.spatial.grid.index_to_world(idx)


@pytest.mark.parametrize("method", ["nearest", "linear", "cubic", "label"])
def test_matches_simpleitk_interpolators(image, points, method):
    da = image
    if method == "label":
        da = (image / 100).astype(np.int16)
    ours = sample(da, points, method, fill_value=-77, chunk_size=64)
    assert isinstance(ours.data, dsa.Array)
    assert ours.data.numblocks == (5,)
    ref = sitk_points(to_sitk(da), points, method, fill=-77)
    outside = ref == -77
    assert outside.any() and not outside.all()
    if method in ("nearest", "label"):
        assert ours.dtype == da.dtype
        np.testing.assert_array_equal(ours.values, ref)
    else:
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours.values, ref, rtol=1e-6, atol=1e-4)


def test_2d_and_leading_dims(rng_volume):
    stack = np.stack([rng_volume[3], 2 * rng_volume[3]])
    da = spatial_xr.from_array(stack, dims=("c", "y", "x"), spacing=(0.8, 1.1), origin=(2, 3))
    pts = np.array([[2.0, 3.0], [5.5, 7.25], [100.0, 0.0], [2.0 + 1.1 * 19, 3.0 + 0.8 * 21]])
    out = da.spatial.sample(pts, "linear", fill_value=np.nan)
    assert out.dims == ("c", "point")
    assert isinstance(out.data, np.ndarray)
    for c in range(2):
        ref = sitk_points(to_sitk(da.isel(c=c)), pts, "linear", fill=np.nan)
        np.testing.assert_allclose(out.values[c], ref, rtol=1e-6, equal_nan=True)
    assert np.isnan(out.values[0, 2])
    assert out.values[0, 0] == pytest.approx(stack[0, 0, 0])


def test_integer_dtype_rounding(image, points):
    out = sample(image, points[:50], "linear", dtype=np.int8)
    ref = sitk_points(to_sitk(image), points[:50], "linear")
    np.testing.assert_array_equal(out.values, np.trunc(np.clip(ref, -128, 127)))


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.zeros(3), [[np.nan, 0, 0]]])
def test_bad_points(image, bad):
    with pytest.raises(ParameterError, match="points"):
        sample(image, bad)


def test_bad_interpolation(image):
    with pytest.raises(ParameterError, match="interpolation"):
        sample(image, [[0.0, 0.0, 0.0]], "spline")
