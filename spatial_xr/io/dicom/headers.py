"""Read DICOM headers (never pixels) into light per-frame records.

One :class:`FrameHeader` describes one 2-D slice: a single-frame file, one frame of a
multi-frame (enhanced) file, or one tile of a Siemens mosaic. Only the tags needed for
grouping, geometry, decoding and attributes are parsed (``specific_tags``), and parsing
stops before the pixel data; the byte offset of the pixel data element is kept so that
uncompressed frames can later be read with one seek.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag

__all__ = ["FrameHeader", "float_or_none", "floats_or_none", "read_dataset", "tag_value",
           "time_to_seconds"]

# Tags that separate volumes (the ``t`` dim) in the order they are tried.
T_TAGS = (
    "TemporalPositionIdentifier",
    "TemporalPositionIndex",
    "AcquisitionTime",
    "EchoTime",
    "EffectiveEchoTime",
    "TriggerTime",
    "DiffusionBValue",
    "AcquisitionNumber",
    "InstanceNumber",
)
_SELECT_TAGS = ("StackID", "FrameType", "ImageType", "EchoNumbers", "SeriesNumber")

_ATTR_TAGS = {
    "Modality": "modality",
    "SeriesDescription": "series_description",
    "SeriesInstanceUID": "series_uid",
    "SeriesNumber": "series_number",
    "BodyPartExamined": "body_part",
    "Manufacturer": "manufacturer",
    "ManufacturerModelName": "manufacturer_model",
    "SOPClassUID": "sop_class_uid",
    "StudyInstanceUID": "study_uid",
    "FrameOfReferenceUID": "frame_of_reference_uid",
    "PhotometricInterpretation": "photometric_interpretation",
    "RescaleType": "rescale_type",
    "MagneticFieldStrength": "magnetic_field_strength",
    "RepetitionTime": "repetition_time",
    "KVP": "kvp",
}
_IDENTIFYING = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientAddress",
    "AccessionNumber",
    "InstitutionName",
    "ReferringPhysicianName",
    "StudyID",
    "StudyDate",
)

HEADER_TAGS = sorted(
    {
        Tag(k)
        for k in (
            *_ATTR_TAGS,
            *_IDENTIFYING,
            *T_TAGS,
            *_SELECT_TAGS,
            "ImagePositionPatient",
            "ImageOrientationPatient",
            "PixelSpacing",
            "ImagerPixelSpacing",
            "SliceThickness",
            "SpacingBetweenSlices",
            "Rows",
            "Columns",
            "SamplesPerPixel",
            "PlanarConfiguration",
            "BitsAllocated",
            "BitsStored",
            "PixelRepresentation",
            "RescaleSlope",
            "RescaleIntercept",
            "NumberOfFrames",
            "GridFrameOffsetVector",
            "SharedFunctionalGroupsSequence",
            "PerFrameFunctionalGroupsSequence",
            "DirectoryRecordSequence",
            "SpecificCharacterSet",
        )
    }
    | {Tag(0x0029, 0x0010), Tag(0x0029, 0x0011), Tag(0x0029, 0x1010), Tag(0x0029, 0x1020)}
)

_PIXEL_TAGS = {
    b"\xe0\x7f\x10\x00": "<",  # (7FE0,0010) little endian
    b"\x7f\xe0\x00\x10": ">",  # big endian
    b"\xe0\x7f\x08\x00": "<",  # float pixel data
    b"\xe0\x7f\x09\x00": "<",  # double float pixel data
}
NATIVE_LE = {pydicom.uid.ImplicitVRLittleEndian, pydicom.uid.ExplicitVRLittleEndian}


@dataclass(frozen=True)
class FrameHeader:
    """Header of one 2-D slice (a file, a frame of a multi-frame file or a mosaic tile).

    Attributes
    ----------
    path : str
        File holding the pixels.
    frame : int
        Frame index in a multi-frame file, -1 for a single-frame file.
    tile : int
        Mosaic tile index (-1 unless a Siemens mosaic).
    mosaic_size : int
        Tiles per mosaic row (0 unless a mosaic).
    pixel_offset : int
        Byte offset of the pixel data element, or -1 (decode through pydicom).
    rows, cols : int
        Slice size (``y``, ``x``), after mosaic splitting.
    ipp : tuple of 3 float or None
        ``ImagePositionPatient``: world (LPS mm) centre of the slice's first pixel.
    iop : tuple of 6 float or None
        ``ImageOrientationPatient``.
    pixel_spacing : tuple of 2 float or None
        Spacing between rows (``y``) and between columns (``x``), mm.
    """

    path: str
    frame: int
    tile: int
    mosaic_size: int
    pixel_offset: int
    series_uid: str
    modality: str
    description: str
    sop_class: str
    transfer_syntax: str
    rows: int
    cols: int
    samples: int
    photometric: str
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    n_frames: int
    ipp: tuple[float, ...] | None
    iop: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    spacing_between_slices: float | None
    slope: float
    intercept: float
    tags: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    attrs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    private: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def source(self) -> tuple[str, int, int, int, int, str]:
        """Where the pixels are: ``(path, frame, tile, mosaic_size, pixel_offset,
        transfer_syntax)``."""
        return (self.path, self.frame, self.tile, self.mosaic_size, self.pixel_offset,
                self.transfer_syntax)

    @property
    def stored_dtype(self) -> np.dtype[Any]:
        """numpy dtype of the stored values (native byte order)."""
        kind = "i" if self.pixel_representation == 1 else "u"
        return np.dtype(f"{kind}{max(1, self.bits_allocated // 8)}")


def read_dataset(path: str) -> tuple[Dataset, int] | None:
    """Parse the header tags spatial_xr needs, stopping before the pixel data.

    Parameters
    ----------
    path : str
        Any file.

    Returns
    -------
    (pydicom.Dataset, int) or None
        The dataset and the byte offset of its pixel data element (-1 when it cannot be read
        directly: compressed, big endian or deflated), or ``None`` when the file is not a
        DICOM image (not DICOM, a DICOMDIR, or an object without pixel data).
    """
    from spatial_xr.io.dicom.fastheader import read_fast

    fast = read_fast(path, HEADER_TAGS)
    if fast is not None:
        mini, offset = fast
        if "Rows" not in mini or "Columns" not in mini:
            return None
        return mini, offset  # type: ignore[return-value]
    from spatial_xr.io.dicom.deflate import read_deflated

    try:
        with open(path, "rb") as f:
            deflated = read_deflated(f, HEADER_TAGS)
            if deflated is not None:  # offsets in the file mean nothing: decode via pydicom
                ds, has_pixels = deflated
                if not has_pixels or "DirectoryRecordSequence" in ds:
                    return None
                return (ds, -1) if "Rows" in ds and "Columns" in ds else None
            f.seek(0)
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=HEADER_TAGS)
            except InvalidDicomError:
                f.seek(0)
                ds = pydicom.dcmread(
                    f, stop_before_pixels=True, specific_tags=HEADER_TAGS, force=True
                )
            offset = f.tell()
            tag = f.read(4)
    except Exception:  # not DICOM, truncated, unreadable: skipped, never fatal
        return None
    if "DirectoryRecordSequence" in ds or tag not in _PIXEL_TAGS:
        return None
    if "Rows" not in ds or "Columns" not in ds:
        return None
    ts = transfer_syntax(ds)
    direct = ts in NATIVE_LE and tag == b"\xe0\x7f\x10\x00"
    return ds, (offset if direct else -1)


def transfer_syntax(ds: Dataset) -> str:
    """The dataset's transfer syntax UID; for a file without meta information, the encoding
    pydicom found when parsing it."""
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    if ts:
        return ts
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if little is False:
        return str(pydicom.uid.ExplicitVRBigEndian)
    if implicit is True:
        return str(pydicom.uid.ImplicitVRLittleEndian)
    return str(pydicom.uid.ExplicitVRLittleEndian) if implicit is False else ""


def time_to_seconds(value: Any) -> float | None:
    """DICOM TM (``HHMMSS.FFFFFF``) to seconds after midnight; None when absent/invalid."""
    if value in (None, ""):
        return None
    s = str(value).strip().replace(":", "")
    try:
        hh = int(s[0:2])
        mm = int(s[2:4]) if len(s) >= 4 else 0
        ss = float(s[4:]) if len(s) > 4 else 0.0
    except ValueError:
        return None
    return hh * 3600.0 + mm * 60.0 + ss


def float_or_none(v: Any) -> float | None:
    """A DICOM decimal (DS/FD) value as float; None when it is absent, empty or no number."""
    try:
        return None if v in (None, "") else float(v)
    except (TypeError, ValueError):
        return None


def _int(v: Any, default: int) -> int:
    try:
        return default if v in (None, "") else int(v)
    except (TypeError, ValueError):
        return default


def floats_or_none(v: Any, n: int) -> tuple[float, ...] | None:
    """A multi-valued DICOM decimal as ``n`` finite floats; None when it is absent, has
    another number of values, or holds a value that is no finite number."""
    if v is None:
        return None
    try:
        out = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(np.isfinite(out)) else None


def json_value(v: Any) -> Any:
    """A JSON-safe python value for a pydicom element value."""
    if v is None:
        return None
    if isinstance(v, pydicom.multival.MultiValue | list | tuple):
        return [json_value(x) for x in v]
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v)
    return str(v)


def tag_value(name: str, v: Any) -> Any:
    """Numeric value of a ``t``-separating or selection tag (times in seconds)."""
    if v in (None, ""):
        return None
    if name in ("AcquisitionTime", "ContentTime"):
        return time_to_seconds(v)
    if name in ("ImageType", "FrameType"):
        parts = [v] if isinstance(v, str) else list(v)
        return "\\".join(str(x).strip() for x in parts)
    if name == "StackID":
        return str(v)
    f = float_or_none(v)
    return f if f is not None else str(v)


def base_fields(ds: Dataset, path: str, offset: int, *, identifying: bool) -> dict[str, Any]:
    """Fields of :class:`FrameHeader` common to every frame of a file."""
    attrs: dict[str, Any] = {}
    for kw, name in _ATTR_TAGS.items():
        v = ds.get(kw)
        if v is not None and v != "":
            attrs[name] = json_value(v)
    private: dict[str, Any] = {}
    if identifying:
        for kw in _IDENTIFYING:
            v = ds.get(kw)
            if v is not None and v != "":
                private[kw] = json_value(v)
    tags = {k: tag_value(k, ds.get(k)) for k in (*T_TAGS, *_SELECT_TAGS) if k in ds}
    nf = _int(ds.get("NumberOfFrames"), 1)
    return {
        "path": path,
        "pixel_offset": offset,
        "series_uid": str(ds.get("SeriesInstanceUID", "") or ""),
        "modality": str(ds.get("Modality", "") or ""),
        "description": str(ds.get("SeriesDescription", "") or ""),
        "sop_class": str(ds.get("SOPClassUID", "") or ""),
        "transfer_syntax": transfer_syntax(ds),
        "rows": _int(ds.get("Rows"), 0),
        "cols": _int(ds.get("Columns"), 0),
        "samples": _int(ds.get("SamplesPerPixel"), 1),
        "photometric": str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
        "bits_allocated": _int(ds.get("BitsAllocated"), 16),
        "bits_stored": _int(ds.get("BitsStored"), _int(ds.get("BitsAllocated"), 16)),
        "pixel_representation": _int(ds.get("PixelRepresentation"), 0),
        "n_frames": nf,
        "ipp": floats_or_none(ds.get("ImagePositionPatient"), 3),
        "iop": floats_or_none(ds.get("ImageOrientationPatient"), 6),
        "pixel_spacing": floats_or_none(
            ds.get("PixelSpacing", ds.get("ImagerPixelSpacing")), 2
        ),
        "slice_thickness": float_or_none(ds.get("SliceThickness")),
        "spacing_between_slices": float_or_none(ds.get("SpacingBetweenSlices")),
        "slope": float_or_none(ds.get("RescaleSlope")) or 1.0,
        "intercept": float_or_none(ds.get("RescaleIntercept")) or 0.0,
        "tags": tags,
        "attrs": attrs,
        "private": private,
    }
