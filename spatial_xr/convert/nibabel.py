"""nibabel ↔ spatial_xr, exact for every direction matrix.

nibabel's affine maps voxel index ``(i, j, k)`` (dims ``x, y, z``) to RAS millimetres;
spatial_xr's world is LPS, so the first two rows are negated on the way in and out.
NIfTI's data dims ``x, y, z, t, c`` are the DataArray's ``t, c, z, y, x`` reversed.

Both directions stay lazy: ``to_nibabel`` hands nibabel the dask array itself as the
image's ``dataobj`` (nibabel computes it when pixels are asked for, e.g. ``get_fdata`` or
``nib.save``), and ``from_nibabel`` wraps a file-backed image's array proxy in dask.
"""

from __future__ import annotations

from typing import Any, Literal

import dask.array as dsa
import nibabel as nib
import numpy as np
import xarray as xr

from spatial_xr.coords import DEFAULT_UNITS, assign_grid, grid_of
from spatial_xr.errors import DimensionError, FormatError
from spatial_xr.geometry import Grid, decompose_affine, lps_ras_flip
from spatial_xr.io.nifti.write import nifti_layout

__all__ = ["from_nibabel", "to_nibabel"]

_UNITS_TO_NIFTI = {"millimeter": "mm", "micrometer": "micron", "meter": "meter"}
_UNITS_FROM_NIFTI = {v: k for k, v in _UNITS_TO_NIFTI.items()}


def to_nibabel(
    da: xr.DataArray, *, version: Literal[1, 2] = 1
) -> nib.Nifti1Image | nib.Nifti2Image:
    """Convert an image to a nibabel NIfTI image without computing it.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, c, z, y, x``, any order (2-D images get one z slice).
    version : {1, 2}
        ``Nifti1Image`` or ``Nifti2Image``.

    Returns
    -------
    nibabel.Nifti1Image or nibabel.Nifti2Image
        ``img.affine`` is ``da.spatial.affine_ras`` (float64, exact); qform and sform are
        set with code 1 (scanner). Its ``dataobj`` is the image's array in NIfTI order
        (x, y, z, t, c): a dask array stays lazy until nibabel reads it.

    Raises
    ------
    DimensionError
        Dims other than ``t, c, z, y, x``.
    """
    grid = grid_of(da)
    if grid.ndim == 2:
        grid = Grid(
            (*grid.shape_xyz, 1),
            np.append(grid.spacing_xyz, 1.0),
            np.append(grid.origin_xyz, 0.0),
            np.block([[grid.direction_xyz, np.zeros((2, 1))], [np.zeros((1, 2)), np.eye(1)]]),
        )
    data = nifti_layout(da).data
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    data = data.T  # (c, t, z, y, x) → (x, y, z, t, c); a view / lazy transpose
    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    affine = grid.affine_ras
    img = cls(data, affine)
    # update_affine=False keeps img.affine in float64 (the header stores float32)
    img.set_qform(affine, code=1, update_affine=False)
    img.set_sform(affine, code=1, update_affine=False)
    units = str(da.coords["x"].attrs.get("units", DEFAULT_UNITS)) if "x" in da.coords else ""
    img.header.set_xyzt_units(_UNITS_TO_NIFTI.get(units, "unknown"), "sec")
    if "t" in da.coords and da.sizes["t"] > 1:
        img.header["pixdim"][4] = float(da.coords["t"][1] - da.coords["t"][0])
    return img


def from_nibabel(
    img: nib.spatialimages.SpatialImage,
    *,
    chunks: Any = None,
    name: str | None = "image",
) -> xr.DataArray:
    """Convert a nibabel image (NIfTI, MGH, Analyze, …) to an image DataArray.

    Parameters
    ----------
    img : nibabel.spatialimages.SpatialImage
        Image with an ``affine`` (RAS) and up to 5 data dims ``x, y, z, t, c``.
    chunks : optional
        dask chunks (dict by dim name or ``"auto"``); default: one chunk per ``t``/``c``
        frame, whole volumes.
    name : str, optional
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        dask-backed; dims ``(t, c,) z, y, x``. A file-backed image is read lazily through
        its array proxy (with nibabel's scaling); an in-memory one wraps its array.
        The geometry is ``img.affine`` converted to LPS.

    Raises
    ------
    FormatError
        No affine, or more than 5 data dims.
    GeometryError
        A sheared or singular affine.
    """
    if getattr(img, "affine", None) is None:
        raise FormatError(
            f"this {type(img).__name__} has no affine, so its voxels have no world position; "
            "set one, e.g. nib.Nifti1Image(data, affine)"
        )
    shape_f = tuple(int(v) for v in img.shape)
    if len(shape_f) > 5:
        raise FormatError(f"nibabel image has {len(shape_f)} data dims; at most 5 are read")
    if len(shape_f) < 3:
        raise DimensionError(f"nibabel images have at least 3 data dims; got shape {shape_f}")
    origin, spacing, direction = decompose_affine(lps_ras_flip(np.asarray(img.affine)))
    grid = Grid(shape_f[:3], spacing, origin, direction)

    dataobj = img.dataobj
    if isinstance(dataobj, dsa.Array):
        arr = dataobj
    else:
        probe = np.asarray(dataobj[(slice(0, 1),) * len(shape_f)])
        frame = shape_f[:3] + (1,) * (len(shape_f) - 3)
        arr = dsa.from_array(dataobj, chunks=frame, asarray=True, meta=probe[:0])
    names = ("x", "y", "z", "t", "c")[: len(shape_f)]
    da = xr.DataArray(arr, dims=names, name=name)
    da = da.transpose(*[d for d in ("t", "c", "z", "y", "x") if d in names])
    da = assign_grid(da, grid)
    xyz_units, _ = img.header.get_xyzt_units() if hasattr(img.header, "get_xyzt_units") else (
        None, None)
    for d in ("z", "y", "x"):
        da.coords[d].attrs["units"] = _UNITS_FROM_NIFTI.get(str(xyz_units), DEFAULT_UNITS)
    if chunks is not None:
        da = da.chunk(chunks)
    return da
