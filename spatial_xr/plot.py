"""Three orthogonal views (axial, coronal, sagittal) through a world point.

The views are planes of the LPS world, not of the array, so an oblique image is shown in
patient space: each view is resampled on a regular millimetre grid in its plane from the
voxels around the plane only (``scipy.ndimage.map_coordinates`` on the slab of voxels the
plane passes through), so a large dask-backed volume is never loaded whole.

Display convention (radiological): axial and coronal views show the patient's Right on
the screen's left; axial has Anterior at the top; coronal and sagittal have Superior at
the top; sagittal has Anterior on the left. Orientation letters mark every side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import ndimage

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import DimensionError, GeometryError, UnsupportedOptionError, require
from spatial_xr.geometry import Grid

__all__ = ["VIEWS", "orthogonal_slice", "plot_orthogonal"]

# name: (fixed world axis, horizontal world axis, vertical world axis,
#        letters left/right/top/bottom, whether the vertical axis points up on screen)
VIEWS: dict[str, tuple[int, int, int, tuple[str, str, str, str], bool]] = {
    "axial": (2, 0, 1, ("R", "L", "A", "P"), False),
    "coronal": (1, 0, 2, ("R", "L", "S", "I"), True),
    "sagittal": (0, 1, 2, ("A", "P", "S", "I"), True),
}
_AXIS_NAMES = ("x", "y", "z")


def _plane_axes(grid: Grid, view: str, pixel_mm: float | None,
                max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    _, h, v, _, _ = VIEWS[view]
    lo, hi = grid.bounds
    step = float(pixel_mm) if pixel_mm else float(grid.spacing_xyz.min())
    extent = max(hi[h] - lo[h], hi[v] - lo[v])
    step = max(step, extent / max_pixels)
    hs = np.arange(lo[h] + step / 2, hi[h], step)
    vs = np.arange(lo[v] + step / 2, hi[v], step)
    return hs, vs


def orthogonal_slice(
    da: xr.DataArray,
    view: str,
    point: ArrayLike,
    *,
    pixel_mm: float | None = None,
    order: int = 1,
    max_pixels: int = 512,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample one world plane through ``point``.

    Parameters
    ----------
    da : xarray.DataArray
        3-D image (spatial dims only).
    view : {"axial", "coronal", "sagittal"}
        Plane z = const, y = const or x = const (LPS).
    point : array_like, shape (3,)
        World point (LPS mm, x, y, z) the plane passes through.
    pixel_mm : float, optional
        Pixel size of the view (default: the smallest voxel spacing).
    order : int
        Spline order (0 nearest, for labels; 1 linear).
    max_pixels : int
        Upper bound on pixels per side (the pixel grows to respect it).

    Returns
    -------
    image : ndarray, shape (len(vs), len(hs))
        Samples, NaN outside the image's voxel box.
    hs, vs : ndarray
        World coordinates (mm) of the pixel centres along the horizontal and vertical
        world axes of the view.
    """
    if not isinstance(view, str) or view not in VIEWS:
        raise UnsupportedOptionError(f"view must be one of {sorted(VIEWS)}, got {view!r}")
    grid = grid_of(da)
    dims = spatial_dims(da)
    fixed, h, v, _, _ = VIEWS[view]
    hs, vs = _plane_axes(grid, view, pixel_mm, max_pixels)
    pts = np.empty((len(vs), len(hs), 3))
    pts[..., fixed] = float(np.asarray(point, np.float64)[fixed])
    pts[..., h] = hs[np.newaxis, :]
    pts[..., v] = vs[:, np.newaxis]
    idx_xyz = grid.world_to_index(pts)
    shape = np.asarray(grid.shape_xyz, np.float64)
    inside = np.all((idx_xyz >= -0.5) & (idx_xyz <= shape - 0.5), axis=-1)
    image = np.full(inside.shape, np.nan)
    if not inside.any():
        return image, hs, vs
    # the slab of voxels the plane touches (floor/ceil include the interpolation neighbours)
    axis_of = {name: a for a, name in enumerate(grid.axes)}
    cols = [axis_of[d] for d in dims]
    idx = idx_xyz[inside][:, cols]  # (N, 3) in the array's dim order
    lo = np.clip(np.floor(idx.min(axis=0)).astype(int), 0, None)
    hi = np.minimum(np.ceil(idx.max(axis=0)).astype(int),
                    np.array([da.sizes[d] for d in dims]) - 1)
    slab = da.isel({d: slice(int(a), int(b) + 1) for d, a, b in zip(dims, lo, hi, strict=True)})
    values = np.asarray(slab.values, dtype=np.float64)
    image[inside] = ndimage.map_coordinates(values, (idx - lo).T, order=order, mode="nearest")
    return image, hs, vs


