"""Find DICOM image series in folders without decoding pixels."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from spatial_xr.errors import PathNotFoundError
from spatial_xr.io.dicom.enhanced import enhanced_frames, is_enhanced
from spatial_xr.io.dicom.headers import FrameHeader, base_fields, read_dataset
from spatial_xr.io.dicom.mosaic import is_mosaic, mosaic_frames
from spatial_xr.io.validate import check_dicom_frame

__all__ = [
    "SEGMENTATION_SOP_CLASSES",
    "SeriesInfo",
    "discover_series",
    "is_segmentation",
    "list_files",
    "referenced_series",
    "scan_frames",
]

_SKIP_NAMES = {"DICOMDIR", "DIRFILE"}


def list_files(folder: str, recursive: bool = False) -> list[str]:
    """Regular files in ``folder`` (sorted; hidden files, DICOMDIR and DIRFILE skipped)."""
    if not os.path.isdir(folder):
        raise PathNotFoundError(f"no such folder: {folder!r}")
    out: list[str] = []
    if recursive:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            out.extend(os.path.join(root, f) for f in sorted(files))
    else:
        with os.scandir(folder) as it:
            out = sorted(e.path for e in it if e.is_file())
    return [p for p in out if not os.path.basename(p).startswith(".")
            and os.path.basename(p).upper() not in _SKIP_NAMES]


def frames_of_file(path: str, identifying: bool = False) -> list[FrameHeader]:
    """Headers of every 2-D slice held by one file ([] if it is not a DICOM image)."""
    got = read_dataset(path)
    if got is None:
        return []
    ds, offset = got
    try:
        fields = base_fields(ds, path, offset, identifying=identifying)
    except Exception:  # a header too broken to describe an image: skipped, never fatal
        return []
    base = FrameHeader(frame=-1, tile=-1, mosaic_size=0, **fields)
    if base.rows <= 0 or base.cols <= 0:
        return []
    check_dicom_frame(base)
    if is_enhanced(ds):
        return enhanced_frames(ds, base)
    if is_mosaic(ds):
        return mosaic_frames(ds, base)
    if base.n_frames > 1:
        return legacy_multiframe(ds, base)
    return [base]


def legacy_multiframe(ds: Any, base: FrameHeader) -> list[FrameHeader]:
    """Frames of a multi-frame file without functional groups: frame k sits at
    ``GridFrameOffsetVector[k]`` (or k × SpacingBetweenSlices/SliceThickness) along the
    normal from ``ImagePositionPatient``."""
    from dataclasses import replace

    from spatial_xr.geometry.slices import slice_direction

    n = base.n_frames
    offsets = ds.get("GridFrameOffsetVector")
    if offsets is not None and len(offsets) == n:
        steps = np.asarray([float(v) for v in offsets])
    else:
        step = base.spacing_between_slices or base.slice_thickness or 1.0
        steps = step * np.arange(n)
    out = []
    for k in range(n):
        ipp = base.ipp
        if base.ipp is not None and base.iop is not None:
            normal = slice_direction(base.iop)[:, 2]
            ipp = tuple(float(v) for v in np.asarray(base.ipp) + steps[k] * normal)
        tags = {**base.tags, "InstanceNumber": k}
        out.append(replace(base, frame=k, ipp=ipp, tags=tags))
    return out


def scan_frames(
    paths: Iterable[str], identifying: bool = False, workers: int | None = None
) -> list[FrameHeader]:
    """Headers of every image slice in ``paths`` (non-images skipped), in path order.

    Parameters
    ----------
    paths : iterable of str
    identifying : bool
        Also keep patient-identifying tags (in :attr:`FrameHeader.private`).
    workers : int, optional
        Threads reading headers (default: up to 4).
    """
    paths = list(paths)
    n = workers or min(4, os.cpu_count() or 1)
    if len(paths) < 16 or n <= 1:
        chunks = [frames_of_file(p, identifying) for p in paths]
    else:
        with ThreadPoolExecutor(n) as pool:
            chunks = list(pool.map(lambda p: frames_of_file(p, identifying), paths))
    return [f for c in chunks for f in c]


def group_series(frames: Sequence[FrameHeader]) -> dict[str, list[FrameHeader]]:
    """Frames grouped by SeriesInstanceUID, in order of first appearance."""
    out: dict[str, list[FrameHeader]] = {}
    for f in frames:
        out.setdefault(f.series_uid, []).append(f)
    return out


@dataclass(frozen=True)
class SeriesInfo:
    """Summary of one image series found in a folder.

    Attributes
    ----------
    series_uid, modality, description : str
    n_files, n_frames : int
        Files, and 2-D slices (frames, mosaic tiles) they hold.
    shape : dict of str to int or None
        Sizes by dim (``t``, ``z``, ``y``, ``x``, ``c``) when the series forms a regular grid.
    spacing : dict of str to float or None
        mm by dim (``z``, ``y``, ``x``).
    orientation : str or None
        Orientation code (e.g. ``"LPS"``; ``None`` if oblique or unknown).
    problem : str or None
        Why the series cannot be opened as it is (mixed orientations, gaps, tilt, …).
    files : tuple of str
    kind : {"image", "segmentation"}
        ``"segmentation"`` for DICOM SEG objects (open them with ``reference=`` the series
        they reference to get them on its grid).
    references : tuple of str
        For a segmentation: the SeriesInstanceUIDs of the series it was made from.
    """

    series_uid: str
    modality: str
    description: str
    n_files: int
    n_frames: int
    shape: dict[str, int] | None
    spacing: dict[str, float] | None
    orientation: str | None
    problem: str | None
    files: tuple[str, ...]
    kind: str = "image"
    references: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: UID, modality, description, counts and shape or problem."""
        shape = " ".join(f"{k}={v}" for k, v in self.shape.items()) if self.shape else "?"
        extra = f"shape {shape}" if self.problem is None else f"problem: {self.problem}"
        if self.kind == "segmentation":
            extra += f", segmentation of {', '.join(self.references) or 'an unnamed series'}"
        return (
            f"{self.series_uid} {self.modality or '?'} {self.description!r} "
            f"{self.n_files} files, {self.n_frames} frames, {extra}"
        )


