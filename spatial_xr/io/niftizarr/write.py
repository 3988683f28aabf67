"""Write a NIfTI-Zarr store: the OME-Zarr writer with ``nifti=True``."""

from __future__ import annotations

from typing import Any

import xarray as xr

from spatial_xr.io.omezarr.store import StoreTarget
from spatial_xr.io.omezarr.write import to_ome_zarr

__all__ = ["write_niftizarr"]


def write_niftizarr(obj: xr.DataArray | xr.DataTree, path: StoreTarget, **options: Any) -> None:
    """Write an image or pyramid as NIfTI-Zarr (OME-Zarr plus its NIfTI-1 header).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.DataTree
        As for :func:`~spatial_xr.io.omezarr.write.to_ome_zarr`.
    path : str, path-like, fsspec mapper or zarr store
        Destination, by convention named ``*.nii.zarr``.
    **options
        Options of :func:`~spatial_xr.io.omezarr.write.to_ome_zarr` (``version``,
        ``pyramid``, ``chunks``, ``overwrite``, …).
    """
    to_ome_zarr(obj, path, nifti=True, **options)
