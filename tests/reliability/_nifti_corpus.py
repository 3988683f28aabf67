"""Build valid and deliberately broken NIfTI files in memory (no binary blobs in the repo).

:func:`nifti_bytes` writes a small, valid NIfTI-1 or NIfTI-2 file with known geometry and
lets a test override any raw header field (``dim``, ``datatype``, ``vox_offset``,
``pixdim``, ``srow_x`` …) *without* nibabel repairing it, so that the header can lie.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from typing import Any

import nibabel as nib
import numpy as np

SHAPE_XYZ = (4, 5, 6)
AFFINE_RAS = np.array(
    [[2.0, 0.0, 0.0, -10.0], [0.0, 3.0, 0.0, 20.0], [0.0, 0.0, 4.0, 30.0], [0, 0, 0, 1]]
)


def voxels(shape_xyz: tuple[int, ...] = SHAPE_XYZ, dtype: Any = np.int16) -> np.ndarray:
    """Deterministic voxel values in NIfTI (x, y, z) order."""
    n = int(np.prod(shape_xyz))
    return (np.arange(n) % 251).reshape(shape_xyz).astype(dtype)


def nifti_bytes(
    shape_xyz: tuple[int, ...] = SHAPE_XYZ,
    dtype: Any = np.int16,
    *,
    version: int = 1,
    header: Mapping[str, Any] | None = None,
    data: bytes | None = None,
) -> bytes:
    """A complete single-file NIfTI (uncompressed bytes).

    Parameters
    ----------
    shape_xyz : tuple of int
        Data shape in NIfTI order (x, y, z[, t, c]).
    dtype : numpy dtype
        Stored dtype.
    version : {1, 2}
    header : mapping, optional
        Raw header fields to overwrite after the valid header is built (e.g.
        ``{"dim": [...], "vox_offset": 0}``); an item of an array field may be given as
        ``("pixdim", 2): 0.0``.
    data : bytes, optional
        Voxel bytes to store instead of :func:`voxels`.
    """
    arr = voxels(shape_xyz, dtype)
    hdr = nib.Nifti1Header() if version == 1 else nib.Nifti2Header()
    hdr.set_data_shape(shape_xyz)
    hdr.set_data_dtype(np.dtype(dtype))
    hdr.set_qform(AFFINE_RAS, code=1)
    hdr.set_sform(AFFINE_RAS, code=1)
    hdr.set_xyzt_units("mm", "sec")
    offset = len(hdr.binaryblock) + 4
    hdr["vox_offset"] = offset
    for key, value in (header or {}).items():
        if isinstance(key, tuple):
            field, index = key
            values = np.array(hdr[field])
            values[index] = value
            hdr[field] = values
        else:
            hdr[key] = value
    payload = arr.tobytes(order="F") if data is None else data
    return hdr.binaryblock + b"\x00" * 4 + payload


def gzipped(raw: bytes, level: int = 6) -> bytes:
    """gzip-compress ``raw`` (single member, as nibabel and dcm2niix write)."""
    return gzip.compress(raw, compresslevel=level, mtime=0)
