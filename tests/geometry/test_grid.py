"""Grid: validation, mapping, Grid→Grid operations; properties with hypothesis and SimpleITK."""

from __future__ import annotations

import itertools
import pickle

import dask.base
import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from spatial_xr.errors import GeometryError
from spatial_xr.geometry import Grid, code_to_direction
from spatial_xr.testing import random_direction, random_grid, sitk_physical_points

CODES_3D = sorted(
    "".join(p[i] for p, i in zip(perm, signs, strict=True))
    for perm in itertools.permutations(["LR", "PA", "SI"])
    for signs in itertools.product([0, 1], repeat=3)
)


@st.composite
def grids(draw: st.DrawFn, ndim: int | None = None) -> Grid:
    n = draw(st.sampled_from([2, 3])) if ndim is None else ndim
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return Grid(
        shape_xyz=tuple(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))),
        spacing_xyz=draw(st.lists(st.floats(0.05, 20.0), min_size=n, max_size=n)),
        origin_xyz=draw(st.lists(st.floats(-500, 500), min_size=n, max_size=n)),
        direction_xyz=random_direction(rng, n, det=draw(st.sampled_from([-1.0, 1.0]))),
    )


def all_indices(grid: Grid) -> np.ndarray:
    return np.stack(np.meshgrid(*(np.arange(s) for s in grid.shape_xyz), indexing="ij"),
                    axis=-1).reshape(-1, grid.ndim)


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"spacing_xyz": [1, 0, 1]}, "spacing must be finite and > 0"),
        ({"spacing_xyz": [1, -2, 1]}, "-2.0"),
        ({"spacing_xyz": [1, np.nan, 1]}, "nan"),
        ({"spacing_xyz": [1, np.inf, 1]}, "inf"),
        ({"origin_xyz": [0, np.inf, 0]}, "origin must be finite"),
        ({"direction_xyz": [[1, 0, 0], [0, 1, 0], [0, 0.1, 1]]}, "orthonormal"),
        ({"direction_xyz": np.eye(3) * 2}, "2."),
        ({"direction_xyz": np.eye(2)}, "3x3"),
        ({"spacing_xyz": [1, 1]}, "spacing must have 3 values"),
    ],
)
def test_validation_names_the_bad_value(kwargs: dict, fragment: str) -> None:
    with pytest.raises(GeometryError) as info:
        Grid(shape_xyz=(2, 3, 4), **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, -1, 3), (2.5, 3, 3), (4,), (1, 2, 3, 4)])
def test_bad_shapes(shape: tuple) -> None:
    with pytest.raises(GeometryError, match=r"shape|2-D or 3-D"):
        Grid(shape_xyz=shape)


def test_direction_tolerance_is_1e6() -> None:
    d = np.eye(3)
    d[0, 1] = 5e-7
    Grid((2, 2, 2), direction_xyz=d)
    d[0, 1] = 5e-6
    with pytest.raises(GeometryError, match="orthonormal"):
        Grid((2, 2, 2), direction_xyz=d)


def test_immutable() -> None:
    g = Grid((2, 3, 4))
    with pytest.raises(AttributeError):
        g.spacing_xyz = [1, 2, 3]  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        g.spacing_xyz[0] = 3.0


