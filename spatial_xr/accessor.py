"""The ``.spatial`` accessor on ``xarray.DataArray``.

A thin layer: each member reads the :class:`~spatial_xr.geometry.Grid` from the array
(coordinates + ``attrs["direction"]``) and calls a plain function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from spatial_xr._delegate import forwards_to
from spatial_xr.coords import assign_grid, grid_of, spatial_dims
from spatial_xr.errors import ParameterError
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
        """World position of the centre of voxel 0, shape (n,): LPS mm in x, y, z order, as
        every world point (SimpleITK's ``GetOrigin``)."""
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
    def direction_xyz(self) -> NDArray[np.float64]:
        """Direction matrix in x, y, z order (SimpleITK's ``GetDirection``), shape (n, n).

        Column a is the LPS unit vector (x, y, z components) of the array axis named x, y,
        z for a = 0, 1, 2. ``attrs["direction"]`` stores the other order, ``np.flip`` of
        this matrix (:attr:`direction_zyx`).
        """
        return self.grid.direction_xyz.copy()

    @property
    def direction(self) -> NDArray[np.float64]:
        """Alias of :attr:`direction_xyz` (x, y, z order, as SimpleITK's ``GetDirection``).

        Not the order of ``attrs["direction"]``, which is :attr:`direction_zyx`; prefer
        the explicit names where the order matters.
        """
        return self.direction_xyz

    @property
    def direction_zyx(self) -> NDArray[np.float64]:
        """Direction matrix in z, y, x order, as stored in ``attrs["direction"]``:
        ``np.flip(direction_xyz)``, shape (n, n)."""
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
            missing = [a for a in g_axes if a not in index]
            if missing:
                raise ParameterError(
                    f"index mapping lacks the spatial dims {missing}; give one value (or "
                    f"array) for each of {dims}"
                )
            try:
                return np.stack([np.asarray(index[a], np.float64) for a in g_axes], axis=-1)
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"index mapping values must be numbers or arrays of one shape; got {index!r}"
                ) from exc
        try:
            arr = np.asarray(index, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"index must be numbers, got {index!r}") from exc
        if arr.shape[-1:] != (len(dims),):
            raise ParameterError(
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
    @forwards_to("spatial_xr.coords:assign_grid")
    def assign_grid(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """A copy whose coordinates and direction describe a Grid (same data); see
        :func:`spatial_xr.coords.assign_grid`."""
        return assign_grid(self._da, *args, **kwargs)

    def same_grid(self, other: xr.DataArray | Grid, atol: float = 1e-6) -> bool:
        """Whether ``other`` has this image's grid.

        Parameters
        ----------
        other : xarray.DataArray or Grid
            An image (its grid is read as for this one) or a grid.
        atol : float
            Tolerance in mm for origin and spacing, and for the direction cosines.

        Returns
        -------
        bool
        """
        g = other if isinstance(other, Grid) else grid_of(other)
        return self.grid.isclose(g, atol=atol)

    @forwards_to("spatial_xr.ops.reorient:reorient")
    def reorient(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """Lazy flips/transposes to an orientation code; see
        :func:`spatial_xr.ops.reorient.reorient`."""
        from spatial_xr.ops.reorient import reorient

        return reorient(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ writers
    @forwards_to("spatial_xr.io.nifti:write_nifti")
    def to_nifti(self, *args: Any, **kwargs: Any) -> Path:
        """Write ``.nii`` or ``.nii.gz``; see :func:`spatial_xr.io.nifti.write_nifti`."""
        from spatial_xr.io.nifti import write_nifti

        return write_nifti(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.metaimage:write_metaimage")
    def to_metaimage(self, *args: Any, **kwargs: Any) -> Any:
        """Write ``.mha`` or ``.mhd`` + ``.raw``/``.zraw``; see
        :func:`spatial_xr.io.metaimage.write_metaimage`."""
        from spatial_xr.io.metaimage import write_metaimage

        return write_metaimage(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.mgh:write_mgh")
    def to_mgh(self, *args: Any, **kwargs: Any) -> Any:
        """Write ``.mgh`` or ``.mgz`` (FreeSurfer); see :func:`spatial_xr.io.mgh.write_mgh`."""
        from spatial_xr.io.mgh import write_mgh

        return write_mgh(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.nrrd:write_nrrd")
    def to_nrrd(self, *args: Any, **kwargs: Any) -> Any:
        """Write ``.nrrd`` or ``.nhdr`` (raw or gzip, attached or detached); see
        :func:`spatial_xr.io.nrrd.write_nrrd`."""
        from spatial_xr.io.nrrd import write_nrrd

        return write_nrrd(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.imaris.write:write_imaris")
    def to_imaris(self, *args: Any, **kwargs: Any) -> Any:
        """Write an Imaris 5.5 ``.ims`` file; see :func:`spatial_xr.io.imaris.write_imaris`."""
        from spatial_xr.io.imaris.write import write_imaris

        return write_imaris(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.ozx.write:to_ozx")
    def to_ozx(self, *args: Any, **kwargs: Any) -> Any:
        """Write a zipped OME-Zarr (``.ozx``, RFC-9); see :func:`spatial_xr.io.ozx.to_ozx`."""
        from spatial_xr.io.ozx.write import to_ozx

        return to_ozx(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.rtstruct.write:write_rtstruct")
    def to_rtstruct(self, *args: Any, **kwargs: Any) -> Any:
        """Write a label image (or masks on ``c``) as a DICOM RT Structure Set of planar
        contours; see :func:`spatial_xr.io.rtstruct.write_rtstruct`."""
        from spatial_xr.io.rtstruct.write import write_rtstruct

        return write_rtstruct(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.segnrrd.write:write_seg_nrrd")
    def to_seg_nrrd(self, *args: Any, **kwargs: Any) -> Any:
        """Write a label image (or masks on ``c``) as a 3D Slicer ``.seg.nrrd``; see
        :func:`spatial_xr.io.segnrrd.write_seg_nrrd`."""
        from spatial_xr.io.segnrrd.write import write_seg_nrrd

        return write_seg_nrrd(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.dicomseg.write:write_dicomseg")
    def to_dicomseg(self, *args: Any, **kwargs: Any) -> Any:
        """Write a label image as a DICOM SEG of its source series (``source=``); see
        :func:`spatial_xr.io.dicomseg.write_dicomseg`."""
        from spatial_xr.io.dicomseg.write import write_dicomseg

        return write_dicomseg(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ ops: crop, resample, sample
    @forwards_to("spatial_xr.ops.crop:crop")
    def crop(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """Crop to a world box (LPS mm, x, y, z) or index ranges (``index=``); see
        :func:`spatial_xr.ops.crop.crop`."""
        from spatial_xr.ops.crop import crop

        return crop(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.ops.crop:crop_centered")
    def crop_centered(self, *args: Any, **kwargs: Any) -> xr.DataArray | list[xr.DataArray]:
        """Fixed-shape patch(es) centred on world point(s); see
        :func:`spatial_xr.ops.crop.crop_centered`."""
        from spatial_xr.ops.crop import crop_centered

        return crop_centered(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.ops.resample:resample")
    def resample(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """Resample onto a target grid (lazy, out-of-core); see
        :func:`spatial_xr.ops.resample.resample`."""
        from spatial_xr.ops.resample import resample

        return resample(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.ops.sample:sample")
    def sample(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        """Values at world points (N × n, LPS mm, x, y, z); see
        :func:`spatial_xr.ops.sample.sample`."""
        from spatial_xr.ops.sample import sample

        return sample(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ OME-Zarr and pyramids
    @forwards_to("spatial_xr.ops.pyramid:pyramid")
    def pyramid(self, *args: Any, **kwargs: Any) -> xr.DataTree:
        """Multiscale pyramid as a DataTree; see :func:`spatial_xr.ops.pyramid.pyramid`."""
        from spatial_xr.ops.pyramid import pyramid

        return pyramid(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.omezarr.write:to_ome_zarr")
    def to_ome_zarr(self, *args: Any, **kwargs: Any) -> None:
        """Write OME-Zarr (0.5 or 0.4); see :func:`spatial_xr.io.omezarr.write.to_ome_zarr`."""
        from spatial_xr.io.omezarr.write import to_ome_zarr

        to_ome_zarr(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ DICOM
    @forwards_to("spatial_xr.io.dicom.write:write_dicom_series")
    def to_dicom_series(self, *args: Any, **kwargs: Any) -> Path:
        """Write a DICOM series; see :func:`spatial_xr.io.dicom.write.write_dicom_series`."""
        from spatial_xr.io.dicom.write import write_dicom_series

        return write_dicom_series(self._da, *args, **kwargs)

    # ------------------------------------------------------- ecosystem: converters, napari, plots
    @forwards_to("spatial_xr.convert.sitk:to_sitk")
    def to_sitk(self) -> Any:
        """A ``SimpleITK.Image`` with this geometry; see :func:`spatial_xr.convert.to_sitk`."""
        from spatial_xr.convert.sitk import to_sitk

        return to_sitk(self._da)

    @forwards_to("spatial_xr.convert.itk:to_itk")
    def to_itk(self) -> Any:
        """An ``itk.Image`` with this geometry; see :func:`spatial_xr.convert.to_itk`."""
        from spatial_xr.convert.itk import to_itk

        return to_itk(self._da)

    @forwards_to("spatial_xr.convert.nibabel:to_nibabel")
    def to_nibabel(self, *args: Any, **kwargs: Any) -> Any:
        """A lazy nibabel NIfTI image; see :func:`spatial_xr.convert.to_nibabel`."""
        from spatial_xr.convert.nibabel import to_nibabel

        return to_nibabel(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.napari:to_napari")
    def to_napari(self, *args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(data, kwargs)`` for ``viewer.add_image``; see :func:`spatial_xr.napari.to_napari`."""
        from spatial_xr.napari import to_napari

        return to_napari(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.plot:plot_orthogonal")
    def plot(self, *args: Any, **kwargs: Any) -> Any:
        """Axial, coronal and sagittal views through a world point; see
        :func:`spatial_xr.plot.plot_orthogonal`."""
        from spatial_xr.plot import plot_orthogonal

        return plot_orthogonal(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ TIFF
    @forwards_to("spatial_xr.io.tiff.write:to_ome_tiff")
    def to_ome_tiff(self, *args: Any, **kwargs: Any) -> Any:
        """Write a tiled, pyramidal OME-TIFF; see :func:`spatial_xr.io.tiff.to_ome_tiff`."""
        from spatial_xr.io.tiff.write import to_ome_tiff

        return to_ome_tiff(self._da, *args, **kwargs)

    @forwards_to("spatial_xr.io.tiff.write:to_tiff_stack")
    def to_tiff_stack(self, *args: Any, **kwargs: Any) -> Any:
        """Write one 2-D TIFF per z; see :func:`spatial_xr.io.tiff.to_tiff_stack`."""
        from spatial_xr.io.tiff.write import to_tiff_stack

        return to_tiff_stack(self._da, *args, **kwargs)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return geometry_text(self._da)

    def _repr_html_(self) -> str:
        return geometry_html(self._da)
