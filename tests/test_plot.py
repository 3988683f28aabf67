"""Orthogonal views: the pixels shown are the image's values at those world points."""

from __future__ import annotations

import dask.array as dsa
import matplotlib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import spatial_xr
from spatial_xr.errors import DimensionError
from spatial_xr.plot import orthogonal_slice

matplotlib.use("Agg")
import matplotlib.pyplot as plt

A = np.array([0.7, -1.3, 2.1])  # a linear function of world position: f(P) = A·P + 5


def _linear_image(direction, chunks=None):
    """Voxel values f(world point), with world points from SimpleITK (not our code)."""
    base = spatial_xr.from_array(np.zeros((12, 14, 16), np.float64), spacing=(2.0, 1.5, 1.0),
                                 origin=(-7.0, 4.0, 30.0), direction=direction)
    ref = base.spatial.to_sitk()
    k, j, i = np.meshgrid(*[np.arange(n) for n in base.shape], indexing="ij")
    world = np.array([ref.TransformIndexToPhysicalPoint((int(a), int(b), int(c)))
                      for a, b, c in zip(i.ravel(), j.ravel(), k.ravel(), strict=True)])
    values = (world @ A + 5.0).reshape(base.shape)
    da = base.copy(data=values)
    return da if chunks is None else da.chunk(chunks)


DIRECTIONS = {
    "identity": np.eye(3),
    "ras": np.diag([-1.0, -1.0, 1.0]),
    "oblique-det-1": Rotation.from_euler("xyz", [15, 10, -20], degrees=True).as_matrix()
    @ np.diag([1.0, -1.0, 1.0]),
}


@pytest.mark.parametrize("key", sorted(DIRECTIONS))
@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_view_pixels_are_values_at_their_world_points(key, view):
    da = _linear_image(DIRECTIONS[key])
    point = da.spatial.index_to_world([6, 7, 8]) + np.array([0.3, -0.2, 0.1])
    image, hs, vs = orthogonal_slice(da, view, point)
    fixed, h, v = {"axial": (2, 0, 1), "coronal": (1, 0, 2), "sagittal": (0, 1, 2)}[view]
    world = np.zeros(image.shape + (3,))
    world[..., fixed] = point[fixed]
    world[..., h] = hs[None, :]
    world[..., v] = vs[:, None]
    # linear interpolation reproduces a linear function exactly inside the voxel centres' hull
    idx = da.spatial.grid.world_to_index(world)
    interior = np.all((idx >= 0) & (idx <= np.array(da.spatial.grid.shape_xyz) - 1), axis=-1)
    assert interior.sum() > 20
    np.testing.assert_allclose(image[interior], world[interior] @ A + 5.0, atol=1e-9)
    outside = np.any((idx < -0.5) | (idx > np.array(da.spatial.grid.shape_xyz) - 0.5), axis=-1)
    assert np.isnan(image[outside]).all()


class _CountingArray:
    """Array-like that counts the voxels read from it."""

    def __init__(self, values):
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.read = 0

    def __getitem__(self, key):
        out = self.values[key]
        self.read += out.size
        return out


@pytest.mark.parametrize(("view", "dim"), [("axial", "z"), ("coronal", "y"),
                                         ("sagittal", "x")])
def test_reads_only_the_slab_it_needs(view, dim):
    full = _linear_image(np.eye(3))
    counter = _CountingArray(full.values)
    chunks = tuple(1 if d == dim else n for d, n in full.sizes.items())
    lazy = full.copy(data=dsa.from_array(counter, chunks=chunks, asarray=True))
    point = full.spatial.index_to_world([7.5, 6.5, 5.5])  # between voxels: 2 planes needed
    image, _, _ = orthogonal_slice(lazy, view, point)
    assert counter.read == 2 * full.size // full.sizes[dim]
    ref, _, _ = orthogonal_slice(full, view, point)
    np.testing.assert_array_equal(image, ref)


def test_plot_of_a_dask_image_does_not_load_it_whole():
    full = _linear_image(np.eye(3))
    counter = _CountingArray(full.values)
    lazy = full.copy(data=dsa.from_array(counter, chunks=(2, 2, 2), asarray=True))
    plt.close(lazy.spatial.plot(point=full.spatial.index_to_world([7, 6, 5])))
    assert 0 < counter.read < full.size / 2


def test_plot_returns_figure_with_letters_and_mm_axes(tmp_path):
    da = _linear_image(DIRECTIONS["oblique-det-1"])
    fig = da.spatial.plot(point=da.spatial.index_to_world([8, 7, 6]))
    try:
        axes = fig.axes[:3]
        assert [ax.get_title().split()[0] for ax in axes] == ["axial", "coronal", "sagittal"]
        letters = [sorted(t.get_text() for t in ax.texts) for ax in axes]
        assert letters == [["A", "L", "P", "R"], ["I", "L", "R", "S"], ["A", "I", "P", "S"]]
        assert "mm" in axes[0].get_xlabel()
        # axial: anterior (−y) at the top → inverted y axis; coronal: superior up
        assert axes[0].yaxis_inverted() and not axes[1].yaxis_inverted()
        out = tmp_path / "views.png"
        fig.savefig(out)
        assert out.stat().st_size > 1000
    finally:
        plt.close(fig)


def test_anisotropic_aspect_is_in_millimetres():
    da = spatial_xr.from_array(np.random.default_rng(1).random((5, 40, 40)),
                               spacing=(4.0, 0.5, 0.5))
    image, hs, vs = orthogonal_slice(da, "coronal", da.spatial.index_to_world([20, 20, 2]))
    # 20 mm tall (5 × 4 mm) and 20 mm wide at 0.5 mm pixels
    assert image.shape == (40, 40)
    assert hs[-1] - hs[0] == pytest.approx(19.5)
    assert vs[-1] - vs[0] == pytest.approx(19.5)


def test_rejects_extra_dims_with_a_fix():
    da = _linear_image(np.eye(3)).expand_dims(t=2)
    with pytest.raises(DimensionError, match=r"isel\(t=0\)"):
        da.spatial.plot()


def test_plane_missing_the_image_is_blank():
    da = _linear_image(np.eye(3))
    image, _, _ = orthogonal_slice(da, "axial", [0.0, 0.0, -500.0])
    assert np.isnan(image).all()
