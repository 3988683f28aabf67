"""reorient() for all 48 codes against SimpleITK's DICOMOrient filter."""

from __future__ import annotations

import itertools

import dask.array as dsa
import numpy as np
import pytest
from ops_oracles import DIRECTIONS, rotation, sitk, sitk_grid, to_sitk

import spatial_xr
from spatial_xr.errors import GeometryError


def _code_letters(perm, flips):
    axes = ("LR", "PA", "SI")
    return "".join(axes[p][int(f)] for p, f in zip(perm, flips, strict=True))


ALL_CODES = sorted({_code_letters(p, f) for p in itertools.permutations(range(3))
                    for f in itertools.product([0, 1], repeat=3)})


@pytest.fixture(scope="module", params=["identity", "permuted", "oblique"])
def image(request):
    d = DIRECTIONS[request.param]
    if request.param == "oblique":
        d = rotation(1, 10.0) @ DIRECTIONS["permuted"]
    values = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    data = dsa.from_array(values, chunks=(2, 5, 3)) if request.param == "permuted" else values
    return spatial_xr.from_array(data,
                                 spacing=(2.5, 0.75, 1.25), origin=(10.0, -20.0, 5.5),
                                 direction=d)


def test_there_are_48_codes():
    assert len(ALL_CODES) == 48


@pytest.mark.parametrize("code", ALL_CODES)
def test_matches_dicomorient(image, code):
    out = image.spatial.reorient(code)
    assert isinstance(out.data, dsa.Array) == isinstance(image.data, dsa.Array)
    ref = sitk.DICOMOrient(to_sitk(image), code)
    assert out.spatial.orientation == code
    assert out.spatial.grid.isclose(sitk_grid(ref), atol=1e-9)
    np.testing.assert_array_equal(out.transpose("z", "y", "x").values,
                                  sitk.GetArrayFromImage(ref))
    assert out.dims == image.dims


def test_default_is_closest_to_lps(image):
    out = image.spatial.reorient()
    ref = sitk.DICOMOrient(to_sitk(image), "LPS")
    assert out.spatial.grid.isclose(sitk_grid(ref), atol=1e-9)
    np.testing.assert_array_equal(out.values, sitk.GetArrayFromImage(ref))


def test_world_points_kept_2d():
    da = spatial_xr.from_array(np.arange(12.0).reshape(3, 4), spacing=(0.5, 2.0),
                               origin=(1.0, 2.0))
    out = da.spatial.reorient("RA")
    assert out.spatial.orientation == "RA"
    for j in range(3):
        for i in range(4):
            p = da.spatial.index_to_world([j, i])
            jj, ii = np.rint(out.spatial.world_to_index(p)).astype(int)
            assert out.values[jj, ii] == da.values[j, i]


def test_bad_code():
    da = spatial_xr.from_array(np.zeros((2, 3, 4)))
    with pytest.raises(GeometryError, match="orientation code"):
        da.spatial.reorient("RRS")
