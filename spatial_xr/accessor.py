"""The ``.spatial`` accessor on ``xarray.DataArray``.

A thin layer: each member reads the :class:`~spatial_xr.geometry.Grid` from the array
(coordinates + ``attrs["direction"]``) and calls a plain function.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from spatial_xr.coords import assign_grid, grid_of, spatial_dims
from spatial_xr.geometry import Grid
from spatial_xr.repr import geometry_html, geometry_text

__all__ = ["SpatialAccessor"]


@xr.register_dataarray_accessor("spatial")
class SpatialAccessor:
    """Geometry and spatial operations of an image DataArray (``da.spatial``).

    World points and vectors are LPS millimetres in x, y, z order; per-axis values tied to
    the array (spacing, indices) are keyed by dim name or given in the order of
    :attr:`dims`.
    """

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da

    # ------------------------------------------------------------------ geometry
    @property
    def grid(self) -> Grid:
        """The image's :class:`~spatial_xr.geometry.Grid`."""
        return grid_of(self._da)

    @property
    def dims(self) -> tuple[str, ...]:
        """Spatial dims in array order, e.g. ``("z", "y", "x")``."""
        return spatial_dims(self._da)

    @property
    def shape(self) -> dict[str, int]:
        """Voxel counts by spatial dim name, in array order."""
        return {d: int(self._da.sizes[d]) for d in self.dims}

    @property
    def origin(self) -> NDArray[np.float64]:
        """World position (LPS mm, x, y, z) of the centre of voxel 0, shape (n,)."""
        return self.grid.origin_xyz.copy()

    @property
    def spacing(self) -> dict[str, float]:
        """Voxel spacing (mm) by spatial dim name, in array order."""
        g = self.grid
        by_name = dict(zip(g.axes, g.spacing_xyz.tolist(), strict=True))
        return {d: by_name[d] for d in self.dims}

    @property
    def spacing_xyz(self) -> NDArray[np.float64]:
        """Voxel spacing (mm) along the dims x, y, z (SimpleITK's ``GetSpacing`` order)."""
        return self.grid.spacing_xyz.copy()

    @property
    def direction(self) -> NDArray[np.float64]:
        """Direction matrix in x, y, z order (SimpleITK's ``GetDirection``), shape (n, n).

        Column a is the LPS unit vector of the array axis named x, y, z for a = 0, 1, 2;
        ``attrs["direction"]`` stores ``np.flip`` of it (see :attr:`direction_zyx`).
        """
        return self.grid.direction_xyz.copy()

    @property
    def direction_zyx(self) -> NDArray[np.float64]:
        """Direction matrix in z, y, x order, as stored in ``attrs["direction"]``."""
        return self.grid.direction_zyx.copy()

    @property
    def affine(self) -> NDArray[np.float64]:
        """4×4 affine mapping homogeneous index (i, j, k, 1) — i along ``x`` — to LPS."""
        return self.grid.affine

    @property
    def affine_ras(self) -> NDArray[np.float64]:
        """4×4 affine mapping homogeneous index (i, j, k, 1) to RAS, as nibabel uses."""
        return self.grid.affine_ras

    @property
    def orientation(self) -> str:
        """Orientation code, e.g. ``"LPS"`` (nibabel letters, index order i, j, k)."""
        return self.grid.orientation

    @property
    def bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """World bounding box (LPS mm) of the voxel-corner box: ``(lower_xyz, upper_xyz)``."""
        return self.grid.bounds

    # ------------------------------------------------------------------ mapping
    def _to_xyz(self, index: Any) -> NDArray[np.float64]:
        dims = self.dims
        g_axes = self.grid.axes
        if isinstance(index, dict):
            return np.stack([np.asarray(index[a], np.float64) for a in g_axes], axis=-1)
        arr = np.asarray(index, dtype=np.float64)
        if arr.shape[-1:] != (len(dims),):
            raise ValueError(
                f"index must have shape (..., {len(dims)}) in the order of the spatial dims "
                f"{dims}, got shape {arr.shape}"
            )
        return arr[..., [dims.index(a) for a in g_axes]]

    def index_to_world(self, index: ArrayLike | dict[str, ArrayLike]) -> NDArray[np.float64]:
        """World points (LPS mm, x, y, z) of voxel indices.

        Parameters
        ----------
        index : array_like, shape (..., n), or mapping dim → array_like
            Continuous indices in the order of :attr:`dims` (e.g. ``(k, j, i)`` for an array
            with dims ``z, y, x``), or keyed by dim name.

        Returns
        -------
        ndarray, shape (..., n)
        """
        return self.grid.index_to_world(self._to_xyz(index))

    def world_to_index(self, points: ArrayLike, rounded: bool = False) -> NDArray[Any]:
        """Voxel indices of world points.

        Parameters
        ----------
        points : array_like, shape (..., n)
            LPS points (mm) in x, y, z order.
        rounded : bool
            Nearest voxel (int64) instead of continuous indices.

        Returns
        -------
        ndarray, shape (..., n)
            Indices in the order of :attr:`dims`, usable as ``da.isel(dict(zip(dims, idx)))``.
        """
        g = self.grid
        idx = g.world_to_index(points, rounded=rounded)
        return idx[..., [g.axes.index(d) for d in self.dims]]

    # ------------------------------------------------------------------ grid changes
    def assign_grid(self, grid: Grid) -> xr.DataArray:
        """A copy whose coordinates and direction describe ``grid`` (same data)."""
        return assign_grid(self._da, grid)

    def same_grid(self, other: xr.DataArray | Grid, atol: float = 1e-6) -> bool:
        """Whether ``other`` (an image or a Grid) has this image's grid within ``atol`` mm."""
        g = other if isinstance(other, Grid) else grid_of(other)
        return self.grid.isclose(g, atol=atol)

    def reorient(self, code: str | None = None) -> xr.DataArray:
        """Lazy flips/transposes to orientation ``code`` (default: closest to LPS).

        See :func:`spatial_xr.ops.reorient.reorient`.
        """
        from spatial_xr.ops.reorient import reorient

        return reorient(self._da, code)

    # ------------------------------------------------------------------ writers
    def to_nifti(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, **kwargs: Any
    ) -> None:
        """Write ``.nii`` or ``.nii.gz``; see :func:`spatial_xr.io.nifti.write_nifti`."""
        from spatial_xr.io.nifti import write_nifti

        write_nifti(self._da, path, overwrite=overwrite, **kwargs)

    # ------------------------------------------------------------------ ops: crop, resample, sample
    def crop(self, lower: Any = None, upper: Any = None, **kwargs: Any) -> xr.DataArray:
        """Crop to a world box (LPS mm, x, y, z) or index ranges (``index=``).

        See :func:`spatial_xr.ops.crop.crop`.
        """
        from spatial_xr.ops.crop import crop

        return crop(self._da, lower, upper, **kwargs)

    def crop_centered(self, center: Any, size_mm: Any = None, shape: Any = None,
                      **kwargs: Any) -> xr.DataArray | list[xr.DataArray]:
        """Fixed-shape patch(es) centred on world point(s).

        See :func:`spatial_xr.ops.crop.crop_centered`.
        """
        from spatial_xr.ops.crop import crop_centered

        return crop_centered(self._da, center, size_mm, shape, **kwargs)

    def resample(self, spacing: Any = None, shape: Any = None, grid: Grid | None = None,
                 like: xr.DataArray | None = None, **kwargs: Any) -> xr.DataArray:
        """Resample onto a target grid (lazy, out-of-core).

        See :func:`spatial_xr.ops.resample.resample`.
        """
        from spatial_xr.ops.resample import resample

        return resample(self._da, spacing, shape, grid, like, **kwargs)

    def sample(self, points: ArrayLike, interpolation: str = "linear",
               **kwargs: Any) -> xr.DataArray:
        """Values at world points (N × n, LPS mm, x, y, z).

        See :func:`spatial_xr.ops.sample.sample`.
        """
        from spatial_xr.ops.sample import sample

        return sample(self._da, points, interpolation, **kwargs)

    # ------------------------------------------------------------------ OME-Zarr and pyramids
    # (methods of the OME-Zarr issue go here)

    def pyramid(
        self,
        levels: int | None = None,
        factors: Any = None,
        method: str | None = None,
        chunks: Any = None,
        *,
        label: bool | None = None,
    ) -> xr.DataTree:
        """Multiscale pyramid as a DataTree; see :func:`spatial_xr.ops.pyramid.pyramid`."""
        from spatial_xr.ops.pyramid import pyramid

        return pyramid(self._da, levels, factors, method, chunks, label=label)

    def to_ome_zarr(self, path: Any, **kwargs: Any) -> None:
        """Write OME-Zarr (0.5 or 0.4); see :func:`spatial_xr.io.omezarr.to_ome_zarr`."""
        from spatial_xr.io.omezarr.write import to_ome_zarr

        to_ome_zarr(self._da, path, **kwargs)

    # ------------------------------------------------------------------ DICOM
    def to_dicom_series(
        self, folder: str | os.PathLike[str], *, modality: str = "CT", overwrite: bool = False,
        **kwargs: Any,
    ) -> None:
        """Write a DICOM series; see :func:`spatial_xr.io.dicom.write.write_dicom_series`."""
        from spatial_xr.io.dicom.write import write_dicom_series

        write_dicom_series(self._da, folder, modality=modality, overwrite=overwrite, **kwargs)

    # ------------------------------------------------------- ecosystem: converters, napari, plots
    def to_sitk(self) -> Any:
        """A ``SimpleITK.Image`` with this geometry; see :func:`spatial_xr.convert.to_sitk`."""
        from spatial_xr.convert.sitk import to_sitk

        return to_sitk(self._da)

    def to_itk(self) -> Any:
        """An ``itk.Image`` with this geometry; see :func:`spatial_xr.convert.to_itk`."""
        from spatial_xr.convert.itk import to_itk

        return to_itk(self._da)

    def to_nibabel(self, *, version: int = 1) -> Any:
        """A lazy nibabel NIfTI image; see :func:`spatial_xr.convert.to_nibabel`."""
        from spatial_xr.convert.nibabel import to_nibabel

        return to_nibabel(self._da, version=version)  # type: ignore[arg-type]

    def to_napari(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(data, kwargs)`` for ``viewer.add_image``; see :func:`spatial_xr.napari.to_napari`."""
        from spatial_xr.napari import to_napari

        return to_napari(self._da, **kwargs)

    def plot(self, point: ArrayLike | None = None, **kwargs: Any) -> Any:
        """Axial, coronal and sagittal views through a world point; see
        :func:`spatial_xr.plot.plot_orthogonal`."""
        from spatial_xr.plot import plot_orthogonal

        return plot_orthogonal(self._da, point, **kwargs)

    # ------------------------------------------------------------------ TIFF
    def to_ome_tiff(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Write a tiled, pyramidal OME-TIFF; see :func:`spatial_xr.io.tiff.to_ome_tiff`."""
        from spatial_xr.io.tiff.write import to_ome_tiff

        to_ome_tiff(self._da, path, **kwargs)

    def to_tiff_stack(self, folder: str | os.PathLike[str], **kwargs: Any) -> None:
        """Write one 2-D TIFF per z; see :func:`spatial_xr.io.tiff.to_tiff_stack`."""
        from spatial_xr.io.tiff.write import to_tiff_stack

        to_tiff_stack(self._da, folder, **kwargs)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return geometry_text(self._da)

    def _repr_html_(self) -> str:
        return geometry_html(self._da)
