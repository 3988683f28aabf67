"""Recognise an RT Structure Set from a bounded prefix of a file (its SOP Class UID)."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from spatial_xr.io.dicom.detect import looks_like_dicom
from spatial_xr.io.rtstruct.structure import RTSTRUCT_SOP_CLASS

if TYPE_CHECKING:
    from spatial_xr.io.formats import Probe

__all__ = ["is_rtstruct_head", "sniff_rtstruct"]


def is_rtstruct_head(head: bytes) -> bool:
    """Whether the first bytes of a file are those of an RT Structure Set: DICOM (see
    :func:`~spatial_xr.io.dicom.detect.looks_like_dicom`) whose SOPClassUID (or the file
    meta's MediaStorageSOPClassUID) is RT Structure Set Storage, as pydicom reads it from
    the prefix.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (the registry reads 4096).
    """
    if not looks_like_dicom(head) or RTSTRUCT_SOP_CLASS.encode() not in head:
        return False
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(head), force=True, stop_before_pixels=True,
                                 specific_tags=["SOPClassUID"])
    except Exception:  # a prefix cut inside an element: decide by the meta alone
        return False
    meta = getattr(ds, "file_meta", None)
    uids = {str(ds.get("SOPClassUID", "")),
            str(getattr(meta, "MediaStorageSOPClassUID", "") if meta is not None else "")}
    return RTSTRUCT_SOP_CLASS in uids


def sniff_rtstruct(probe: Probe) -> bool:
    """The registry's test: a file whose first bytes are an RT Structure Set's."""
    return probe.kind == "file" and is_rtstruct_head(probe.head)
