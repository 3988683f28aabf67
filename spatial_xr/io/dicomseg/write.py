"""Write a label image as a DICOM Segmentation (SEG) of its source series, with highdicom.

The SEG references the source series' instances frame by frame, so the label image must sit
on the source's voxels: on its grid, or on a grid whose voxel centres are a subset of the
source's (a cropped or reoriented mask), which is placed exactly (nearest, no
interpolation). Anything else is refused: resample the mask explicitly first.

DICOM numbers segments 1, 2, … n: a table with gaps (e.g. 1, 4, 7) is renumbered in
the order of its numbers, and the voxel values with it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from spatial_xr.coords import grid_of
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    ParameterError,
    UnsupportedOptionError,
    require,
)
from spatial_xr.geometry.resampling import on_voxels_of
from spatial_xr.io.atomic import atomic_output
from spatial_xr.labels.segments import Code, Segment, is_label, segment_table

__all__ = ["DEFAULT_CODE", "source_datasets", "write_dicomseg"]

DEFAULT_CODE = Code("85756007", "SCT", "Tissue")
"""Category and type written for a segment whose table gives none (as 3D Slicer does)."""

_TOL = 0.01
"""Largest distance (voxels) of a source slice from a slice of its series' grid."""


_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
          "StudyTime", "AccessionNumber", "ReferringPhysicianName", "StudyID")
"""Patient and study attributes a SEG copies from its source (type 2: may be empty)."""


def source_datasets(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    series_uid: str | None = None,
) -> tuple[xr.DataArray, list[Any]]:
    """The source series as an image (for its grid) and its headers in slice order.

    Parameters
    ----------
    source : str, path-like or list of paths
        The folder (or files) of a single-frame DICOM series.
    series_uid : str, optional
        Which series, when the folder holds several image series.

    Returns
    -------
    image : xarray.DataArray
        The series opened lazily (headers only).
    datasets : list of pydicom.Dataset
        One header per slice (no pixel data), in the order of the image's ``z`` index.

    Raises
    ------
    UnsupportedOptionError
        A multi-frame source (one file holding the slices).
    SeriesSelectionError, FormatError
        As :func:`~spatial_xr.io.dicom.series.open_dicom`; slices that match no file.
    """
    import pydicom

    from spatial_xr.io.dicom.series import open_dicom

    image = open_dicom(source, series_uid=series_uid)
    uid = str(image.attrs.get("series_uid", ""))
    if isinstance(source, str | os.PathLike) and os.path.isdir(source):
        from spatial_xr.io.dicom.discover import discover_series

        files = [f for s in discover_series(source) if s.series_uid == uid for f in s.files]
    elif isinstance(source, str | os.PathLike):
        files = [os.fspath(source)]
    else:
        files = [os.fspath(p) for p in source]
    if "t" in image.dims or "c" in image.dims:
        raise UnsupportedOptionError(
            "the source series has several volumes (t) or colour samples (c); a SEG here "
            "refers to one 3-D volume of single-frame slices"
        )
    grid = grid_of(image)
    datasets: list[Any] = [None] * image.sizes["z"]
    for path in files:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        if str(ds.get("SeriesInstanceUID", "")) != uid:
            continue
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise UnsupportedOptionError(
                f"{path!r} is a multi-frame image; writing SEGs is supported for series of "
                "single-frame slices"
            )
        for kw in _TYPE2:  # empty when absent: the SEG copies them from its source
            if kw not in ds:
                setattr(ds, kw, "")
        k = grid.world_to_index([float(v) for v in ds.ImagePositionPatient])[2]
        z = int(np.rint(k))
        if abs(k - z) > _TOL or not 0 <= z < len(datasets) or datasets[z] is not None:
            raise FormatError(f"{path!r}: its position is no single slice of the series")
        datasets[z] = ds
    if any(d is None for d in datasets):
        raise FormatError("some slices of the source series could not be matched to files")
    return image, datasets


