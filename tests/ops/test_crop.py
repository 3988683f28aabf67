"""crop() and crop_centered() against SimpleITK's RegionOfInterest / ConstantPad."""

from __future__ import annotations

import itertools

import dask
import dask.array as dsa
import numpy as np
import pytest
from ops_oracles import DIRECTIONS, CountingArray, sitk, sitk_grid, to_sitk

import spatial_xr
from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.ops.crop import crop, crop_centered


@pytest.fixture(scope="module", params=list(DIRECTIONS))
def image(request):
    values = np.arange(9 * 10 * 11, dtype=np.int16).reshape(9, 10, 11)
    return spatial_xr.from_array(dsa.from_array(values, chunks=4), spacing=(2.0, 0.8, 1.1),
                                 origin=(5.0, -6.0, 12.0), direction=DIRECTIONS[request.param])


def _sitk_box(img, lower, upper):
    """Index box from SimpleITK's TransformPhysicalPointToIndex of the 8 world corners."""
    corners = itertools.product(*zip(lower, upper, strict=True))
    idx = np.array([img.TransformPhysicalPointToIndex([float(v) for v in c]) for c in corners])
    return idx.min(0), idx.max(0) + 1


def _sitk_crop(img, start, stop, fill):
    """ConstantPad then RegionOfInterest: SimpleITK's geometry and values of the box."""
    size = np.array(img.GetSize())
    lo = np.maximum(0, -start)
    hi = np.maximum(0, stop - size)
    padded = sitk.ConstantPad(img, lo.tolist(), hi.tolist(), fill)
    return sitk.RegionOfInterest(padded, (stop - start).tolist(), (start + lo).tolist())


def _world_box(img, lo_idx, hi_idx):
    g = sitk_grid(img)
    pts = g.index_to_world(np.array(list(itertools.product(*zip(lo_idx, hi_idx, strict=True)))))
    return pts.min(0), pts.max(0)


def test_world_box_matches_region_of_interest(image):
    img = to_sitk(image)
    lower, upper = _world_box(img, [4.0, 4.0, 3.5], [6.0, 5.5, 5.0])
    start, stop = _sitk_box(img, lower, upper)
    assert np.all(start >= 0) and np.all(stop <= img.GetSize())
    out = crop(image, lower, upper)
    assert isinstance(out.data, dsa.Array)
    roi = sitk.RegionOfInterest(img, (stop - start).tolist(), start.tolist())
    assert out.spatial.grid.isclose(sitk_grid(roi), atol=1e-9)
    np.testing.assert_array_equal(out.transpose("z", "y", "x").values,
                                  sitk.GetArrayFromImage(roi))
    assert out.coords["x"].attrs["units"] == "millimeter"


@pytest.mark.parametrize("clip", [True, False])
def test_box_reaching_outside(image, clip):
    img = to_sitk(image)
    lower, upper = _world_box(img, [-3.2, 4.1, 6.3], [5.2, 13.4, 10.1])
    start, stop = _sitk_box(img, lower, upper)
    out = crop(image, lower, upper, clip=clip, fill_value=-5)
    if clip:
        start, stop = np.maximum(start, 0), np.minimum(stop, img.GetSize())
    ref = _sitk_crop(img, start, stop, -5)
    assert out.spatial.grid.isclose(sitk_grid(ref), atol=1e-9)
    np.testing.assert_array_equal(out.transpose("z", "y", "x").values,
                                  sitk.GetArrayFromImage(ref))
    assert isinstance(out.data, dsa.Array)
    assert ((out.values == -5).any()) != clip


def test_index_ranges(image):
    img = to_sitk(image)
    out = crop(image, index={"x": (-2, 4), "z": slice(3, None)}, clip=False, fill_value=7)
    ref = _sitk_crop(img, np.array([-2, 0, 3]), np.array([4, 10, 9]), 7)
    assert out.spatial.grid.isclose(sitk_grid(ref), atol=1e-9)
    np.testing.assert_array_equal(out.values, sitk.GetArrayFromImage(ref))
    clipped = image.spatial.crop(index={"x": (-2, 4)})
    assert clipped.spatial.shape == {"z": 9, "y": 10, "x": 4}


