"""Writing NIfTI-Zarr: nibabel's files round trip; the reference implementation
(``niizarr``'s ``zarr2nii``) and nibabel read our stores with the same affine and voxels at
every level; the store still validates as OME-Zarr."""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np
import ome_zarr_models
import pytest
import zarr
from niizarr import zarr2nii

import spatial_xr as sx
from spatial_xr.errors import FormatError, SpatialXRWarning
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.formats import find_format
from spatial_xr.io.niftizarr import write_niftizarr
from tests.io.omezarr.conftest import DIRECTIONS, make_image

from .conftest import NIBABEL_FILES, load, lps_affine, nibabel_file, nifti_order

VERSIONS = ("0.5", "0.4")


def _stored_header(path) -> nib.Nifti1Header:
    raw = np.asarray(zarr.open_group(str(path), mode="r")["nifti"][:]).tobytes()
    cls = nib.Nifti1Header if len(raw) == 348 else nib.Nifti2Header
    return cls.from_fileobj(io.BytesIO(raw))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_nibabel_files_round_trip(tmp_path, name, version):
    img = load(name)
    src = sx.open_image(nibabel_file(name))
    path = tmp_path / "img.nii.zarr"
    src.spatial.to_ome_zarr(path, nifti=True, version=version, chunks=16)
    # the stored header, parsed by nibabel, has nibabel's affine, shape and dtype
    hdr = _stored_header(path)
    np.testing.assert_allclose(hdr.get_best_affine(), img.affine, rtol=0, atol=1e-5)
    assert hdr.get_data_shape() == img.shape
    assert hdr.get_data_dtype() == img.get_data_dtype().newbyteorder("=")
    assert hdr.get_xyzt_units() == img.header.get_xyzt_units()
    back = sx.open_image(path)
    assert find_format(path).name == "niftizarr"
    assert back.attrs["geometry_source"] == "spatial_xr"  # exact, and agreeing with the header
    np.testing.assert_allclose(back.spatial.grid.affine, lps_affine(img), rtol=0, atol=1e-6)
    assert back.spatial.grid.isclose(src.spatial.grid, atol=1e-12)
    np.testing.assert_array_equal(nifti_order(back), np.asarray(img.dataobj))
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"), version=version)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_zarr2nii_reads_every_level_we_wrote(tmp_path, name, version):
    src = sx.open_image(nibabel_file(name))
    path = tmp_path / "img.nii.zarr"
    sx.write_image(src, path, version=version, chunks=8)  # .nii.zarr: the niftizarr writer
    ours = sx.open_multiscale(path)
    assert len(ours.children) >= 2
    for k in range(len(ours.children)):
        level = ours[f"scale{k}"]["image"]
        theirs = zarr2nii(str(path), level=k)
        np.testing.assert_allclose(lps_affine(theirs), level.spatial.grid.affine, rtol=0,
                                   atol=1e-4)
        np.testing.assert_array_equal(np.asarray(theirs.dataobj), nifti_order(level))


@pytest.mark.parametrize("kind", sorted(DIRECTIONS))
def test_every_direction_reaches_zarr2nii_at_every_level(tmp_path, kind):
    """The OME translations of a NIfTI-Zarr store are image-frame coordinates, so a
    NIfTI tool that places level k by the OME scale/translation ratios (as zarr2nii does)
    finds every level where we put it, for flipped, permuted and oblique directions too."""
    da = make_image(shape=(12, 20, 18), direction=DIRECTIONS[kind])
    path = tmp_path / "img.nii.zarr"
    da.spatial.to_ome_zarr(path, nifti=True, chunks=4, levels=3)
    for k in range(3):
        theirs = zarr2nii(str(path), level=k)
        ours = sx.open_image(path, level=k)
        np.testing.assert_allclose(lps_affine(theirs), ours.spatial.grid.affine, rtol=0,
                                   atol=1e-4)
        np.testing.assert_array_equal(np.asarray(theirs.dataobj), nifti_order(ours))
    # our own geometry is exact, read with the header or from OME metadata alone
    tree = da.spatial.pyramid(levels=3, chunks=4)
    for nifti in (None, False):
        back = sx.open_multiscale(path, nifti=nifti)
        for k in range(3):
            want = tree[f"scale{k}"]["image"].spatial.grid
            assert back[f"scale{k}"]["image"].spatial.grid.isclose(want, atol=1e-9)


