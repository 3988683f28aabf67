"""``open_image`` and ``write_image``: one entry point each, dispatched by the format
registry (:mod:`spatial_xr.io.formats`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr

from spatial_xr.io.formats import Format, find_format, format_named

__all__ = ["open_image", "open_multiscale", "write_image"]


def open_image(
    path: Any,
    *,
    orientation: str | None = None,
    chunks: Any = None,
    format: str | None = None,
    **kwargs: Any,
) -> xr.DataArray:
    """Open an image lazily (reading headers only) as a DataArray with geometry.

    Parameters
    ----------
    path : str, path-like, list of paths, fsspec mapper or zarr store
        A ``.nii``/``.nii.gz`` file, a DICOM file or folder (or a list of DICOM files,
        opened as exactly those files), an OME-Zarr store (a folder, a URL such as
        ``s3://…/x.ome.zarr``, or a mapper/store object), or any format a plugin adds
        (``spatial-xr formats`` lists them).
    orientation : str, optional
        Reorder the axes lazily to this orientation code (e.g. ``"RAS"``); the file's own
        storage order is kept by default.
    chunks : optional
        dask chunks (dict by dim name, or per dim); each reader documents its default.
    format : str, optional
        Skip recognition and use this format (a name from ``spatial-xr formats``).
    **kwargs
        Format-specific options (e.g. ``apply_scaling=``, ``affine=`` for NIfTI,
        ``series_uid=`` for DICOM, ``spacing=`` and ``coordinate_system=`` (0.6) for
        OME-Zarr).

    Returns
    -------
    xarray.DataArray
        dask-backed; spatial dims ``z, y, x`` (``t``, ``c`` first where present).

    Raises
    ------
    PathNotFoundError
        The path does not exist.
    UnsupportedFormatError
        No format recognises the path; the message lists the installed formats.
    """
    fmt = find_format(path, format=format)
    da = fmt.open(path, chunks=chunks, **kwargs)
    if orientation is not None:
        da = da.spatial.reorient(orientation)
    return da


def open_multiscale(path: Any, *, format: str | None = None, **kwargs: Any) -> xr.DataTree:
    """Open every level of a pyramid lazily as an ``xarray.DataTree`` (``scale0``,
    ``scale1``, … finest first), with the reader of the format the registry picks: an
    OME-Zarr store (:func:`spatial_xr.io.omezarr.open_multiscale`) or a pyramidal TIFF
    (:func:`spatial_xr.io.tiff.open_tiff_multiscale`).

    Parameters
    ----------
    path : str, path-like, fsspec mapper or zarr store
        What :func:`open_image` accepts.
    format : str, optional
        Skip recognition and use this format.
    **kwargs
        Options of the format's multiscale reader (``channel=``, ``series=``,
        ``storage_options=``, …).

    Raises
    ------
    UnsupportedFormatError
        The format holds one resolution only (no multiscale reader).
    """
    return find_format(path, format=format).open_multiscale(path, **kwargs)


def _format_for_destination(path: Any, format: str | None) -> Format:
    if format is not None:
        return format_named(format)
    from spatial_xr.errors import UnsupportedFormatError
    from spatial_xr.io.formats import formats

    name = os.path.basename(os.fspath(path).rstrip("/\\")).lower()
    for fmt in formats():
        if fmt.writer is not None and name.endswith(tuple(fmt.extensions)):
            return fmt
    writable = [f"{f.name} ({', '.join(f.extensions)})" for f in formats() if f.writer]
    raise UnsupportedFormatError(
        f"cannot tell which format to write {os.fspath(path)!r} in from its name; name it "
        f"with one of these extensions or pass format='NAME': {'; '.join(writable)}"
    )


def write_image(
    da: xr.DataArray, path: str | os.PathLike[str], *, format: str | None = None,
    overwrite: bool = False, **kwargs: Any,
) -> Path:
    """Write an image in the format its destination's name says (``.nii.gz``,
    ``.ome.zarr``, …) or the one ``format=`` names.

    Parameters
    ----------
    da : xarray.DataArray
        Image with geometry.
    path : str or path-like
        Destination file or folder (DICOM series: a folder, with ``format="dicom"``).
    format : str, optional
        A writable format's name.
    overwrite : bool
        Replace an existing destination (writers refuse otherwise).
    **kwargs
        Options of the format's writer.

    Returns
    -------
    pathlib.Path
        The written destination.
    """
    fmt = _format_for_destination(path, format)
    fmt.write(da, path, overwrite=overwrite, **kwargs)
    return Path(path)
