"""resample() against SimpleITK's ResampleImageFilter (same grids, transforms, interpolators)."""

from __future__ import annotations

import os

import dask.array as dsa
import nibabel
import numpy as np
import pytest
import xarray as xr
from ops_oracles import (
    DIRECTIONS,
    continuous_index_zyx,
    from_sitk,
    interior_mask,
    rotation,
    sitk,
    sitk_grid,
    sitk_resample,
    tie_mask,
    to_sitk,
)
from scipy import ndimage

import spatial_xr
from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.geometry import Grid
from spatial_xr.ops.resample import antialias_sigma, resample, transform_matrix

SPACING_ZYX = (2.1, 0.9, 1.2)
ORIGIN = (-7.5, 12.25, 30.0)


def _image(values: np.ndarray, direction: np.ndarray, chunks=None) -> xr.DataArray:
    data = values if chunks is None else dsa.from_array(values, chunks=chunks)
    return spatial_xr.from_array(data, spacing=SPACING_ZYX, origin=ORIGIN, direction=direction)


def _labels(vol: np.ndarray) -> np.ndarray:
    return np.digitize(vol, [-300, -100, 0, 150, 350]).astype(np.int16) * 3


def _compare(ours: np.ndarray, ref: np.ndarray, cidx: np.ndarray, in_shape, method: str,
             rtol: float = 1e-5) -> None:
    """Equal except at rounding ties (nearest/label) or within rtol of the value range."""
    assert ours.shape == ref.shape
    keep = ~tie_mask(cidx, in_shape, rounding=method in ("nearest", "label"))
    assert keep.mean() > 0.5
    if method in ("nearest", "label"):
        np.testing.assert_array_equal(ours[keep], ref[keep])
    else:
        scale = float(np.abs(ref).max()) or 1.0
        np.testing.assert_allclose(ours[keep], ref[keep], rtol=0, atol=rtol * scale)


def _check_world_points(out: xr.DataArray, ref_img: sitk.Image) -> None:
    """Voxel centres of the result equal SimpleITK's physical points of the same indices."""
    g = out.spatial.grid
    rng = np.random.default_rng(0)
    idx = np.stack([rng.integers(0, s, 40) for s in g.shape_xyz], axis=1)
    ours = g.index_to_world(idx)
    theirs = np.array([ref_img.TransformIndexToPhysicalPoint([int(v) for v in i]) for i in idx])
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    coords = np.stack(np.meshgrid(*[out.coords[a].values for a in "zyx"], indexing="ij"), -1)
    k, j, i = idx[0][::-1]
    world = g.direction_zyx @ coords[k, j, i]
    np.testing.assert_allclose(world[::-1], theirs[0], atol=1e-9)


@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("method", ["nearest", "linear", "cubic", "label"])
def test_spacing_matches_simpleitk(rng_volume, direction, method):
    vol = _labels(rng_volume) if method == "label" else rng_volume
    da = _image(vol, DIRECTIONS[direction], chunks=(7, 9, 8))
    out = resample(da, spacing=(1.2345, 0.7123, 1.0987), interpolation=method)
    assert isinstance(out.data, dsa.Array)
    img = to_sitk(da)
    g = out.spatial.grid
    assert np.allclose(g.direction_xyz, DIRECTIONS[direction])
    ref_img = sitk_resample(img, g, method, image=True)
    cidx = continuous_index_zyx(g, img)
    _compare(out.values, sitk.GetArrayFromImage(ref_img), cidx, vol.shape, method)
    assert out.dtype == vol.dtype
    _check_world_points(out, ref_img)


