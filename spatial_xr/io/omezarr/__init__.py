"""OME-Zarr (OME-NGFF 0.4 on Zarr v2, 0.5 on Zarr v3): lazy reading, pyramids, writing.

- :mod:`~spatial_xr.io.omezarr.metadata`: multiscales JSON ↔ geometry (pure);
- :mod:`~spatial_xr.io.omezarr.store`: paths, URLs and mappers → Zarr stores;
- :mod:`~spatial_xr.io.omezarr.read`: :func:`open_omezarr`, :func:`open_multiscale`;
- :mod:`~spatial_xr.io.omezarr.write`: :func:`to_ome_zarr`.
"""

from spatial_xr.io.omezarr.read import is_omezarr_path, open_multiscale, open_omezarr
from spatial_xr.io.omezarr.write import to_ome_zarr

__all__ = ["is_omezarr_path", "open_multiscale", "open_omezarr", "to_ome_zarr"]
