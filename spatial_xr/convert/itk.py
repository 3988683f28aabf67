"""ITK ↔ spatial_xr, exact for every direction matrix, and ITK's own xarray layout.

ITK's geometry is spatial_xr's (origin = centre of voxel 0, LPS, index order ``i, j, k``).
``to_itk``/``from_itk`` convert ``itk.Image`` objects directly.

``itk.xarray_from_image`` makes DataArrays in a different convention: each coordinate is
``origin[a] + spacing[a] · i`` — the world origin's component along axis ``a``, not the
image-frame coordinate ``(Dᵀ·O)[a]`` spatial_xr uses — with ``np.flip(D)`` in
``attrs["direction"]`` and a component dim ``c`` last. The two agree only when D is the
identity; :func:`from_itk_xarray` reads ITK's convention exactly for every D.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from spatial_xr.convert._layout import itk_layout, wrap_itk_array
from spatial_xr.coords import assign_grid, grid_of
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    IrregularGridError,
    require,
)
from spatial_xr.geometry import AXES_XYZ, Grid

if TYPE_CHECKING:
    import itk as itk_module

__all__ = ["from_itk", "from_itk_xarray", "to_itk"]


def _itk() -> Any:
    return require("itk", "itk-full")


def to_itk(da: xr.DataArray) -> itk_module.Image:
    """Convert an image to an ``itk.Image`` with the same geometry.

    ITK images live in memory, so this computes the array.

    Parameters
    ----------
    da : xarray.DataArray
        2-D or 3-D image, any dim order, optionally with a component dim ``c`` (a vector
        image). The dtype must be one ITK's Python wrapping provides (e.g. uint8, int16,
        uint16, float32, float64).

    Returns
    -------
    itk.Image
        Origin, spacing and direction equal the image's Grid (x, y, z order).

    Raises
    ------
    DimensionError
        A dim other than ``z, y, x, c``.
    DependencyError
        ``itk`` is not installed (extra ``itk-full``).
    TypeError
        ITK has no image type for the dtype; the message names the cast to make.
    """
    itk = _itk()
    grid = grid_of(da)
    arr, vector = itk_layout(da, "ITK")
    values = np.ascontiguousarray(np.asarray(arr.values))
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    try:
        img = itk.image_from_array(values, is_vector=vector)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise FormatError(
            f"ITK's Python wrapping has no image type for dtype {values.dtype} "
            f"({'vector' if vector else 'scalar'}, {grid.ndim}-D); cast first, e.g. "
            "da.astype('float32')"
        ) from exc
    img.SetSpacing(grid.spacing_xyz.tolist())
    img.SetOrigin(grid.origin_xyz.tolist())
    # a fresh writable float64 copy: ITK crashes on read-only buffers
    img.SetDirection(itk.matrix_from_array(np.array(grid.direction_xyz, np.float64, copy=True)))
    return img


def grid_from_itk(img: itk_module.Image) -> Grid:
    """The :class:`~spatial_xr.geometry.Grid` of an ``itk.Image`` (2-D or 3-D)."""
    itk = _itk()
    n = int(img.GetImageDimension())
    if n not in (2, 3):
        raise DimensionError(f"spatial_xr images are 2-D or 3-D; this ITK image is {n}-D")
    return Grid(
        shape_xyz=tuple(int(v) for v in itk.size(img)),
        spacing_xyz=np.asarray(itk.spacing(img), np.float64),
        origin_xyz=np.asarray(itk.origin(img), np.float64),
        direction_xyz=np.asarray(itk.array_from_matrix(img.GetDirection()), np.float64),
    )


def from_itk(
    img: itk_module.Image, *, chunks: Any = None, name: str | None = "image"
) -> xr.DataArray:
    """Convert an ``itk.Image`` to an image DataArray with the same geometry.

    Parameters
    ----------
    img : itk.Image
        2-D or 3-D scalar or vector image.
    chunks : optional
        If given, the result is dask-backed with these chunks.
    name : str, optional
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        dims ``(c,) (z,) y, x``; a copy of the pixels.
    """
    itk = _itk()
    grid = grid_from_itk(img)
    values = np.asarray(itk.array_from_image(img))
    vector = values.ndim == grid.ndim + 1
    return wrap_itk_array(values, grid, vector, chunks, name)


def _itk_axis(da: xr.DataArray, dim: str) -> tuple[float, float]:
    """(first coordinate, step) of an ITK-convention coordinate."""
    if dim not in da.coords:
        return 0.0, 1.0
    values = np.asarray(da.coords[dim].values, np.float64)
    if values.size == 1:
        return float(values[0]), 1.0
    step = (values[-1] - values[0]) / (values.size - 1)
    if step <= 0 or np.abs(np.diff(values) - step).max() > 1e-5 * step:
        raise IrregularGridError(
            f"coordinate {dim!r} of an itk.xarray_from_image array must increase uniformly "
            f"(origin + spacing · i); got steps {np.diff(values)[:4].tolist()}..."
        )
    return float(values[0]), float(step)


def from_itk_xarray(da: xr.DataArray) -> xr.DataArray:
    """Read a DataArray made by ``itk.xarray_from_image`` into spatial_xr's convention.

    ITK writes ``coord_a = origin[a] + spacing[a] · i`` per axis (world components of the
    origin), ``attrs["direction"] = np.flip(D)`` and a component dim ``c`` last. This
    returns the same pixels with image-frame coordinates ``(Dᵀ·O)[a] + spacing[a] · i``
    (DESIGN §2.3), so ``da.spatial`` places every voxel where ITK does, for every D.

    Parameters
    ----------
    da : xarray.DataArray
        dims among ``(z,) y, x`` and ``c``, as ``itk.xarray_from_image`` makes them.

    Returns
    -------
    xarray.DataArray
        Same data (not copied, not computed), ``c`` first, ITK's metadata attrs kept.

    Raises
    ------
    DimensionError
        Dims other than ``z, y, x, c`` (e.g. ITK's ``t`` of a 4-D image).
    IrregularGridError
        A coordinate is not uniformly increasing.
    """
    sdims = [d for d in ("z", "y", "x") if d in da.dims]
    extra = [str(d) for d in da.dims if d not in sdims and d != "c"]
    if extra or len(sdims) < 2:
        raise DimensionError(
            f"expected an itk.xarray_from_image array with dims (z,) y, x (and c); got "
            f"{tuple(da.dims)}. Select 4-D images' 't' first, e.g. da.isel(t=0)."
        )
    n = len(sdims)
    names = AXES_XYZ[n]
    first, step = zip(*(_itk_axis(da, a) for a in names), strict=True)
    raw = da.attrs.get("direction")
    d_xyz = np.eye(n) if raw is None else np.flip(np.asarray(raw, np.float64))
    if d_xyz.shape != (n, n):
        raise GeometryError(f"attrs['direction'] must be {n}x{n}, got shape {d_xyz.shape}")
    grid = Grid(
        shape_xyz=tuple(int(da.sizes[a]) for a in names),
        spacing_xyz=step,
        origin_xyz=first,
        direction_xyz=d_xyz,
    )
    out = da.drop_vars([a for a in names if a in da.coords])
    if "c" in out.dims:
        out = out.drop_vars(["c"], errors="ignore").transpose("c", ...)
    return assign_grid(out, grid)
