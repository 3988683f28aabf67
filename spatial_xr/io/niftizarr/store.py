"""The ``nifti`` array of a NIfTI-Zarr group: read its bytes (bounded) and write them.

The specification stores the header as a single-chunk 1-D array of bytes (dtype ``u1``,
shape = header length), or as one fixed-length byte string (dtype ``S<length>``, shape
``[1]``); both are read. Writing uses the first form, uncompressed.
"""

from __future__ import annotations

import numpy as np
import zarr

from spatial_xr.errors import FormatError
from spatial_xr.io.niftizarr.header import HEADER_KEY

__all__ = ["MAX_HEADER_BYTES", "read_header_bytes", "write_header_bytes"]

MAX_HEADER_BYTES = 1 << 20
"""Largest ``nifti`` array read (a header with its extensions); larger ones are refused
unread."""


def read_header_bytes(group: zarr.Group, where: str) -> bytes | None:
    """The bytes of ``group``'s ``nifti`` array, or None when the group has none.

    Raises
    ------
    FormatError
        ``nifti`` is a group, has another dtype or shape than the specification allows,
        is larger than :data:`MAX_HEADER_BYTES`, or its chunk cannot be read.
    """
    try:
        node = group[HEADER_KEY]
    except KeyError:
        return None
    spec = ("the NIfTI-Zarr specification stores the header as a 1-D uint8 array (or one "
            "byte string) named 'nifti'")
    if not isinstance(node, zarr.Array):
        raise FormatError(f"{where}: 'nifti' is a group, not an array; {spec}")
    dtype = np.dtype(node.dtype)
    ok = (dtype == np.uint8 and node.ndim == 1) or (dtype.kind == "S" and node.size == 1)
    if not ok:
        raise FormatError(
            f"{where}: the 'nifti' array has dtype {dtype} and shape {node.shape}; {spec}"
        )
    if node.nbytes > MAX_HEADER_BYTES:
        raise FormatError(
            f"{where}: the 'nifti' array holds {node.nbytes} bytes, more than a NIfTI header "
            f"with extensions ({MAX_HEADER_BYTES} at most); {spec}"
        )
    try:
        values = np.asarray(node[...])
    except Exception as exc:
        raise FormatError(
            f"{where}: could not read the 'nifti' header array ({type(exc).__name__}: {exc}); "
            "the store is corrupt"
        ) from exc
    if dtype.kind == "S":
        return bytes(values.reshape(-1)[0]).ljust(dtype.itemsize, b"\x00")
    return values.tobytes()


def write_header_bytes(root: zarr.Group, raw: bytes) -> zarr.Array:
    """Store ``raw`` as ``root``'s ``nifti`` array: 1-D uint8, one chunk, uncompressed."""
    arr = root.create_array(name=HEADER_KEY, shape=(len(raw),), chunks=(len(raw),),
                            dtype="uint8", fill_value=0, compressors=None)
    arr[:] = np.frombuffer(raw, dtype=np.uint8)
    return arr