@pytest.mark.parametrize("direction", ["identity", "oblique", "permuted"])
@pytest.mark.parametrize("method", ["nearest", "linear", "cubic"])
def test_transform_and_oblique_grid_match_simpleitk(rng_volume, direction, method):
    da = _image(rng_volume, DIRECTIONS[direction], chunks=(6, 11, 10))
    img = to_sitk(da)
    centre = da.spatial.grid.index_to_world((np.array(da.spatial.grid.shape_xyz) - 1) / 2)
    tx = sitk.Euler3DTransform(centre.tolist(), 0.1, -0.05, np.deg2rad(20), (1.5, -2.0, 0.7))
    target = Grid((17, 19, 15), (1.1, 1.05, 1.6), centre - np.array([9.0, 10.0, 12.0]),
                  rotation(2, 20.0) @ rotation(1, 7.0))
    out = resample(da, grid=target, transform=tx, interpolation=method)
    ref_img_arr = sitk_resample(img, target, method, transform=tx)
    cidx = continuous_index_zyx(target, img, tx)
    _compare(out.values, ref_img_arr, cidx, rng_volume.shape, method)
    # a 4x4 matrix of the same transform gives the same result
    m = transform_matrix(tx, 3)
    out2 = resample(da, grid=target, transform=m, interpolation=method)
    np.testing.assert_array_equal(out2.values, out.values)
    # the transform applied to the input grid only (no target): output grid = input grid
    same = resample(da, transform=tx, interpolation=method)
    assert same.spatial.same_grid(da)
    ref_same = sitk_resample(img, da.spatial.grid, method, transform=tx)
    _compare(same.values, ref_same, continuous_index_zyx(da.spatial.grid, img, tx),
             rng_volume.shape, method)


def test_oblique_outputs_agree_in_interior_and_borders(rng_volume):
    """Document the border: linear agrees everywhere but ties, interior included."""
    da = _image(rng_volume, DIRECTIONS["oblique"])
    img = to_sitk(da)
    target = Grid((20, 20, 20), (1.2, 1.2, 1.2), da.spatial.grid.index_to_world([2, 2, 1]),
                  rotation(0, 20.0))
    out = resample(da, grid=target, interpolation="linear", fill_value=-5000)
    ref = sitk_resample(img, target, "linear", fill=-5000)
    cidx = continuous_index_zyx(target, img)
    inside = interior_mask(cidx, rng_volume.shape, 0, 1)
    assert 0.1 < inside.mean() < 0.95
    np.testing.assert_allclose(out.values[inside], ref[inside], rtol=1e-4)
    outside = (ref == -5000) & ~tie_mask(cidx, rng_volume.shape)
    assert outside.any()
    assert np.all(out.values[outside] == -5000)
    _compare(out.values, ref, cidx, rng_volume.shape, "linear")


@pytest.mark.parametrize(
    ("out_dtype", "pixel_type"),
    [(None, None), (np.uint8, sitk.sitkUInt8), (np.int8, sitk.sitkInt8)],
)
def test_integer_output_truncates_like_simpleitk(rng_volume, out_dtype, pixel_type):
    vol = (rng_volume / 2).astype(np.int16)
    da = _image(vol, DIRECTIONS["oblique"])
    img = to_sitk(da)
    out = resample(da, spacing=(1.3, 0.7, 1.1), interpolation="linear", dtype=out_dtype)
    g = out.spatial.grid
    ref = sitk_resample(img, g, "linear", pixel_type=pixel_type)
    exact = sitk_resample(img, g, "linear", pixel_type=sitk.sitkFloat64)
    expected_dtype = np.int16 if out_dtype is None else out_dtype
    assert out.dtype == expected_dtype
    info = np.iinfo(expected_dtype)
    # the stated rule: clamp to the dtype's range, then truncate toward zero
    rule = np.trunc(np.clip(exact, info.min, info.max)).astype(expected_dtype)
    cidx = continuous_index_zyx(g, img)
    keep = ~tie_mask(cidx, vol.shape) & (np.abs(exact - np.round(exact)) > 1e-9)
    np.testing.assert_array_equal(out.values[keep], ref[keep])
    np.testing.assert_array_equal(out.values[keep], rule[keep])
    if out_dtype is not None:
        assert (exact < info.min).any() or (exact > info.max).any()


