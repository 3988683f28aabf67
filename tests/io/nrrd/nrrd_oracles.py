"""Shared inputs and oracles for the NRRD tests: voxel data from nibabel's real test images,
files written by SimpleITK, pynrrd and dcm2niix, and comparisons against SimpleITK's and
pynrrd's reads."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr

from spatial_xr.geometry import rotation_matrix

OBLIQUE = rotation_matrix(0, 17.0) @ rotation_matrix(1, -9.0) @ rotation_matrix(2, 31.0)
DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, 1.0, -1.0]),
    "permuted": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "permuted_det-1": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]),
    "oblique": OBLIQUE,
    "oblique_det-1": OBLIQUE @ np.diag([1.0, -1.0, 1.0]),
}
SPACING = (0.9, 1.1, 2.5)  # x, y, z
ORIGIN = (-31.5, 12.25, 80.0)


def sitk_image(arr: np.ndarray, direction: np.ndarray, *, vector: bool = False,
               spacing: tuple[float, ...] = SPACING, origin: tuple[float, ...] = ORIGIN
               ) -> sitk.Image:
    """A SimpleITK image of ``arr`` (numpy order) with the given geometry (xyz)."""
    img = sitk.GetImageFromArray(arr, isVector=vector)
    n = img.GetDimension()
    img.SetSpacing(spacing[:n])
    img.SetOrigin(origin[:n])
    img.SetDirection(np.asarray(direction)[:n, :n].ravel().tolist())
    return img


def sitk_values(img: sitk.Image) -> np.ndarray:
    """SimpleITK's voxels in spatial_xr's dim order (t, c, z, y, x)."""
    a = sitk.GetArrayFromImage(img)
    if img.GetNumberOfComponentsPerPixel() > 1:
        a = np.moveaxis(a, -1, 1 if img.GetDimension() == 4 else 0)
    return a


def assert_matches_sitk(da: xr.DataArray, path: Path | str, n: int = 60, seed: int = 0
                        ) -> sitk.Image:
    """World positions of ``n`` sampled voxels within 1e-4 mm of SimpleITK's (and the
    time coordinate, for 4-D images), and every voxel value equal."""
    img = sitk.ReadImage(str(path))
    grid = da.spatial.grid
    rng = np.random.default_rng(seed)
    ijk = np.stack([rng.integers(0, s, n) for s in grid.shape_xyz], axis=-1)
    ours = grid.index_to_world(ijk)
    k = grid.ndim
    extra = [0] * (img.GetDimension() - k)
    ref = np.array([img.TransformIndexToPhysicalPoint([int(v) for v in i] + extra)[:k]
                    for i in ijk])
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)
    if img.GetDimension() == 4:
        t = [img.TransformIndexToPhysicalPoint([0, 0, 0, j])[3] for j in range(da.sizes["t"])]
        np.testing.assert_allclose(da.coords["t"].values, t, atol=1e-9)
    np.testing.assert_array_equal(da.values, sitk_values(img))
    return img


def dcm2niix() -> str:
    exe = shutil.which("dcm2niix") or str(Path(sys.executable).with_name("dcm2niix"))
    if not Path(exe).exists():
        pytest.fail("dcm2niix (the test extra's dcm2niix package) is not installed")
    return exe


def write_raw_nrrd(path: Path, header: str, data: bytes = b"") -> Path:
    """A hand-made NRRD file: header text then bytes."""
    path.write_bytes(header.encode() + data)
    return path
