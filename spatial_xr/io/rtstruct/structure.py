"""Read an RT Structure Set (RTSTRUCT) with pydicom into plain records: its ROIs, their
display colours and their contours as world points (LPS mm, x, y, z).

Only the structure set file is read (it holds no pixels); the referenced image series is
found in :mod:`spatial_xr.io.rtstruct.reference`.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from spatial_xr.errors import FormatError, PathNotFoundError

__all__ = ["RTSTRUCT_SOP_CLASS", "Contour", "Roi", "StructureSet", "read_structure_set"]

RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
"""SOP Class UID of RT Structure Set Storage."""


@dataclass(frozen=True)
class Contour:
    """One contour of an ROI.

    Attributes
    ----------
    points : ndarray, shape (N, 3)
        World points (LPS mm, x, y, z order).
    geometric_type : str
        ``CLOSED_PLANAR``, ``OPEN_PLANAR``, ``OPEN_NONPLANAR`` or ``POINT``.
    image_uids : tuple of str
        ReferencedSOPInstanceUIDs of its ContourImageSequence (may be empty).
    """

    points: NDArray[np.float64]
    geometric_type: str
    image_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roi:
    """One ROI (structure) of a structure set.

    Attributes
    ----------
    number : int
        ROINumber.
    name : str
        ROIName.
    frame_of_reference_uid : str
        ReferencedFrameOfReferenceUID of the ROI.
    color : tuple of 3 int or None
        ROIDisplayColor (r, g, b), 0–255.
    algorithm : str or None
        ROIGenerationAlgorithm (``AUTOMATIC``, ``SEMIAUTOMATIC``, ``MANUAL``).
    description : str or None
        ROIDescription.
    interpreted_type : str or None
        RTROIInterpretedType of its observation (``ORGAN``, ``PTV``, …).
    contours : tuple of Contour
    loaded : bool
        False when its contours were not read (see ``only`` of
        :func:`read_structure_set`).
    """

    number: int
    name: str
    frame_of_reference_uid: str
    color: tuple[int, int, int] | None
    algorithm: str | None
    description: str | None
    interpreted_type: str | None
    contours: tuple[Contour, ...] = field(default_factory=tuple)
    loaded: bool = True

    @property
    def closed(self) -> tuple[Contour, ...]:
        """The CLOSED_PLANAR contours (the ones that enclose an area)."""
        return tuple(c for c in self.contours if c.geometric_type == "CLOSED_PLANAR")


@dataclass(frozen=True)
class StructureSet:
    """An RT Structure Set.

    Attributes
    ----------
    path : str
    label : str
        StructureSetLabel.
    series_uid : str
        SeriesInstanceUID of the structure set itself.
    frame_of_reference_uids : tuple of str
        FrameOfReferenceUIDs of its ReferencedFrameOfReferenceSequence.
    referenced_series_uids : tuple of str
        SeriesInstanceUIDs of the image series it references (RTReferencedSeriesSequence).
    referenced_image_uids : tuple of str
        SOPInstanceUIDs of the images its contours reference.
    rois : tuple of Roi
    info : dict
        JSON-able facts for ``attrs`` (structure set label, date, patient-free).
    """

    path: str
    label: str
    series_uid: str
    frame_of_reference_uids: tuple[str, ...]
    referenced_series_uids: tuple[str, ...]
    referenced_image_uids: tuple[str, ...]
    rois: tuple[Roi, ...]
    info: dict[str, Any] = field(default_factory=dict)


def _str(ds: Dataset, keyword: str) -> str | None:
    v = ds.get(keyword)
    if v is None or v == "":
        return None
    return str(v).strip() or None


def _contour_points(item: Dataset, where: str) -> NDArray[np.float64]:
    """ContourData as an (N, 3) array, read from the raw text when pydicom has not yet
    converted it (far faster than one Python object per number)."""
    tag = 0x30060050
    if tag not in item:
        raise FormatError(f"{where} has no ContourData; the structure set is incomplete")
    elem = item.get_item(tag)
    values: NDArray[np.float64]
    try:
        if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes):
            text = elem.value.decode("ascii").strip(" \0")
            values = np.array(text.split("\\"), dtype=np.float64) if text else np.empty(0)
        else:
            v = item.ContourData
            seq = ([] if v is None or v == "" else
                   list(v) if isinstance(v, MultiValue | list | tuple) else [v])
            values = np.asarray(seq, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{where}: ContourData is not a list of numbers ({exc})") from exc
    if values.size % 3:
        raise FormatError(
            f"{where}: ContourData holds {values.size} numbers, not a multiple of 3 "
            "(x, y, z per point); the structure set is corrupt"
        )
    pts = values.reshape(-1, 3)
    n = item.get("NumberOfContourPoints")
    if n is not None and n != "" and int(n) != len(pts):
        raise FormatError(
            f"{where}: NumberOfContourPoints is {int(n)} but ContourData holds {len(pts)} "
            "points; the structure set is corrupt"
        )
    if not np.all(np.isfinite(pts)):
        raise FormatError(f"{where}: ContourData holds non-finite numbers")
    return pts


def _color(rc: Dataset) -> tuple[int, int, int] | None:
    v = rc.get("ROIDisplayColor")
    if v is None or v == "":
        return None
    try:
        rgb = [round(float(c)) for c in v]
    except (TypeError, ValueError):
        return None
    if len(rgb) != 3:
        return None
    return (min(max(rgb[0], 0), 255), min(max(rgb[1], 0), 255), min(max(rgb[2], 0), 255))


def read_structure_set(path: str | os.PathLike[str], *,
                       only: Collection[int | str] | None = None) -> StructureSet:
    """Read an RTSTRUCT file (its ROIs and contours).

    Parameters
    ----------
    path : str or path-like
        The RT Structure Set file (with or without the DICOM preamble).
    only : collection of int or str, optional
        ROI numbers or names whose contours to read (the others are listed with
        ``loaded=False`` and no contours); default all. Parsing contours is most of the
        time a large structure set takes to read.

    Returns
    -------
    StructureSet

    Raises
    ------
    PathNotFoundError
        No such file.
    FormatError
        Not DICOM, not an RT Structure Set, or malformed ROI/contour sequences.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PathNotFoundError(f"no such RTSTRUCT file: {path!r}")
    try:
        ds = pydicom.dcmread(path, force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{path!r} cannot be read as DICOM: {exc}") from exc
    sop = str(ds.get("SOPClassUID", "") or getattr(ds.get("file_meta", Dataset()),
                                                      "MediaStorageSOPClassUID", ""))
    if sop != RTSTRUCT_SOP_CLASS and str(ds.get("Modality", "")) != "RTSTRUCT":
        raise FormatError(
            f"{path!r} is not an RT Structure Set (SOPClassUID {sop or 'missing'}, Modality "
            f"{ds.get('Modality', 'missing')}); open images with spatial_xr.open_image"
        )
    if "StructureSetROISequence" not in ds:
        raise FormatError(f"{path!r} has no StructureSetROISequence: the structure set "
                          "defines no ROI")
    frames, series, images = [], [], []
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        if fr.get("FrameOfReferenceUID"):
            frames.append(str(fr.FrameOfReferenceUID))
        for st in fr.get("RTReferencedStudySequence", []) or []:
            for se in st.get("RTReferencedSeriesSequence", []) or []:
                if se.get("SeriesInstanceUID"):
                    series.append(str(se.SeriesInstanceUID))
                for im in se.get("ContourImageSequence", []) or []:
                    if im.get("ReferencedSOPInstanceUID"):
                        images.append(str(im.ReferencedSOPInstanceUID))
    defs: dict[int, Dataset] = {}
    for i, item in enumerate(ds.StructureSetROISequence):
        if item.get("ROINumber") in (None, ""):
            raise FormatError(f"{path!r}: StructureSetROISequence item {i} has no ROINumber")
        number = int(item.ROINumber)
        if number in defs:
            raise FormatError(f"{path!r}: ROINumber {number} is defined twice in "
                              "StructureSetROISequence")
        defs[number] = item
    interpreted: dict[int, str] = {}
    for obs in ds.get("RTROIObservationsSequence", []) or []:
        ref = obs.get("ReferencedROINumber")
        if ref not in (None, "") and _str(obs, "RTROIInterpretedType"):
            interpreted[int(ref)] = str(_str(obs, "RTROIInterpretedType"))
    contours: dict[int, list[Contour]] = {n: [] for n in defs}
    colors: dict[int, tuple[int, int, int] | None] = {}
    skipped: set[int] = set()
    for i, rc in enumerate(ds.get("ROIContourSequence", []) or []):
        ref = rc.get("ReferencedROINumber")
        if ref in (None, "") or int(ref) not in defs:
            raise FormatError(
                f"{path!r}: ROIContourSequence item {i} refers to ROI {ref!r}, which "
                f"StructureSetROISequence does not define (ROIs: {sorted(defs)})"
            )
        number = int(ref)
        colors[number] = _color(rc)
        name = str(defs[number].get("ROIName", "") or "")
        if only is not None and number not in only and name not in only:
            skipped.add(number)
            continue
        for j, c in enumerate(rc.get("ContourSequence", []) or []):
            where = f"{os.path.basename(path)}: ROI {number} ({name!r}) contour {j}"
            pts = _contour_points(c, where)
            kind = str(c.get("ContourGeometricType", "") or "").strip().upper()
            uids = tuple(str(im.ReferencedSOPInstanceUID)
                         for im in c.get("ContourImageSequence", []) or []
                         if im.get("ReferencedSOPInstanceUID"))
            contours[number].append(Contour(pts, kind, uids))
            images.extend(uids)
    rois = []
    for number, item in defs.items():
        alg = _str(item, "ROIGenerationAlgorithm")
        rois.append(Roi(
            number=number,
            name=str(item.get("ROIName", "") or f"ROI {number}"),
            frame_of_reference_uid=str(item.get("ReferencedFrameOfReferenceUID", "") or ""),
            color=colors.get(number),
            algorithm=alg.upper() if alg else None,
            description=_str(item, "ROIDescription"),
            interpreted_type=interpreted.get(number),
            contours=tuple(contours[number]),
            loaded=number not in skipped,
        ))
    info = {k: v for k, v in {
        "structure_set_label": _str(ds, "StructureSetLabel"),
        "structure_set_date": _str(ds, "StructureSetDate"),
        "series_uid": _str(ds, "SeriesInstanceUID"),
        "study_uid": _str(ds, "StudyInstanceUID"),
        "sop_instance_uid": _str(ds, "SOPInstanceUID"),
    }.items() if v is not None}
    return StructureSet(
        path=path,
        label=str(info.get("structure_set_label", "")),
        series_uid=str(info.get("series_uid", "")),
        frame_of_reference_uids=tuple(dict.fromkeys(frames)),
        referenced_series_uids=tuple(dict.fromkeys(series)),
        referenced_image_uids=tuple(dict.fromkeys(images)),
        rois=tuple(rois),
        info=info,
    )
