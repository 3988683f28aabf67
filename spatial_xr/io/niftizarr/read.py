"""Open a NIfTI-Zarr store: the OME-Zarr reader with its NIfTI header required.

The OME-Zarr reader (:func:`spatial_xr.io.omezarr.read.open_omezarr`) already places
every level by the header when a store has one; these functions add only the demand that
it does, so that ``open_image(path, format="niftizarr")`` on a plain OME-Zarr store fails
instead of silently using other geometry.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from spatial_xr.io.omezarr.read import open_multiscale, open_omezarr
from spatial_xr.io.omezarr.store import StoreTarget

__all__ = ["open_niftizarr", "open_niftizarr_multiscale"]


def open_niftizarr(path: StoreTarget, **options: Any) -> xr.DataArray:
    """Open one level of a NIfTI-Zarr store lazily, placed by its NIfTI header.

    Parameters
    ----------
    path : str, path-like, fsspec mapper or zarr store
        The ``.nii.zarr`` store.
    **options
        As for :func:`~spatial_xr.io.omezarr.read.open_omezarr`: ``level``, ``spacing``,
        ``channel``, ``timepoint``, ``chunks``, ``storage_options``, ``units``, and the
        header's ``affine`` (``"best"``, ``"sform"``, ``"qform"``) and ``apply_scaling``.

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    FormatError
        The store has no ``nifti`` header array, or a corrupt one.
    """
    return open_omezarr(path, **{"nifti": True, **options})


def open_niftizarr_multiscale(path: StoreTarget, **options: Any) -> xr.DataTree:
    """Open every level of a NIfTI-Zarr store lazily as a DataTree (see
    :func:`open_niftizarr` and :func:`~spatial_xr.io.omezarr.read.open_multiscale`)."""
    return open_multiscale(path, **{"nifti": True, **options})
