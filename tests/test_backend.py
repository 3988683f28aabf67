"""The ``spatial`` xarray backend."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
import xarray as xr

import spatial_xr
from spatial_xr.backend import SpatialBackendEntrypoint, can_open
from spatial_xr.errors import ParameterError, PathNotFoundError

ENGINE = SpatialBackendEntrypoint


@pytest.fixture(scope="module")
def oblique_nifti(tmp_path_factory: pytest.TempPathFactory) -> Path:
    c, s = np.cos(0.4), np.sin(0.4)
    da = spatial_xr.from_array(
        np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6),
        spacing=(3.0, 0.9, 0.8),
        origin=(10.0, -20.0, 5.0),
        direction=[[c, -s, 0], [s, c, 0], [0, 0, -1]],
    )
    path = tmp_path_factory.mktemp("backend") / "oblique.nii.gz"
    da.spatial.to_nifti(path)
    return path


def test_open_dataarray_places_voxels_like_simpleitk(oblique_nifti: Path):
    da = xr.open_dataarray(oblique_nifti, engine=ENGINE)
    ref = sitk.ReadImage(str(oblique_nifti))
    assert da.dims == ("z", "y", "x")
    assert da.name == "image"
    for ijk in [(0, 0, 0), (5, 4, 3), (1, 3, 2)]:
        np.testing.assert_allclose(
            da.spatial.index_to_world({"x": ijk[0], "y": ijk[1], "z": ijk[2]}),
            ref.TransformIndexToPhysicalPoint(ijk), atol=1e-4)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))


def test_open_dataset_has_image_variable_and_is_lazy(oblique_nifti: Path):
    ds = xr.open_dataset(oblique_nifti, engine=ENGINE)
    assert list(ds.data_vars) == ["image"]
    assert not ds["image"].variable._in_memory  # xarray's lazy wrapper: nothing read yet
    assert xr.open_dataset(oblique_nifti, engine=ENGINE, chunks={})["image"].chunks is not None
    assert ds.attrs["source"] == str(oblique_nifti)
    ref = spatial_xr.open_image(oblique_nifti)
    assert ds["image"].spatial.grid.isclose(ref.spatial.grid, atol=0)


def test_chunks_are_handled_by_xarray(oblique_nifti: Path):
    da = xr.open_dataarray(oblique_nifti, engine=ENGINE, chunks={"z": 1})
    assert da.chunks[0] == (1, 1, 1, 1)


def test_explicit_keywords_reach_the_reader(oblique_nifti: Path):
    da = xr.open_dataarray(oblique_nifti, engine=ENGINE, orientation="RAS", name="ct")
    assert da.spatial.orientation == "RAS"
    assert da.name == "ct"
    raw = xr.open_dataarray(oblique_nifti, engine=ENGINE, apply_scaling=False,
                            reader_kwargs={"affine": "qform"})
    assert raw.dtype == np.int16
    with pytest.raises(ParameterError, match=r"nifti reader does not take.*no_such_option"):
        spatial_xr.open_image(oblique_nifti, no_such_option=1)


def test_drop_variables(oblique_nifti: Path):
    ds = xr.open_dataset(oblique_nifti, engine=ENGINE, drop_variables=["image"])
    assert list(ds.data_vars) == []


def test_guess_can_open(tmp_path: Path, oblique_nifti: Path):
    dicom_dir = Path(pydicom.data.get_testdata_file("DICOMDIR")).parent
    assert can_open(oblique_nifti)
    assert can_open("scan.nii")
    assert can_open("store.ome.zarr")
    assert can_open(dicom_dir)
    assert can_open(dicom_dir / "77654033" / "CR1")  # a DICOM subfolder
    (tmp_path / "notes.txt").write_text("hello")
    assert not can_open(tmp_path)
    assert not can_open(tmp_path / "notes.txt")
    assert not can_open("table.csv")
    plain_zarr = tmp_path / "plain.zarr"
    plain_zarr.mkdir()
    (plain_zarr / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    assert not can_open(plain_zarr)
    (plain_zarr / "zarr.json").write_text('{"attributes": {"ome": {"multiscales": []}}}')
    assert can_open(plain_zarr)
    assert not ENGINE().guess_can_open(object())


def test_missing_path_raises_specific_error(tmp_path: Path):
    with pytest.raises(PathNotFoundError, match="no such file"):
        xr.open_dataarray(tmp_path / "missing.nii.gz", engine=ENGINE)


def test_non_path_input_is_rejected():
    with pytest.raises(ParameterError, match="paths"):
        ENGINE().open_dataset(b"bytes")


def test_engine_name_is_registered(oblique_nifti: Path):
    """Runs where the package is installed (CI installs it with pip install -e)."""
    names = {ep.name for ep in entry_points(group="xarray.backends")}
    if "spatial" not in names:
        pytest.skip("spatial_xr is not installed, so its entry points are not registered")
    da = xr.open_dataarray(oblique_nifti, engine="spatial")
    assert da.spatial.grid.isclose(spatial_xr.open_image(oblique_nifti).spatial.grid, atol=0)
    # xarray also picks the engine by itself
    assert "spatial" in xr.backends.list_engines()
    auto = xr.open_dataarray(oblique_nifti)
    assert auto.spatial.grid.isclose(da.spatial.grid, atol=0)


def test_open_datatree_reads_an_ome_zarr_pyramid(tmp_path: Path):
    c, s = np.cos(0.4), np.sin(0.4)
    da = spatial_xr.from_array(
        np.arange(8 * 16 * 16, dtype=np.uint16).reshape(8, 16, 16), spacing=(2.0, 0.5, 0.5),
        origin=(1.0, 2.0, 3.0), direction=[[c, -s, 0], [s, c, 0], [0, 0, 1]])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, pyramid=True, levels=2)
    assert can_open(path)
    tree = xr.open_datatree(path, engine=ENGINE)
    levels = [name for name in tree.children if name.startswith("scale")]
    assert levels[0] == "scale0" and len(levels) >= 2
    level0 = tree["scale0"].to_dataset()["image"]
    assert level0.spatial.grid.isclose(da.spatial.grid, atol=1e-9)
    np.testing.assert_array_equal(level0.values, da.values)
    groups = ENGINE().open_groups_as_dict(path)
    assert "/scale0" in groups
    single = xr.open_dataarray(path, engine=ENGINE)
    assert single.spatial.grid.isclose(da.spatial.grid, atol=1e-9)


def test_dicom_series_through_the_engine_matches_simpleitk():
    folder = Path(pydicom.data.get_testdata_file("DICOMDIR")).parent / "98892001" / "CT5N"
    assert ENGINE().guess_can_open(folder)
    da = xr.open_dataarray(folder, engine=ENGINE)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    ref = reader.Execute()
    assert da.sizes["z"] == ref.GetSize()[2]
    last = (ref.GetSize()[0] - 1, ref.GetSize()[1] - 1, ref.GetSize()[2] - 1)
    for ijk in [(0, 0, 0), last]:
        np.testing.assert_allclose(
            da.spatial.index_to_world({"x": ijk[0], "y": ijk[1], "z": ijk[2]}),
            ref.TransformIndexToPhysicalPoint(ijk), atol=1e-3)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))
