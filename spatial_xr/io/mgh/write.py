"""Atomic MGH/MGZ writing: header and footer by nibabel, voxels streamed slab by slab."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.coords import extra_dims, grid_of
from spatial_xr.errors import FormatError
from spatial_xr.geometry import Grid
from spatial_xr.io.atomic import atomic_output
from spatial_xr.io.mgh.header import MGH_TYPES, is_compressed_mgh
from spatial_xr.io.mgh.read import SCAN_PARAMETERS
from spatial_xr.io.streaming import file_order_slabs, gzip_writer

__all__ = ["MGH_EXTENSIONS", "write_mgh"]

MGH_EXTENSIONS = (".mgh", ".mgz")

_LOSSLESS: dict[np.dtype[Any], np.dtype[Any]] = {np.dtype(np.bool_): np.dtype(np.uint8),
                                                  np.dtype(np.int8): np.dtype(np.int16)}
"""dtypes MGH lacks, and the MGH type that holds every value of them."""

_TIME_TO_MS = {"millisecond": 1.0, "ms": 1.0, "second": 1000.0, "s": 1000.0,
               "microsecond": 1e-3}


class _ShapeOnly:
    """What nibabel's image needs to fill a header (shape, dtype), without any data."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.shape = shape
        self.ndim = len(shape)
        self.dtype = dtype


def _mgh_layout(da: xr.DataArray) -> xr.DataArray:
    """The image as dims ``(t, z, y, x)`` (``t`` only when present)."""
    extra_dims(da, ("t",), "MGH stores dims x, y, z and frames (t)",
               "Select one (e.g. da.isel({first}=0)) or rename it to 't' to store it as "
               "frames.")
    out = da if "z" in da.dims else da.expand_dims("z")
    return out.transpose(*[d for d in ("t", "z", "y", "x") if d in out.dims])


def _stored_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    dtype = _LOSSLESS.get(np.dtype(dtype), np.dtype(dtype))
    if dtype.newbyteorder("=") not in {np.dtype(v) for v in MGH_TYPES.values()}:
        raise FormatError(
            f"MGH stores {', '.join(MGH_TYPES.values())} (and bool, int8 widened); this "
            f"image is {dtype}. Cast it first, e.g. da.astype('float32') (check the range "
            "for integers)"
        )
    return dtype.newbyteorder("=")


def _frame_time_ms(da: xr.DataArray) -> float:
    """TR in milliseconds from the ``t`` coordinate (0 when unknown)."""
    if "t" not in da.coords or da.sizes.get("t", 0) < 2:
        return 0.0
    per_unit = _TIME_TO_MS.get(str(da.coords["t"].attrs.get("units", "")))
    step = float(da.coords["t"][1] - da.coords["t"][0])
    return step * per_unit if per_unit is not None and step > 0 else 0.0


def write_mgh(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write an image as MGH (``.mgh``) or gzip-compressed MGH (``.mgz``).

    The header (``delta``, ``Mdc``, ``Pxyz_c`` from the image's RAS affine) and the footer
    are written by nibabel's ``MGHHeader``; voxels are streamed z-slab by z-slab (memory
    bounded by one slab), into a file beside the destination that is renamed into place
    when complete.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, z, y, x`` (2-D images get one z slice; ``t`` frames
        are MGH frames). dtype uint8, int16, int32, uint16 or float32 (bool and int8
        are widened losslessly).
    path : str or path-like
        Destination ending in ``.mgh`` or ``.mgz``.
    overwrite : bool
        Replace an existing file (only after the new one is complete).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    FormatError
        A name without an MGH extension, or a dtype MGH cannot store.
    DimensionError
        A dim other than ``t, z, y, x``.
    OverwriteError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    MGH stores its geometry in float32: positions round-trip to about 1e-5 relative.
    The footer gets TR from the ``t`` coordinate (its ``units``: millisecond or second)
    and flip angle, TE and TI from ``attrs["mgh_scan_parameters"]`` when present.
    """
    import nibabel as nib
    from nibabel.freesurfer.mghformat import DATA_OFFSET

    path = Path(path)
    if not path.name.lower().endswith(MGH_EXTENSIONS):
        raise FormatError(
            f"MGH file names end in {', '.join(MGH_EXTENSIONS)}; got {str(path)!r}"
        )
    grid = grid_of(da)
    if grid.ndim == 2:
        grid = Grid(
            grid.shape_xyz + (1,),
            np.append(grid.spacing_xyz, 1.0),
            np.append(grid.origin_xyz, 0.0),
            np.block([[grid.direction_xyz, np.zeros((2, 1))],
                      [np.zeros((1, 2)), np.ones((1, 1))]]),
        )
    data = _mgh_layout(da)
    dtype = _stored_dtype(data.dtype)
    shape_f = tuple(int(v) for v in data.shape[::-1])

    img = nib.MGHImage(_ShapeOnly(shape_f, dtype), grid.affine_ras)
    img.update_header()  # nibabel fills dims, type, delta, Mdc and Pxyz_c
    hdr = img.header
    hdr.set_data_dtype(dtype)
    params = dict(da.attrs.get("mgh_scan_parameters") or {})
    for field, key in SCAN_PARAMETERS.items():
        if key in params:
            hdr[field] = float(params[key])
    tr = _frame_time_ms(da)
    if tr > 0:
        hdr["tr"] = tr

    with atomic_output(path, overwrite=overwrite) as tmp:
        opener = gzip_writer if is_compressed_mgh(str(path)) else open
        with opener(tmp, "wb") as f:
            hdr.writehdr_to(f)
            f.write(b"\x00" * (DATA_OFFSET - f.tell()))
            for block in file_order_slabs(data, dtype, byteorder=">"):
                f.write(block)
            hdr.writeftr_to(f)
    return path