SEGMENTATION_SOP_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.66.4",
                                      "1.2.840.10008.5.1.4.1.1.66.7"})
"""SOP classes listed as ``kind="segmentation"`` (DICOM SEG) rather than as images."""


def is_segmentation(frame: FrameHeader) -> bool:
    """Whether a frame belongs to a DICOM Segmentation object."""
    return frame.sop_class in SEGMENTATION_SOP_CLASSES


def referenced_series(path: str) -> tuple[str, ...]:
    """SeriesInstanceUIDs in a file's ReferencedSeriesSequence (header only)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True,
                             specific_tags=["ReferencedSeriesSequence"])
        return tuple(dict.fromkeys(str(item.SeriesInstanceUID)
                                   for item in ds.get("ReferencedSeriesSequence") or []))
    except Exception:  # an unreadable reference list only leaves it unknown
        return ()


def describe(uid: str, frames: list[FrameHeader]) -> SeriesInfo:
    """Summarise one series (geometry resolved from headers only)."""
    from spatial_xr.errors import SpatialXRError
    from spatial_xr.io.dicom.layout import arrange

    files = tuple(dict.fromkeys(f.path for f in frames))
    if is_segmentation(frames[0]):
        refs = tuple(dict.fromkeys(r for p in files for r in referenced_series(p)))
        return SeriesInfo(uid, frames[0].modality, frames[0].description, len(files),
                          len(frames), None, None, None, None, files, "segmentation", refs)
    shape = spacing = orientation = problem = None
    try:
        lay = arrange(frames, irregular="raise", check_duplicates=False)
        shape = lay.shape
        g = lay.grid
        spacing = {a: float(s) for a, s in zip(("z", "y", "x"), g.spacing_zyx, strict=True)}
        orientation = g.orientation if g.is_axis_aligned else None
    except SpatialXRError as exc:
        problem = str(exc).split(". ")[0]
    return SeriesInfo(uid, frames[0].modality, frames[0].description, len(files), len(frames),
                      shape, spacing, orientation, problem, files)


def discover_series(
    folder: str | os.PathLike[str], recursive: bool = False
) -> list[SeriesInfo]:
    """List the image series in a folder, reading headers only.

    Files that are not DICOM, DICOMDIR/DIRFILE and non-image objects are skipped. DICOM
    SEG objects are listed with ``kind="segmentation"`` and the series they reference.

    Parameters
    ----------
    folder : str or path-like
    recursive : bool
        Also look in sub-folders.

    Returns
    -------
    list of SeriesInfo
        In order of first file (sorted by path).
    """
    frames = scan_frames(list_files(os.fspath(folder), recursive))
    return [describe(uid, fr) for uid, fr in group_series(frames).items()]
