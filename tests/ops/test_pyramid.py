"""Multiscale pyramids (spatial_xr.ops.pyramid) against SimpleITK, scipy and brute force."""

from __future__ import annotations

import itertools

import dask.array as dsa
import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr
from scipy import ndimage
from scipy.spatial.transform import Rotation

import spatial_xr as sx
from spatial_xr.errors import DimensionError, UnsupportedOptionError
from spatial_xr.ops.pyramid import default_factors, downsample, pyramid

OBLIQUE = Rotation.from_euler("xyz", [10.0, 20.0, 30.0], degrees=True).as_matrix()
DET_NEG = OBLIQUE @ np.diag([1.0, 1.0, -1.0])


def _image(shape=(9, 22, 25), direction=OBLIQUE, dtype="int16", seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(-1000, 1000, size=shape).astype(dtype)
    return sx.from_array(data, spacing=(2.5, 0.7, 0.8), origin=(1.0, -2.0, 3.0),
                         direction=direction)


def _sitk(da):
    img = sitk.GetImageFromArray(np.asarray(da.values))
    img.SetSpacing(da.spatial.spacing_xyz.tolist())
    img.SetOrigin(da.spatial.origin.tolist())
    img.SetDirection(da.spatial.direction.ravel().tolist())
    return img


@pytest.mark.parametrize("direction", [np.eye(3), OBLIQUE, DET_NEG], ids=["id", "obl", "det-"])
@pytest.mark.parametrize("factors", [(2, 2, 2), (2, 3, 1), (3, 2, 4)])
def test_mean_matches_itk_bin_shrink_values_and_geometry(direction, factors):
    da = _image(direction=direction)
    fx, fy, fz = factors
    out = downsample(da, {"x": fx, "y": fy, "z": fz}, "mean")
    ref = sitk.BinShrink(_sitk(da), [fx, fy, fz])
    np.testing.assert_array_equal(out.values, sitk.GetArrayFromImage(ref))
    np.testing.assert_allclose(out.spatial.origin, ref.GetOrigin(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.spatial.spacing_xyz, ref.GetSpacing(), rtol=1e-15)
    np.testing.assert_array_equal(out.spatial.direction, np.asarray(ref.GetDirection())
                                  .reshape(3, 3))


def test_coarse_voxel_centre_is_the_centre_of_its_block_in_world_space():
    da = _image(direction=DET_NEG)
    out = downsample(da, {"z": 3, "y": 2, "x": 4}, "nearest")
    g, h = da.spatial.grid, out.spatial.grid
    for idx in itertools.product(range(2), range(3), range(2)):
        block = [np.arange(i * f, (i + 1) * f) for i, f in zip(idx, (4, 2, 3), strict=True)]
        fine = np.array(list(itertools.product(*block)), dtype=float)
        np.testing.assert_allclose(h.index_to_world(idx), g.index_to_world(fine).mean(axis=0),
                                   atol=1e-12)


def test_float_mean_and_gaussian_match_scipy():
    da = _image(dtype="float32")
    out = downsample(da, {"z": 1, "y": 2, "x": 2}, "mean").values
    ref = da.values[:, :22, :24].reshape(9, 11, 2, 12, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    smooth = downsample(da.chunk({"z": 3, "y": 8, "x": 8}), {"z": 1, "y": 2, "x": 2},
                        "gaussian", chunks=4).values
    s = np.sqrt(9 / 12)
    full = ndimage.gaussian_filter(da.values.astype("float32"), (0.0, s, s), mode="nearest")
    ref = full[:, :22, :24].reshape(9, 11, 2, 12, 2).mean(axis=(2, 4))
    # the chunked filter equals the whole-array filter, up to float32 rounding
    np.testing.assert_allclose(smooth, ref, rtol=1e-4, atol=1e-3)
    assert smooth.std() < out.std()


def test_integer_gaussian_matches_scipy_and_small_levels_work():
    """Integers are smoothed in float, block-averaged and rounded half up back to their
    dtype; axes shorter than the kernel (the small top levels) are smoothed whole."""
    da = _image(dtype="int16")
    smooth = downsample(da.chunk({"z": 3, "y": 8, "x": 8}), {"z": 1, "y": 2, "x": 2},
                        "gaussian", chunks=4)
    assert smooth.dtype == np.int16
    s = np.sqrt(9 / 12)
    full = ndimage.gaussian_filter(da.values.astype("float64"), (0.0, s, s), mode="nearest")
    ref = np.floor(full[:, :22, :24].reshape(9, 11, 2, 12, 2).mean(axis=(2, 4)) + 0.5)
    diff = np.abs(smooth.values.astype(np.int64) - ref.astype(np.int64))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # float32 smoothing vs float64
    # z (3 voxels) is shorter than the kernel's reach (4 voxels): smoothed whole
    small = _image(shape=(3, 12, 10), dtype="uint8")
    out = downsample(small.chunk({"z": 1, "y": 5, "x": 5}), {"z": 2, "y": 2, "x": 2},
                     "gaussian").values
    full = ndimage.gaussian_filter(small.values.astype("float64"), (s, s, s), mode="nearest")
    ref = np.floor(full[:2].reshape(1, 2, 6, 2, 5, 2).mean(axis=(1, 3, 5)) + 0.5)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(np.int64) - ref.astype(np.int64)).max() <= 1
    assert (out == ref).mean() > 0.9


def test_mode_is_the_most_frequent_label_smallest_on_ties():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=(6, 8, 10)).astype("uint16") * 7
    da = sx.from_array(labels)
    out = downsample(da, {"z": 2, "y": 2, "x": 2}, "mode").values
    for k, j, i in itertools.product(range(3), range(4), range(5)):
        block = labels[2 * k:2 * k + 2, 2 * j:2 * j + 2, 2 * i:2 * i + 2].ravel()
        values, counts = np.unique(block, return_counts=True)
        assert out[k, j, i] == values[np.argmax(counts)]  # unique sorts: first max = smallest


def test_nearest_takes_one_voxel_per_block():
    da = _image()
    out = downsample(da, {"z": 3, "y": 2, "x": 2}, "nearest")
    np.testing.assert_array_equal(out.values, da.values[1::3, 0:22:2, 0:24:2])


def test_pyramid_levels_chain_and_geometry():
    da = _image((16, 64, 64))
    tree = da.spatial.pyramid(chunks=16)
    assert isinstance(tree, xr.DataTree)
    assert list(tree.children)[:2] == ["scale0", "scale1"]
    assert tree.to_dataset().data_vars == {}
    levels = [tree.spatial.level(k) for k in range(len(tree.spatial))]
    # the last level fits a chunk, the one before does not
    assert all(n <= 16 for n in levels[-1].shape) and any(n > 16 for n in levels[-2].shape)
    for prev, cur in itertools.pairwise(levels):
        f = {d: prev.sizes[d] // cur.sizes[d] for d in cur.dims}
        ref = downsample(prev, f, "mean", chunks=16)
        np.testing.assert_array_equal(cur.values, ref.values)
        assert cur.spatial.same_grid(ref, atol=1e-12)
        np.testing.assert_array_equal(cur.attrs["direction"], da.attrs["direction"])
        assert isinstance(cur.data, dsa.Array)
        assert cur.data.chunksize == tuple(min(16, n) for n in cur.shape)


def test_each_level_is_built_from_the_previous_one():
    da = _image((16, 64, 64)).chunk(16)
    tree = pyramid(da, levels=4, chunks=16)
    sizes = [len(tree.spatial.level(k).data.dask) for k in range(4)]
    # each level adds a bounded number of tasks to the graph of the one before
    steps = np.diff(sizes)
    assert all(s > 0 for s in steps)
    assert steps[-1] <= steps[0]
    l1_keys = set(tree.spatial.level(1).data.dask)
    assert l1_keys <= set(tree.spatial.level(3).data.dask)


def test_default_factors_reach_isotropy_first():
    f = default_factors({"z": 60, "y": 512, "x": 512}, {"z": 5.0, "y": 0.7, "x": 0.7},
                        {"z": 32, "y": 32, "x": 32})
    assert f[0] == {"z": 1, "y": 2, "x": 2}
    assert f[1] == {"z": 1, "y": 2, "x": 2}
    assert f[2] == {"z": 1, "y": 2, "x": 2}
    assert f[3] == {"z": 2, "y": 2, "x": 2}
    assert len(f) == 4  # 512/16 = 32 ≤ 32, z 30 ≤ 32
    iso = default_factors({"z": 100, "y": 100, "x": 100}, {"z": 1.0, "y": 1.0, "x": 1.0},
                          {"z": 32, "y": 32, "x": 32})
    assert iso == [{"z": 2, "y": 2, "x": 2}] * 2
    assert len(default_factors({"y": 8, "x": 8}, {"y": 1, "x": 1}, {"y": 4, "x": 4},
                               levels=10)) == 3  # cannot halve below 1 voxel


def test_explicit_levels_and_factors():
    da = _image((16, 64, 64))
    t = pyramid(da, levels=3, factors={"z": 1, "y": 2, "x": 4}, chunks=8)
    assert [tuple(t.spatial.level(k).shape) for k in range(3)] == [
        (16, 64, 64), (16, 32, 16), (16, 16, 4)]
    t = pyramid(da, factors=[2, {"x": 2}], chunks=8)
    assert [tuple(t.spatial.level(k).shape) for k in range(3)] == [
        (16, 64, 64), (8, 32, 32), (8, 32, 16)]
    with pytest.raises(UnsupportedOptionError, match="disagrees"):
        pyramid(da, levels=5, factors=[2, 2])
    with pytest.raises(UnsupportedOptionError, match="unknown downsampling method"):
        pyramid(da, method="lanczos")
    with pytest.raises(DimensionError, match="spatial dims"):
        downsample(da.expand_dims(c=2), {"c": 2})


def test_label_images_default_to_mode_and_refuse_averaging():
    labels = sx.from_array(np.repeat([[[1, 2], [2, 9]]], 4, axis=0).astype("uint8"))
    labels = labels.chunk(2)
    tree = labels.spatial.pyramid(levels=2, label=True)
    assert set(np.unique(tree.spatial.level(1).values)) <= {1, 2, 9}
    assert tree.spatial.level(0).attrs["kind"] == "label"
    assert tree.spatial.level(1).attrs["kind"] == "label"
    flagged = labels.assign_attrs(kind="label")
    np.testing.assert_array_equal(flagged.spatial.pyramid(levels=2).spatial.level(1).values,
                                  tree.spatial.level(1).values)
    for method in ("mean", "gaussian"):
        with pytest.raises(UnsupportedOptionError, match="label image"):
            flagged.spatial.pyramid(method=method)
    assert flagged.spatial.pyramid(levels=2, method="nearest").spatial.level(1).shape == (
        2, 1, 1)


def test_4d_and_2d_pyramids_keep_non_spatial_dims():
    rng = np.random.default_rng(1)
    da = sx.from_array(rng.random((3, 8, 32, 32)).astype("float32"), spacing=0.5)
    da = da.assign_coords(t=[0.0, 1.5, 3.0])
    tree = da.spatial.pyramid(levels=3, chunks=8)
    lvl = tree.spatial.level(2)
    assert lvl.dims == ("t", "z", "y", "x") and lvl.sizes["t"] == 3
    np.testing.assert_array_equal(lvl["t"].values, [0.0, 1.5, 3.0])
    two = sx.from_array(rng.random((40, 50)), spacing=(0.3, 0.2))
    t2 = two.spatial.pyramid(chunks=10)
    assert t2.spatial.level(-1).sizes == {"y": 10, "x": 6} or max(
        t2.spatial.level(-1).shape) <= 10
    table = t2.spatial.levels
    assert list(table.columns[:4]) == ["shape_y", "shape_x", "spacing_y", "spacing_x"]


def test_numpy_backed_input_gives_a_lazy_pyramid():
    da = _image()
    assert isinstance(da.data, np.ndarray)
    tree = da.spatial.pyramid(levels=2)
    assert isinstance(tree.spatial.level(1).data, dsa.Array)