# ---------------------------------------------------------------------- mapping
@settings(max_examples=60, deadline=None)
@given(grids(), st.integers(0, 2**32 - 1))
def test_index_world_index_is_identity(grid: Grid, seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = rng.uniform(-5, 15, size=(20, grid.ndim))
    np.testing.assert_allclose(grid.world_to_index(grid.index_to_world(idx)), idx, atol=1e-8)
    whole = rng.integers(0, 9, size=(20, grid.ndim))
    rounded = grid.world_to_index(grid.index_to_world(whole + 0.3), rounded=True)
    np.testing.assert_array_equal(rounded, whole)
    assert rounded.dtype == np.int64


def test_rounding_halves_up_like_itk() -> None:
    g = Grid((4, 4, 4))
    np.testing.assert_array_equal(g.world_to_index([[0.5, 1.5, -0.5]], rounded=True),
                                  [[1, 2, 0]])


def test_mapping_matches_simpleitk(rng: np.random.Generator) -> None:
    for _ in range(20):
        g = random_grid(rng)
        idx = np.stack([rng.integers(0, s, 10) for s in g.shape_xyz], axis=-1)
        np.testing.assert_allclose(g.index_to_world(idx), sitk_physical_points(g, idx),
                                   atol=1e-9)


def test_affine_is_simpleitk_and_nibabel(rng: np.random.Generator) -> None:
    g = random_grid(rng)
    img = sitk.Image(list(g.shape_xyz), sitk.sitkUInt8)
    img.SetSpacing(g.spacing_xyz.tolist())
    img.SetOrigin(g.origin_xyz.tolist())
    img.SetDirection(g.direction_xyz.ravel().tolist())
    for idx in ([0, 0, 0], [1.5, 2.25, 0.5], [3, 1, 2]):
        lps = img.TransformContinuousIndexToPhysicalPoint(idx)
        np.testing.assert_allclose((g.affine @ [*idx, 1])[:3], lps, atol=1e-9)
        ras = (g.affine_ras @ [*idx, 1])[:3]
        np.testing.assert_allclose(ras, [-lps[0], -lps[1], lps[2]], atol=1e-9)


def test_image_coords_satisfy_world_equals_d_coords(rng: np.random.Generator) -> None:
    g = random_grid(rng)
    coords = g.image_coords()
    idx = all_indices(g)
    frame = np.stack([coords[a][idx[:, a]] for a in range(3)], axis=-1)
    np.testing.assert_allclose(frame @ g.direction_xyz.T, g.index_to_world(idx), atol=1e-9)


def test_bounds_are_the_voxel_corner_box() -> None:
    g = Grid((10, 20, 5), spacing_xyz=(1.0, 0.5, 2.0), origin_xyz=(10, 20, 30))
    lo, hi = g.bounds
    np.testing.assert_allclose(lo, [9.5, 19.75, 29.0])
    np.testing.assert_allclose(hi, [19.5, 29.75, 39.0])
    r = Grid((10, 20, 5), direction_xyz=code_to_direction("RAS"))
    lo, hi = r.bounds
    np.testing.assert_allclose(lo, [-9.5, -19.5, -0.5])
    np.testing.assert_allclose(hi, [0.5, 0.5, 4.5])


def test_bounds_contain_every_corner_of_oblique_grid(rng: np.random.Generator) -> None:
    g = random_grid(rng)
    lo, hi = g.bounds
    idx = np.array(list(itertools.product(*[(-0.5, s - 0.5) for s in g.shape_xyz])))
    w = g.index_to_world(idx)
    assert np.all(w >= lo - 1e-9) and np.all(w <= hi + 1e-9)
    assert np.allclose(w.min(0), lo) and np.allclose(w.max(0), hi)


def _sitk_image(g: Grid) -> sitk.Image:
    img = sitk.Image([int(v) for v in g.shape_xyz], sitk.sitkFloat32)
    img.SetSpacing(g.spacing_xyz.tolist())
    img.SetOrigin(g.origin_xyz.tolist())
    img.SetDirection(g.direction_xyz.ravel().tolist())
    return img


def test_center_is_simpleitk_continuous_centre_and_bounds_midpoint(
    rng: np.random.Generator,
) -> None:
    for ndim in (2, 3, 3, 3):
        g = random_grid(rng, ndim=ndim)
        half = ((np.asarray(g.shape_xyz, np.float64) - 1) / 2).tolist()
        want = _sitk_image(g).TransformContinuousIndexToPhysicalPoint(half)
        np.testing.assert_allclose(g.center, want, rtol=0, atol=1e-9)
        lo, hi = g.bounds  # the corner box is symmetric about the centre, oblique or not
        np.testing.assert_allclose(g.center, (lo + hi) / 2, rtol=0, atol=1e-9)
    assert Grid((3, 5), spacing_xyz=(2.0, 0.5), origin_xyz=(1.0, 1.0)).center.tolist() == [
        3.0, 2.0]


# ---------------------------------------------------------------------- zoom out
def test_zoom_out_matches_simpleitk_bin_shrink(rng: np.random.Generator) -> None:
    for _ in range(12):
        g = random_grid(rng, max_size=20)
        f = [int(rng.integers(1, n + 1)) for n in g.shape_xyz]
        got = g.zoom_out(f)
        want = sitk.BinShrink(_sitk_image(g), f)
        assert got.shape_xyz == tuple(want.GetSize())
        np.testing.assert_allclose(got.spacing_xyz, want.GetSpacing(), rtol=1e-15, atol=0)
        np.testing.assert_allclose(got.origin_xyz, want.GetOrigin(), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(got.direction_xyz, g.direction_xyz)


def test_zoom_out_puts_each_coarse_voxel_at_its_block_centre(rng: np.random.Generator) -> None:
    g = random_grid(rng, max_size=20)
    f = (2, 3, 1)
    z = g.zoom_out(f)
    idx = all_indices(z)
    # the mean of the world points of a block's fine voxels is the coarse voxel's point
    offsets = np.array(list(itertools.product(*[range(v) for v in f])))
    fine = g.index_to_world(idx[:, None, :] * np.array(f) + offsets[None, :, :])
    np.testing.assert_allclose(z.index_to_world(idx), fine.mean(axis=1), rtol=0, atol=1e-9)
    # image-frame coordinates: coord0 + (f - 1)·S/2 (DESIGN §3)
    for a in range(3):
        np.testing.assert_allclose(z.image_coords()[a][0],
                                   g.image_coords()[a][0] + (f[a] - 1) * g.spacing_xyz[a] / 2,
                                   rtol=0, atol=1e-9)


def test_zoom_out_spacing_is_an_exact_product_and_never_decreases() -> None:
    # an oblique, det -1 grid whose spacings are not binary fractions
    d = random_direction(np.random.default_rng(7), 3, det=-1.0)
    g = Grid((40, 37, 12), spacing_xyz=(0.7, 0.9, 2.5), origin_xyz=(-12.25, 7.5, 31.0),
             direction_xyz=d)
    previous = g.spacing_xyz
    for f in [(1, 1, 1), (2, 2, 1), (4, 4, 1), (8, 8, 2), (24, 36, 6)]:
        z = g.zoom_out(f)
        assert z.spacing_xyz.tolist() == [s * v for s, v in zip(g.spacing_xyz.tolist(), f,
                                                                 strict=True)]
        assert np.all(z.spacing_xyz >= previous)
        assert z.shape_xyz == tuple(n // v for n, v in zip(g.shape_xyz, f, strict=True))
        previous = z.spacing_xyz
    assert g.zoom_out(1) == g and g.zoom_out(1).spacing_xyz.tolist() == [0.7, 0.9, 2.5]
    assert g.zoom_out(3).shape_xyz == (13, 12, 4)
    # zooming twice is zooming once by the product
    assert g.zoom_out((2, 3, 2)).zoom_out((3, 2, 2)).isclose(g.zoom_out((6, 6, 4)), atol=1e-12)


@pytest.mark.parametrize("factors", [0, (2, 2), (2, 2, 13), (2.0, 2, 2), (2, -1, 1)])
def test_zoom_out_rejects_bad_factors(factors: object) -> None:
    with pytest.raises(GeometryError, match="zoom-out factors must be 3 integers"):
        Grid((10, 10, 12)).zoom_out(factors)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- orientation
@pytest.mark.parametrize("code", CODES_3D)
def test_orientation_codes_match_nibabel(code: str) -> None:
    g = Grid((3, 4, 5), spacing_xyz=(1, 2, 3), direction_xyz=code_to_direction(code))
    assert g.orientation == code
    assert "".join(nib.aff2axcodes(g.affine_ras)) == code


def test_orientation_of_oblique_matches_nibabel(rng: np.random.Generator) -> None:
    for _ in range(50):
        g = random_grid(rng)
        assert g.orientation == "".join(nib.aff2axcodes(g.affine_ras))


def test_identity_is_lps_and_ras_is_flipped() -> None:
    assert Grid((2, 2, 2)).orientation == "LPS"
    np.testing.assert_array_equal(code_to_direction("RAS"), np.diag([-1.0, -1.0, 1.0]))
    assert Grid((2, 2)).orientation == "LP"


# ---------------------------------------------------------------------- Grid → Grid
@st.composite
def grid_and_slices(draw: st.DrawFn) -> tuple[Grid, list[slice]]:
    g = draw(grids())
    slices = []
    for n in g.shape_xyz:
        step = draw(st.sampled_from([1, 2, 3, -1, -2]))
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 1))
        start, stop = (a, b + 1) if step > 0 else (b, a - 1 if a > 0 else None)
        if step > 0 and start >= stop:
            start, stop = stop - 1, start + 1
        if step < 0 and stop is not None and start <= stop:
            start, stop = stop + 1 if stop + 1 < n else n - 1, None
        slices.append(slice(start, stop, step))
    return g, slices


@settings(max_examples=80, deadline=None)
@given(grid_and_slices())
def test_index_slice_keeps_world_positions(case: tuple[Grid, list[slice]]) -> None:
    g, slices = case
    try:
        sub = g.index_slice(slices)
    except GeometryError:
        assert any(len(range(*s.indices(n))) == 0 for s, n in zip(slices, g.shape_xyz,
                                                                     strict=True))
        return
    kept = [np.arange(n)[s] for s, n in zip(slices, g.shape_xyz, strict=True)]
    assert sub.shape_xyz == tuple(len(k) for k in kept)
    new_idx = all_indices(sub)
    old_idx = np.stack([kept[a][new_idx[:, a]] for a in range(g.ndim)], axis=-1)
    np.testing.assert_allclose(sub.index_to_world(new_idx), g.index_to_world(old_idx),
                               atol=1e-8)
    assert np.all(sub.spacing_xyz > 0)


@settings(max_examples=40, deadline=None)
@given(grids(ndim=3), st.sampled_from(CODES_3D))
def test_reorient_keeps_world_positions(g: Grid, code: str) -> None:
    new, perm, flips = g.reorient(code)
    if g.is_axis_aligned:
        assert new.orientation == code
    new_idx = all_indices(new)
    old_idx = np.empty_like(new_idx)
    for a, (p, f) in enumerate(zip(perm, flips, strict=True)):
        old_idx[:, p] = g.shape_xyz[p] - 1 - new_idx[:, a] if f else new_idx[:, a]
    np.testing.assert_allclose(new.index_to_world(new_idx), g.index_to_world(old_idx),
                               atol=1e-8)


def test_reorient_oblique_reaches_the_closest_code(rng: np.random.Generator) -> None:
    for _ in range(30):
        g = random_grid(rng)
        for code in ("RAS", "LPS", "ASL", "IRP"):
            assert g.reorient(code)[0].orientation == code


def test_window_may_reach_outside() -> None:
    g = Grid((5, 5, 5), spacing_xyz=(2, 2, 2))
    w = g.window((-2, 1, 0), (3, 3, 3))
    np.testing.assert_allclose(w.origin_xyz, [-4, 2, 0])
    assert w.shape_xyz == (3, 3, 3)


def test_permute_and_flip() -> None:
    g = Grid((2, 3, 4), spacing_xyz=(1, 2, 3), origin_xyz=(1, 1, 1))
    p = g.permute((2, 0, 1))
    assert p.shape_xyz == (4, 2, 3)
    np.testing.assert_allclose(p.spacing_xyz, [3, 1, 2])
    np.testing.assert_allclose(p.index_to_world([1, 1, 2]), g.index_to_world([1, 2, 1]))
    f = g.flip([0])
    np.testing.assert_allclose(f.index_to_world([0, 0, 0]), g.index_to_world([1, 0, 0]))
    with pytest.raises(GeometryError, match="permutation"):
        g.permute((0, 0, 1))


# ---------------------------------------------------------------------- identity
def test_equality_tolerance_hash_and_token() -> None:
    g = Grid((2, 3, 4), spacing_xyz=(1, 2, 3))
    near = g.replace(origin_xyz=g.origin_xyz + 1e-8)
    far = g.replace(origin_xyz=g.origin_xyz + 1e-3)
    assert g == near and hash(g) == hash(near)
    assert g != far
    assert g.isclose(far, atol=1e-2)
    assert g != Grid((2, 3, 5))
    assert dask.base.tokenize(g) == dask.base.tokenize(Grid((2, 3, 4), spacing_xyz=(1, 2, 3)))
    assert dask.base.tokenize(g) != dask.base.tokenize(near)
    assert pickle.loads(pickle.dumps(far)) == far
    assert {g: 1}[near] == 1


def test_from_zyx_and_repr() -> None:
    g = Grid.from_zyx((4, 3, 2), spacing_zyx=(3, 2, 1), origin_xyz=(1, 2, 3),
                      direction_zyx=np.flip(code_to_direction("RAS")))
    assert g.shape_xyz == (2, 3, 4)
    np.testing.assert_allclose(g.spacing_xyz, [1, 2, 3])
    assert g.orientation == "RAS"
    assert "orientation='RAS'" in repr(g)


def test_rotation_matrix_is_right_handed() -> None:
    from spatial_xr.geometry import rotation_matrix

    r = rotation_matrix(2, 90.0)
    np.testing.assert_allclose(r @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rotation_matrix(0, 90.0) @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                               atol=1e-12)
    assert Grid((2, 2, 2), direction_xyz=rotation_matrix(1, 33.0)).ndim == 3
