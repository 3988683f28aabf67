"""Checks of a plain Analyze 7.5 header that nibabel would repair silently.

nibabel sets a zero voxel size (``pixdim``) to 1 on load; that would be guessing the
geometry, so spatial_xr refuses it (NIfTI pairs get the NIfTI checks,
:func:`spatial_xr.io.nifti.validate.check_nifti_file`).
"""

from __future__ import annotations

import gzip
from typing import Any, Literal

import numpy as np

from spatial_xr.errors import FormatError, GeometryError

__all__ = ["check_analyze_header"]


def check_analyze_header(path: str) -> None:
    """Refuse an Analyze header whose spatial voxel sizes are not finite and > 0.

    Parameters
    ----------
    path : str
        The ``.hdr`` or ``.hdr.gz`` file.

    Raises
    ------
    FormatError
        The header is shorter than 348 bytes or ``sizeof_hdr`` is not 348.
    GeometryError
        ``pixdim[1..3]`` (of the dims the image has) is zero, NaN or infinite.
    """
    from nibabel.analyze import header_dtype

    opener: Any = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read(header_dtype.itemsize)
    if len(raw) < header_dtype.itemsize:
        raise FormatError(
            f"{path!r} is truncated: {len(raw)} bytes, too short for an Analyze header "
            f"({header_dtype.itemsize} bytes)"
        )
    orders: tuple[Literal["<", ">"], ...] = ("<", ">")
    for order in orders:
        h = np.frombuffer(raw, dtype=header_dtype.newbyteorder(order))[0]
        if int(h["sizeof_hdr"]) == header_dtype.itemsize:
            break
    else:
        raise FormatError(f"{path!r}: sizeof_hdr is not 348; this is not an Analyze header")
    ndim = int(h["dim"][0])
    for i in range(1, min(max(ndim, 1), 3) + 1):
        size = float(h["pixdim"][i])
        if not np.isfinite(size) or size == 0:
            raise GeometryError(
                f"{path!r}: the Analyze affine cannot be built: pixdim[{i}] (voxel size "
                f"along {'xyz'[i - 1]}) is {size}; a voxel size must be finite and non-zero "
                "(the affine would be non-finite or singular) — fix the header"
            )