def plot_orthogonal(
    da: xr.DataArray,
    point: ArrayLike | None = None,
    *,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    order: int | None = None,
    pixel_mm: float | None = None,
    max_pixels: int = 512,
    figsize: tuple[float, float] = (12.0, 4.4),
    crosshair: bool = True,
) -> Any:
    """Axial, coronal and sagittal views of an image through a world point.

    Parameters
    ----------
    da : xarray.DataArray
        3-D image; select ``t``/``c`` first (e.g. ``da.isel(t=0)``).
    point : array_like, shape (3,), optional
        World point (LPS mm, x, y, z); default: the centre of the image.
    cmap, vmin, vmax
        Passed to ``imshow``; default limits are the 1st and 99th percentiles of the
        shown pixels.
    order : int, optional
        Interpolation order; default 0 (nearest) for a label image
        (``attrs["kind"] == "label"``), else 1.
    pixel_mm : float, optional
        Pixel size of the views (default: the smallest spacing).
    max_pixels : int
        Upper bound on the pixels per side of a view.
    figsize : (float, float)
        Figure size in inches.
    crosshair : bool
        Draw lines through the point.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes titled ``axial``, ``coronal``, ``sagittal``, with world mm on the axes
        and orientation letters on every side.

    Raises
    ------
    DimensionError
        The image is not 3-D or has non-spatial dims.
    """
    require("matplotlib", "plot")
    import matplotlib.pyplot as plt

    sdims = spatial_dims(da)
    extra = [str(d) for d in da.dims if d not in sdims]
    if extra or len(sdims) != 3:
        raise DimensionError(
            f"plot draws one 3-D volume; this image has dims {tuple(da.dims)}. Select a "
            f"volume first, e.g. da.isel({(extra or ['t'])[0]}=0)."
        )
    if order is None:
        order = 0 if da.attrs.get("kind") == "label" else 1
    grid = grid_of(da)
    p = grid.center if point is None else np.asarray(point, np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise GeometryError(f"point must be a finite world point (x, y, z) in mm, got {point!r}")
    slices = {v: orthogonal_slice(da, v, p, pixel_mm=pixel_mm, order=order,
                                  max_pixels=max_pixels) for v in VIEWS}
    shown = np.concatenate([s[0][np.isfinite(s[0])] for s in slices.values()])
    if vmin is None and shown.size:
        vmin = float(np.percentile(shown, 1))
    if vmax is None and shown.size:
        vmax = float(np.percentile(shown, 99))
    fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    units = da.coords[sdims[-1]].attrs.get("units", "mm") if sdims[-1] in da.coords else "mm"
    unit = {"millimeter": "mm", "micrometer": "µm"}.get(units, units)
    for ax, (view, (image, hs, vs)) in zip(axes, slices.items(), strict=True):
        fixed, h, v, letters, up = VIEWS[view]
        step_h = hs[1] - hs[0] if len(hs) > 1 else 1.0
        step_v = vs[1] - vs[0] if len(vs) > 1 else 1.0
        extent = (hs[0] - step_h / 2, hs[-1] + step_h / 2, vs[0] - step_v / 2,
                  vs[-1] + step_v / 2)
        ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=vmin, vmax=vmax,
                  origin="lower", extent=extent, interpolation="nearest", aspect="equal")
        if not up:
            ax.invert_yaxis()  # axial: +y (posterior) down, anterior at the top
        if crosshair:
            ax.axvline(p[h], color="yellow", lw=0.6, alpha=0.7)
            ax.axhline(p[v], color="yellow", lw=0.6, alpha=0.7)
        ax.set_title(f"{view}  {_AXIS_NAMES[fixed]} = {p[fixed]:.1f} {unit}")
        ax.set_xlabel(f"{_AXIS_NAMES[h]} ({unit}, LPS)")
        ax.set_ylabel(f"{_AXIS_NAMES[v]} ({unit}, LPS)")
        left, right, top, bottom = letters
        style = {"transform": ax.transAxes, "color": "orange", "fontweight": "bold",
                 "ha": "center", "va": "center"}
        ax.text(0.03, 0.5, left, **style)
        ax.text(0.97, 0.5, right, **style)
        ax.text(0.5, 0.96, top, **style)
        ax.text(0.5, 0.04, bottom, **style)
    fig.suptitle(f"{da.name or 'image'} — {grid.orientation}, point "
                 f"({p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f}) {unit} LPS")
    return fig
