"""Atomic NIfTI-1/NIfTI-2 writing, streamed z-slab by z-slab (memory bounded by one slab)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np
import xarray as xr

from spatial_xr.coords import extra_dims, grid_of
from spatial_xr.errors import DimensionError, FormatError
from spatial_xr.geometry import Grid
from spatial_xr.io.atomic import atomic_output
from spatial_xr.io.nifti.read import COLOR_DTYPES, SPACE_UNITS, TIME_UNITS, is_nifti_path
from spatial_xr.io.streaming import file_order_slabs, gzip_writer

__all__ = ["nifti_header", "nifti_layout", "write_nifti"]


def nifti_layout(da: xr.DataArray, color: bool = False) -> xr.DataArray:
    """The image as dims (c, t, z, y, x) — NIfTI's (x, y, z, t, c) reversed, with ``z``
    (and ``t`` when there is a ``c``) added with length 1 when absent; for a colour image
    (t, z, y, x, c): samples interleaved per voxel, as RGB24/RGBA32 store them.

    Raises
    ------
    DimensionError
        Dims other than ``t, c, z, y, x``.
    """
    extra = extra_dims(da, ("t", "c"), "NIfTI stores dims x, y, z, t, c")
    out = da
    if "z" not in da.dims:
        out = out.expand_dims("z")
    if color:
        return out.transpose(*[d for d in ("t", "z", "y", "x", "c") if d in out.dims])
    if "c" in extra and "t" not in extra:
        out = out.expand_dims("t")
    order = [d for d in ("c", "t", "z", "y", "x") if d in out.dims]
    return out.transpose(*order)


def _color_kind(da: xr.DataArray, color: bool | None) -> str | None:
    """``"RGB"``/``"RGBA"`` when ``da`` is written as a colour datatype, else None."""
    fits = "c" in da.dims and da.sizes["c"] in (3, 4) and np.dtype(da.dtype) == np.uint8
    kind = {3: "RGB", 4: "RGBA"}.get(da.sizes["c"]) if "c" in da.dims else None
    if color is None:
        wanted = str(da.attrs.get("photometric_interpretation", "")).upper()
        return kind if fits and wanted == kind else None
    if not color:
        return None
    if not fits:
        size = da.sizes.get("c")
        raise DimensionError(
            f"color=True writes NIfTI RGB24/RGBA32, which hold a uint8 'c' dim of 3 or 4; this "
            f"image has {'no c dim' if size is None else f'c of size {size}'} and dtype "
            f"{da.dtype}. Cast to uint8 and select 3 or 4 channels, or pass color=False"
        )
    return kind


def nifti_header(
    da: xr.DataArray,
    *,
    version: Literal[1, 2] = 1,
    color: bool | None = None,
    grid: Grid | None = None,
) -> nib.Nifti1Header | nib.Nifti2Header:
    """The NIfTI header :func:`write_nifti` writes for ``da`` (``vox_offset`` left 0).

    Shape ``(x, y, z[, t[, c]])``, datatype, qform = sform (code 1, scanner) from the
    image's grid in RAS, ``xyzt_units`` from the coords' units, ``pixdim[4]`` from a regular
    ``t`` coord, ``scl_slope``/``scl_inter`` from ``attrs["scale_slope"]`` and
    ``attrs["scale_intercept"]`` (raw stored values).

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, c, z, y, x`` (a 2-D image gets one z slice).
    version : {1, 2}
        NIfTI-1 or NIfTI-2 header.
    color : bool, optional
        As for :func:`write_nifti`.
    grid : Grid, optional
        The geometry to store (default the grid of ``da``'s coordinates); its shape must
        be ``da``'s.

    Returns
    -------
    nibabel.Nifti1Header or nibabel.Nifti2Header

    Raises
    ------
    FormatError
        NIfTI has no datatype for ``da``'s dtype.
    DimensionError
        Dims other than ``t, c, z, y, x``.
    """
    grid = grid_of(da) if grid is None else grid
    if grid.ndim == 2:
        grid = Grid(
            grid.shape_xyz + (1,),
            np.append(grid.spacing_xyz, 1.0),
            np.append(grid.origin_xyz, 0.0),
            np.block([[grid.direction_xyz, np.zeros((2, 1))], [np.zeros((1, 2)), np.ones((1, 1))]]),
        )
    kind = _color_kind(da, color)
    data = nifti_layout(da, color=kind is not None)
    dtype = np.dtype(data.dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    hdr_cls = nib.Nifti1Header if version == 1 else nib.Nifti2Header
    hdr = hdr_cls()
    shape_f = tuple(int(v) for v in data.shape[::-1])
    if kind is not None:  # the samples are the voxel's dtype, not a data dim
        shape_f = shape_f[1:]
    hdr.set_data_shape(shape_f if shape_f[3:] else shape_f[:3])
    try:
        hdr.set_data_dtype(COLOR_DTYPES[kind] if kind is not None else dtype)
    except Exception as exc:
        raise FormatError(f"NIfTI cannot store dtype {dtype}; cast the image first") from exc
    ras = grid.affine_ras
    hdr.set_qform(ras, code=1)
    hdr.set_sform(ras, code=1)
    units = da.coords["x"].attrs.get("units", "millimeter") if "x" in da.coords else "millimeter"
    t_units = "sec"
    if "t" in da.dims and "t" in da.coords and da.sizes["t"] > 1:
        dt = float(da.coords["t"][1] - da.coords["t"][0])
        hdr["pixdim"][4] = dt
        t_units = {v: k for k, v in TIME_UNITS.items()}.get(
            da.coords["t"].attrs.get("units", "second"), "sec")
    hdr.set_xyzt_units({v: k for k, v in SPACE_UNITS.items()}.get(units, "unknown"), t_units)
    if "scale_slope" in da.attrs:
        hdr.set_slope_inter(da.attrs["scale_slope"], da.attrs.get("scale_intercept", 0.0))
    return hdr


def write_nifti(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    version: Literal[1, 2] = 1,
    color: bool | None = None,
) -> Path:
    """Write an image to ``.nii`` or ``.nii.gz`` with matching qform and sform.

    Data are streamed z-slab by z-slab (memory bounded by one slab), written beside the
    destination and renamed into place when complete.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, c, z, y, x`` (2-D images are written with one z slice).
    path : str or path-like
        Destination; ``.gz`` suffix compresses.
    overwrite : bool
        Replace an existing file (only after the new one is complete).
    version : {1, 2}
        NIfTI-1 or NIfTI-2 header.
    color : bool, optional
        Write a uint8 ``c`` dim of size 3 or 4 as NIfTI's RGB24 or RGBA32 datatype
        (samples interleaved per voxel) instead of a 5th data dim. Default: when
        ``attrs["photometric_interpretation"]`` is ``"RGB"`` (c of 3) or ``"RGBA"`` (c of
        4), as the NIfTI and DICOM readers set it for colour images.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OverwriteError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if not is_nifti_path(path):
        raise FormatError(f"NIfTI file names end in .nii or .nii.gz; got {str(path)!r}")
    hdr = nifti_header(da, version=version, color=color)
    kind = _color_kind(da, color)
    data = nifti_layout(da, color=kind is not None)
    dtype = np.dtype(data.dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    offset = len(hdr.binaryblock) + 4
    hdr["vox_offset"] = offset
    head = hdr.binaryblock + b"\x00" * 4

    with atomic_output(path, overwrite=overwrite) as tmp:
        opener = gzip_writer if path.name.lower().endswith(".gz") else open
        with opener(tmp, "wb") as f:
            f.write(head)
            for block in file_order_slabs(data, dtype):
                f.write(block)
    return path
