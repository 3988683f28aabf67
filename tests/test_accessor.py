"""The .spatial accessor: reading geometry, plain xarray operations, mapping; checked
against SimpleITK's physical points."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr

import spatial_xr
from spatial_xr.errors import DimensionError, GeometryError, IrregularGridError, ParameterError
from spatial_xr.geometry import Grid, code_to_direction
from spatial_xr.testing import random_direction


@pytest.fixture(params=["identity", "RAS", "permuted", "oblique", "oblique-det-1"])
def case(request: pytest.FixtureRequest) -> tuple[xr.DataArray, sitk.Image]:
    """A (z, y, x) image and the SimpleITK image with the same geometry and values."""
    rng = np.random.default_rng(7)
    direction = {
        "identity": np.eye(3),
        "RAS": code_to_direction("RAS"),
        "permuted": code_to_direction("SLA"),
        "oblique": random_direction(rng, 3, det=1.0),
        "oblique-det-1": random_direction(rng, 3, det=-1.0),
    }[request.param]
    values = rng.integers(-1000, 2000, size=(7, 9, 11)).astype(np.int16)
    da = spatial_xr.from_array(values, spacing=(2.5, 0.7, 0.8), origin=(-12.0, 30.5, 7.25),
                               direction=direction)
    img = sitk.GetImageFromArray(values)
    img.SetSpacing((0.8, 0.7, 2.5))
    img.SetOrigin((-12.0, 30.5, 7.25))
    img.SetDirection(direction.ravel().tolist())
    return da, img


def sitk_world(img: sitk.Image, index_zyx: np.ndarray) -> np.ndarray:
    return np.array([img.TransformIndexToPhysicalPoint([int(i), int(j), int(k)])
                     for k, j, i in index_zyx])


def test_properties_match_simpleitk(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, img = case
    acc = da.spatial
    assert acc.dims == ("z", "y", "x")
    np.testing.assert_allclose(acc.origin, img.GetOrigin())
    np.testing.assert_allclose(acc.spacing_xyz, img.GetSpacing())
    assert acc.spacing == pytest.approx({"z": 2.5, "y": 0.7, "x": 0.8})
    np.testing.assert_allclose(acc.direction_xyz.ravel(), img.GetDirection(), atol=1e-12)
    np.testing.assert_array_equal(acc.direction, acc.direction_xyz)  # the documented alias
    np.testing.assert_allclose(acc.direction_zyx, np.flip(acc.direction_xyz))
    np.testing.assert_allclose(np.asarray(da.attrs["direction"]), acc.direction_zyx)
    for ijk in ([0, 0, 0], [1.5, 2, 3.25], [10, 8, 6]):
        np.testing.assert_allclose((acc.affine @ [*ijk, 1])[:3],
                                   img.TransformContinuousIndexToPhysicalPoint(ijk), atol=1e-9)
    assert acc.shape == {"z": 7, "y": 9, "x": 11}


def test_world_equals_direction_times_coords(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, img = case
    k, j, i = 3, 5, 7
    frame = np.array([da.x.values[i], da.y.values[j], da.z.values[k]])
    np.testing.assert_allclose(da.spatial.direction @ frame,
                               img.TransformIndexToPhysicalPoint([i, j, k]), atol=1e-9)
    assert all(da[d].attrs["units"] == "millimeter" for d in "zyx")


SELECTIONS = {
    "isel-step": {"z": slice(1, None, 2), "y": slice(0, 9, 3), "x": slice(2, 10, 4)},
    "isel-negative": {"z": slice(None, None, -1), "y": slice(7, 1, -2), "x": slice(None)},
    "isel-mixed": {"z": slice(5, 0, -3), "y": slice(2, 3), "x": slice(10, None, -5)},
}


@pytest.mark.parametrize("sel", list(SELECTIONS))
def test_isel_keeps_geometry(case: tuple[xr.DataArray, sitk.Image], sel: str) -> None:
    da, img = case
    sub = da.isel(SELECTIONS[sel])
    kept = {d: np.arange(da.sizes[d])[SELECTIONS[sel][d]] for d in "zyx"}
    new = np.stack(np.meshgrid(*(np.arange(sub.sizes[d]) for d in "zyx"), indexing="ij"),
                   -1).reshape(-1, 3)
    old = np.stack([kept[d][new[:, a]] for a, d in enumerate("zyx")], -1)
    np.testing.assert_allclose(sub.spatial.index_to_world(new), sitk_world(img, old), atol=1e-6)
    assert all(v > 0 for v in sub.spatial.spacing.values())
    np.testing.assert_array_equal(sub.values.ravel(),
                                  sitk.GetArrayViewFromImage(img)[tuple(old.T)])


def test_transpose_keeps_geometry(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, img = case
    t = da.transpose("x", "z", "y")
    assert t.spatial.dims == ("x", "z", "y")
    assert t.spatial.grid == da.spatial.grid
    idx_xzy = np.array([[4, 1, 2], [10, 6, 8]])
    expect = sitk_world(img, idx_xzy[:, [1, 2, 0]])
    np.testing.assert_allclose(t.spatial.index_to_world(idx_xzy), expect, atol=1e-9)
    assert list(t.spatial.spacing) == ["x", "z", "y"]


def test_sel_on_coords_keeps_geometry(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, img = case
    sub = da.sel(z=slice(da.z.values[2], da.z.values[5]), x=da.x.values[3:9])
    new = np.array([[0, 0, 0], [3, 8, 5], [1, 4, 2]])
    old = new + [2, 0, 3]
    np.testing.assert_allclose(sub.spatial.index_to_world(new), sitk_world(img, old), atol=1e-9)
    point = sitk_world(img, old[1:2])[0]
    np.testing.assert_allclose(sub.spatial.world_to_index(point), new[1], atol=1e-9)


def test_fancy_selection_raises_irregular(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, _ = case
    with pytest.raises(IrregularGridError, match="'y' is not uniformly spaced"):
        _ = da.isel(y=[0, 1, 4]).spatial.grid


def test_world_to_index_round_trip_and_dict_index(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, img = case
    idx = np.array([[1, 2, 3], [6, 8, 10]])
    world = da.spatial.index_to_world(idx)
    np.testing.assert_allclose(world, sitk_world(img, idx), atol=1e-9)
    np.testing.assert_array_equal(da.spatial.world_to_index(world, rounded=True), idx)
    by_name = da.spatial.index_to_world({"z": idx[:, 0], "y": idx[:, 1], "x": idx[:, 2]})
    np.testing.assert_allclose(by_name, world)
    sitk_idx = [img.TransformPhysicalPointToIndex(p) for p in world]
    np.testing.assert_array_equal(np.array(sitk_idx)[:, ::-1], idx)
    with pytest.raises(ParameterError, match="order of the spatial dims"):
        da.spatial.index_to_world([1, 2])
    with pytest.raises(ParameterError, match=r"lacks the spatial dims \['z'\]"):
        da.spatial.index_to_world({"y": 1, "x": 2})
    with pytest.raises(ParameterError, match=r"must have shape \(\.\.\., 3\)"):
        da.spatial.world_to_index(world[:, :2])


def test_affine_ras_is_nibabel_convention(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, _ = case
    np.testing.assert_allclose(da.spatial.affine_ras, np.diag([-1, -1, 1, 1]) @ da.spatial.affine)


def test_bounds_and_orientation() -> None:
    da = spatial_xr.from_array(np.zeros((4, 5, 6)), spacing=2.0, origin=(0, 0, 0),
                               direction=code_to_direction("RAS"))
    assert da.spatial.orientation == "RAS"
    lo, hi = da.spatial.bounds
    np.testing.assert_allclose(lo, [-11, -9, -1])
    np.testing.assert_allclose(hi, [1, 1, 7])


def test_t_and_c_dims_any_order() -> None:
    data = dsa.zeros((2, 3, 4, 5, 6), chunks=(1, 1, 4, 5, 6))
    da = spatial_xr.from_array(data, spacing={"z": 3.0, "y": 2.0, "x": 1.0})
    assert da.dims == ("t", "c", "z", "y", "x")
    assert da.spatial.dims == ("z", "y", "x")
    moved = da.transpose("x", "c", "y", "t", "z")
    assert moved.spatial.grid == da.spatial.grid
    assert isinstance(moved.data, dsa.Array)


def test_2d_images() -> None:
    da = spatial_xr.from_array(np.zeros((4, 6)), spacing=(0.5, 0.25), origin=(1, 2))
    assert da.spatial.dims == ("y", "x")
    assert da.spatial.orientation == "LP"
    np.testing.assert_allclose(da.spatial.index_to_world([[2, 4]]), [[2.0, 3.0]])
    assert da.spatial.affine.shape == (3, 3)


def test_length_one_axis_keeps_spacing() -> None:
    da = spatial_xr.from_array(np.zeros((5, 3, 3)), spacing=(2.5, 1, 1))
    one = da.isel(z=slice(2, 3))
    assert one.spatial.spacing["z"] == 2.5
    np.testing.assert_allclose(one.spatial.origin, [0, 0, 5.0])


def test_missing_direction_means_identity_and_missing_coords_mean_index() -> None:
    da = xr.DataArray(np.zeros((2, 3, 4)), dims=("z", "y", "x"))
    g = da.spatial.grid
    assert g == Grid((4, 3, 2))


def test_errors_are_specific() -> None:
    with pytest.raises(DimensionError, match="'y' and 'x'"):
        _ = xr.DataArray(np.zeros((2, 3)), dims=("a", "b")).spatial.grid
    bad = spatial_xr.from_array(np.zeros((2, 3, 4)))
    bad.attrs["direction"] = np.eye(2)
    with pytest.raises(GeometryError, match="3x3"):
        _ = bad.spatial.grid
    bad.attrs["direction"] = [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    with pytest.raises(GeometryError, match="orthonormal"):
        _ = bad.spatial.grid
    with pytest.raises(GeometryError, match="spacing"):
        spatial_xr.from_array(np.zeros((2, 3, 4)), spacing=(1, 2))
    with pytest.raises(DimensionError, match="pass dims"):
        spatial_xr.from_array(np.zeros(3))


def test_assign_grid_and_same_grid() -> None:
    da = spatial_xr.from_array(np.zeros((2, 3, 4)))
    g = Grid((4, 3, 2), spacing_xyz=(1, 2, 3), direction_xyz=code_to_direction("PLS"))
    out = da.spatial.assign_grid(g)
    assert out.spatial.grid == g
    assert out.spatial.same_grid(g) and not da.spatial.same_grid(out)
    assert out.spatial.same_grid(out.copy())
    with pytest.raises(DimensionError, match="differ from grid shape"):
        da.spatial.assign_grid(Grid((2, 3, 4)))


def test_repr_text_and_html(case: tuple[xr.DataArray, sitk.Image]) -> None:
    da, _ = case
    text = repr(da.spatial)
    assert "spacing" in text and "orientation" in text and "bounds" in text
    assert "<table>" in da.spatial._repr_html_()


# ------------------------------------------------------------------ signatures and help()
def _public_methods(cls: type) -> list[str]:
    return sorted(name for name, attr in vars(cls).items()
                  if not name.startswith("_") and not isinstance(attr, property))


def _accessor_objects() -> list[tuple[type, object]]:
    from spatial_xr.accessor import SpatialAccessor
    from spatial_xr.tree_accessor import SpatialTreeAccessor

    da = spatial_xr.from_array(np.zeros((4, 6, 8), np.int16), spacing=(2.0, 1.0, 1.0))
    return [(SpatialAccessor, da), (SpatialTreeAccessor, da.spatial.pyramid(levels=2))]


def _described(doc: str) -> set[str]:
    """Names given entries in a numpydoc Parameters section."""
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n")[0]
    names = set()
    for line in section.splitlines():
        if line and not line.startswith(" "):
            names.update(n.strip().lstrip("*") for n in line.split(":")[0].split(","))
    return names


def test_accessor_methods_show_the_signature_and_docs_of_their_function() -> None:
    """``help(da.spatial.crop)`` shows crop's parameters (not ``**kwargs``) and its
    numpydoc docstring; methods that forward to a function show exactly its parameters
    after the first (the image)."""
    import inspect

    from spatial_xr._delegate import target_of

    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    checked = []
    for cls, obj in _accessor_objects():
        for name in _public_methods(cls):
            method = getattr(obj.spatial, name)  # type: ignore[attr-defined]
            params = list(inspect.signature(method).parameters.values())
            target = target_of(cls, name)
            if target is not None:
                want = list(inspect.signature(target).parameters.values())[1:]
                assert [(p.name, p.kind, p.default, str(p.annotation)) for p in params] == [
                    (p.name, p.kind, p.default, str(p.annotation)) for p in want], name
                if any(p.kind not in variadic for p in want):
                    assert any(p.kind not in variadic for p in params), name
            named = [p.name for p in params if p.kind not in variadic]
            doc = inspect.getdoc(method) or ""
            assert doc.strip(), f"{cls.__name__}.{name} has no docstring"
            if named:
                assert "Parameters\n----------" in doc, f"{cls.__name__}.{name}"
                missing = set(named) - _described(doc)
                assert not missing, f"{cls.__name__}.{name} does not describe {missing}"
            checked.append((cls.__name__, name, target is not None))
    forwarded = {n for _, n, t in checked if t}
    assert {"crop", "crop_centered", "resample", "sample", "reorient", "pyramid",
            "to_ome_zarr", "to_nifti", "to_dicom_series", "plot"} <= forwarded


def test_help_shows_the_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    da = spatial_xr.from_array(np.zeros((4, 6, 8), np.int16))
    help(da.spatial.crop)
    text = capsys.readouterr().out
    assert "crop(lower: ArrayLike | None = None, upper: ArrayLike | None = None, *" in text
    assert "fill_value : float" in text and "**kwargs" not in text
    assert "da : xarray.DataArray" not in text  # the image is the accessor's own
    help(type(da.spatial).resample)
    text = capsys.readouterr().out
    assert "resample(self, spacing:" in text and "interpolation : " in text


def test_forwarding_passes_positional_and_keyword_arguments_through() -> None:
    """The accessor calls the function with the same arguments (positional included)."""
    from spatial_xr.ops.crop import crop
    from spatial_xr.ops.resample import resample

    da = spatial_xr.from_array(np.arange(4 * 6 * 8, dtype=np.int16).reshape(4, 6, 8),
                               spacing=(2.0, 1.0, 0.5), origin=(1.0, -2.0, 3.0))
    via = da.spatial.crop([1.0, -2.0, 3.0], [3.0, 1.0, 7.0], clip=False, fill_value=-1)
    xr.testing.assert_identical(via, crop(da, [1.0, -2.0, 3.0], [3.0, 1.0, 7.0], clip=False,
                                          fill_value=-1))
    xr.testing.assert_identical(da.spatial.resample(1.5, None, interpolation="nearest"),
                                resample(da, 1.5, interpolation="nearest"))
