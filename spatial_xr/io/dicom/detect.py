"""Decide cheaply whether a path is something the DICOM reader should open."""

from __future__ import annotations

import os

__all__ = ["is_dicom"]

_ZARR_MARKERS = ("zarr.json", ".zattrs", ".zgroup", ".zarray")


def is_dicom(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a DICOM file or a folder that is not a Zarr store.

    A file counts when it has the ``DICM`` preamble marker at byte 128, or when pydicom can
    parse a dataset with image rows from it (files without a preamble). A folder counts
    unless its name ends in ``.zarr`` or it holds ``zarr.json``, ``.zattrs``, ``.zgroup``
    or ``.zarray``.
    """
    p = os.fspath(path)
    if "://" in p:
        return False
    if os.path.isdir(p):
        if p.rstrip("/\\").lower().endswith(".zarr"):
            return False
        return not any(os.path.exists(os.path.join(p, m)) for m in _ZARR_MARKERS)
    if not os.path.isfile(p):
        return False
    try:
        with open(p, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    lower = p.lower()
    if lower.endswith((".nii", ".nii.gz", ".zarr", ".json", ".txt", ".png", ".jpg")):
        return False
    from spatial_xr.io.dicom.headers import read_dataset

    return read_dataset(p) is not None
