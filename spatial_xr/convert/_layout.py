"""Array layouts shared by the ITK-family converters."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.coords import from_array, spatial_dims
from spatial_xr.errors import DimensionError
from spatial_xr.geometry import Grid

__all__ = ["itk_layout", "wrap_itk_array"]


def itk_layout(da: xr.DataArray, library: str) -> tuple[xr.DataArray, bool]:
    """The image transposed to ITK's numpy layout: spatial dims ``(z,) y, x`` then ``c``.

    Parameters
    ----------
    da : xarray.DataArray
        Image with spatial dims and optionally a ``c`` (components) dim.
    library : str
        Name used in error messages.

    Returns
    -------
    (xarray.DataArray, bool)
        The transposed array and whether it has a component dim (a vector image).

    Raises
    ------
    DimensionError
        If the image has a dim other than ``z, y, x, c``.
    """
    sdims = spatial_dims(da)
    extra = [str(d) for d in da.dims if d not in sdims]
    unknown = [d for d in extra if d != "c"]
    if unknown:
        raise DimensionError(
            f"{library} images hold spatial dims and at most one component dim 'c'; this "
            f"image also has {unknown}. Select one frame first, e.g. da.isel({unknown[0]}=0)."
        )
    order = [d for d in ("z", "y", "x") if d in sdims] + extra
    return da.transpose(*order), bool(extra)


def wrap_itk_array(
    array: np.ndarray[Any, Any], grid: Grid, vector: bool, chunks: Any, name: str | None
) -> xr.DataArray:
    """Wrap an ITK-layout numpy array (``(z,) y, x[, c]``) as an image on ``grid``.

    The component dim ``c`` is moved first (DESIGN §2.1); ``chunks`` (as for
    ``DataArray.chunk``) makes the result dask-backed.
    """
    dims = ("z", "y", "x")[3 - grid.ndim:] + (("c",) if vector else ())
    da = from_array(
        array,
        spacing=tuple(grid.spacing_zyx.tolist()),
        origin=grid.origin_xyz,
        direction=grid.direction_xyz,
        dims=dims,
        name=name,
    )
    if vector:
        da = da.transpose("c", ...)
    return da if chunks is None else da.chunk(chunks)
