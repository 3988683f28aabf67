"""Lazy MGH/MGZ (FreeSurfer) reading through nibabel's array proxy.

**Geometry.** The vox2ras matrix is nibabel's ``MGHHeader.get_affine()`` — built from the
header's ``delta`` (voxel sizes), ``Mdc`` (direction cosines) and ``Pxyz_c`` (RAS position
of the volume centre, FreeSurfer's ``c_ras``) — converted from RAS to LPS. A header
whose ``goodRASFlag`` is 0 gets nibabel's (and FreeSurfer's) default coronal orientation.
A sheared or singular vox2ras raises :class:`~spatial_xr.errors.GeometryError`.

**Dims.** MGH's width, height, depth are ``x, y, z``; frames (the 4th dim, when > 1) are
``t``, with a time coordinate in milliseconds when the footer's TR is known and > 0.

**Laziness.** Opening reads the 284-byte header (and, for ``.mgh``, the 20-byte footer
after the voxels: one seek). Voxels are read per dask chunk by nibabel's proxy: for
``.mgh`` only the bytes of the requested slabs; a ``.mgz`` is a gzip stream, which nibabel
inflates from its start up to the slab, so ``.mgz`` chunks are whole frames. The footer of a
``.mgz`` lies after all the voxels; it is read only with ``footer=True``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import GeometryError
from spatial_xr.geometry import Grid, decompose_affine, lps_ras_flip
from spatial_xr.io.chunking import resolve_frame_chunks
from spatial_xr.io.mgh.header import is_compressed_mgh, read_mgh_header
from spatial_xr.io.nibabel_proxy import (
    ProxyArray,
    frame_dims,
    proxy_dask_array,
    to_dataarray,
)

__all__ = ["SCAN_PARAMETERS", "open_mgh"]

SCAN_PARAMETERS = {"tr": "tr_ms", "flip_angle": "flip_angle_rad", "te": "te_ms", "ti": "ti_ms"}
"""MGH footer fields → keys of ``attrs["mgh_scan_parameters"]`` (units in the name)."""


def open_mgh(
    path: str | os.PathLike[str],
    *,
    chunks: Any = None,
    footer: bool | None = None,
) -> xr.DataArray:
    """Open an MGH or MGZ file lazily.

    Parameters
    ----------
    path : str or path-like
        ``.mgh`` (uncompressed) or ``.mgz`` (gzip).
    chunks : dict, tuple, int or "auto", optional
        dask chunks, a dict keyed by dim name or a value per dim in DataArray order.
        Default: one chunk per frame when it holds at most 512 MiB (always for ``.mgz``),
        else z slabs of whole x-y planes (see :mod:`spatial_xr.io.chunking`).
    footer : bool, optional
        Read the scan parameters stored after the voxels (TR, flip angle, TE, TI) into
        ``attrs["mgh_scan_parameters"]`` and the ``t`` coordinate. Default: for ``.mgh``
        (one seek) but not for ``.mgz`` (it would inflate the whole file at open).

    Returns
    -------
    xarray.DataArray
        dims ``(t,) z, y, x``; dask-backed, big-endian voxels returned in native order.
        ``attrs["source_format"] = "MGH"``.

    Raises
    ------
    FormatError
        Truncated or corrupt header, unknown data type, more voxels declared than the file
        can hold; truncated voxel data when computed.
    GeometryError
        Sheared, singular or non-finite vox2ras.
    """
    path = os.fspath(path)
    compressed = is_compressed_mgh(path)
    read_footer = (not compressed) if footer is None else bool(footer)
    hdr = read_mgh_header(path, footer=read_footer)
    shape_f = tuple(int(v) for v in hdr.get_data_shape())
    ras = np.asarray(hdr.get_affine(), dtype=np.float64)
    try:
        origin, spacing, direction = decompose_affine(lps_ras_flip(ras))
    except GeometryError as exc:
        raise GeometryError(
            f"{path!r}: the MGH vox2ras (from delta {hdr['delta'].tolist()}, Mdc and "
            f"Pxyz_c): {exc}"
        ) from exc
    grid = Grid(shape_f[:3], spacing, origin, direction)

    lazy = ProxyArray(path, shape_f, hdr.get_data_dtype(), hdr.get_data_offset(), what="MGH")
    names = frame_dims(len(shape_f))
    c_chunks = resolve_frame_chunks(chunks, names, lazy.shape, shape_f, lazy.dtype.itemsize,
                                    compressed=compressed)
    data = proxy_dask_array(lazy, c_chunks, "mgh")
    attrs: dict[str, Any] = {"source_format": "MGH"}
    if read_footer:
        attrs["mgh_scan_parameters"] = {
            key: float(hdr[field]) for field, key in SCAN_PARAMETERS.items()}
    da = assign_grid(to_dataarray(data, names, attrs), grid)
    tr = float(hdr["tr"])
    if "t" in da.dims and read_footer and np.isfinite(tr) and tr > 0:
        da = da.assign_coords(t=("t", tr * np.arange(da.sizes["t"], dtype=np.float64)))
        da.coords["t"].attrs["units"] = "millisecond"
    return da
