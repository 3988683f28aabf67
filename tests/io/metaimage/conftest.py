"""Files written by SimpleITK itself, and the comparison of our reads with SimpleITK's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk  # in the test extra: a missing install fails, never skips
import xarray as xr


def rotation(axis: int, degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


DIRECTIONS_3D = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, 1.0]),  # RAS-like, det +1
    "flipped-det-1": np.diag([1.0, -1.0, 1.0]),
    "permuted": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),  # det +1
    "permuted-det-1": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
    "oblique": rotation(0, 17.0) @ rotation(2, -31.0),
    "oblique-det-1": rotation(1, 23.0) @ np.diag([1.0, 1.0, -1.0]),
}
"""Direction matrices D (columns: world directions of the x, y, z axes), LPS."""


def sitk_image(array: np.ndarray, spacing, origin, direction, vector: bool = False):
    """A SimpleITK image of ``array`` (numpy order) with the given geometry (xyz)."""
    img = sitk.GetImageFromArray(array, isVector=vector)
    img.SetSpacing([float(v) for v in spacing])
    img.SetOrigin([float(v) for v in origin])
    img.SetDirection([float(v) for v in np.asarray(direction).ravel()])
    return img


def write_sitk(img, path: Path, compress: bool = False) -> Path:
    sitk.WriteImage(img, str(path), useCompression=compress)
    return path


def sitk_array_in_our_dims(img, dims: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """SimpleITK's voxels with their dim names (numpy order: t, z, y, x, then c)."""
    arr = sitk.GetArrayFromImage(img)
    n = img.GetDimension()
    names = ("t", "z", "y", "x")[4 - n:] if n == 4 else ("z", "y", "x")[3 - n:]
    if img.GetNumberOfComponentsPerPixel() > 1:
        names = (*names, "c")
    return arr, names


def assert_matches_sitk(da: xr.DataArray, path: Path, samples: int = 20) -> None:
    """Voxels equal SimpleITK's read exactly; the world position of sampled voxels is
    within 1e-4 mm of SimpleITK's ``TransformIndexToPhysicalPoint``."""
    img = sitk.ReadImage(str(path))
    ref, names = sitk_array_in_our_dims(img, da.dims)
    ours = da.transpose(*names).values
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)
    rng = np.random.default_rng(7)
    size = img.GetSize()  # x, y, z(, t)
    grid = da.spatial.grid
    for _ in range(samples):
        idx = [int(rng.integers(0, n)) for n in size]
        expected = np.asarray(img.TransformIndexToPhysicalPoint(idx))
        got = grid.index_to_world(idx[: grid.ndim])
        np.testing.assert_allclose(got, expected[: grid.ndim], atol=1e-4, rtol=0)
        if len(size) == 4:
            np.testing.assert_allclose(float(da.coords["t"][idx[3]]), expected[3], atol=1e-4)
