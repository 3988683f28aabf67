"""OME-Zarr (OME-NGFF 0.4 on Zarr v2, 0.5 on Zarr v3): lazy reading, pyramids, writing.

- :mod:`~spatial_xr.io.omezarr.detect`: whether a path or store is OME-Zarr (no zarr import);
- :mod:`~spatial_xr.io.omezarr.metadata`: multiscales JSON ↔ geometry (pure);
- :mod:`~spatial_xr.io.omezarr.store`: paths, URLs and mappers → Zarr stores;
- :mod:`~spatial_xr.io.omezarr.read`: :func:`open_omezarr`, :func:`open_multiscale`;
- :mod:`~spatial_xr.io.omezarr.write`: :func:`to_ome_zarr`.

The functions are imported on first use, so that recognising a path as OME-Zarr does not
import zarr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.omezarr.detect import is_omezarr_path
    from spatial_xr.io.omezarr.read import open_multiscale, open_omezarr
    from spatial_xr.io.omezarr.write import to_ome_zarr

__all__ = ["is_omezarr_path", "open_multiscale", "open_omezarr", "to_ome_zarr"]

_WHERE = {
    "is_omezarr_path": ".detect",
    "open_multiscale": ".read",
    "open_omezarr": ".read",
    "to_ome_zarr": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
