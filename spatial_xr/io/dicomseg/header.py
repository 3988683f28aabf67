"""The header of a DICOM Segmentation (SEG) object, read with highdicom, never its pixels.

:func:`read_seg_header` parses the SEG with ``highdicom.seg.segread(...,
lazy_frame_retrieval=True)`` (the file's header and its per-frame functional groups; the
Pixel Data element is not read) and keeps what placing frames on a grid needs, in a small
pickle-safe :class:`SegHeader`: the frame size and plane orientation, per frame its position
and segment number, the segment table, the referenced series and instances, and the SEG's
own volume grid from highdicom's ``get_volume_geometry``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import FormatError, GeometryError, require
from spatial_xr.geometry import Grid
from spatial_xr.geometry.slices import slice_direction
from spatial_xr.labels.segments import Segment

__all__ = [
    "LABELMAP_SOP_CLASS_UID",
    "SEG_SOP_CLASSES",
    "SEG_SOP_CLASS_UID",
    "SegHeader",
    "paused_gc",
    "read_seg_header",
    "segment_from_description",
]

SEG_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.66.4"
"""SOP Class UID of the Segmentation Storage IOD."""
LABELMAP_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.66.7"
"""SOP Class UID of the Label Map Segmentation Storage IOD (SegmentationType LABELMAP)."""
SEG_SOP_CLASSES = frozenset({SEG_SOP_CLASS_UID, LABELMAP_SOP_CLASS_UID})

_SEG_TYPES = ("BINARY", "FRACTIONAL", "LABELMAP")


@dataclass(frozen=True)
class SegHeader:
    """What spatial_xr needs from a SEG header (all plain values: pickles small).

    Attributes
    ----------
    path : str
    rows, cols : int
        Frame size.
    n_frames : int
    segmentation_type : {"BINARY", "FRACTIONAL", "LABELMAP"}
    max_fraction : int
        MaximumFractionalValue (FRACTIONAL), else 1.
    fractional_type : str or None
        ``"PROBABILITY"`` or ``"OCCUPANCY"`` (FRACTIONAL only).
    bits_allocated : int
    transfer_syntax : str
    iop : ndarray, shape (6,)
        ImageOrientationPatient shared by every frame.
    pixel_spacing : ndarray, shape (2,)
        Spacing between rows, then between columns (mm).
    frame_segment : ndarray of int, shape (n_frames,)
        ReferencedSegmentNumber of every frame (0 for a LABELMAP, whose frames hold
        segment numbers).
    frame_ipp : ndarray, shape (n_frames, 3)
        ImagePositionPatient of every frame (LPS mm).
    segments : tuple of Segment
        The SegmentSequence, by segment number.
    segments_overlap : str or None
        SegmentsOverlap (``"YES"``, ``"NO"``, ``"UNDEFINED"``) when the file says.
    frame_of_reference_uid, series_uid, sop_instance_uid : str
    referenced_series : tuple of (str, tuple of str)
        Referenced series UIDs with the SOP instance UIDs referenced in each.
    own_grid : Grid or None
        The SEG's own volume grid (highdicom's ``get_volume_geometry``, slices ordered along
        the frames' normal), or None if its frames form no regular grid.
    """

    path: str
    rows: int
    cols: int
    n_frames: int
    segmentation_type: str
    max_fraction: int
    fractional_type: str | None
    bits_allocated: int
    transfer_syntax: str
    iop: NDArray[np.float64]
    pixel_spacing: NDArray[np.float64]
    frame_segment: NDArray[np.int64]
    frame_ipp: NDArray[np.float64]
    segments: tuple[Segment, ...]
    segments_overlap: str | None
    frame_of_reference_uid: str
    series_uid: str
    sop_instance_uid: str
    referenced_series: tuple[tuple[str, tuple[str, ...]], ...]
    own_grid: Grid | None

    @property
    def segment_numbers(self) -> list[int]:
        """The numbers of the described segments, ascending."""
        return sorted(s.number for s in self.segments)

    @property
    def referenced_series_uids(self) -> list[str]:
        """UIDs of the series the SEG was made from."""
        return [uid for uid, _ in self.referenced_series]


def _code(item: Any) -> dict[str, str] | None:
    if item is None:
        return None
    return {"value": str(item.value), "scheme": str(item.scheme_designator),
            "meaning": str(item.meaning)}


def segment_from_description(desc: Any) -> Segment:
    """A :class:`Segment` from a ``highdicom.seg.SegmentDescription``.

    The recommended display colour (CIE Lab) becomes ``color`` (sRGB 0–255, through
    highdicom's conversion); the tracking ID and UID, if any, are kept as ``tracking_id``
    and ``tracking_uid``.
    """
    hd_color = require("highdicom.color", "seg")
    color = None
    lab = desc.get("RecommendedDisplayCIELabValue")
    if lab is not None:
        color = hd_color.CIELabColor.from_dicom_value([int(v) for v in lab]).to_rgb(clip=True)
    algorithm = str(desc.get("SegmentAlgorithmType", "") or "") or None
    name = None
    ident = desc.get("SegmentationAlgorithmIdentificationSequence")
    if desc.get("SegmentAlgorithmName"):
        name = str(desc.SegmentAlgorithmName)
    elif ident:
        name = str(ident[0].get("AlgorithmName", "") or "") or None
    extra: dict[str, Any] = {}
    if desc.get("TrackingID"):
        extra["tracking_id"] = str(desc.TrackingID)
    if desc.get("TrackingUID"):
        extra["tracking_uid"] = str(desc.TrackingUID)
    cat = typ = None
    if desc.get("SegmentedPropertyCategoryCodeSequence"):
        cat = _code(desc.segmented_property_category)
    if desc.get("SegmentedPropertyTypeCodeSequence"):
        typ = _code(desc.segmented_property_type)
    return Segment(
        number=int(desc.SegmentNumber),
        name=str(desc.get("SegmentLabel", "") or f"segment {int(desc.SegmentNumber)}"),
        color=color,
        category=cat,  # type: ignore[arg-type]
        type=typ,  # type: ignore[arg-type]
        algorithm=algorithm if algorithm in ("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC") else None,
        algorithm_name=name,
        extra=extra,
    )


def _group_item(ds: Any, frame: int, sequence: str) -> Any:
    """The item of a functional group macro for one frame: per-frame first, then shared."""
    per = ds.get("PerFrameFunctionalGroupsSequence")
    if per is not None and frame < len(per):
        seq = per[frame].get(sequence)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq:
            return seq[0]
    return None


def _shared_plane(ds: Any, n_frames: int, path: str) -> tuple[NDArray[np.float64],
                                                             NDArray[np.float64]]:
    """ImageOrientationPatient and PixelSpacing, which must be the same for every frame."""
    per = ds.get("PerFrameFunctionalGroupsSequence") or []
    first = per[0] if per else None
    if first is not None and "PlaneOrientationSequence" not in first and (
            "PixelMeasuresSequence" not in first):
        frames = range(1)  # both in the shared group: one value for every frame
    else:
        frames = range(n_frames)
    iops, spacings = set(), set()
    for k in frames:
        orient = _group_item(ds, k, "PlaneOrientationSequence")
        measures = _group_item(ds, k, "PixelMeasuresSequence")
        if orient is None or measures is None or "PixelSpacing" not in measures:
            raise FormatError(
                f"{path!r}: frame {k + 1} has no plane orientation or pixel spacing; a SEG "
                "without them has no position in space (tiled or 2-D SEGs are not supported)"
            )
        iops.add(tuple(round(float(v), 6) for v in orient.ImageOrientationPatient))
        spacings.add(tuple(round(float(v), 6) for v in measures.PixelSpacing))
    if len(iops) != 1 or len(spacings) != 1:
        raise GeometryError(
            f"{path!r}: the frames have {len(iops)} orientations and {len(spacings)} pixel "
            "spacings; spatial_xr reads SEGs whose frames share one plane orientation and "
            "spacing"
        )
    return np.array(next(iter(iops)), np.float64), np.array(next(iter(spacings)), np.float64)


def _own_grid(seg: Any, iop: NDArray[np.float64], rows: int, cols: int) -> Grid | None:
    """The SEG's volume grid from highdicom, with slices ordered along the frame normal
    (row × column), as spatial_xr's DICOM reader orders a series."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geometry = seg.get_volume_geometry(allow_missing_positions=True)
    if geometry is None:
        return None
    aff = np.asarray(geometry.affine, np.float64)
    n_slices, g_rows, g_cols = (int(v) for v in geometry.spatial_shape)
    if (g_rows, g_cols) != (rows, cols):
        return None
    cols_vec, rows_vec, slice_vec = aff[:3, 2], aff[:3, 1], aff[:3, 0]
    origin = aff[:3, 3].copy()
    direction = slice_direction(iop)
    if float(np.dot(slice_vec, direction[:, 2])) < 0:
        origin = origin + (n_slices - 1) * slice_vec
        slice_vec = -slice_vec
    spacing = [float(np.linalg.norm(v)) for v in (cols_vec, rows_vec, slice_vec)]
    if n_slices == 1 or spacing[2] <= 0:
        spacing[2] = spacing[2] if spacing[2] > 0 else 1.0
    return Grid((cols, rows, n_slices), spacing, origin, direction)


def _pixel_bytes_check(path: str, n_frames: int, rows: int, cols: int, bits: int,
                       transfer_syntax: str) -> None:
    """Refuse a file whose native Pixel Data is shorter than its frames need (a truncated
    file, or NumberOfFrames larger than the frames stored)."""
    import struct

    import pydicom
    import pydicom.uid

    uid = pydicom.uid.UID(transfer_syntax)
    if uid.is_encapsulated or uid == pydicom.uid.DeflatedExplicitVRLittleEndian:
        return
    implicit = uid == pydicom.uid.ImplicitVRLittleEndian
    endian = ">" if uid == pydicom.uid.ExplicitVRBigEndian else "<"
    with open(path, "rb") as f:
        pydicom.dcmread(f, stop_before_pixels=True)
        head = f.read(12)
        start = f.tell()
        f.seek(0, os.SEEK_END)
        end = f.tell()
    if implicit:
        declared = struct.unpack(endian + "I", head[4:8])[0] if len(head) >= 8 else 0
        available = end - start + 4
    else:
        declared = struct.unpack(endian + "I", head[8:12])[0] if len(head) >= 12 else 0
        available = end - start
    need = (n_frames * rows * cols * bits + 7) // 8
    have = min(declared, available)
    if have < need:
        raise FormatError(
            f"{path!r}: its Pixel Data holds {have} bytes but {n_frames} frames of "
            f"{rows}×{cols} {bits}-bit pixels need {need}; frames are missing (the file is "
            "truncated or its NumberOfFrames is wrong) — re-export it"
        )


def _check_file_meta(path: str) -> None:
    """Refuse files whose file meta says they are no SEG, or a big-endian one."""
    import pydicom
    import pydicom.uid

    try:
        meta = pydicom.filereader.read_file_meta_info(path)
    except Exception:  # no file meta: left to highdicom's own checks
        return
    sop_class = str(meta.get("MediaStorageSOPClassUID", "") or "")
    if sop_class and sop_class not in SEG_SOP_CLASSES:
        raise FormatError(
            f"{path!r} is not a DICOM Segmentation (SOP Class {sop_class}); open images "
            "with spatial_xr.open_image"
        )
    if meta.get("TransferSyntaxUID") == pydicom.uid.ExplicitVRBigEndian:
        raise FormatError(
            f"{path!r} is a big-endian SEG (a retired transfer syntax highdicom does not "
            "read); convert it to little endian (e.g. dcmconv +te) or read its frames as "
            "plain pixels with open_image(path, format='dicom')"
        )


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a header is parsed.

    Parsing a SEG header allocates tens of thousands of small objects (one dataset per
    frame and functional group) that hold no reference cycles; each allocation burst would
    trigger full collections whose cost grows with every object alive in the process (a
    session with xarray, dask and pandas loaded holds hundreds of thousands), which made
    opening a 600-frame SEG up to 1.5× slower. Collection resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_seg_header(path: str | os.PathLike[str]) -> SegHeader:
    """Read the header of a SEG file (no pixel data).

    Parameters
    ----------
    path : str or path-like
        A DICOM Segmentation Storage file.

    Returns
    -------
    SegHeader

    Raises
    ------
    DependencyError
        highdicom is not installed (``pip install 'spatial-xr[seg]'``).
    FormatError
        Not a SEG, or a malformed one (frames without positions or segment numbers,
        frames that refer to undescribed segments, a truncated Pixel Data element).
    GeometryError
        Frames with different orientations or pixel spacings.
    """
    hd = require("highdicom", "seg")
    path = os.fspath(path)
    _check_file_meta(path)
    try:
        with open(path, "rb") as fp, warnings.catch_warnings(), paused_gc():
            warnings.simplefilter("ignore")
            seg = hd.seg.segread(fp, lazy_frame_retrieval=True)
            return _header(seg, path)
    except (FormatError, GeometryError):
        raise
    except FileNotFoundError:
        raise
    except Exception as exc:  # highdicom and pydicom raise many kinds on malformed files
        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, KeyError) and exc.args:
            import contextlib

            from pydicom.datadict import keyword_for_tag

            with contextlib.suppress(Exception):  # not a tag: keep the plain message
                detail = f"{keyword_for_tag(exc.args[0]) or exc.args[0]} is missing"
        raise FormatError(
            f"{path!r} is not a readable DICOM Segmentation ({detail}); "
            "check that it is a complete SEG object (SOP Class "
            f"{SEG_SOP_CLASS_UID} or {LABELMAP_SOP_CLASS_UID})"
        ) from exc


