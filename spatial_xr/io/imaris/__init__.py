"""Imaris 5.5 (``.ims``, HDF5): lazy reading of every resolution level, and writing.

- :mod:`~spatial_xr.io.imaris.attrs`: Imaris attributes (arrays of one-byte strings);
- :mod:`~spatial_xr.io.imaris.layout`: the file's structure and geometry (metadata only);
- :mod:`~spatial_xr.io.imaris.lazy`: :class:`ImarisArray`, pickle-safe voxel access;
- :mod:`~spatial_xr.io.imaris.read`: :func:`open_imaris`, :func:`open_imaris_multiscale`;
- :mod:`~spatial_xr.io.imaris.write`: :func:`write_imaris`.

Imported on first use, so that recognising a path as Imaris imports neither h5py nor dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.imaris.layout import ImarisLayout, read_layout
    from spatial_xr.io.imaris.lazy import ImarisArray
    from spatial_xr.io.imaris.read import is_imaris_path, open_imaris, open_imaris_multiscale
    from spatial_xr.io.imaris.write import write_imaris

__all__ = ["ImarisArray", "ImarisLayout", "is_imaris_path", "open_imaris",
           "open_imaris_multiscale", "read_layout", "write_imaris"]

_WHERE = {
    "ImarisArray": ".lazy",
    "ImarisLayout": ".layout",
    "is_imaris_path": ".read",
    "open_imaris": ".read",
    "open_imaris_multiscale": ".read",
    "read_layout": ".layout",
    "write_imaris": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
