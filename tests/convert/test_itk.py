"""ITK converters and ITK's own xarray bridge, checked against ITK's index → world mapping."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr

from spatial_xr.convert import from_itk, from_itk_xarray, from_sitk, to_itk
from spatial_xr.errors import DimensionError, FormatError

itk = pytest.importorskip("itk", reason="ITK's Python package is the 'itk-full' extra")


def _itk_world(img, idx_xyz):
    return np.array([list(img.TransformIndexToPhysicalPoint([int(v) for v in p]))
                     for p in idx_xyz])


def test_to_itk_places_voxels_where_itk_does(image3d, voxel_indices_xyz):
    img = image3d.spatial.to_itk()
    idx = voxel_indices_xyz(tuple(itk.size(img)))[::5]
    np.testing.assert_allclose(_itk_world(img, idx), image3d.spatial.grid.index_to_world(idx),
                               atol=1e-9)
    arr = itk.array_view_from_image(img)
    np.testing.assert_array_equal(arr, image3d.values)


def test_itk_round_trip(image3d):
    back = from_itk(to_itk(image3d))
    assert back.spatial.grid.isclose(image3d.spatial.grid, atol=1e-12)
    np.testing.assert_array_equal(back.values, image3d.values)
    assert back.dims == ("z", "y", "x")


def test_from_itk_xarray_reads_itks_origin_convention(image3d, voxel_indices_xyz):
    """itk.xarray_from_image coords are origin + spacing·i per axis, not D-frame coords."""
    img = to_itk(image3d)
    itk_da = itk.xarray_from_image(img)
    # ITK's convention, as its source writes it (first coord = origin component)
    np.testing.assert_allclose(itk_da.x.values[0], itk.origin(img)[0])
    da = from_itk_xarray(itk_da)
    idx = voxel_indices_xyz(tuple(itk.size(img)))[::3]
    np.testing.assert_allclose(da.spatial.grid.index_to_world(idx), _itk_world(img, idx),
                               atol=1e-9)
    np.testing.assert_array_equal(da.values, image3d.values)
    xr.testing.assert_allclose(da.drop_attrs(), image3d.drop_attrs(), rtol=0, atol=1e-12)


def test_itk_bridge_is_only_right_for_identity(image3d):
    """Documented contrast: reading ITK's array directly with the accessor misplaces oblique
    images, which is why from_itk_xarray exists."""
    itk_da = itk.xarray_from_image(to_itk(image3d))
    naive = itk_da.spatial.grid
    exact = from_itk_xarray(itk_da).spatial.grid
    identity = np.allclose(image3d.spatial.direction, np.eye(3))
    assert naive.isclose(exact, atol=1e-9) == identity


def test_itk_vector_image_and_sitk_agree():
    data = np.arange(2 * 3 * 4 * 3, dtype=np.float32).reshape(2, 3, 4, 3)
    s = sitk.GetImageFromArray(data, isVector=True)
    s.SetOrigin((1.0, 2.0, 3.0))
    s.SetSpacing((0.5, 0.25, 2.0))
    s.SetDirection(np.diag([-1.0, 1.0, -1.0]).ravel().tolist())
    da = from_sitk(s)
    img = to_itk(da)
    assert img.GetNumberOfComponentsPerPixel() == 3
    back = from_itk(img)
    assert back.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    via_xarray = from_itk_xarray(itk.xarray_from_image(img))
    assert via_xarray.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(via_xarray.values, da.values)


def test_unwrapped_dtype_names_the_cast(image2d):
    with pytest.raises(FormatError, match="astype"):
        to_itk(image2d.astype(np.complex64))


def test_itk_time_dim_is_rejected():
    da = xr.DataArray(np.zeros((2, 3, 4, 5)), dims=("t", "z", "y", "x"))
    with pytest.raises(DimensionError, match="isel"):
        from_itk_xarray(da)
