"""Lossless reorientation by lazy flips and axis swaps (no interpolation)."""

from __future__ import annotations

import xarray as xr

from spatial_xr.coords import assign_grid, grid_of

__all__ = ["reorient"]


def reorient(da: xr.DataArray, code: str | None = None) -> xr.DataArray:
    """Lay an image out in orientation ``code`` by flips and transposes only.

    Parameters
    ----------
    da : xarray.DataArray
        Image obeying the geometry contract.
    code : str, optional
        Orientation code (nibabel letters, e.g. ``"RAS"``, any of the 48 for 3-D). ``None``
        means the layout closest to the identity direction (``"LPS"``, or ``"LP"`` in 2-D).

    Returns
    -------
    xarray.DataArray
        Same values, same world positions; the array dims keep their positions, and the
        data along each is taken from the matching old axis. Lazy for dask-backed arrays.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.zeros((2, 3, 4)))
    >>> da.spatial.reorient("RAS").spatial.orientation
    'RAS'
    """
    grid = grid_of(da)
    names = grid.axes
    if code is None:
        code = "LPS"[: grid.ndim]
    new_grid, perm, flips = grid.reorient(code)
    if perm == tuple(range(grid.ndim)) and not any(flips):
        return assign_grid(da, new_grid)
    units = {a: da.coords[a].attrs.get("units") for a in names if a in da.coords}
    out = da.drop_vars([a for a in names if a in da.coords])
    out = out.isel({names[p]: slice(None, None, -1) for p, f in zip(perm, flips, strict=True) if f})
    out = out.rename({names[p]: f"__reorient_{a}" for a, p in enumerate(perm)})
    out = out.rename({f"__reorient_{a}": names[a] for a in range(grid.ndim)})
    out = out.transpose(*da.dims)
    out = assign_grid(out, new_grid)
    for a in names:
        src = names[perm[names.index(a)]]
        if units.get(src):
            out.coords[a].attrs["units"] = units[src]
    return out
