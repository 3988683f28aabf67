"""Zipped OME-Zarr (``.ozx``, RFC-9): an OME-Zarr 0.5 hierarchy in one ZIP file.

- :mod:`~spatial_xr.io.ozx.detect`: whether a path is a zipped OME-Zarr (no zarr import);
- :mod:`~spatial_xr.io.ozx.zipindex`: the central directory and entry byte ranges;
- :mod:`~spatial_xr.io.ozx.store`: :class:`OzxStore`, a read-only Zarr store, local or
  remote, reading exactly the bytes asked for;
- :mod:`~spatial_xr.io.ozx.read`: :func:`open_ozx`, :func:`open_ozx_multiscale`;
- :mod:`~spatial_xr.io.ozx.write`: :func:`to_ozx`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.ozx.read import open_ozx, open_ozx_multiscale
    from spatial_xr.io.ozx.store import OzxStore
    from spatial_xr.io.ozx.write import to_ozx

__all__ = ["OzxStore", "open_ozx", "open_ozx_multiscale", "to_ozx"]

_WHERE = {
    "OzxStore": ".store",
    "open_ozx": ".read",
    "open_ozx_multiscale": ".read",
    "to_ozx": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
