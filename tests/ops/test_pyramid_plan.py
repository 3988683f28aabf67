"""The pyramid plan (spatial_xr.ops.pyramid_plan): levels fixed before any pixel is read,
shared by pyramid() and the OME-Zarr writer; level grids against SimpleITK's BinShrink."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle

import nibabel
import numpy as np
import pytest
import SimpleITK as sitk
import zarr
from scipy.spatial.transform import Rotation

import spatial_xr as sx
from spatial_xr.errors import DimensionError, UnsupportedOptionError
from spatial_xr.ops.pyramid import pyramid
from spatial_xr.ops.pyramid_plan import (
    PYRAMID_METHODS,
    PyramidPlan,
    level_chunks,
    plan_pyramid,
)

OBLIQUE_DET_NEG = Rotation.from_euler("xyz", [10.0, 20.0, 30.0], degrees=True).as_matrix() @ (
    np.diag([1.0, -1.0, 1.0]))
EXAMPLE4D = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "example4d.nii.gz")


def _image(shape=(9, 40, 37), dtype="int16"):
    data = np.random.default_rng(0).integers(-100, 100, size=shape).astype(dtype)
    return sx.from_array(data, spacing=(2.5, 0.7, 0.9), origin=(-12.25, 7.5, 31.0),
                         direction=OBLIQUE_DET_NEG)


def test_level_grids_are_simpleitk_bin_shrink_of_a_real_oblique_file():
    # nibabel's example4d: oblique, det -1, anisotropic (2, 2, 2.2 mm), with a t dim
    da = sx.open_image(EXAMPLE4D)
    assert da.dims == ("t", "z", "y", "x")
    plan = plan_pyramid(da, levels=4, chunks=16)
    img = sitk.ReadImage(EXAMPLE4D)
    ref = sitk.Extract(img, [*img.GetSize()[:3], 0], [0, 0, 0, 0])
    assert plan.levels == 4 and len(plan.factors) == 3
    for k, grid in enumerate(plan.grids):
        if k:
            f = plan.factors[k - 1]
            ref = sitk.BinShrink(ref, [f["x"], f["y"], f["z"]])
        assert grid.shape_xyz == tuple(ref.GetSize())
        # the header stores float32: SimpleITK's geometry is float32-rounded
        np.testing.assert_allclose(grid.spacing_xyz, ref.GetSpacing(), rtol=1e-6)
        np.testing.assert_allclose(grid.origin_xyz, ref.GetOrigin(), rtol=0, atol=1e-4)
        np.testing.assert_allclose(grid.direction_xyz,
                                   np.reshape(ref.GetDirection(), (3, 3)), atol=1e-6)


def test_level_spacing_is_level0_times_the_product_of_factors_exactly():
    da = _image()
    plan = plan_pyramid(da, chunks=8)
    g0 = plan.grids[0]
    assert g0 == da.spatial.grid
    total = {"x": 1, "y": 1, "z": 1}
    for f, grid in zip(plan.factors, plan.grids[1:], strict=True):
        total = {a: total[a] * f[a] for a in total}
        want = [s * total[a] for s, a in zip(g0.spacing_xyz.tolist(), g0.axes, strict=True)]
        assert grid.spacing_xyz.tolist() == want
        np.testing.assert_array_equal(grid.direction_xyz, g0.direction_xyz)
    spacings = np.array([g.spacing_xyz for g in plan.grids])
    assert np.all(np.diff(spacings, axis=0) >= 0)
    # anisotropic: z (2.5 mm) keeps factor 1 until the in-plane spacing catches up
    assert plan.factors[0] == {"z": 1, "y": 2, "x": 2}
    assert all(n <= 8 for n in plan.grids[-1].shape_xyz)


def test_pyramid_levels_carry_the_plan_grids():
    da = _image()
    plan = plan_pyramid(da, chunks=8, method="nearest")
    tree = pyramid(da, chunks=8, method="nearest")
    assert len(tree.spatial) == plan.levels
    for k, grid in enumerate(plan.grids):
        level = tree.spatial.level(k)
        assert level.spatial.grid.isclose(grid, atol=1e-12)
        assert level.data.chunksize == tuple(min(plan.chunks[d], n)
                                             for d, n in zip(level.dims, level.shape,
                                                             strict=True))


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_writer_writes_the_plan(tmp_path, version):
    da = _image()
    plan = plan_pyramid(da, levels=3, factors=[{"x": 2, "y": 3}, 2], chunks=8)
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version=version, levels=3, factors=[{"x": 2, "y": 3}, 2],
                           chunks=8)
    meta = (json.loads((path / "zarr.json").read_text())["attributes"]["ome"] if version == "0.5"
            else json.loads((path / ".zattrs").read_text()))
    datasets = meta["multiscales"][0]["datasets"]
    assert len(datasets) == plan.levels
    for d, grid in zip(datasets, plan.grids, strict=True):
        scale, trans = (t[t["type"]] for t in d["coordinateTransformations"])
        assert scale == grid.spacing_zyx.tolist()
        assert trans == grid.origin_xyz[::-1].tolist()
        assert zarr.open_array(str(path / d["path"]), mode="r").shape == grid.shape_zyx


def test_errors_are_raised_by_the_plan_before_any_data():
    da = _image(shape=(9, 40, 37))
    with pytest.raises(UnsupportedOptionError, match="factor 4 along 'z' must be between 1 "
                                                     "and the size 2"):
        plan_pyramid(da, factors=[{"z": 4}, {"z": 4}])
    with pytest.raises(UnsupportedOptionError, match="levels must be ≥ 1"):
        plan_pyramid(da, levels=0)
    with pytest.raises(UnsupportedOptionError, match=r"levels must be ≥ 1 \(an int\), got 'a'"):
        plan_pyramid(da, levels="a")
    for bad in ("x", ["x"], [{"z": "2"}], 2.0):
        with pytest.raises(UnsupportedOptionError, match="factors must be an int, a mapping"):
            plan_pyramid(da, factors=bad)
    with pytest.raises(UnsupportedOptionError, match="an int factor must be ≥ 2"):
        plan_pyramid(da, factors=1)
    with pytest.raises(UnsupportedOptionError, match="unknown downsampling method 'bicubic'; "
                                                     "choose one of mean, gaussian"):
        plan_pyramid(da, method="bicubic")
    with pytest.raises(UnsupportedOptionError, match="label image"):
        plan_pyramid(da.assign_attrs(kind="label"), method="mean")
    with pytest.raises(DimensionError, match="chunks names dims"):
        plan_pyramid(da, chunks={"q": 4})
    with pytest.raises(UnsupportedOptionError, match="chunks must be ≥ 1"):
        plan_pyramid(da, chunks=0)
    assert PYRAMID_METHODS == ("mean", "gaussian", "mode", "nearest")


def test_plan_defaults_is_frozen_and_pickles():
    da = _image()
    plan = plan_pyramid(da, levels=2)
    assert plan.method == "mean" and plan.label is False
    assert plan.chunks == level_chunks(None, da) == {"z": 128, "y": 128, "x": 128}
    assert plan_pyramid(da.assign_attrs(kind="label"), levels=2).method == "mode"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.method = "nearest"  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(plan))
    assert isinstance(back, PyramidPlan) and back == plan
