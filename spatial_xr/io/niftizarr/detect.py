"""Whether a path is a NIfTI-Zarr store, decided without importing zarr: an OME-Zarr
folder (see :func:`spatial_xr.io.omezarr.detect.sniff_omezarr`) whose group holds a
``nifti`` array (two ``os.path.exists`` calls more)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from spatial_xr.io.omezarr.detect import sniff_omezarr

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["has_nifti_header", "sniff_niftizarr"]


def has_nifti_header(path: str) -> bool:
    """Whether the local Zarr folder ``path`` holds a ``nifti`` array (Zarr v3 or v2)."""
    return any(os.path.exists(os.path.join(path, "nifti", m)) for m in ("zarr.json", ".zarray"))


def sniff_niftizarr(probe: Probe) -> bool:
    """The registry's test: a local OME-Zarr folder with a ``nifti`` array, or a URL whose
    name ends ``.nii.zarr``. Store objects are left to the ``omezarr`` format, whose reader
    uses the header all the same."""
    if probe.kind == "remote":
        return probe.has_extension((".nii.zarr",))
    if probe.kind != "folder":
        return False
    return has_nifti_header(probe.path) and sniff_omezarr(probe)
