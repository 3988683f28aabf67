"""Images with every kind of direction matrix, shared by the converter tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import spatial_xr


def _directions() -> dict[str, np.ndarray]:
    oblique = Rotation.from_euler("xyz", [20, -35, 50], degrees=True).as_matrix()
    return {
        "identity": np.eye(3),
        "flipped": np.diag([-1.0, 1.0, -1.0]),  # det +1
        "ras": np.diag([-1.0, -1.0, 1.0]),
        "permuted": np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]]),
        "permuted-det-1": np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, -1]]),
        "oblique": oblique,
        "oblique-det-1": oblique @ np.diag([1.0, -1.0, 1.0]),
    }


DIRECTIONS = _directions()


@pytest.fixture(params=sorted(DIRECTIONS))
def image3d(request: pytest.FixtureRequest):
    """A 3-D float32 image (dims z, y, x; shape 4, 5, 6) with anisotropic spacing."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(4, 5, 6)).astype(np.float32)
    return spatial_xr.from_array(
        data,
        spacing=(2.5, 0.75, 0.5),
        origin=(-12.25, 31.5, 7.125),
        direction=DIRECTIONS[request.param],
    )


@pytest.fixture
def image2d():
    """A 2-D oblique int16 image (dims y, x)."""
    c, s = np.cos(0.3), np.sin(0.3)
    return spatial_xr.from_array(
        np.arange(35, dtype=np.int16).reshape(5, 7),
        spacing=(0.8, 1.3),
        origin=(4.0, -2.0),
        direction=[[c, -s], [s, c]],
    )


def all_indices_xyz(shape_xyz: tuple[int, ...]) -> np.ndarray:
    """Every voxel index (i, j, k) of a grid, shape (N, n)."""
    return np.stack(np.meshgrid(*[np.arange(n) for n in shape_xyz], indexing="ij"), -1).reshape(
        -1, len(shape_xyz))


@pytest.fixture
def voxel_indices_xyz():
    """Function: shape_xyz → every voxel index (i, j, k), shape (N, n)."""
    return all_indices_xyz
