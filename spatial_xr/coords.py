"""Reading and writing a :class:`~spatial_xr.geometry.Grid` on an ``xarray.DataArray``.

The geometry lives in the image-frame coordinates of the spatial dims plus
``attrs["direction"]`` (zyx order), as DESIGN §2 fixes: ``world = D · coords``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from spatial_xr.errors import DimensionError, GeometryError, IrregularGridError
from spatial_xr.geometry import AXES_XYZ, Grid

__all__ = [
    "DEFAULT_DIMS",
    "DEFAULT_UNITS",
    "assign_grid",
    "extra_dims",
    "from_array",
    "grid_of",
    "spatial_dims",
    "values_by_dim",
]

DEFAULT_UNITS = "millimeter"
DEFAULT_DIMS: dict[int, tuple[str, ...]] = {
    2: ("y", "x"),
    3: ("z", "y", "x"),
    4: ("t", "z", "y", "x"),
    5: ("t", "c", "z", "y", "x"),
}
_UNIFORM_RTOL = 1e-5


def spatial_dims(da: xr.DataArray) -> tuple[str, ...]:
    """Spatial dims of ``da`` in array order (a subset of ``z``, ``y``, ``x``).

    Raises
    ------
    DimensionError
        If ``y`` or ``x`` is missing.
    """
    dims = tuple(str(d) for d in da.dims if d in ("z", "y", "x"))
    if "x" not in dims or "y" not in dims:
        raise DimensionError(
            f"an image needs spatial dims named 'y' and 'x' (and 'z' for 3-D); this array has "
            f"dims {tuple(da.dims)}. Rename them, e.g. da.rename(dim_0='z', dim_1='y', "
            "dim_2='x')."
        )
    return dims


def extra_dims(da: xr.DataArray, allowed: Sequence[str], stores: str,
               fix: str = "Select or stack them first (e.g. da.isel(...)).") -> list[str]:
    """The non-spatial dims of ``da`` (in array order), after checking that a file format
    or library can hold them.

    Parameters
    ----------
    da : xarray.DataArray
    allowed : sequence of str
        Non-spatial dims the target holds (e.g. ``("t", "c")``).
    stores : str
        What the target holds, for the message (e.g. ``"NRRD stores dims x, y, z plus
        optional c and t"``).
    fix : str
        How to fix an image with other dims, for the message; ``{first}`` stands for the
        first such dim.

    Returns
    -------
    list of str

    Raises
    ------
    DimensionError
        ``y`` or ``x`` is missing, or a dim is neither spatial nor in ``allowed`` (the
        message names it).
    """
    sdims = spatial_dims(da)
    extra = [str(d) for d in da.dims if d not in sdims]
    unknown = [d for d in extra if d not in allowed]
    if unknown:
        raise DimensionError(f"{stores}; this image also has {unknown}. "
                             + fix.format(first=unknown[0]))
    return extra


def _direction_xyz(da: xr.DataArray, n: int) -> np.ndarray:
    raw = da.attrs.get("direction")
    if raw is None:
        return np.eye(n)
    d = np.asarray(raw, dtype=np.float64)
    if d.shape != (n, n):
        raise GeometryError(
            f"attrs['direction'] must be a {n}x{n} matrix (zyx order) for an image with "
            f"{n} spatial dims, got shape {d.shape}"
        )
    return np.flip(d)


def _first_and_step(da: xr.DataArray, dim: str) -> tuple[float, float]:
    size = da.sizes[dim]
    if dim not in da.coords:
        return 0.0, 1.0
    coord = da.coords[dim]
    values = np.asarray(coord.values, dtype=np.float64)
    if values.ndim != 1:
        raise IrregularGridError(f"coordinate {dim!r} must be 1-D, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise IrregularGridError(f"coordinate {dim!r} holds non-finite values")
    if size == 1:
        return float(values[0]), float(coord.attrs.get("spacing", 1.0))
    step = (values[-1] - values[0]) / (size - 1)
    deviation = np.abs(np.diff(values) - step).max()
    if step == 0 or deviation > _UNIFORM_RTOL * abs(step):
        diffs = np.diff(values)
        raise IrregularGridError(
            f"coordinate {dim!r} is not uniformly spaced (steps from {diffs.min():.6g} to "
            f"{diffs.max():.6g}), so it describes no regular grid. Select with a slice or a "
            f"step instead of a list, or resample onto a regular grid."
        )
    return float(values[0]), float(step)


def grid_of(da: xr.DataArray) -> Grid:
    """The :class:`Grid` of a DataArray, read from its coordinates and ``attrs["direction"]``.

    Works for any dim order and ignores non-spatial dims (``t``, ``c``, …). A spatial dim
    without a coordinate counts as index coordinates (origin 0, spacing 1). A reversed
    coordinate gives a positive spacing and a negated direction column.

    Raises
    ------
    DimensionError, IrregularGridError, GeometryError
    """
    dims = spatial_dims(da)
    n = len(dims)
    names = AXES_XYZ[n]
    first, step = zip(*(_first_and_step(da, a) for a in names), strict=True)
    return Grid.from_image_frame(
        shape_xyz=tuple(da.sizes[a] for a in names),
        first_xyz=first,
        step_xyz=step,
        direction_xyz=_direction_xyz(da, n),
    )


def assign_grid(da: xr.DataArray, grid: Grid) -> xr.DataArray:
    """Return ``da`` with coordinates and ``attrs["direction"]`` describing ``grid``.

    Parameters
    ----------
    da : xarray.DataArray
        Image whose spatial dim sizes equal ``grid.shape_xyz`` (matched by name).
    grid : Grid

    Raises
    ------
    DimensionError
        If the spatial dims do not match the grid's dimensionality or sizes.
    """
    dims = spatial_dims(da)
    if len(dims) != grid.ndim:
        raise DimensionError(
            f"the array has {len(dims)} spatial dims {dims} but the grid is {grid.ndim}-D"
        )
    names = grid.axes
    sizes = tuple(da.sizes[a] for a in names)
    if sizes != grid.shape_xyz:
        raise DimensionError(
            f"array sizes {dict(zip(names, sizes, strict=True))} differ from grid shape "
            f"{dict(zip(names, grid.shape_xyz, strict=True))}"
        )
    new_coords = {}
    for a, values, spacing in zip(names, grid.image_coords(), grid.spacing_xyz, strict=True):
        old = da.coords[a].attrs if a in da.coords else {}
        attrs = {k: v for k, v in old.items() if k != "spacing"}
        attrs.setdefault("units", DEFAULT_UNITS)
        # Fallback spacing, read only when the axis has length 1 (a single slice keeps its
        # thickness); for longer axes the coordinate values alone define the spacing.
        attrs["spacing"] = float(spacing)
        new_coords[a] = xr.Variable((a,), values, attrs)
    out = da.assign_coords(new_coords)
    out.attrs = {**da.attrs, "direction": grid.direction_zyx.copy()}
    return out


def values_by_dim(
    value: float | Sequence[float] | Mapping[Hashable, float] | ArrayLike | None,
    dims: Sequence[str],
    what: str,
    default: float = 1.0,
) -> dict[str, float]:
    """A per-axis argument (spacing, shape, size, …) as one float per spatial dim.

    Parameters
    ----------
    value : float, sequence, mapping or None
        A scalar (every dim), one value per dim **in the order of** ``dims``, or a
        mapping by dim name (every dim of ``dims`` present; other keys ignored).
        ``None``: ``default`` for every dim.
    dims : sequence of str
        The spatial dims, in the array's order (e.g. ``spatial_dims(da)``).
    what : str
        Name of the argument, for error messages.
    default : float
        Value of every dim when ``value`` is None.

    Returns
    -------
    dict
        dim name → float, in the order of ``dims``.

    Raises
    ------
    GeometryError
        A mapping that lacks a dim, a sequence whose length is neither 1 nor
        ``len(dims)``, or values that are not numbers.

    Examples
    --------
    >>> values_by_dim((2.5, 0.7, 0.9), ("z", "y", "x"), "spacing")
    {'z': 2.5, 'y': 0.7, 'x': 0.9}
    >>> values_by_dim({"x": 1, "y": 2}, ("y", "x"), "shape")
    {'y': 2.0, 'x': 1.0}
    """
    if value is None:
        return dict.fromkeys(dims, default)
    if isinstance(value, Mapping):
        missing = set(dims) - set(value)
        if missing:
            raise GeometryError(f"{what} mapping lacks dims {sorted(missing)}; got {dict(value)}")
        try:
            return {d: float(value[d]) for d in dims}
        except (TypeError, ValueError) as exc:
            raise GeometryError(f"{what} values must be numbers, got {dict(value)}") from exc
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise GeometryError(
            f"{what} must be a number, a mapping by dim name or {len(dims)} numbers in the "
            f"order of the spatial dims {tuple(dims)}; got {value!r}"
        ) from exc
    if arr.size == 1:
        return dict.fromkeys(dims, float(arr[0]))
    if arr.shape != (len(dims),):
        raise GeometryError(
            f"{what} must be a scalar, a mapping by dim name or {len(dims)} values in the "
            f"order of the spatial dims {tuple(dims)}; got {value!r}"
        )
    return {d: float(v) for d, v in zip(dims, arr, strict=True)}


def from_array(
    array: Any,
    spacing: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    origin: ArrayLike | None = None,
    direction: ArrayLike | None = None,
    dims: Sequence[str] | None = None,
    *,
    name: str | None = "image",
    attrs: Mapping[str, Any] | None = None,
    units: str = DEFAULT_UNITS,
) -> xr.DataArray:
    """Wrap a numpy or dask array as an image with geometry.

    Parameters
    ----------
    array : numpy.ndarray or dask.array.Array, shape matching ``dims``
        Pixel data; not copied or computed.
    spacing : float, sequence or mapping, optional
        Voxel spacing (mm): a scalar (isotropic), one value per spatial dim **in the order
        the spatial dims appear in** ``dims`` (``z, y, x`` by default), or a mapping
        ``{"z": 2.5, "y": 0.7, "x": 0.7}``. Default 1.
    origin : array_like, shape (n,), optional
        World position (LPS mm, **x, y, z order**) of the centre of voxel 0. Default 0.
    direction : array_like, shape (n, n), optional
        Direction matrix in **x, y, z order** as ITK/SimpleITK give it (column a is the world
        unit vector of the array axis named x, y, z for a = 0, 1, 2). Default identity.
    dims : sequence of str, optional
        Dim names; default ``("z", "y", "x")`` for 3-D, ``("y", "x")`` for 2-D,
        ``("t", "z", "y", "x")`` for 4-D and ``("t", "c", "z", "y", "x")`` for 5-D.
    name : str, optional
        Name of the DataArray.
    attrs : mapping, optional
        Extra JSON-serialisable attributes.
    units : str
        UDUNITS-2 name of the spatial unit, stored on each spatial coordinate.

    Returns
    -------
    xarray.DataArray

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.zeros((3, 4, 5)), spacing=(2.5, 0.7, 0.7))
    >>> {dim: round(s, 12) for dim, s in da.spatial.spacing.items()}  # read from the coords
    {'z': 2.5, 'y': 0.7, 'x': 0.7}
    """
    shape = tuple(getattr(array, "shape", ()))
    if dims is None:
        if len(shape) not in DEFAULT_DIMS:
            raise DimensionError(
                f"cannot guess dims for a {len(shape)}-D array of shape {shape}; pass dims="
            )
        dims = DEFAULT_DIMS[len(shape)]
    dims = tuple(dims)
    if len(dims) != len(shape):
        raise DimensionError(f"dims {dims} do not match the array's shape {shape}")
    da = xr.DataArray(array, dims=dims, name=name, attrs=dict(attrs or {}))
    sdims = spatial_dims(da)
    sp = values_by_dim(spacing, sdims, "spacing")
    names = AXES_XYZ[len(sdims)]
    grid = Grid(
        shape_xyz=tuple(da.sizes[a] for a in names),
        spacing_xyz=[sp[a] for a in names],
        origin_xyz=origin,
        direction_xyz=direction,
    )
    da = assign_grid(da, grid)
    for a in sdims:
        da.coords[a].attrs["units"] = units
    return da