def test_box_wholly_outside(image):
    far = image.spatial.grid.index_to_world([50, 50, 50])
    with pytest.raises(GeometryError, match="outside the image"):
        crop(image, far, far + 3)
    out = crop(image, far, far + 3, clip=False, fill_value=9)
    assert np.all(out.values == 9)
    img = to_sitk(image)
    start, stop = _sitk_box(img, far, far + 3)
    assert out.spatial.grid.isclose(sitk_grid(_sitk_crop(img, start, stop, 9)), atol=1e-9)


def test_crop_centered_single_and_batch(image):
    img = to_sitk(image)
    g = image.spatial.grid
    centres = g.index_to_world(np.array([[5.2, 4.7, 3.1], [0.3, 0.2, 8.6], [12.0, -4.0, 4.4]]))
    patches = crop_centered(image, centres, shape={"z": 3, "y": 4, "x": 5}, fill_value=-1)
    assert isinstance(patches, list) and len(patches) == 3
    for c, p in zip(centres, patches, strict=True):
        assert p.spatial.shape == {"z": 3, "y": 4, "x": 5}
        # the patch centre is the one nearest the point: within half a voxel per axis
        mid = p.spatial.grid.index_to_world((np.array(p.spatial.grid.shape_xyz) - 1) / 2)
        off = np.abs(g.world_to_index(mid) - g.world_to_index(c))
        assert np.all(off <= 0.5 + 1e-9)
        start = np.array(img.TransformPhysicalPointToIndex(
            p.spatial.grid.origin_xyz.tolist()))
        ref = _sitk_crop(img, start, start + np.array([5, 4, 3]), -1)
        assert p.spatial.grid.isclose(sitk_grid(ref), atol=1e-9)
        np.testing.assert_array_equal(p.values, sitk.GetArrayFromImage(ref))
    single = image.spatial.crop_centered(centres[0], size_mm=(6.0, 3.2, 5.5))
    assert single.spatial.shape == {"z": 3, "y": 4, "x": 5}
    np.testing.assert_array_equal(single.values, patches[0].values)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, ParameterError),
        ({"lower": [0, 0, 0]}, ParameterError),
        ({"lower": [0, 0, 0], "upper": [1, 1, 1], "index": {"x": (0, 1)}}, ParameterError),
        ({"lower": [5, 0, 0], "upper": [1, 1, 1]}, GeometryError),
        ({"lower": [0, 0], "upper": [1, 1]}, GeometryError),
        ({"index": {"x": (3, 3)}}, GeometryError),
        ({"index": {"t": (0, 1)}}, ParameterError),
        ({"index": {"x": slice(0, 4, 2)}}, ParameterError),
        ({"index": {"x": (-3, 2)}, "clip": False, "fill_value": 0.5}, ParameterError),
    ],
)
def test_bad_arguments(image, kwargs, error):
    with pytest.raises(error):
        crop(image, **kwargs)


def test_crop_centered_bad_arguments(image):
    with pytest.raises(ParameterError):
        crop_centered(image, [0, 0, 0])
    with pytest.raises(ParameterError):
        crop_centered(image, [0, 0], shape=3)
    with pytest.raises(ParameterError):
        crop_centered(image, [0, 0, 0], size_mm=-1)


def test_crop_reads_only_the_chunks_inside_the_box():
    values = np.arange(32 * 32 * 32, dtype=np.float32).reshape(32, 32, 32)
    src = CountingArray(values)
    da = spatial_xr.from_array(dsa.from_array(src, chunks=8), spacing=1.0)
    src.reads.clear()  # dask's zero-size probe for the array's meta
    out = crop(da, [9.0, 2.0, 17.0], [14.0, 6.0, 30.0], clip=False)  # x 9-14, y 2-6, z 17-30
    assert src.reads == []
    with dask.config.set(scheduler="synchronous"):
        got = out.values
    np.testing.assert_array_equal(got, values[17:31, 2:7, 9:15])
    touched = {tuple(s.start // 8 for s in key) for key in src.reads}
    assert touched == {(z, 0, 1) for z in (2, 3)}
    assert len(src.reads) == 2
    # padding outside reads nothing more
    src.reads.clear()
    pad = crop(da, [-20.0, -20.0, -20.0], [3.0, 3.0, 3.0], clip=False, fill_value=-1)
    with dask.config.set(scheduler="synchronous"):
        vals = pad.values
    assert (vals == -1).sum() == vals.size - 4 ** 3
    assert len(src.reads) == 1
