"""Whether a path is an Imaris file, decided without importing h5py."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["HDF5_SIGNATURE", "sniff_imaris"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The HDF5 superblock signature (at byte 0 of an ordinary HDF5 file)."""


def sniff_imaris(probe: Probe) -> bool:
    """The registry's test: a local file named ``*.ims``. (Its HDF5 signature is not
    required: a broken file then gets the reader's specific error, not "unknown
    format".) Other HDF5 files are not Imaris files."""
    return probe.kind == "file" and probe.has_extension((".ims",))
