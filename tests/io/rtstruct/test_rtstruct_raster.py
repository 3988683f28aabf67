"""The polygon fill against matplotlib's point-in-polygon test and scikit-image's polygon
fill, and the mask outlines (marching squares) filled back."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as MplPath
from scipy import ndimage
from skimage.draw import polygon as sk_polygon

from spatial_xr.io.rtstruct.raster import BOUNDARY_TOL, fill_polygons
from spatial_xr.io.rtstruct.trace import trace_mask


def _star(rng: np.random.Generator, centre: tuple[float, float], n: int = 9) -> np.ndarray:
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(4, 25, n)
    return np.c_[centre[0] + rad * np.cos(ang), centre[1] + rad * np.sin(ang)]


def _distance_to_edges(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((points[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    near = a + t[..., None] * ab
    return np.linalg.norm(points[:, None] - near, axis=-1).min(axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_fill_matches_matplotlib_away_from_the_edges(seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:60, 0:70]
    centres = np.c_[xx.ravel(), yy.ravel()].astype(float)
    for _ in range(20):
        poly = _star(rng, tuple(rng.uniform(5, 60, 2)))
        ours = fill_polygons([poly], (0, 60), (0, 70)).ravel()
        theirs = MplPath(poly).contains_points(centres)
        clear = _distance_to_edges(centres, poly) > 2 * BOUNDARY_TOL
        np.testing.assert_array_equal(ours[clear], theirs[clear])


def test_fill_matches_skimage_including_centres_on_the_edges() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        poly = np.round(_star(rng, (30.0, 28.0)) * 2) / 2  # vertices on half pixels
        ours = fill_polygons([poly], (0, 60), (0, 64))
        rr, cc = sk_polygon(poly[:, 1], poly[:, 0], (60, 64))
        theirs = np.zeros((60, 64), bool)
        theirs[rr, cc] = True
        assert (ours != theirs).sum() <= 2  # only centres exactly on a vertex may differ


def test_a_window_equals_the_same_part_of_the_whole_plane() -> None:
    rng = np.random.default_rng(1)
    polys = [_star(rng, (20.0, 25.0)), _star(rng, (40.0, 30.0))]
    whole = fill_polygons(polys, (0, 50), (0, 60))
    np.testing.assert_array_equal(fill_polygons(polys, (13, 41), (7, 33)), whole[13:41, 7:33])
    assert not fill_polygons([p + 500 for p in polys], (0, 50), (0, 60)).any()
    assert fill_polygons([], (0, 5), (0, 5)).shape == (5, 5)


def test_even_odd_nesting_and_boundary_centres() -> None:
    def square(c: float, s: float) -> np.ndarray:
        return np.array([[c - s, c - s], [c + s, c - s], [c + s, c + s], [c - s, c + s]])

    m = fill_polygons([square(20, 15.5), square(20, 9.5), square(20, 3.5)], (0, 41), (0, 41))
    row = m[20]
    assert row[5:11].all() and not row[11:17].any() and row[17:24].all()
    through = fill_polygons([square(10, 4)], (0, 21), (0, 21))  # edges through centres
    assert through.sum() == 81 and through[6, 6] and through[14, 14]


@pytest.mark.parametrize("seed", range(6))
def test_outlines_fill_back_to_the_mask(seed: int) -> None:
    rng = np.random.default_rng(seed)
    noise = rng.random((37, 45)) > 0.55
    mask = ndimage.binary_opening(noise) if seed % 2 else noise  # many diagonal contacts
    polys = trace_mask(mask)
    np.testing.assert_array_equal(fill_polygons(polys, (0, 37), (0, 45)), mask)
    yy, xx = np.mgrid[0:37, 0:45]
    centres = np.c_[xx.ravel(), yy.ravel()].astype(float)
    for p in polys:  # every vertex half a pixel from the centres
        assert np.all(np.abs(p * 2 - np.rint(p * 2)) < 1e-12)
        assert _distance_to_edges(centres, p).min() >= 0.35
    assert trace_mask(np.zeros((4, 4), bool)) == []
