"""Pure-numpy target grids and index boxes (spatial_xr.geometry.resampling)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spatial_xr.errors import GeometryError
from spatial_xr.geometry import Grid
from spatial_xr.geometry.resampling import (
    centered_start,
    covering_index_box,
    grid_with_shape,
    grid_with_spacing,
    index_mapping,
    source_box,
)

sitk = pytest.importorskip("SimpleITK")

OBLIQUE = np.array([[0.9396926, -0.3420201, 0.0], [0.3420201, 0.9396926, 0.0], [0, 0, 1.0]])


def _grid(direction=OBLIQUE) -> Grid:
    return Grid((11, 13, 7), (0.7, 0.8, 2.5), (10.0, -5.0, 3.0), direction)


def test_grid_with_spacing_keeps_centre_and_extent():
    g = _grid()
    h = grid_with_spacing(g, [1.0, 1.0, 1.0])
    assert h.shape_xyz == (8, 10, 18)
    np.testing.assert_allclose(h.direction_xyz, g.direction_xyz)
    np.testing.assert_allclose(h.corners().mean(0), g.corners().mean(0), atol=1e-12)
    with pytest.raises(GeometryError):
        grid_with_spacing(g, [1.0, 0.0, 1.0])


def test_grid_with_shape_keeps_corner_box():
    g = _grid()
    h = grid_with_shape(g, (5, 26, 3))
    np.testing.assert_allclose(h.corners(), g.corners(), atol=1e-12)
    with pytest.raises(GeometryError):
        grid_with_shape(g, (5, 0, 3))


def test_index_mapping_matches_simpleitk_point_mapping():
    g_in = _grid()
    g_out = Grid((6, 5, 4), (1.3, 1.1, 0.9), (3.0, 2.0, 1.0), np.diag([-1.0, 1.0, -1.0]))
    tx = sitk.Euler3DTransform((1.0, 2.0, 3.0), 0.1, 0.2, 0.3, (4.0, 5.0, 6.0))
    t = np.eye(4)
    t[:3, :3] = np.reshape(tx.GetMatrix(), (3, 3))
    t[:3, 3] = tx.TransformPoint((0.0, 0.0, 0.0))
    m = index_mapping(g_out, g_in, t)
    img = sitk.Image(list(g_in.shape_xyz), sitk.sitkUInt8)
    img.SetSpacing(g_in.spacing_xyz.tolist())
    img.SetOrigin(g_in.origin_xyz.tolist())
    img.SetDirection(g_in.direction_xyz.ravel().tolist())
    for idx in itertools.product(range(0, 6, 2), range(0, 5, 2), range(0, 4, 3)):
        p = tx.TransformPoint(g_out.index_to_world(idx).tolist())
        expected = img.TransformPhysicalPointToContinuousIndex(p)
        np.testing.assert_allclose(m[:3, :3] @ idx + m[:3, 3], expected, atol=1e-9)


def test_source_box_covers_every_mapped_voxel():
    g_in = _grid()
    g_out = Grid((30, 30, 30), (0.5, 0.5, 0.5), (8.0, -4.0, 6.0), np.eye(3))
    m = index_mapping(g_out, g_in)
    start, stop = source_box(m, (3, 4, 5), (13, 17, 19), g_in.shape_xyz, (1, 2))
    idx = np.array(list(itertools.product(range(3, 13), range(4, 17), range(5, 19))))
    c = idx @ m[:3, :3].T + m[:3, 3]
    need_lo = np.clip(np.floor(c).min(0) - 1, 0, None)
    need_hi = np.minimum(np.floor(c).max(0) + 3, g_in.shape_xyz)
    assert np.all(start <= need_lo) and np.all(stop >= need_hi)
    assert np.all(stop - start <= need_hi - need_lo + 2)
    far = Grid((2, 2, 2), origin_xyz=(1e4, 0, 0))
    assert source_box(index_mapping(far, g_in), (0, 0, 0), (2, 2, 2), g_in.shape_xyz,
                      (0, 1)) is None


def test_covering_box_matches_simpleitk_rounding():
    g = _grid()
    img = sitk.Image(list(g.shape_xyz), sitk.sitkUInt8)
    img.SetSpacing(g.spacing_xyz.tolist())
    img.SetOrigin(g.origin_xyz.tolist())
    img.SetDirection(g.direction_xyz.ravel().tolist())
    lo, hi = np.array([9.3, -4.1, 4.0]), np.array([13.2, 1.7, 9.9])
    start, stop = covering_index_box(g, lo, hi)
    idx = np.array([img.TransformPhysicalPointToIndex(list(map(float, p)))
                    for p in itertools.product(*zip(lo, hi, strict=True))])
    np.testing.assert_array_equal(start, idx.min(0))
    np.testing.assert_array_equal(stop, idx.max(0) + 1)
    with pytest.raises(GeometryError, match="swap"):
        covering_index_box(g, hi, lo)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_centered_start_is_nearest_box(n):
    g = Grid((50, 50, 50))
    for c in np.linspace(10, 11, 11):
        s = centered_start(g, [c, c, c], (n, n, n))[0]
        best = min(range(5, 15), key=lambda b: (abs(b + (n - 1) / 2 - c), -b))
        assert s == best or abs(s + (n - 1) / 2 - c) == abs(best + (n - 1) / 2 - c)
