"""``open_image``: one entry point that dispatches on the path's format."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import xarray as xr

from spatial_xr.errors import PathNotFoundError, UnsupportedFormatError
from spatial_xr.io.zarr_path import is_omezarr_path

__all__ = ["open_image", "register_reader"]

Reader = Callable[..., xr.DataArray]
_READERS: list[tuple[str, Callable[[str], bool], Callable[[], Reader]]] = []


def register_reader(
    name: str, can_open: Callable[[str], bool], load: Callable[[], Reader]
) -> None:
    """Register a format: ``can_open(path)`` decides, ``load()`` returns the reader function
    (imported on first use). Earlier registrations win."""
    _READERS.append((name, can_open, load))


def _nifti() -> Reader:
    from spatial_xr.io.nifti import open_nifti

    return open_nifti


def _is_nifti(path: str) -> bool:
    from spatial_xr.io.nifti import is_nifti_path

    return is_nifti_path(path)


register_reader("nifti", _is_nifti, _nifti)


def _omezarr() -> Reader:
    from spatial_xr.io.omezarr.read import open_omezarr

    return open_omezarr


register_reader("omezarr", is_omezarr_path, _omezarr)


def _dicom() -> Reader:
    from spatial_xr.io.dicom import open_dicom

    return open_dicom


def _is_dicom(path: str) -> bool:
    from spatial_xr.io.dicom.detect import is_dicom

    return is_dicom(path)


register_reader("dicom", _is_dicom, _dicom)


def _is_remote(path: str) -> bool:
    return "://" in path


def open_image(
    path: str | os.PathLike[str],
    *,
    orientation: str | None = None,
    chunks: Any = None,
    **kwargs: Any,
) -> xr.DataArray:
    """Open an image lazily (reading headers only) as a DataArray with geometry.

    Parameters
    ----------
    path : str, path-like, fsspec mapper or zarr store
        A ``.nii``/``.nii.gz`` file, a DICOM file or folder, or an OME-Zarr store (a
        ``.zarr``/``.ome.zarr`` folder, a URL such as ``s3://…``, or a mapper/store object).
    orientation : str, optional
        Reorder the axes lazily to this orientation code (e.g. ``"RAS"``); the file's own
        storage order is kept by default.
    chunks : optional
        dask chunks (dict by dim name, or per dim); each reader documents its default.
    **kwargs
        Format-specific options (e.g. ``apply_scaling=``, ``affine=`` for NIfTI).

    Returns
    -------
    xarray.DataArray
        dask-backed; spatial dims ``z, y, x`` (``t``, ``c`` first where present).

    Raises
    ------
    PathNotFoundError
        The path does not exist.
    UnsupportedFormatError
        No reader recognises the path.
    """
    if not isinstance(path, str | os.PathLike):  # an fsspec mapper or a zarr store object
        da = _omezarr()(path, chunks=chunks, **kwargs)
        return da if orientation is None else da.spatial.reorient(orientation)
    spath = os.fspath(path)
    if not _is_remote(spath) and not os.path.exists(spath):
        raise PathNotFoundError(f"no such file or folder: {spath!r}")
    for _name, can_open, load in _READERS:
        if can_open(spath):
            da = load()(spath, chunks=chunks, **kwargs)
            if orientation is not None:
                da = da.spatial.reorient(orientation)
            return da
    raise UnsupportedFormatError(
        f"cannot tell the format of {spath!r}; spatial_xr opens .nii/.nii.gz files and "
        f".zarr/.ome.zarr stores (readers: {', '.join(n for n, _, _ in _READERS)})"
    )
