"""Whether a path is a zipped OME-Zarr (RFC-9), decided from its name and first bytes
without importing zarr."""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["LOCAL_HEADER", "first_entry_name", "is_ozx_name", "sniff_ozx"]

LOCAL_HEADER = b"PK\x03\x04"
"""Signature of a ZIP local file header (the first bytes of a ZIP file)."""


def is_ozx_name(target: object) -> bool:
    """Whether ``target`` is a path or URL whose name ends with ``.ozx``."""
    if not isinstance(target, str | os.PathLike):
        return False
    return os.fspath(target).rstrip("/\\").lower().endswith(".ozx")


def first_entry_name(head: bytes) -> str | None:
    """The name of a ZIP file's first entry, from its first bytes (None if not a ZIP)."""
    if len(head) < 30 or not head.startswith(LOCAL_HEADER):
        return None
    (n,) = struct.unpack_from("<H", head, 26)
    return head[30:30 + n].decode("utf-8", errors="replace")


def sniff_ozx(probe: Probe) -> bool:
    """The registry's test: a local file or URL named ``*.ozx``, or a local ZIP file whose
    first entry is the root ``zarr.json`` (RFC-9's layout, whatever the extension)."""
    if probe.kind == "remote":
        return probe.has_extension((".ozx",))
    if probe.kind != "file":
        return False
    return probe.has_extension((".ozx",)) or first_entry_name(probe.head) == "zarr.json"