def test_fill_value_outside(rng_volume):
    da = _image(rng_volume, DIRECTIONS["flipped"], chunks=9)
    g = da.spatial.grid
    target = g.replace(origin_xyz=g.index_to_world([8.3, -5.6, 6.2]))
    out = resample(da, grid=target, interpolation="linear", fill_value=-1024)
    ref = sitk_resample(to_sitk(da), target, "linear", fill=-1024)
    cidx = continuous_index_zyx(target, to_sitk(da))
    _compare(out.values, ref, cidx, rng_volume.shape, "linear")
    assert (out.values == -1024).sum() > 0.2 * out.size


@pytest.mark.parametrize("method", ["nearest", "linear", "cubic", "label"])
def test_2d_matches_simpleitk(rng_volume, method):
    plane = rng_volume[5]
    vol = _labels(plane) if method == "label" else plane
    d = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    da = spatial_xr.from_array(vol, spacing=(0.9, 1.2), origin=(4.0, -2.0), direction=d)
    img = to_sitk(da)
    tx = sitk.Euler2DTransform((5.0, 3.0), np.deg2rad(20), (0.5, 1.0))
    out = resample(da, spacing=0.5537, transform=tx, interpolation=method)
    g = out.spatial.grid
    ref = sitk_resample(img, g, method, transform=tx)
    _compare(out.values, ref, continuous_index_zyx(g, img, tx), vol.shape, method)


def test_t_and_c_resampled_independently(rng_volume):
    stack = np.stack([np.stack([rng_volume * (1 + t + 2 * c) for c in range(2)])
                      for t in range(2)])
    da = spatial_xr.from_array(dsa.from_array(stack, chunks=(1, 2, 9, 11, 10)),
                               spacing=SPACING_ZYX, origin=ORIGIN,
                               direction=DIRECTIONS["oblique"])
    da = da.assign_coords(c=["a", "b"]).transpose("x", "c", "z", "t", "y")
    out = resample(da, spacing=1.4, interpolation="linear")
    assert out.dims == da.dims
    assert list(out.coords["c"].values) == ["a", "b"]
    for t in range(2):
        for c in range(2):
            vol = da.isel(t=t, c=c)
            ref = sitk_resample(to_sitk(vol), out.spatial.grid, "linear")
            got = out.isel(t=t, c=c).transpose("z", "y", "x").values
            cidx = continuous_index_zyx(out.spatial.grid, to_sitk(vol))
            _compare(got, ref, cidx, rng_volume.shape, "linear")


def test_numpy_and_dask_inputs_agree_and_chunks(rng_volume):
    da_np = _image(rng_volume, DIRECTIONS["oblique"])
    da_dk = _image(rng_volume, DIRECTIONS["oblique"], chunks=(5, 6, 7))
    a = resample(da_np, spacing=0.9, interpolation="cubic")
    b = resample(da_dk, spacing=0.9, interpolation="cubic", chunks={"z": 8, "y": 9, "x": 10})
    assert isinstance(a.data, np.ndarray)
    assert b.data.chunksize == (8, 9, 10)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-6 * np.abs(a.values).max())
    assert a.spatial.same_grid(b)


