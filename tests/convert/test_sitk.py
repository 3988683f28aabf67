"""SimpleITK converters, checked against SimpleITK's own index → world mapping."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr

import spatial_xr
from spatial_xr.convert import from_sitk, to_sitk
from spatial_xr.errors import DimensionError


def test_to_sitk_places_every_voxel_where_simpleitk_does(image3d, voxel_indices_xyz):
    img = image3d.spatial.to_sitk()
    idx = voxel_indices_xyz(img.GetSize())
    expected = np.array([img.TransformContinuousIndexToPhysicalPoint(p.tolist()) for p in
                         idx.astype(float)])
    np.testing.assert_allclose(image3d.spatial.grid.index_to_world(idx), expected, atol=1e-9)
    # pixels: sitk index (i, j, k) is numpy [k, j, i] of dims z, y, x
    for i, j, k in idx[::7]:
        assert img.GetPixel(int(i), int(j), int(k)) == image3d.values[k, j, i]


def test_sitk_round_trip_is_exact(image3d):
    img = to_sitk(image3d)
    g = image3d.spatial.grid
    # SimpleITK gets the grid bit for bit
    assert img.GetOrigin() == tuple(g.origin_xyz)
    assert img.GetSpacing() == tuple(g.spacing_xyz)
    assert img.GetDirection() == tuple(g.direction_xyz.ravel())
    back = from_sitk(img)
    assert back.dims == ("z", "y", "x")
    # coords = Dᵀ·O + S·i is recomputed from O: equal up to float64 rounding
    xr.testing.assert_allclose(back.drop_attrs(), image3d.drop_attrs(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(back.attrs["direction"], image3d.attrs["direction"])
    np.testing.assert_array_equal(back.values, image3d.values)
    assert back.spatial.grid.isclose(g, atol=1e-12)


def test_from_sitk_matches_sitk_geometry(image3d):
    img = sitk.GetImageFromArray(np.arange(120, dtype=np.float32).reshape(4, 5, 6))
    img.SetSpacing((0.3, 0.4, 1.7))
    img.SetOrigin((10.0, -3.0, 2.5))
    img.SetDirection(image3d.spatial.direction.ravel().tolist())
    da = from_sitk(img)
    for ijk in [(0, 0, 0), (5, 4, 3), (2, 1, 3)]:
        np.testing.assert_allclose(
            da.spatial.index_to_world({"x": ijk[0], "y": ijk[1], "z": ijk[2]}),
            img.TransformIndexToPhysicalPoint(ijk), atol=1e-9)
        assert da.isel(x=ijk[0], y=ijk[1], z=ijk[2]).item() == img.GetPixel(ijk)
    # world = D · coords (DESIGN §2.3)
    pt = da.isel(x=5, y=4, z=3)
    coords_zyx = np.array([pt.z.item(), pt.y.item(), pt.x.item()])
    np.testing.assert_allclose(np.asarray(da.attrs["direction"]) @ coords_zyx,
                               np.array(img.TransformIndexToPhysicalPoint((5, 4, 3)))[::-1],
                               atol=1e-9)


def test_transposed_array_converts_by_dim_name(image3d):
    t = image3d.transpose("x", "z", "y")
    img = to_sitk(t)
    assert img.GetSize() == (6, 5, 4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), image3d.values)
    np.testing.assert_allclose(img.GetOrigin(), image3d.spatial.origin)


def test_2d_round_trip(image2d):
    img = to_sitk(image2d)
    assert img.GetDimension() == 2
    assert img.GetPixelID() == sitk.sitkInt16
    np.testing.assert_allclose(img.TransformIndexToPhysicalPoint((3, 2)),
                               image2d.spatial.index_to_world([2, 3]), atol=1e-12)
    back = from_sitk(img)
    xr.testing.assert_allclose(back.drop_attrs(), image2d.drop_attrs(), rtol=0, atol=1e-12)
    assert back.dtype == np.int16


def test_vector_image_has_component_dim_first():
    data = np.arange(3 * 4 * 5 * 3, dtype=np.uint8).reshape(1, 3, 4, 5, 3)[0]
    da = spatial_xr.from_array(np.moveaxis(data, -1, 0), spacing=(2, 1, 1), dims=("c", "z", "y",
                                                                                  "x"))
    img = to_sitk(da)
    assert img.GetNumberOfComponentsPerPixel() == 3
    assert img.GetPixel(4, 3, 2) == tuple(int(v) for v in data[2, 3, 4])
    back = from_sitk(img)
    assert back.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(back.values, da.values)


def test_dask_backed_image_and_chunks(image3d):
    lazy = image3d.chunk({"z": 2})
    img = to_sitk(lazy)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), image3d.values)
    back = from_sitk(img, chunks={"z": 1})
    assert back.chunks == ((1, 1, 1, 1), (5,), (6,))


def test_bool_is_written_as_uint8(image3d):
    img = to_sitk(image3d > 0)
    assert img.GetPixelID() == sitk.sitkUInt8


def test_time_dim_is_rejected_with_a_fix(image3d):
    da = image3d.expand_dims(t=2)
    with pytest.raises(DimensionError, match=r"isel\(t=0\)"):
        to_sitk(da)


def test_4d_sitk_image_is_rejected():
    img = sitk.Image([2, 3, 4, 5], sitk.sitkFloat32)
    with pytest.raises(DimensionError, match="4-D"):
        from_sitk(img)
