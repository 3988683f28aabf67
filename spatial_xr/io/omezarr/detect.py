"""Whether a path, URL or store object is an OME-Zarr image, decided without importing
zarr and without reading more than the group's metadata file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["ZARR_MARKERS", "is_omezarr_path", "is_zarr_folder", "sniff_omezarr"]

ZARR_MARKERS = ("zarr.json", ".zattrs", ".zgroup", ".zarray")
"""Metadata files whose presence makes a folder a Zarr store (v3 or v2)."""
_METADATA_BYTES = 1 << 20


def is_zarr_folder(path: str) -> bool:
    """Whether the local folder ``path`` is a Zarr store (holds a Zarr metadata file)."""
    return any(os.path.exists(os.path.join(path, m)) for m in ZARR_MARKERS)


def _has_multiscales(path: str) -> bool:
    for meta in ("zarr.json", ".zattrs"):
        try:
            with open(os.path.join(path, meta), encoding="utf-8", errors="replace") as f:
                if '"multiscales"' in f.read(_METADATA_BYTES):
                    return True
        except OSError:
            continue
    return False


def sniff_omezarr(probe: Probe) -> bool:
    """The registry's test: a store object; a URL whose name ends ``.zarr``; a local folder
    named ``*.ome.zarr``, or any Zarr folder whose group metadata has ``multiscales``.

    A local ``*.zarr`` folder without OME metadata is a plain Zarr store, not an image.
    """
    if probe.kind == "store":
        return True
    if probe.kind == "remote":
        return probe.has_extension((".zarr",))
    if probe.kind != "folder":
        return False
    if probe.has_extension((".ome.zarr",)):
        return True
    return is_zarr_folder(probe.path) and _has_multiscales(probe.path)


def is_omezarr_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an OME-Zarr store (see :func:`sniff_omezarr`)."""
    from spatial_xr.io.formats import Probe

    return sniff_omezarr(Probe(path))
