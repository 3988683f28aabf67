"""Whether a path names an OME-Zarr store, decided without importing zarr (so that opening
a NIfTI file or a DICOM folder never loads it)."""

from __future__ import annotations

import os

__all__ = ["is_omezarr_path"]


def is_omezarr_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like an OME-Zarr store: a name ending ``.zarr`` (URLs too) or a
    local folder holding ``zarr.json``, ``.zattrs`` or ``.zgroup``."""
    p = os.fspath(path).rstrip("/")
    if p.lower().endswith(".zarr"):
        return True
    if "://" in p:
        return False
    return os.path.isdir(p) and any(
        os.path.exists(os.path.join(p, f)) for f in ("zarr.json", ".zattrs", ".zgroup")
    )
