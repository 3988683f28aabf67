"""OME-Zarr (OME-NGFF 0.4 on Zarr v2, 0.5 and 0.6 on Zarr v3): lazy reading, pyramids,
writing, RFC-5 coordinate systems.

- :mod:`~spatial_xr.io.omezarr.detect`: whether a path or store is OME-Zarr (no zarr import);
- :mod:`~spatial_xr.io.omezarr.metadata`: multiscales JSON ↔ geometry (pure);
- :mod:`~spatial_xr.io.omezarr.rfc5`: RFC-5 transformations as matrices, their graph (pure);
- :mod:`~spatial_xr.io.omezarr.systems`: 0.6 named coordinate systems ↔ geometry (pure);
- :mod:`~spatial_xr.io.omezarr.store`: paths, URLs and mappers → Zarr stores;
- :mod:`~spatial_xr.io.omezarr.read`: :func:`open_omezarr`, :func:`open_multiscale`,
  :func:`coordinate_systems`;
- :mod:`~spatial_xr.io.omezarr.write`: :func:`to_ome_zarr`.

The functions are imported on first use, so that recognising a path as OME-Zarr does not
import zarr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.omezarr.detect import is_omezarr_path
    from spatial_xr.io.omezarr.read import coordinate_systems, open_multiscale, open_omezarr
    from spatial_xr.io.omezarr.write import to_ome_zarr

__all__ = ["coordinate_systems", "is_omezarr_path", "open_multiscale", "open_omezarr",
           "to_ome_zarr"]

_WHERE = {
    "coordinate_systems": ".read",
    "is_omezarr_path": ".detect",
    "open_multiscale": ".read",
    "open_omezarr": ".read",
    "to_ome_zarr": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
