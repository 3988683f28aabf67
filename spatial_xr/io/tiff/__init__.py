"""TIFF: OME-TIFF, ImageJ hyperstacks, plain TIFF and BigTIFF, TIFF stacks; lazy reading
through tifffile, pyramidal OME-TIFF and stack writing.

- :mod:`~spatial_xr.io.tiff.detect`: whether a path is TIFF, a TIFF folder or a glob (no
  tifffile import);
- :mod:`~spatial_xr.io.tiff.ome`: OME-XML → sizes, physical sizes, channels, positions;
- :mod:`~spatial_xr.io.tiff.imagej`: ImageJ metadata and resolution tags → pixel size;
- :mod:`~spatial_xr.io.tiff.array`: the pickle-safe lazy array (whole pages, boxes, or
  tifffile's Zarr store);
- :mod:`~spatial_xr.io.tiff.tiles`: a box of a page decoded tile by tile;
- :mod:`~spatial_xr.io.tiff.read`: :func:`open_tiff`, :func:`open_tiff_multiscale`;
- :mod:`~spatial_xr.io.tiff.stack`: :func:`open_tiff_stack`;
- :mod:`~spatial_xr.io.tiff.write`: :func:`to_ome_tiff`, :func:`to_tiff_stack`.

The functions are imported on first use, so that recognising a path does not import
tifffile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.tiff.read import open_tiff, open_tiff_multiscale
    from spatial_xr.io.tiff.stack import open_tiff_stack
    from spatial_xr.io.tiff.write import to_ome_tiff, to_tiff_stack

__all__ = ["open_tiff", "open_tiff_multiscale", "open_tiff_stack", "to_ome_tiff",
           "to_tiff_stack"]

_WHERE = {
    "open_tiff": ".read",
    "open_tiff_multiscale": ".read",
    "open_tiff_stack": ".stack",
    "to_ome_tiff": ".write",
    "to_tiff_stack": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
