"""Shared fixtures of the OME-Zarr tests: images with known geometry."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

import spatial_xr as sx

OBLIQUE = Rotation.from_euler("xyz", [10.0, 20.0, 30.0], degrees=True).as_matrix()

DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, 1.0]),
    "permuted": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    "signed_permutation_det_neg": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0],
                                            [0.0, 0.0, 1.0]]) @ np.diag([1.0, 1.0, -1.0]),
    "oblique": OBLIQUE,
    "oblique_det_neg": OBLIQUE @ np.diag([1.0, -1.0, 1.0]),
}


def make_image(shape=(12, 20, 18), direction=None, dims=None, dtype="int16", seed=0,
               spacing=None, origin=None):
    """A random image with a distinctive geometry (spacing, origin, direction)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(-500, 3000, size=shape).astype(dtype)
    dims = dims or {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("t", "z", "y", "x"),
                    5: ("t", "c", "z", "y", "x")}[len(shape)]
    n = sum(d in "zyx" for d in dims)
    if spacing is None:
        spacing = (2.5, 0.7, 0.9)[-n:]
    if origin is None:
        origin = (-12.25, 7.5, 31.0)[:n]
    if direction is not None:
        direction = np.asarray(direction)[:n, :n]
    return sx.from_array(data, spacing=spacing, origin=origin, direction=direction, dims=dims)
