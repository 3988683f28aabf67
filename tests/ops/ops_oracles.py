"""Oracle helpers for the ops tests: SimpleITK images and filters built from our grids."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import spatial_xr
from spatial_xr.geometry import Grid, rotation_matrix

sitk = pytest.importorskip("SimpleITK")

SITK_INTERP = {
    "nearest": sitk.sitkNearestNeighbor,
    "linear": sitk.sitkLinear,
    "cubic": sitk.sitkBSpline,
    "label": sitk.sitkLabelLinear,
}


rotation = rotation_matrix

DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, 1.0, -1.0]),
    "permuted": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "oblique": rotation(2, 20.0) @ rotation(0, -12.0) @ np.diag([1.0, -1.0, 1.0]),
}


def to_sitk(da: xr.DataArray) -> sitk.Image:
    """A SimpleITK image with the DataArray's values and geometry (dims z, y, x or y, x)."""
    g = da.spatial.grid
    arr = np.ascontiguousarray(da.transpose(*("z", "y", "x")[3 - g.ndim:]).values)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(g.spacing_xyz.tolist())
    img.SetOrigin(g.origin_xyz.tolist())
    img.SetDirection(g.direction_xyz.ravel().tolist())
    return img


def sitk_grid(img: sitk.Image) -> Grid:
    n = img.GetDimension()
    return Grid(img.GetSize(), img.GetSpacing(), img.GetOrigin(),
                np.reshape(img.GetDirection(), (n, n)))


def from_sitk(img: sitk.Image) -> xr.DataArray:
    g = sitk_grid(img)
    return spatial_xr.from_array(sitk.GetArrayFromImage(img), spacing=g.spacing_zyx,
                                 origin=g.origin_xyz, direction=g.direction_xyz)


def sitk_resample(img: sitk.Image, grid: Grid, interpolation: str, transform=None,
                  fill: float = 0.0, pixel_type=None, image: bool = False):
    """SimpleITK's ResampleImageFilter onto ``grid``; the zyx array (or the image)."""
    f = sitk.ResampleImageFilter()
    f.SetSize([int(v) for v in grid.shape_xyz])
    f.SetOutputSpacing(grid.spacing_xyz.tolist())
    f.SetOutputOrigin(grid.origin_xyz.tolist())
    f.SetOutputDirection(grid.direction_xyz.ravel().tolist())
    f.SetInterpolator(SITK_INTERP[interpolation])
    f.SetDefaultPixelValue(float(fill))
    if transform is not None:
        f.SetTransform(transform)
    if pixel_type is not None:
        f.SetOutputPixelType(pixel_type)
    out = f.Execute(img)
    return out if image else sitk.GetArrayFromImage(out)


def continuous_index_zyx(out_grid: Grid, in_img: sitk.Image, transform=None) -> np.ndarray:
    """Input continuous index (z, y, x) of every output voxel, shape (*out.shape_zyx, n),
    from SimpleITK's geometry (points mapped through the SimpleITK transform)."""
    n = out_grid.ndim
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in out_grid.shape_xyz], indexing="ij"),
                   axis=-1).reshape(-1, n).astype(np.float64)
    pts = out_grid.index_to_world(idx)
    if transform is not None:
        pts = np.array([transform.TransformPoint(p.tolist()) for p in pts])
    g = sitk_grid(in_img)
    cidx = g.world_to_index(pts)
    return cidx.reshape(*out_grid.shape_xyz, n).transpose(*range(n)[::-1], n)[..., ::-1]


def tie_mask(cidx: np.ndarray, in_shape_zyx, tol: float = 1e-6,
             rounding: bool = True) -> np.ndarray:
    """Voxels whose continuous index sits on the inside border (−½ or n − ½), where a
    last-bit difference decides inside or outside, or (``rounding``) on a rounding tie
    (x.5), where it decides the nearest voxel."""
    frac = cidx - np.floor(cidx)
    tie = np.any(np.abs(frac - 0.5) < tol, axis=-1) if rounding else False
    edge = np.any((np.abs(cidx + 0.5) < tol)
                  | (np.abs(cidx - (np.asarray(in_shape_zyx) - 0.5)) < tol), axis=-1)
    return tie | edge


def interior_mask(cidx: np.ndarray, in_shape_zyx, lo: int, hi: int) -> np.ndarray:
    """Voxels whose interpolation support (floor(x) − lo … floor(x) + hi) is inside."""
    f = np.floor(cidx)
    return np.all((f - lo >= 0) & (f + hi <= np.asarray(in_shape_zyx) - 1), axis=-1)


class CountingArray:
    """Array-like that records every region read (to count the chunks a graph touches)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.shape = values.shape
        self.dtype = values.dtype
        self.ndim = values.ndim
        self.reads: list[tuple[slice, ...]] = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.values[key]


def sitk_points(img: sitk.Image, points_xyz: np.ndarray, interpolation: str,
                fill: float = 0.0) -> np.ndarray:
    """SimpleITK interpolator values at arbitrary world points.

    Resamples onto an N×1(×1) grid through a displacement field that moves output voxel
    ``i`` onto point ``i`` (the field is sampled exactly at its own nodes).
    """
    n = img.GetDimension()
    npts = len(points_xyz)
    size = [npts] + [1] * (n - 1)
    ref = sitk.Image(size, sitk.sitkFloat32)
    nodes = np.zeros((npts, n))
    nodes[:, 0] = np.arange(npts)
    disp = np.asarray(points_xyz, np.float64) - nodes
    field = sitk.GetImageFromArray(disp.reshape(*size[::-1], n), isVector=True)
    tx = sitk.DisplacementFieldTransform(sitk.Cast(field, sitk.sitkVectorFloat64))
    f = sitk.ResampleImageFilter()
    f.SetReferenceImage(ref)
    f.SetOutputPixelType(sitk.sitkFloat64 if interpolation in ("linear", "cubic")
                         else img.GetPixelID())
    f.SetInterpolator(SITK_INTERP[interpolation])
    f.SetDefaultPixelValue(float(fill))
    f.SetTransform(tx)
    return sitk.GetArrayFromImage(f.Execute(img)).reshape(-1)