@pytest.mark.parametrize("direction", ["identity", "oblique", "permuted"])
@pytest.mark.parametrize("method", ["nearest", "linear"])
@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_slab_strided_and_chunked_paths_identical(rng_volume, direction, method, dtype):
    """In-memory slabs of a C-contiguous input and of a strided view of the same values
    are identical; dask chunks agree (they index the input relative to their box, so the
    last bit of a continuous index may differ: rounding ties and truncation aside)."""
    from spatial_xr.ops import resample as module

    values = rng_volume.astype(dtype)
    wide = np.zeros((values.shape[0], values.shape[1], 2 * values.shape[2]), dtype)
    wide[..., ::2] = values
    view = wide[..., ::2]  # same values, not contiguous: read in place
    assert not view.flags.c_contiguous
    shift = sitk.TranslationTransform(3, (4.0, -3.0, 5.0))  # some output falls outside
    slab = resample(_image(values, DIRECTIONS[direction]), spacing=0.8,
                    interpolation=method, fill_value=-3, transform=shift)
    strided = resample(_image(view, DIRECTIONS[direction]), spacing=0.8,
                       interpolation=method, fill_value=-3, transform=shift)
    lazy = resample(_image(values, DIRECTIONS[direction], chunks=(5, 6, 7)), spacing=0.8,
                    interpolation=method, fill_value=-3, chunks=(7, 8, 9), transform=shift)
    assert isinstance(slab.data, np.ndarray) and isinstance(strided.data, np.ndarray)
    np.testing.assert_array_equal(strided.values, slab.values)
    cidx = continuous_index_zyx(slab.spatial.grid, to_sitk(_image(rng_volume,
                                                                  DIRECTIONS[direction])),
                                shift)

    def agree(a: np.ndarray, b: np.ndarray) -> None:
        if np.issubdtype(dtype, np.integer) and method == "linear":
            diff = np.abs(a.astype(int) - b)
            keep = ~tie_mask(cidx, values.shape, rounding=False)
            assert diff[keep].max() <= 1 and (diff[keep] > 0).mean() < 0.01  # truncation
        else:
            _compare(a, b, cidx, values.shape, method, rtol=1e-6)

    agree(slab.values, lazy.values)
    assert (slab.values != -3).any()
    assert (slab.values == -3).any()
    # one slab for the whole output, then many thin ones: the same result
    one, thin = module.SLABS_PER_WORKER, 40
    try:
        module.SLABS_PER_WORKER = thin
        thin_out = resample(_image(values, DIRECTIONS[direction]), spacing=0.8,
                            interpolation=method, fill_value=-3, transform=shift)
    finally:
        module.SLABS_PER_WORKER = one
    agree(thin_out.values, slab.values)


def test_slab_path_2d_and_leading_dims(rng_volume):
    """2-D images (slabs along y) and t/c stacks through the slab path match dask."""
    plane = rng_volume[5]
    for vals, dims in ((plane, ("y", "x")), (np.stack([rng_volume, -rng_volume]),
                                              ("c", "z", "y", "x"))):
        da_np = spatial_xr.from_array(vals, spacing=0.7, dims=dims)
        da_dk = spatial_xr.from_array(dsa.from_array(vals, chunks=4), spacing=0.7, dims=dims)
        for method in ("nearest", "linear"):
            a = resample(da_np, spacing=0.45, interpolation=method)
            b = resample(da_dk, spacing=0.45, interpolation=method)
            assert isinstance(a.data, np.ndarray)
            if method == "nearest":
                np.testing.assert_array_equal(a.values, b.values)
            else:  # box-relative indices: last-bit differences
                np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-4)


def test_shape_keeps_corner_box_and_spacing_keeps_centre(rng_volume):
    da = _image(rng_volume, DIRECTIONS["oblique"])
    out = resample(da, shape={"z": 7, "y": 30, "x": 13})
    assert out.spatial.shape == {"z": 7, "y": 30, "x": 13}
    np.testing.assert_allclose(np.sort(out.spatial.grid.corners(), 0),
                               np.sort(da.spatial.grid.corners(), 0), atol=1e-9)
    iso = resample(da, spacing=1.0)
    g, h = da.spatial.grid, iso.spatial.grid
    np.testing.assert_allclose(h.index_to_world((np.array(h.shape_xyz) - 1) / 2),
                               g.index_to_world((np.array(g.shape_xyz) - 1) / 2), atol=1e-9)
    expected = [round(n * s) for n, s in zip(g.shape_xyz, g.spacing_xyz, strict=True)]
    assert list(h.shape_xyz) == expected


