"""SimpleITK ↔ spatial_xr, exact for every direction matrix.

SimpleITK's geometry is spatial_xr's: origin = centre of voxel 0, spacing and direction in
index order ``i, j, k`` (dims ``x, y, z``), LPS world. ``sitk.GetArrayFromImage`` gives the
numpy layout ``(z,) y, x`` with vector components last; spatial_xr puts a component dim
``c`` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from spatial_xr.convert._layout import itk_layout, wrap_itk_array
from spatial_xr.coords import grid_of
from spatial_xr.errors import DimensionError, require
from spatial_xr.geometry import Grid

if TYPE_CHECKING:
    import SimpleITK

__all__ = ["from_sitk", "to_sitk"]


def _sitk() -> Any:
    return require("SimpleITK", "itk")


def to_sitk(da: xr.DataArray) -> SimpleITK.Image:
    """Convert an image to a ``SimpleITK.Image`` with the same geometry.

    SimpleITK images live in memory, so this computes the array (a dask array is computed
    once, in full).

    Parameters
    ----------
    da : xarray.DataArray
        2-D or 3-D image, any dim order, optionally with a component dim ``c`` (written
        as a vector pixel).

    Returns
    -------
    SimpleITK.Image
        ``GetOrigin``, ``GetSpacing`` and ``GetDirection`` equal the image's
        :class:`~spatial_xr.geometry.Grid` (x, y, z order), so
        ``TransformIndexToPhysicalPoint`` agrees with ``da.spatial.index_to_world``.

    Raises
    ------
    DimensionError
        If the image has a dim other than ``z, y, x, c``.
    DependencyError
        If SimpleITK is not installed (extra ``itk``).
    """
    sitk = _sitk()
    grid = grid_of(da)
    arr, vector = itk_layout(da, "SimpleITK")
    values = np.ascontiguousarray(np.asarray(arr.values))
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    img = sitk.GetImageFromArray(values, isVector=vector)
    img.SetSpacing(grid.spacing_xyz.tolist())
    img.SetOrigin(grid.origin_xyz.tolist())
    img.SetDirection(grid.direction_xyz.ravel().tolist())
    return img


def grid_from_sitk(img: SimpleITK.Image) -> Grid:
    """The :class:`~spatial_xr.geometry.Grid` of a SimpleITK image (2-D or 3-D)."""
    n = img.GetDimension()
    if n not in (2, 3):
        raise DimensionError(
            f"spatial_xr images are 2-D or 3-D; this SimpleITK image is {n}-D. Extract a "
            "volume first, e.g. sitk.Extract(img, size[:3] + [0], index)."
        )
    return Grid(
        shape_xyz=tuple(int(v) for v in img.GetSize()),
        spacing_xyz=img.GetSpacing(),
        origin_xyz=img.GetOrigin(),
        direction_xyz=np.reshape(img.GetDirection(), (n, n)),
    )


def from_sitk(
    img: SimpleITK.Image, *, chunks: Any = None, name: str | None = "image"
) -> xr.DataArray:
    """Convert a ``SimpleITK.Image`` to an image DataArray with the same geometry.

    Parameters
    ----------
    img : SimpleITK.Image
        2-D or 3-D scalar or vector image.
    chunks : optional
        If given, the result is dask-backed with these chunks (as for ``DataArray.chunk``).
    name : str, optional
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        dims ``(c,) (z,) y, x`` (``c`` only for vector images), a copy of the pixels.

    Raises
    ------
    DimensionError
        If the image is not 2-D or 3-D.
    """
    sitk = _sitk()
    grid = grid_from_sitk(img)
    values = sitk.GetArrayFromImage(img)
    vector = values.ndim == grid.ndim + 1
    return wrap_itk_array(values, grid, vector, chunks, name)
