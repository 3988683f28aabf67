"""gaussian_smooth: a chunked dask filter equal to scipy's filter of the whole array."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
from scipy import ndimage

from spatial_xr.ops.smooth import GAUSSIAN_TRUNCATE, gaussian_block, gaussian_smooth


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    return np.random.default_rng(11).normal(size=(2, 9, 30, 25))


@pytest.mark.parametrize("chunks", [(1, 4, 7, 25), (2, 9, 30, 25), (1, 2, 3, 4)])
def test_chunked_filter_equals_scipy_on_the_whole_array(volume, chunks):
    sigmas = (0.0, 0.9, 2.5, 1.3)  # no smoothing along the leading (t) axis
    got = gaussian_smooth(dsa.from_array(volume, chunks=chunks), sigmas, np.dtype(np.float64))
    assert got.dtype == np.float64
    want = ndimage.gaussian_filter(volume, sigmas, mode="nearest", truncate=4.0)
    np.testing.assert_allclose(got.compute(), want, rtol=0, atol=1e-13)


def test_axis_shorter_than_the_kernel_is_smoothed_whole(volume):
    thin = volume[:, :3]
    sigmas = (0.0, 2.0, 0.5, 0.5)  # the z kernel reaches 8 voxels, z has 3
    got = gaussian_smooth(dsa.from_array(thin, chunks=(1, 1, 10, 10)), sigmas,
                          np.dtype(np.float32))
    assert got.dtype == np.float32 and got.chunks[1] == (3,)
    want = ndimage.gaussian_filter(thin.astype(np.float32), sigmas, mode="nearest",
                                   truncate=GAUSSIAN_TRUNCATE)
    np.testing.assert_allclose(got.compute(), want, rtol=1e-6, atol=1e-6)


def test_block_filter_computes_in_the_given_dtype():
    block = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    out = gaussian_block(block, (1.0, 1.0, 0.0), np.dtype(np.float32))
    assert out.dtype == np.float32 and block.dtype == np.int16
    np.testing.assert_array_equal(
        out, ndimage.gaussian_filter(block.astype(np.float32), (1.0, 1.0, 0.0), mode="nearest"))