def _header(seg: Any, path: str) -> SegHeader:
    sop_class = str(seg.get("SOPClassUID", ""))
    if sop_class not in SEG_SOP_CLASSES:
        raise FormatError(
            f"{path!r} is not a DICOM Segmentation (SOP Class {sop_class}); open images "
            "with spatial_xr.open_image"
        )
    rows, cols = int(seg.Rows), int(seg.Columns)
    n_frames = int(seg.get("NumberOfFrames", 1) or 1)
    per = seg.get("PerFrameFunctionalGroupsSequence") or []
    if len(per) < n_frames:
        raise FormatError(
            f"{path!r}: NumberOfFrames is {n_frames} but the per-frame functional groups "
            f"describe {len(per)} frames; frames are missing — re-export the SEG"
        )
    seg_type = str(seg.SegmentationType)
    if seg_type not in _SEG_TYPES:
        raise FormatError(f"{path!r}: unknown SegmentationType {seg_type!r}")
    iop, spacing = _shared_plane(seg, n_frames, path)
    ipp = np.empty((n_frames, 3), np.float64)
    numbers = np.zeros(n_frames, np.int64)
    for k in range(n_frames):
        pos = _group_item(seg, k, "PlanePositionSequence")
        if pos is None or "ImagePositionPatient" not in pos:
            raise FormatError(f"{path!r}: frame {k + 1} has no ImagePositionPatient")
        ipp[k] = [float(v) for v in pos.ImagePositionPatient]
        if seg_type != "LABELMAP":
            ident = _group_item(seg, k, "SegmentIdentificationSequence")
            if ident is None or "ReferencedSegmentNumber" not in ident:
                raise FormatError(f"{path!r}: frame {k + 1} names no segment "
                                  "(SegmentIdentificationSequence)")
            numbers[k] = int(ident.ReferencedSegmentNumber)
    segments = tuple(sorted((segment_from_description(d) for d in seg.SegmentSequence
                             if int(d.SegmentNumber) >= 1),  # a LABELMAP may describe 0
                            key=lambda s: s.number))
    described = {s.number for s in segments}
    unknown = sorted(set(numbers[numbers > 0].tolist()) - described)
    if unknown:
        raise FormatError(
            f"{path!r}: frames refer to segment numbers {unknown}, which the SegmentSequence "
            f"does not describe (it describes {sorted(described)}); the SEG is inconsistent"
        )
    refs = []
    for item in seg.get("ReferencedSeriesSequence") or []:
        inst = tuple(str(i.ReferencedSOPInstanceUID)
                     for i in item.get("ReferencedInstanceSequence") or [])
        refs.append((str(item.SeriesInstanceUID), inst))
    ts = str(seg.file_meta.TransferSyntaxUID)
    bits = int(seg.BitsAllocated)
    _pixel_bytes_check(path, n_frames, rows, cols, bits, ts)
    max_fraction = int(seg.get("MaximumFractionalValue", 1) or 1) if seg_type == (
        "FRACTIONAL") else 1
    overlap = seg.get("SegmentsOverlap")
    return SegHeader(
        path=path,
        rows=rows,
        cols=cols,
        n_frames=n_frames,
        segmentation_type=seg_type,
        max_fraction=max_fraction,
        fractional_type=str(seg.get("SegmentationFractionalType")) if seg_type == (
            "FRACTIONAL") else None,
        bits_allocated=bits,
        transfer_syntax=ts,
        iop=iop,
        pixel_spacing=spacing,
        frame_segment=numbers,
        frame_ipp=ipp,
        segments=segments,
        segments_overlap=None if overlap is None else str(overlap),
        frame_of_reference_uid=str(seg.get("FrameOfReferenceUID", "") or ""),
        series_uid=str(seg.SeriesInstanceUID),
        sop_instance_uid=str(seg.SOPInstanceUID),
        referenced_series=tuple(refs),
        own_grid=_own_grid(seg, iop, rows, cols),
    )
