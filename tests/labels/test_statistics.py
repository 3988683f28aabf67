"""Per-label statistics against SimpleITK's label shape and intensity filters, on a label
image of a real MR (pydicom's emri_small.dcm), axis-aligned and oblique, chunked."""

from __future__ import annotations

import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
import xarray as xr
from scipy.spatial.transform import Rotation

import spatial_xr as sx
from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.labels import STAT_COLUMNS, as_label, label_statistics


@pytest.fixture(scope="module")
def mr() -> xr.DataArray:
    return sx.open_image(pydicom.data.get_testdata_file("emri_small.dcm")).load()


def _labels(mr: xr.DataArray) -> xr.DataArray:
    bins = np.digitize(mr.values, [60, 150, 300]).astype(np.uint8)
    return as_label(mr.copy(data=bins), [{"number": 1, "name": "dim"},
                                         {"number": 2, "name": "mid"},
                                         {"number": 3, "name": "bright"},
                                         {"number": 7, "name": "absent"}])


def _oblique(da: xr.DataArray) -> xr.DataArray:
    rot = Rotation.from_euler("xyz", [20, -35, 15], degrees=True).as_matrix()
    return da.spatial.assign_grid(da.spatial.grid.replace(direction_xyz=rot))


@pytest.mark.parametrize("oblique", [False, True])
@pytest.mark.parametrize("chunks", [None, {"z": 3, "y": 20, "x": 64}])
def test_statistics_match_simpleitk(mr, oblique, chunks):
    label, image = _labels(mr), mr
    if oblique:
        label, image = _oblique(label), _oblique(image)
    lazy = label.chunk(chunks) if chunks else label
    stats = label_statistics(lazy, image=image.chunk(chunks) if chunks else image)
    assert list(stats.columns) == [*STAT_COLUMNS, "mean", "std", "min", "max"]
    assert stats.loc[7, "voxels"] == 0 and np.isnan(stats.loc[7, "centroid_x"])
    lab_img, img = label.spatial.to_sitk(), sitk.Cast(image.spatial.to_sitk(),
                                                        sitk.sitkFloat64)
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.Execute(lab_img)
    inten = sitk.LabelStatisticsImageFilter()
    inten.Execute(img, lab_img)
    values = label.values
    idx = np.argwhere(values > 0)  # brute force world positions of every voxel centre
    world = label.spatial.grid.index_to_world(idx[:, ::-1])
    for n in shape.GetLabels():
        row = stats.loc[n]
        assert row["voxels"] == shape.GetNumberOfPixels(n)
        assert row["volume_mm3"] == pytest.approx(shape.GetPhysicalSize(n))
        np.testing.assert_allclose(row[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float),
                                   shape.GetCentroid(n), atol=1e-9)
        assert row["mean"] == pytest.approx(inten.GetMean(n))
        assert row["std"] == pytest.approx(inten.GetSigma(n))
        assert (row["min"], row["max"]) == (inten.GetMinimum(n), inten.GetMaximum(n))
        mine = world[values[tuple(idx.T)] == n]
        np.testing.assert_allclose(row[["min_x", "min_y", "min_z"]].to_numpy(float), mine.min(0))
        np.testing.assert_allclose(row[["max_x", "max_y", "max_z"]].to_numpy(float), mine.max(0))
        if not oblique:  # the world box of an axis-aligned image is its index box
            box = shape.GetBoundingBox(n)
            lo = lab_img.TransformIndexToPhysicalPoint(box[:3])
            hi = lab_img.TransformIndexToPhysicalPoint([b + s - 1 for b, s in
                                                        zip(box[:3], box[3:], strict=True)])
            np.testing.assert_allclose(row[["min_x", "min_y", "min_z"]].to_numpy(float), lo)
            np.testing.assert_allclose(row[["max_x", "max_y", "max_z"]].to_numpy(float), hi)


def test_stacks_and_bad_inputs(mr):
    label = _labels(mr)
    stack = as_label(xr.concat([label >= 2, label == 3], dim="c").astype("uint8"),
                     [{"number": 5, "name": "mid+"}, {"number": 6, "name": "bright"}])
    stats = label_statistics(stack.chunk({"z": 4}))
    plain = label_statistics(label)
    assert stats.loc[6, "voxels"] == plain.loc[3, "voxels"]
    assert stats.loc[5, "voxels"] == plain.loc[2, "voxels"] + plain.loc[3, "voxels"]
    cols = ["centroid_x", "centroid_y", "centroid_z"]
    np.testing.assert_allclose(stats.loc[6, cols].to_numpy(float),
                               plain.loc[3, cols].to_numpy(float))
    with pytest.raises(ParameterError, match="label image"):
        label_statistics(mr)
    with pytest.raises(GeometryError, match="resample"):
        label_statistics(label, image=mr.spatial.resample(spacing=2.0))