@pytest.mark.parametrize("version", VERSIONS)
def test_5d_and_channel_images(tmp_path, version):
    da = make_image(shape=(2, 3, 6, 8, 10), direction=DIRECTIONS["oblique"])
    da = da.assign_coords(t=("t", [0.0, 1.5], {"units": "second"}))
    path = tmp_path / "five.nii.zarr"
    da.spatial.to_ome_zarr(path, nifti=True, version=version, pyramid=False)
    hdr = _stored_header(path)
    assert hdr.get_data_shape() == (10, 8, 6, 2, 3)
    assert float(hdr["pixdim"][4]) == 1.5
    theirs = zarr2nii(str(path))
    np.testing.assert_array_equal(np.asarray(theirs.dataobj), nifti_order(da))
    back = sx.open_image(path)
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    # c without t: NIfTI's 4th dim is a singleton
    chan = da.isel(t=0)
    chan.spatial.to_ome_zarr(tmp_path / "c.nii.zarr", nifti=True, pyramid=False)
    assert _stored_header(tmp_path / "c.nii.zarr").get_data_shape() == (10, 8, 6, 1, 3)
    np.testing.assert_array_equal(sx.open_image(tmp_path / "c.nii.zarr").values, chan.values)


def test_2d_image(tmp_path):
    da = make_image(shape=(20, 18), direction=DIRECTIONS["flipped"])
    path = tmp_path / "flat.nii.zarr"
    da.spatial.to_ome_zarr(path, nifti=True, levels=2, chunks=8)
    hdr = _stored_header(path)
    assert hdr.get_data_shape() == (18, 20, 1)
    back = sx.open_multiscale(path)
    for k, want in enumerate(sx.open_multiscale(path, nifti=False).children.values()):
        got = back[f"scale{k}"]["image"]
        assert got.dims == ("y", "x")
        assert got.spatial.grid.isclose(want["image"].spatial.grid, atol=1e-9)


def test_large_dim_gets_a_nifti2_header(tmp_path):
    da = sx.from_array(np.arange(40000, dtype=np.int8).reshape(1, 1, 40000),
                       spacing=(1.0, 1.0, 0.5), dims=("z", "y", "x"))
    path = tmp_path / "long.nii.zarr"
    da.spatial.to_ome_zarr(path, nifti=True, pyramid=False)
    hdr = _stored_header(path)
    assert isinstance(hdr, nib.Nifti2Header)
    assert hdr.get_data_shape() == (40000, 1, 1)
    assert np.asarray(zarr2nii(str(path)).dataobj).shape == (40000, 1, 1)
    assert sx.open_image(path).spatial.grid.isclose(da.spatial.grid, atol=1e-12)


def test_raw_values_with_scaling_keep_it_in_the_header(tmp_path):
    src = sx.open_image(nibabel_file("anatomical.nii")).assign_attrs(
        scale_slope=0.25, scale_intercept=3.0)
    path = tmp_path / "scaled.nii.zarr"
    src.spatial.to_ome_zarr(path, nifti=True, pyramid=False)
    assert _stored_header(path).get_slope_inter() == (0.25, 3.0)
    back = sx.open_image(path)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.values, src.values.astype(np.float32) * 0.25 + 3.0)


def test_header_edited_by_a_nifti_tool_wins_over_the_spatial_xr_attribute(tmp_path):
    src = sx.open_image(nibabel_file("anatomical.nii"))
    path = tmp_path / "img.nii.zarr"
    src.spatial.to_ome_zarr(path, nifti=True, pyramid=False)
    hdr = _stored_header(path)
    moved = hdr.get_best_affine()
    moved[:3, 3] += [10.0, 0.0, 0.0]
    hdr.set_sform(moved, code=1)
    hdr.set_qform(moved, code=1)
    zarr.open_group(str(path), mode="a")["nifti"][:] = np.frombuffer(hdr.binaryblock, np.uint8)
    with pytest.warns(SpatialXRWarning, match="up to 10 mm apart"):
        back = sx.open_image(path)
    assert back.attrs["geometry_source"] == "nifti"
    np.testing.assert_allclose(back.spatial.grid.affine, lps_ras_flip(moved), atol=1e-6)


def test_dtype_nifti_lacks_writes_nothing(tmp_path):
    da = make_image(dtype="float16")
    path = tmp_path / "half.nii.zarr"
    with pytest.raises(FormatError, match="NIfTI cannot store dtype float16"):
        write_niftizarr(da, path)
    assert not path.exists()
    da.spatial.to_ome_zarr(tmp_path / "half.ome.zarr")  # plain OME-Zarr stores it


def test_remote_store_gets_its_header_and_opens_by_name():
    src = sx.open_image(nibabel_file("example4d.nii.gz"))
    url = "memory://niftizarr-test/fmri.nii.zarr"
    src.spatial.to_ome_zarr(url, nifti=True, chunks=32, overwrite=True)
    assert find_format(url).name == "niftizarr"
    back = sx.open_image(url)
    assert back.attrs["source_format"] == "NIfTI-Zarr"
    assert back.spatial.grid.isclose(src.spatial.grid, atol=1e-12)
    theirs = zarr2nii(url, level=1)
    np.testing.assert_allclose(lps_affine(theirs), sx.open_image(url, level=1).spatial.grid.affine,
                               atol=1e-4)
