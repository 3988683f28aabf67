"""Zipped OME-Zarr (``.ozx``, RFC-9) reading: the OME-Zarr reader over an
:class:`~spatial_xr.io.ozx.store.OzxStore`, local or remote.

Opening reads the archive's tail (end record, RFC-9 comment, central directory) and the
``zarr.json`` entries; a computation then reads only the entries (and, for sharded
arrays, the byte ranges) it touches. Everything :func:`spatial_xr.open_omezarr` offers
(levels, ``spacing=``, channels, units, geometry) applies unchanged.
"""

from __future__ import annotations

import os
from typing import Any

import xarray as xr

from spatial_xr.io.omezarr.read import open_multiscale, open_omezarr
from spatial_xr.io.ozx.store import OzxStore

__all__ = ["open_ozx", "open_ozx_multiscale"]


def _store(path: Any, storage_options: dict[str, Any] | None) -> Any:
    if isinstance(path, str | os.PathLike):
        return OzxStore(path, storage_options)
    return path  # a store object already


def open_ozx(path: Any, *, storage_options: dict[str, Any] | None = None,
             **options: Any) -> xr.DataArray:
    """Open one level of a zipped OME-Zarr lazily.

    Parameters
    ----------
    path : str, path-like or store
        Local ``.ozx`` file, or a URL (``https://…/x.ozx``, ``s3://…``) read with range
        requests; an :class:`~spatial_xr.io.ozx.store.OzxStore` is used as is.
    storage_options : dict, optional
        fsspec options for URLs.
    **options
        As for :func:`spatial_xr.open_omezarr` (``level``, ``spacing``, ``channel``,
        ``timepoint``, ``chunks``, ``units``, ``multiscale``).

    Returns
    -------
    xarray.DataArray
    """
    return open_omezarr(_store(path, storage_options), **options)


def open_ozx_multiscale(path: Any, *, storage_options: dict[str, Any] | None = None,
                        **options: Any) -> xr.DataTree:
    """Open every level of a zipped OME-Zarr lazily as a DataTree (``scale0``, …); see
    :func:`open_ozx` and :func:`spatial_xr.open_multiscale`."""
    return open_multiscale(_store(path, storage_options), **options)