def _codes(hd: Any, seg: Segment) -> tuple[Any, Any]:
    cat = seg.category or DEFAULT_CODE
    typ = seg.type or DEFAULT_CODE
    return (hd.sr.CodedConcept(cat.value, cat.scheme, cat.meaning),
            hd.sr.CodedConcept(typ.value, typ.scheme, typ.meaning))


def _description(hd: Any, seg: Segment, number: int) -> Any:
    from pydicom.sr.codedict import codes

    category, prop = _codes(hd, seg)
    algorithm = seg.algorithm or "MANUAL"
    ident = None
    if algorithm != "MANUAL":
        family = codes.DCM.ArtificialIntelligence if algorithm == "AUTOMATIC" else (
            codes.DCM.ManualProcessing)
        ident = hd.AlgorithmIdentificationSequence(
            name=seg.algorithm_name or "unnamed", family=family,
            version=str(seg.extra.get("algorithm_version", "unknown")))
    color = None if seg.color is None else hd.color.CIELabColor.from_rgb(*seg.color)
    tracking_id, tracking_uid = seg.extra.get("tracking_id"), seg.extra.get("tracking_uid")
    if tracking_id or tracking_uid:  # DICOM wants both: a missing one is made up
        from pydicom.uid import generate_uid

        tracking_id = str(tracking_id or seg.name)
        tracking_uid = str(tracking_uid or generate_uid())
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=seg.name[:64] or f"segment {number}",
        segmented_property_category=category,
        segmented_property_type=prop,
        algorithm_type=algorithm,
        algorithm_identification=ident,
        tracking_uid=tracking_uid,
        tracking_id=tracking_id,
        display_color=color,
    )


def _pixels(label: xr.DataArray, table: list[Segment], fractional: bool
            ) -> tuple[np.ndarray, list[Segment]]:
    """The array highdicom takes ((z, y, x) numbers 1..n, or (z, y, x, n) masks) and the
    segments in written order."""
    if "c" in label.dims:
        stack = label.transpose("z", "y", "x", "c").values
        if len(table) != stack.shape[-1]:
            raise ParameterError(
                f"a c dim of {stack.shape[-1]} masks needs {stack.shape[-1]} segments in "
                f"attrs['segments'], got {len(table)}"
            )
        if fractional:
            if stack.min() < 0 or stack.max() > 1:
                raise ParameterError("fractions must lie in [0, 1]")
            return stack.astype(np.float32), table
        return stack != 0, table
    values = label.transpose("z", "y", "x").values
    rows = sorted(table, key=lambda s: s.number)
    present = np.unique(values)
    stray = sorted(set(present.tolist()) - {0} - {s.number for s in rows})
    if stray:
        raise ParameterError(
            f"voxel values {stray[:10]} have no segment in attrs['segments'] (numbers "
            f"{[s.number for s in rows]}); describe them with "
            "spatial_xr.labels.as_label(da, segments=...) or set them to 0"
        )
    if [s.number for s in rows] == list(range(1, len(rows) + 1)):
        return values.astype(np.uint16 if len(rows) > 255 else np.uint8), rows
    lut = np.zeros(int(max(present.max(), max(s.number for s in rows))) + 1, np.uint16)
    for i, s in enumerate(rows, start=1):
        lut[s.number] = i
    return lut[values], rows


