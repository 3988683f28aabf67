"""nibabel converters, checked against nibabel's affine and SimpleITK's NIfTI reader."""

from __future__ import annotations

import pickle
from pathlib import Path

import dask
import dask.array as dsa
import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr
from nibabel.testing import data_path

import spatial_xr
from spatial_xr.convert import from_nibabel, to_nibabel
from spatial_xr.errors import DimensionError, FormatError
from spatial_xr.geometry import apply_affine
from spatial_xr.io.nifti import open_nifti


def test_to_nibabel_affine_maps_voxels_like_spatial_xr(image3d, voxel_indices_xyz):
    img = image3d.spatial.to_nibabel()
    idx = voxel_indices_xyz(img.shape)
    ras = apply_affine(img.affine, idx)  # nibabel's own convention: RAS
    lps = ras * np.array([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(lps, image3d.spatial.grid.index_to_world(idx), atol=1e-9)
    data = np.asarray(img.dataobj)
    for i, j, k in idx[::11]:
        assert data[i, j, k] == image3d.values[k, j, i]


@pytest.mark.parametrize(("direction", "code"), [
    (np.eye(3), ("L", "P", "S")),
    (np.diag([-1.0, -1.0, 1.0]), ("R", "A", "S")),
    (np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]]), ("P", "S", "L")),
])
def test_nibabel_orientation_letters(direction, code):
    """nibabel's aff2axcodes on the RAS affine names the same letters as our code."""
    da = spatial_xr.from_array(np.zeros((2, 3, 4)), direction=direction)
    axcodes = nib.aff2axcodes(to_nibabel(da).affine)
    assert axcodes == code
    assert "".join(axcodes) == da.spatial.orientation


def test_to_nibabel_stays_lazy(image3d):
    lazy = image3d.chunk({"z": 1})
    img = to_nibabel(lazy)
    assert isinstance(img.dataobj, dsa.Array)
    assert img.shape == (6, 5, 4)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(img.get_fdata(), image3d.values.T)


def test_nibabel_round_trip_in_memory(image3d):
    back = from_nibabel(to_nibabel(image3d))
    assert back.dims == ("z", "y", "x")
    # the affine holds D·diag(S): splitting it again is exact up to float64 rounding
    xr.testing.assert_allclose(back.drop_attrs(), image3d.drop_attrs(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(back.attrs["direction"], image3d.attrs["direction"], rtol=0,
                               atol=1e-15)
    np.testing.assert_array_equal(back.values, image3d.values)


def test_saved_file_read_by_simpleitk(image3d, tmp_path: Path, voxel_indices_xyz):
    path = tmp_path / "img.nii.gz"
    nib.save(to_nibabel(image3d), path)
    ref = sitk.ReadImage(str(path))
    idx = voxel_indices_xyz(ref.GetSize())[::9]
    expected = np.array([ref.TransformIndexToPhysicalPoint([int(v) for v in p]) for p in idx])
    # the header stores float32 (and a quaternion for the qform)
    np.testing.assert_allclose(image3d.spatial.grid.index_to_world(idx), expected, atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref), image3d.values)
    back = from_nibabel(nib.load(path))
    assert back.spatial.grid.isclose(image3d.spatial.grid, atol=1e-4)


@pytest.mark.parametrize("name", ["example4d.nii.gz", "anatomical.nii", "example_nifti2.nii.gz",
                                  "functional.nii"])
def test_from_nibabel_on_nibabels_files_matches_open_nifti(name: str):
    path = Path(data_path) / name
    img = nib.load(path)
    da = from_nibabel(img)
    ref = open_nifti(path)
    assert da.dims == ref.dims
    assert da.spatial.grid.isclose(ref.spatial.grid, atol=1e-9)
    assert isinstance(da.data, dsa.Array)
    np.testing.assert_allclose(da.values, np.asarray(img.dataobj).T, rtol=0)
    np.testing.assert_allclose(da.values, ref.values, rtol=1e-6)
    idx = np.array([[0, 0, 0], [1, 2, 3]])
    np.testing.assert_allclose(
        da.spatial.grid.index_to_world(idx),
        apply_affine(img.affine, idx) * np.array([-1.0, -1.0, 1.0]), atol=1e-9)


def test_from_nibabel_is_lazy_and_pickles():
    img = nib.load(Path(data_path) / "example4d.nii.gz")
    da = from_nibabel(img)
    assert da.dims == ("t", "z", "y", "x")
    assert da.chunks[0] == (1,) * da.sizes["t"]
    clone = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(clone.isel(t=1).values, np.asarray(img.dataobj)[..., 1].T)


def test_2d_image_gets_one_slice(image2d):
    img = to_nibabel(image2d)
    assert img.shape == (7, 5, 1)
    back = from_nibabel(img)
    assert back.sizes == {"z": 1, "y": 5, "x": 7}
    np.testing.assert_allclose(back.spatial.index_to_world([0, 2, 3]),
                               np.append(image2d.spatial.index_to_world([2, 3]), 0.0),
                               atol=1e-12)


def test_time_and_channels_order(image3d):
    da = xr.concat([image3d, image3d + 1], dim="c").expand_dims(t=3).transpose(
        "x", "c", "t", "y", "z")
    da.attrs = image3d.attrs
    img = to_nibabel(da)
    assert img.shape == (6, 5, 4, 3, 2)
    back = from_nibabel(img)
    assert back.dims == ("t", "c", "z", "y", "x")
    np.testing.assert_array_equal(back.values, da.transpose("t", "c", "z", "y", "x").values)


def test_unknown_dim_is_rejected(image3d):
    with pytest.raises(DimensionError, match="isel"):
        to_nibabel(image3d.expand_dims(echo=2))


def test_image_without_affine_is_rejected():
    img = nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), None)
    img._affine = None
    with pytest.raises(FormatError, match="affine"):
        from_nibabel(img)


def test_units_survive(image3d):
    da = image3d.copy()
    for d in ("z", "y", "x"):
        da.coords[d].attrs["units"] = "micrometer"
    assert to_nibabel(da).header.get_xyzt_units()[0] == "micron"
    assert from_nibabel(to_nibabel(da)).x.attrs["units"] == "micrometer"
    assert spatial_xr.from_array(np.zeros((2, 2, 2))).x.attrs["units"] == "millimeter"
