"""Reading NIfTI-Zarr written by the reference implementation (``niizarr``): geometry from
the NIfTI header against nibabel's, every level against ``zarr2nii``, voxels exactly."""

from __future__ import annotations

import os
import pickle

import nibabel as nib
import numpy as np
import pytest
import zarr
from niizarr import zarr2nii

import spatial_xr as sx
from spatial_xr.errors import FormatError, GeometryError, SpatialXRWarning
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.formats import find_format
from spatial_xr.io.niftizarr import open_niftizarr

from .conftest import NIBABEL_FILES, load, lps_affine, nibabel_file, nifti_order, reference_store


@pytest.mark.parametrize("zarr_version", [2, 3])
@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_reference_store_opens_with_nibabels_affine_and_voxels(tmp_path, name, zarr_version):
    path = reference_store(nibabel_file(name), tmp_path / "img.nii.zarr",
                           zarr_version=zarr_version, chunk=16)
    img = load(name)
    assert find_format(path).name == "niftizarr"
    da = sx.open_image(path)
    assert da.attrs["source_format"] == "NIfTI-Zarr"
    assert da.attrs["geometry_source"] == "nifti"
    np.testing.assert_allclose(da.spatial.grid.affine, lps_affine(img), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(nifti_order(da), np.asarray(img.dataobj))
    # the NIfTI reader of the original file agrees too
    ref = sx.open_image(nibabel_file(name))
    assert da.spatial.grid.isclose(ref.spatial.grid, atol=1e-9)
    assert da.dims == ref.dims


@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_every_level_matches_zarr2nii(tmp_path, name):
    path = reference_store(nibabel_file(name), tmp_path / "img.nii.zarr", chunk=8)
    tree = sx.open_multiscale(path)
    assert len(tree.children) >= 2
    for k in range(len(tree.children)):
        level = tree[f"scale{k}"]["image"]
        theirs = zarr2nii(path, level=k)
        np.testing.assert_allclose(level.spatial.grid.affine, lps_affine(theirs), rtol=0,
                                   atol=1e-5)
        np.testing.assert_array_equal(nifti_order(level), np.asarray(theirs.dataobj))
        # open_image of one level gives the same
        one = sx.open_image(path, level=k)
        assert one.spatial.grid.isclose(level.spatial.grid, atol=0)


def test_level_k_voxel_centres_sit_at_the_centres_of_level0_blocks(tmp_path):
    """DESIGN §3 for a store others wrote: level 1 of the oblique file is level 0 zoomed out
    by 2 (voxel 0 of level 1 at the centre of level 0's first 2×2×2 block)."""
    path = reference_store(nibabel_file("example4d.nii.gz"), tmp_path / "img.nii.zarr")
    tree = sx.open_multiscale(path)
    g0 = tree["scale0"]["image"].spatial.grid
    g1 = tree["scale1"]["image"].spatial.grid
    assert g1.isclose(g0.zoom_out(2).replace(shape_xyz=g1.shape_xyz), atol=1e-5)


def test_scaling_of_the_header_applies_lazily_as_in_nifti(tmp_path):
    img = load("anatomical.nii")
    scaled = nib.Nifti1Image(np.asarray(img.dataobj), img.affine, img.header)
    scaled.header.set_slope_inter(0.5, -20.0)
    src = tmp_path / "scaled.nii"
    nib.save(scaled, src)
    stored = nib.load(src)
    assert (stored.dataobj.slope, stored.dataobj.inter) == (0.5, -20.0)
    path = reference_store(src, tmp_path / "scaled.nii.zarr")
    expected = stored.get_fdata(dtype=np.float32)
    da = sx.open_image(path)
    assert da.dtype == np.float32
    np.testing.assert_array_equal(nifti_order(da), expected)
    assert da.values.tolist() == sx.open_image(src).values.tolist()
    raw = sx.open_image(path, apply_scaling=False)
    unscaled = np.asarray(stored.dataobj.get_unscaled())
    assert raw.dtype == unscaled.dtype.newbyteorder("=")
    assert (raw.attrs["scale_slope"], raw.attrs["scale_intercept"]) == (0.5, -20.0)
    np.testing.assert_array_equal(nifti_order(raw), unscaled)


def test_affine_choice_sform_or_qform(tmp_path):
    img = load("anatomical.nii")
    qform = img.affine.copy()
    sform = qform.copy()
    sform[:3, 3] += [4.0, -6.0, 8.0]
    hdr = img.header.copy()
    hdr.set_qform(qform, code=1)
    hdr.set_sform(sform, code=2)
    src = tmp_path / "two.nii"
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), None, hdr), src)
    path = reference_store(src, tmp_path / "two.nii.zarr")
    with pytest.warns(SpatialXRWarning, match="qform and sform disagree"):
        best = sx.open_image(path)
    np.testing.assert_allclose(best.spatial.grid.affine, lps_ras_flip(sform), atol=1e-6)
    q = sx.open_image(path, affine="qform")
    np.testing.assert_allclose(q.spatial.grid.affine, lps_ras_flip(qform), atol=1e-6)