def write_dicomseg(
    label: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    series_uid: str | None = None,
    overwrite: bool = False,
    segmentation_type: Literal["BINARY", "FRACTIONAL"] = "BINARY",
    fractional_type: Literal["PROBABILITY", "OCCUPANCY"] = "PROBABILITY",
    series_description: str = "Segmentation",
    series_number: int = 300,
    content_label: str = "SEGMENTATION",
    manufacturer: str = "spatial_xr",
    omit_empty_frames: bool = True,
    transfer_syntax_uid: str | None = None,
) -> Path:
    """Write a label image as a DICOM SEG referencing its source series.

    Parameters
    ----------
    label : xarray.DataArray
        A label image (``attrs["kind"] == "label"``, segment table in
        ``attrs["segments"]``): ``(z, y, x)`` numbers, or ``(c, z, y, x)`` masks (one per
        segment, overlapping allowed). For ``segmentation_type="FRACTIONAL"``, float
        fractions in [0, 1] on a ``c`` dim. Computed in memory (highdicom needs the
        whole array).
    path : str or path-like
        Destination file.
    source : str, path-like or list of paths
        The DICOM series (folder or files) the labels were drawn on: single-frame slices.
        The label image must lie on its voxels (see
        :func:`~spatial_xr.geometry.resampling.on_voxels_of`).
    series_uid : str, optional
        The source series, when ``source`` holds several.
    overwrite : bool
        Replace an existing file.
    segmentation_type : {"BINARY", "FRACTIONAL"}
    fractional_type : {"PROBABILITY", "OCCUPANCY"}
    series_description, series_number, content_label, manufacturer : optional
        Written into the SEG.
    omit_empty_frames : bool
        Leave out frames with no voxel of their segment (smaller files; highdicom's
        default).
    transfer_syntax_uid : str, optional
        Default Explicit VR Little Endian; e.g. RLE Lossless or JPEG 2000 Lossless.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        No label image, voxel values without a segment, bad fractions.
    GeometryError
        The label image is not on the source's voxels.
    OverwriteError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    Segments without codes get category and type ``Tissue`` (SCT 85756007); segments
    without an algorithm are written as ``MANUAL``; a ``tracking_id`` without
    ``tracking_uid`` (extra keys of the table) gets a new UID; DICOM numbers segments 1..n in the
    order of their numbers. ``pydicom-seg`` is not used (it pins numpy < 2).
    """
    hd = require("highdicom", "seg")
    fractional = segmentation_type == "FRACTIONAL"
    if segmentation_type not in ("BINARY", "FRACTIONAL"):
        raise UnsupportedOptionError(
            f"segmentation_type must be 'BINARY' or 'FRACTIONAL', got {segmentation_type!r}"
        )
    if not fractional and not is_label(label):
        raise ParameterError(
            "write_dicomseg writes label images (attrs['kind'] == 'label'); mark one with "
            "spatial_xr.labels.as_label(da, segments=...)"
        )
    if fractional and "c" not in label.dims:
        raise ParameterError("a FRACTIONAL SEG is written from a c dim of fractions")
    table = segment_table(label)
    image, datasets = source_datasets(source, series_uid)
    src_grid = grid_of(image)
    if not grid_of(label).isclose(src_grid):
        if not on_voxels_of(grid_of(label), src_grid):
            raise GeometryError(
                "the label image is not on the voxels of the source series (other spacing, "
                "orientation or a sub-voxel shift); bring it there first: "
                "label.spatial.resample(like=source_image)"
            )
        from spatial_xr.ops.resample import resample

        label = resample(label, like=image, interpolation="nearest",
                         allow_label_interpolation=True)
    pixels, rows = _pixels(label, table, fractional)
    if not rows:
        raise ParameterError("the label image has no segments in attrs['segments']")
    descriptions = [_description(hd, s, i) for i, s in enumerate(rows, start=1)]
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    import spatial_xr

    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=pixels,
        segmentation_type=segmentation_type,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=manufacturer,
        manufacturer_model_name="spatial_xr",
        software_versions=spatial_xr.__version__,
        device_serial_number="0",
        fractional_type=fractional_type if fractional else None,
        content_label=content_label,
        series_description=series_description,
        omit_empty_frames=omit_empty_frames,
        transfer_syntax_uid=transfer_syntax_uid or ExplicitVRLittleEndian,
    )
    with atomic_output(path, overwrite=overwrite) as tmp:
        seg.save_as(tmp)
    return Path(path)
