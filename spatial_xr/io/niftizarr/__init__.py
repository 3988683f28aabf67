"""NIfTI-Zarr: an OME-Zarr multiscale image whose group also stores the NIfTI header of
its finest level (the ``nii.zarr`` specification), read by nibabel-based tools with their
own affine.

- :mod:`~spatial_xr.io.niftizarr.detect`: whether a path is NIfTI-Zarr (no zarr import);
- :mod:`~spatial_xr.io.niftizarr.header`: header bytes ↔ nibabel header, level geometry;
- :mod:`~spatial_xr.io.niftizarr.store`: the ``nifti`` array of the group;
- :mod:`~spatial_xr.io.niftizarr.read`: :func:`open_niftizarr`,
  :func:`open_niftizarr_multiscale`;
- :mod:`~spatial_xr.io.niftizarr.write`: :func:`write_niftizarr`
  (= ``to_ome_zarr(..., nifti=True)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spatial_xr._lazy import lazy_attributes

if TYPE_CHECKING:
    from spatial_xr.io.niftizarr.read import open_niftizarr, open_niftizarr_multiscale
    from spatial_xr.io.niftizarr.write import write_niftizarr

__all__ = ["open_niftizarr", "open_niftizarr_multiscale", "write_niftizarr"]

_WHERE = {
    "open_niftizarr": ".read",
    "open_niftizarr_multiscale": ".read",
    "write_niftizarr": ".write",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