def test_like_repositions_a_cropped_mask(rng_volume):
    ref = _image(rng_volume, DIRECTIONS["oblique"], chunks=8)
    mask = (ref > 0).astype(np.uint8)
    part = mask.spatial.crop(index={"z": (3, 12), "y": (4, 15), "x": (2, 11)})
    back = resample(part, like=ref, interpolation="nearest")
    assert back.spatial.same_grid(ref)
    expected = np.zeros_like(mask.values)
    expected[3:12, 4:15, 2:11] = mask.values[3:12, 4:15, 2:11]
    np.testing.assert_array_equal(back.values, expected)


def test_antialias_uses_the_documented_sigma(rng_volume):
    da = _image(rng_volume, DIRECTIONS["identity"], chunks=(6, 8, 7))
    out = resample(da, spacing=(3.0, 3.0, 6.3), interpolation="linear", antialias=True)
    from spatial_xr.geometry.resampling import index_mapping

    sigma_xyz = antialias_sigma(index_mapping(out.spatial.grid, da.spatial.grid))
    # spacing is given in dims order (z, y, x); sigma comes back in x, y, z order
    np.testing.assert_allclose(sigma_xyz, [(6.3 / 1.2 - 1) / 2, (3.0 / 0.9 - 1) / 2,
                                           (3.0 / 2.1 - 1) / 2])
    smooth = ndimage.gaussian_filter(rng_volume.astype(np.float64), sigma_xyz[::-1],
                                     mode="nearest", truncate=4.0)
    expected = resample(_image(smooth, DIRECTIONS["identity"]), grid=out.spatial.grid,
                        interpolation="linear", dtype=np.float32)
    np.testing.assert_allclose(out.values, expected.values, rtol=0, atol=1e-3)
    plain = resample(da, spacing=(3.0, 3.0, 6.3), interpolation="linear")
    assert not np.allclose(plain.values, out.values)


def test_antialias_smooths_an_axis_shorter_than_the_kernel():
    # nibabel's functional.nii: 3 slices of 8 mm, lazily read; at 32 mm the z kernel
    # reaches ceil(4 * 1.5) = 6 slices, more than the axis holds (dask's map_overlap
    # refused that: the axis is now smoothed whole)
    path = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "functional.nii")
    da = spatial_xr.open_image(path)
    assert isinstance(da.data, dsa.Array) and da.sizes["z"] == 3
    out = resample(da, spacing=(32.0, 12.0, 12.0), interpolation="linear", antialias=True,
                   dtype=np.float64)
    sigma_zyx = [(32.0 / 8.0 - 1) / 2, (12.0 / 4.0 - 1) / 2, (12.0 / 4.0 - 1) / 2]
    smooth = ndimage.gaussian_filter(da.values.astype(np.float32), [0.0, *sigma_zyx],
                                     mode="nearest", truncate=4.0)
    expected = resample(da.copy(data=smooth), grid=out.spatial.grid, interpolation="linear",
                        dtype=np.float64)
    np.testing.assert_allclose(out.values, expected.values, rtol=1e-6, atol=0)
    assert out.sizes["z"] == 1 and np.isfinite(out.values).all()


def test_real_oblique_nifti_matches_simpleitk():
    path = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "example4d.nii.gz")
    da = spatial_xr.open_image(path)
    assert "t" in da.dims and not da.spatial.grid.is_axis_aligned
    img4 = sitk.ReadImage(path)
    out = resample(da, spacing=1.7, interpolation="linear", dtype=np.float64)
    for t in range(da.sizes["t"]):
        size = list(img4.GetSize())
        vol = sitk.Extract(img4, [*size[:3], 0], [0, 0, 0, t])
        assert da.spatial.grid.isclose(sitk_grid(vol), atol=1e-4)
        ref = sitk_resample(sitk.Cast(vol, sitk.sitkFloat64), out.spatial.grid, "linear")
        got = out.isel(t=t).transpose("z", "y", "x").values
        cidx = continuous_index_zyx(out.spatial.grid, vol)
        inside = interior_mask(cidx, da.isel(t=t).transpose("z", "y", "x").shape, 0, 1)
        assert inside.any()
        np.testing.assert_allclose(got[inside], ref[inside], rtol=1e-4,
                                   atol=1e-4 * np.abs(ref).max())