def test_opening_reads_metadata_only_and_graphs_pickle(tmp_path):
    path = reference_store(nibabel_file("example4d.nii.gz"), tmp_path / "img.nii.zarr",
                           chunk=16)
    for level in ("0", "1"):  # every chunk of every level corrupted: opening must not notice
        for root, _, files in os.walk(os.path.join(path, level, "c")):
            for name in files:
                with open(os.path.join(root, name), "wb") as f:
                    f.write(b"not a blosc chunk")
    da = sx.open_image(path)
    tree = sx.open_multiscale(path)
    restored = pickle.loads(pickle.dumps(da))
    assert restored.spatial.grid.isclose(da.spatial.grid, atol=0)
    assert tree["scale1"]["image"].shape == (2, 12, 48, 64)
    with pytest.raises(FormatError, match="array '0'"):
        restored.isel(t=0, z=0).compute()


def test_plain_omezarr_is_refused_by_the_niftizarr_reader(tmp_path):
    path = tmp_path / "plain.ome.zarr"
    sx.open_image(nibabel_file("anatomical.nii")).spatial.to_ome_zarr(path, pyramid=False)
    assert find_format(path).name == "omezarr"
    with pytest.raises(FormatError, match="without a NIfTI header"):
        open_niftizarr(path)
    with pytest.raises(FormatError, match="without a NIfTI header"):
        sx.open_image(path, format="niftizarr")


def _replace_header(path, raw: bytes, **kwargs) -> None:
    root = zarr.open_group(str(path), mode="a")
    del root["nifti"]
    arr = root.create_array(name="nifti", shape=(len(raw),), dtype="uint8", **kwargs)
    arr[:] = np.frombuffer(raw, np.uint8)


def test_header_of_another_image_is_refused(tmp_path):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr")
    other = load("example4d.nii.gz").header
    _replace_header(path, other.binaryblock)
    with pytest.raises(FormatError, match=r"describes an image of \(128, 96, 24\) voxels"):
        sx.open_image(path)


def test_sheared_header_affine_raises_geometry_error(tmp_path):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr")
    hdr = load("anatomical.nii").header.copy()
    sheared = hdr.get_sform()
    sheared[0, 1] = 1.5
    hdr.set_sform(sheared, code=2)
    _replace_header(path, hdr.binaryblock)
    with pytest.raises(GeometryError, match=r"sform.*sheared"):
        sx.open_image(path)


@pytest.mark.parametrize("raw, match", [
    (b"\x00" * 100, "too short for a NIfTI header"),
    (b"\x10" * 348, "sizeof_hdr"),
])
def test_corrupt_header_bytes_raise_format_error(tmp_path, raw, match):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr")
    _replace_header(path, raw)
    with pytest.raises(FormatError, match=match):
        sx.open_image(path)


def test_ome_scale_disagreeing_with_the_header_warns_and_the_header_wins(tmp_path):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr")
    root = zarr.open_group(path, mode="a")
    ome = root.attrs["ome"]
    ome["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [
        2.0, 2.0, 2.5]
    root.attrs["ome"] = ome
    with pytest.warns(SpatialXRWarning, match="OME scale of axis 'x'"):
        da = sx.open_image(path)
    np.testing.assert_allclose(da.spatial.grid.affine, lps_affine(load("anatomical.nii")),
                               atol=1e-6)


def test_nifti_false_ignores_the_header(tmp_path):
    path = reference_store(nibabel_file("example4d.nii.gz"), tmp_path / "img.nii.zarr")
    da = sx.open_image(path, format="omezarr", nifti=False)
    assert da.attrs["geometry_source"] == "identity"
    np.testing.assert_array_equal(da.spatial.grid.origin_xyz, [0.0, 0.0, 0.0])


def test_time_coords_and_the_xarray_engine_agree_with_the_nifti_reader(tmp_path):
    import xarray as xr

    path = reference_store(nibabel_file("example4d.nii.gz"), tmp_path / "img.nii.zarr")
    ref = sx.open_image(nibabel_file("example4d.nii.gz"))
    da = xr.open_dataarray(path, engine="spatial")
    assert da.attrs["source_format"] == "NIfTI-Zarr"
    np.testing.assert_array_equal(da["t"].values, ref["t"].values)
    assert da["t"].attrs["units"] == ref["t"].attrs["units"]
    assert da.spatial.grid.isclose(ref.spatial.grid, atol=1e-9)
