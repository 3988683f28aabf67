"""Read an MGH/MGZ header with nibabel's :class:`~nibabel.freesurfer.mghformat.MGHHeader`,
checking what it declares before it is trusted, without touching the voxels.

An MGH file is a 284-byte big-endian header, the voxels (x fastest), then an optional
footer with the scan parameters (TR, flip angle, TE, TI, FoV). nibabel's own loader reads
the footer at open; for ``.mgz`` that inflates the whole file. :func:`read_mgh_header`
reads the footer only when asked (``footer=True``), so that opening a ``.mgz`` reads its
first 284 bytes only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spatial_xr.errors import FormatError
from spatial_xr.io.validate import declared_nbytes, require_data_fits

__all__ = ["MGH_TYPES", "is_compressed_mgh", "read_mgh_header"]

MGH_TYPES = {0: "uint8", 1: "int32", 3: "float32", 4: "int16", 10: "uint16"}
"""MGH ``type`` codes nibabel reads, and their numpy names (stored big-endian)."""


def is_compressed_mgh(path: str) -> bool:
    """Whether ``path`` names a gzip-compressed MGH file (``.mgz``)."""
    return path.lower().endswith(".mgz")


def read_mgh_header(path: str, *, footer: bool) -> Any:
    """Parse and check the header of an MGH/MGZ file.

    Parameters
    ----------
    path : str
        ``.mgh`` or ``.mgz`` file.
    footer : bool
        Also read the scan parameters after the voxels (a seek for ``.mgh``; for a
        compressed file it inflates the whole stream). When False they read as 0.

    Returns
    -------
    nibabel.freesurfer.mghformat.MGHHeader

    Raises
    ------
    FormatError
        Truncated header, version other than 1, a dim < 1, an unknown data type, or
        declared voxels that the file cannot hold.
    """
    from nibabel.freesurfer.mghformat import DATA_OFFSET, MGHHeader, footer_dtype, header_dtype
    from nibabel.openers import ImageOpener

    compressed = is_compressed_mgh(path)
    try:
        with ImageOpener(path, "rb") as f:
            head = f.read(header_dtype.itemsize)
            fields = _check_fields(path, head, header_dtype)
            shape = [int(v) for v in fields["dims"]]
            nbytes = declared_nbytes(shape, np.dtype(MGH_TYPES[int(fields["type"])]).itemsize)
            require_data_fits(path, DATA_OFFSET, nbytes, compressed=compressed)
            tail = b""
            if footer:
                f.seek(DATA_OFFSET + nbytes)
                tail = f.read(footer_dtype.itemsize)
    except FileNotFoundError:
        raise
    except FormatError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise FormatError(
            f"{path!r} could not be read as MGH ({type(exc).__name__}: {exc}); the file is "
            "truncated, corrupt, or not (gzip-compressed) MGH"
        ) from exc
    tail = tail + b"\x00" * (footer_dtype.itemsize - len(tail))  # an absent footer reads as 0
    return MGHHeader(head + tail, check=False)


def _check_fields(path: str, head: bytes, dtype: np.dtype[Any]) -> Any:
    if len(head) < dtype.itemsize:
        raise FormatError(
            f"{path!r} is truncated: {len(head)} bytes, too short for an MGH header "
            f"({dtype.itemsize} bytes)"
        )
    fields = np.frombuffer(head, dtype=dtype)[0]
    version = int(fields["version"])
    if version != 1:
        raise FormatError(
            f"{path!r}: MGH version is {version}, not 1; this is not an MGH/MGZ file or its "
            "header is corrupt"
        )
    dims = [int(v) for v in fields["dims"]]
    if any(v < 1 for v in dims):
        raise FormatError(
            f"{path!r}: MGH dims are {tuple(dims)} (width, height, depth, frames); every "
            "size must be ≥ 1 — the header is corrupt"
        )
    code = int(fields["type"])
    if code not in MGH_TYPES:
        raise FormatError(
            f"{path!r}: MGH data type code {code} is not one of "
            f"{MGH_TYPES} (FreeSurfer's MRI_UCHAR, MRI_INT, "
            "MRI_FLOAT, MRI_SHORT, MRI_USHRT); the header is corrupt or the type unsupported"
        )
    return fields

