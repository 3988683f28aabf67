"""napari layers: world position of every voxel centre equals SimpleITK's (headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
import xarray as xr
from scipy.spatial.transform import Rotation

import spatial_xr
from spatial_xr.errors import DimensionError
from spatial_xr.napari import napari_get_reader, to_napari, to_napari_multiscale

napari_components = pytest.importorskip("napari.components", reason="napari extra")

ROT = Rotation.from_euler("zyx", [25, -10, 40], degrees=True).as_matrix()
DIRECTIONS = {
    "identity": np.eye(3),
    "ras": np.diag([-1.0, -1.0, 1.0]),
    "permuted-det-1": np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, -1]]),
    "oblique": ROT,
    "oblique-det-1": ROT @ np.diag([1.0, 1.0, -1.0]),
}


def _image(direction: np.ndarray) -> xr.DataArray:
    return spatial_xr.from_array(
        np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5),
        spacing=(2.0, 0.5, 0.75), origin=(-5.0, 12.0, 3.5), direction=direction)


def _all_indices(shape: tuple[int, ...]) -> np.ndarray:
    return np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(
        -1, len(shape))


@pytest.fixture(scope="module")
def viewer():
    return napari_components.ViewerModel()


@pytest.mark.parametrize("key", sorted(DIRECTIONS))
@pytest.mark.parametrize("order", [("z", "y", "x"), ("x", "z", "y")])
def test_voxel_centres_match_simpleitk(viewer, key: str, order: tuple[str, ...]):
    da = _image(DIRECTIONS[key]).transpose(*order)
    ref = da.spatial.to_sitk()
    data, kwargs = da.spatial.to_napari()
    layer = viewer.add_image(data, **kwargs)
    try:
        idx = _all_indices(da.shape)  # in the array's own dim order
        napari_world = np.array([layer.data_to_world(p) for p in idx])
        xyz_axis = [order.index(a) for a in ("x", "y", "z")]
        sitk_world = np.array([ref.TransformIndexToPhysicalPoint([int(v) for v in p[xyz_axis]])
                               for p in idx])
        np.testing.assert_allclose(napari_world, sitk_world[:, ::-1], atol=1e-9)
        assert list(layer.axis_labels) == ["z", "y", "x"]
        assert [str(u) for u in layer.units] == ["millimeter"] * 3
    finally:
        viewer.layers.remove(layer)


def test_2d_and_time(viewer):
    c, s = np.cos(0.5), np.sin(0.5)
    da = spatial_xr.from_array(np.ones((4, 5), np.float32), spacing=(0.5, 0.75),
                               origin=(3.0, -2.0), direction=[[c, s], [s, -c]])
    da = da.expand_dims(t=2).transpose("y", "t", "x")
    data, kwargs = to_napari(da)
    assert kwargs["axis_labels"] == ["y", "t", "x"]
    layer = viewer.add_image(data, **kwargs)
    try:
        w = layer.data_to_world([3, 1, 2])
        expected = da.isel(t=0).spatial.index_to_world({"y": 3, "x": 2})  # x, y order
        np.testing.assert_allclose([w[0], w[2]], [expected[1], expected[0]], atol=1e-9)
        assert w[1] == 1.0
    finally:
        viewer.layers.remove(layer)


def test_channel_axis(viewer):
    base = _image(DIRECTIONS["oblique-det-1"])
    da = xr.concat([base, base * 2], dim="c").transpose("z", "c", "y", "x")
    data, kwargs = to_napari(da)
    assert kwargs["channel_axis"] == 1
    layers = viewer.add_image(data, **kwargs)
    try:
        assert len(layers) == 2
        for layer in layers:
            np.testing.assert_allclose(layer.data_to_world([2, 3, 4]),
                                       base.spatial.index_to_world([2, 3, 4])[::-1], atol=1e-9)
    finally:
        for layer in layers:
            viewer.layers.remove(layer)


def test_multiscale_level0_exact_and_levels_have_napari_placement(viewer):
    fine = _image(DIRECTIONS["oblique"]).isel(z=slice(0, 2), y=slice(0, 4), x=slice(0, 4))
    coarse = fine.coarsen(y=2, x=2).mean()
    tree = xr.DataTree.from_dict({"/scale0": fine.to_dataset(name="image"),
                                  "/scale1": coarse.to_dataset(name="image")})
    data, kwargs = to_napari_multiscale(tree)
    assert kwargs["multiscale"] is True and len(data) == 2
    assert to_napari(tree)[1]["multiscale"] is True
    layer = viewer.add_image(data, **kwargs)
    try:
        np.testing.assert_allclose(layer.downsample_factors[1], [1, 2, 2])
        np.testing.assert_allclose(layer.data_to_world([1, 3, 2]),
                                   fine.spatial.index_to_world([1, 3, 2])[::-1], atol=1e-9)
    finally:
        viewer.layers.remove(layer)


def test_multiscale_lists_levels_as_tree_levels_does():
    # 12 levels stored out of order: level 10 must come after level 9, not after level 1
    fine = spatial_xr.from_array(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    built = fine.spatial.pyramid(factors=[1] * 9 + [2, 2], method="nearest")
    levels = [built.spatial.level(k) for k in range(12)]
    tree = xr.DataTree.from_dict({f"/scale{k}": levels[k].to_dataset(name="image")
                                  for k in reversed(range(12))})
    assert list(tree.children)[:2] == ["scale11", "scale10"]
    data, kwargs = to_napari_multiscale(tree)
    assert [d.shape for d in data] == [(64, 64)] * 10 + [(32, 32), (16, 16)]
    np.testing.assert_array_equal(np.asarray(data[11]), levels[11].values)
    assert kwargs["multiscale"] is True
    # nodes that are no pyramid levels: the same error as the tree accessor's
    odd = xr.DataTree.from_dict({"/level0": fine.to_dataset(name="image")})
    with pytest.raises(DimensionError, match="needs children scale0, scale1"):
        to_napari_multiscale(odd)
    with pytest.raises(DimensionError, match="needs children scale0, scale1"):
        len(odd.spatial)


def test_unknown_dims_are_rejected():
    with pytest.raises(DimensionError, match="isel"):
        to_napari(_image(np.eye(3)).expand_dims(echo=2))


def test_reader_plugin_opens_nifti_with_world_placement(tmp_path: Path):
    da = _image(DIRECTIONS["oblique-det-1"])
    path = tmp_path / "img.nii.gz"
    da.spatial.to_nifti(path)
    reader = napari_get_reader(str(path))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(path))
    assert kind == "image"
    assert kwargs["name"] == "img.nii.gz"
    ref = sitk.ReadImage(str(path))
    layer = napari_components.ViewerModel().add_image(data, **kwargs)
    np.testing.assert_allclose(layer.data_to_world([2, 1, 3]),
                               ref.TransformIndexToPhysicalPoint((3, 1, 2))[::-1], atol=1e-4)
    np.testing.assert_array_equal(np.asarray(data), sitk.GetArrayFromImage(ref))


def test_reader_declines_other_files(tmp_path: Path):
    (tmp_path / "a.txt").write_text("x")
    assert napari_get_reader(str(tmp_path / "a.txt")) is None
    assert napari_get_reader(str(tmp_path)) is None
    dicom_dir = Path(pydicom.data.get_testdata_file("DICOMDIR")).parent
    assert napari_get_reader(str(dicom_dir)) is not None


def test_manifest_is_valid_and_points_at_the_reader():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(
        Path(spatial_xr.__file__).parent / "napari.yaml")
    [reader] = manifest.contributions.readers
    [command] = manifest.contributions.commands
    assert command.id == reader.command
    assert command.python_name == "spatial_xr.napari:napari_get_reader"
    assert reader.accepts_directories
    assert "*.nii.gz" in reader.filename_patterns


def test_reader_plugin_opens_ome_zarr_as_multiscale(tmp_path: Path):
    da = spatial_xr.from_array(np.random.default_rng(3).random((8, 32, 32)).astype(np.float32),
                               spacing=(2.0, 0.5, 0.5), origin=(4.0, -3.0, 9.0),
                               direction=DIRECTIONS["oblique-det-1"])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, pyramid=True, levels=2)
    reader = napari_get_reader(str(path))
    assert reader is not None
    [(data, kwargs, _)] = reader(str(path))
    assert kwargs["multiscale"] is True and len(data) >= 2
    layer = napari_components.ViewerModel().add_image(data, **kwargs)
    ref = da.spatial.to_sitk()
    np.testing.assert_allclose(layer.data_to_world([5, 20, 7]),
                               ref.TransformIndexToPhysicalPoint((7, 20, 5))[::-1], atol=1e-9)


def test_reader_plugin_opens_a_dicom_series():
    folder = Path(pydicom.data.get_testdata_file("DICOMDIR")).parent / "98892001" / "CT5N"
    reader = napari_get_reader(str(folder))
    assert reader is not None
    [(data, kwargs, _)] = reader(str(folder))
    layer = napari_components.ViewerModel().add_image(data, **kwargs)
    series = sitk.ImageSeriesReader()
    series.SetFileNames(series.GetGDCMSeriesFileNames(str(folder)))
    ref = series.Execute()
    k = ref.GetSize()[2] - 1
    np.testing.assert_allclose(layer.data_to_world([k, 100, 50]),
                               ref.TransformIndexToPhysicalPoint((50, 100, k))[::-1], atol=1e-3)