def test_real_ct_series_matches_simpleitk():
    from pydicom.data import get_testdata_file

    folder = os.path.join(os.path.dirname(get_testdata_file("CT_small.dcm")), "dicomdirtests",
                          "77654033", "CT2")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    img = reader.Execute()
    da = from_sitk(img)
    rot = sitk.Euler3DTransform(sitk_grid(img).index_to_world([7.5, 7.5, 1.5]).tolist(),
                                0.0, 0.0, np.deg2rad(20))
    for method in ("nearest", "linear", "cubic"):
        out = resample(da, spacing=(20.0, 0.3, 0.35), transform=rot, interpolation=method,
                       fill_value=-2000)
        ref_img = sitk_resample(img, out.spatial.grid, method, transform=rot, fill=-2000,
                                image=True)
        cidx = continuous_index_zyx(out.spatial.grid, img, rot)
        _compare(out.values, sitk.GetArrayFromImage(ref_img), cidx, da.shape, method,
                 rtol=1e-4)
        _check_world_points(out, ref_img)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"interpolation": "bicubic", "spacing": 1.0}, ParameterError),
        ({"spacing": 1.0, "shape": 4}, ParameterError),
        ({}, ParameterError),
        ({"spacing": 1.0, "fill_value": np.nan}, ParameterError),
        ({"spacing": 1.0, "fill_value": 1e6}, ParameterError),
        ({"transform": np.eye(3)}, ParameterError),
        ({"transform": np.zeros((4, 4))}, ParameterError),
        ({"spacing": -1.0}, GeometryError),
        ({"shape": 2.5}, ParameterError),
        ({"grid": Grid((3, 4))}, GeometryError),
        ({"grid": "not a grid"}, ParameterError),
    ],
)
def test_bad_arguments_raise(kwargs, error):
    da = spatial_xr.from_array(np.zeros((4, 5, 6), np.int16))
    with pytest.raises(error):
        resample(da, **kwargs)


def test_nonlinear_simpleitk_transform_is_refused():
    da = spatial_xr.from_array(np.zeros((4, 5, 6), np.float32))
    field = sitk.Image([6, 5, 4], sitk.sitkVectorFloat64, 3)
    tx = sitk.DisplacementFieldTransform(field)
    with pytest.raises(ParameterError, match="linear"):
        resample(da, transform=tx)
    with pytest.raises(ParameterError, match="2-D"):
        resample(da, transform=sitk.Euler2DTransform())


def test_accessor_is_the_function(rng_volume):
    da = _image(rng_volume, DIRECTIONS["permuted"])
    a = da.spatial.resample(spacing=1.5, interpolation="nearest")
    b = resample(da, spacing=1.5, interpolation="nearest")
    xr.testing.assert_identical(a, b)


def test_large_outputs_come_from_a_plain_mapping(rng_volume, monkeypatch):
    """Outputs above buffers.MAPPED_BYTES live in an anonymous mapping: same values, a
    writeable C-contiguous array, picklable, and released with the array."""
    import mmap
    import pickle

    from spatial_xr import buffers

    da = _image(rng_volume, DIRECTIONS["oblique"])
    ref = resample(da, spacing=0.8, interpolation="linear")
    monkeypatch.setattr(buffers, "MAPPED_BYTES", 1024)
    out = resample(da, spacing=0.8, interpolation="linear")
    base = out.data
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    assert isinstance(base, mmap.mmap)
    assert out.data.flags.writeable and out.data.flags.c_contiguous
    np.testing.assert_array_equal(out.values, ref.values)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(out)).values, ref.values)
