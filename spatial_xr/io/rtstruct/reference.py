"""The grid a structure set is rasterised on, and the frame-of-reference check.

The reference is, in order:

1. ``reference=`` a :class:`~spatial_xr.geometry.Grid` (used as given, no frame-of-reference
   check: the caller vouches for it);
2. ``reference=`` a DataArray (its grid; its ``attrs["frame_of_reference_uid"]``, which DICOM
   images carry, is checked against the structure set's);
3. ``reference=`` a DICOM folder, file or list of files: the series the structure set
   names (RTReferencedSeriesSequence) if the files hold it, else the only image series
   there;
4. no ``reference``: the referenced series among the files beside the RTSTRUCT file.

Nothing is guessed: when the referenced series is not found and several series could be
meant, :class:`~spatial_xr.errors.SeriesSelectionError` lists them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from spatial_xr.coords import grid_of
from spatial_xr.errors import (
    DimensionError,
    FrameOfReferenceError,
    ParameterError,
    PathNotFoundError,
    SeriesSelectionError,
    SpatialXRError,
)
from spatial_xr.geometry import Grid
from spatial_xr.io.dicom.discover import (
    frames_of_file,
    group_series,
    list_files,
    scan_frames,
)
from spatial_xr.io.dicom.headers import FrameHeader
from spatial_xr.io.dicom.layout import arrange
from spatial_xr.io.rtstruct.structure import StructureSet

__all__ = ["Reference", "ReferenceLike", "check_frame_of_reference", "resolve_reference"]

ReferenceLike = xr.DataArray | Grid | str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass(frozen=True)
class Reference:
    """Where the structures are placed.

    Attributes
    ----------
    grid : Grid
        3-D grid (LPS mm).
    frame_of_reference_uid : str or None
        None when unknown (a Grid, or an image from a non-DICOM file).
    series_uid : str or None
        SeriesInstanceUID of the reference series, when it is one.
    attrs : dict
        Attributes of the reference image worth keeping on the label image (modality,
        study UID, frame of reference, series UID), JSON-able.
    """

    grid: Grid
    frame_of_reference_uid: str | None
    series_uid: str | None
    attrs: dict[str, Any]


_KEEP = ("frame_of_reference_uid", "study_uid", "series_uid", "modality")


def _from_frames(frames: list[FrameHeader]) -> Reference:
    lay = arrange(frames, irregular="raise")
    f0 = lay.frames[0]
    attrs = {k: f0.attrs[k] for k in _KEEP if f0.attrs.get(k) is not None}
    return Reference(lay.grid, f0.attrs.get("frame_of_reference_uid"), f0.series_uid or None,
                     attrs)


def _listing(groups: dict[str, list[FrameHeader]]) -> str:
    return "\n".join(
        f"  {uid}  {g[0].modality or '?'}  {g[0].description!r}  "
        f"FrameOfReferenceUID {g[0].attrs.get('frame_of_reference_uid', '?')}  "
        f"{len({f.path for f in g})} files"
        for uid, g in groups.items()
    )


def _scan_beside(files: list[str]) -> list[FrameHeader]:
    """Headers of the files beside a structure set; files that are not readable images
    (other objects, broken files of other series) are passed over."""
    out: list[FrameHeader] = []
    for path in files:
        try:
            out.extend(frames_of_file(path))
        except SpatialXRError:
            continue
    return out


def _pick_series(ss: StructureSet, files: list[str], where: str, *, explicit: bool
                 ) -> Reference:
    groups = group_series(scan_frames(files) if explicit else _scan_beside(files))
    for uid in ss.referenced_series_uids:
        if uid in groups:
            return _from_frames(groups[uid])
    wanted = (f"the series it references ({', '.join(ss.referenced_series_uids)})"
              if ss.referenced_series_uids else "a referenced series (it names none)")
    if not groups:
        raise SeriesSelectionError(
            f"{where!r} holds no DICOM image series, and the structure set "
            f"{os.path.basename(ss.path)!r} needs {wanted}; pass reference= the series "
            "folder, an image (DataArray) or a Grid"
        )
    if explicit and len(groups) == 1:
        return _from_frames(next(iter(groups.values())))
    same_frame = {u: g for u, g in groups.items()
                  if g[0].attrs.get("frame_of_reference_uid") in ss.frame_of_reference_uids}
    if not explicit and len(same_frame) == 1 and not ss.referenced_series_uids:
        return _from_frames(next(iter(same_frame.values())))
    raise SeriesSelectionError(
        f"the structure set {os.path.basename(ss.path)!r} needs {wanted}, which "
        f"{where!r} does not hold; it holds:\n{_listing(groups)}\npass reference= the "
        "series to place the structures on (its folder or files, an opened image, or a "
        "Grid)"
    )


def resolve_reference(ss: StructureSet, reference: ReferenceLike | None) -> Reference:
    """The grid to rasterise ``ss`` on (see the module docstring).

    Parameters
    ----------
    ss : StructureSet
    reference : Grid, DataArray, path, list of paths or None

    Returns
    -------
    Reference

    Raises
    ------
    SeriesSelectionError
        The referenced series is not found and the choice is ambiguous.
    PathNotFoundError
        A reference path does not exist.
    DimensionError
        A 2-D reference.
    ParameterError
        A reference of another type.
    """
    if isinstance(reference, Grid):
        ref = Reference(reference, None, None, {})
    elif isinstance(reference, xr.DataArray):
        attrs = {k: reference.attrs[k] for k in _KEEP if reference.attrs.get(k) is not None}
        ref = Reference(grid_of(reference), reference.attrs.get("frame_of_reference_uid"),
                        reference.attrs.get("series_uid"), attrs)
    elif reference is None:
        folder = os.path.dirname(os.path.abspath(ss.path))
        files = [f for f in list_files(folder) if os.path.abspath(f) != os.path.abspath(ss.path)]
        ref = _pick_series(ss, files, folder, explicit=False)
    elif isinstance(reference, str | os.PathLike):
        where = os.fspath(reference)
        if os.path.isdir(where):
            files = list_files(where)
        elif os.path.isfile(where):
            files = [where]
        else:
            raise PathNotFoundError(f"reference {where!r} does not exist; pass the folder of "
                                    "the series the structures were drawn on")
        ref = _pick_series(ss, files, where, explicit=True)
    elif isinstance(reference, Sequence) and all(isinstance(p, str | os.PathLike)
                                                 for p in reference):
        files = [os.fspath(p) for p in reference]
        missing = [p for p in files if not os.path.isfile(p)]
        if missing:
            raise PathNotFoundError(f"reference files do not exist: {missing[:5]}")
        ref = _pick_series(ss, files, os.path.commonpath(files) if files else "[]",
                           explicit=True)
    else:
        raise ParameterError(
            "reference must be a DICOM series folder or file list, an image (DataArray) or "
            f"a spatial_xr Grid; got {type(reference).__name__}"
        )
    if ref.grid.ndim != 3:
        raise DimensionError(
            f"structures are placed on a 3-D grid; the reference is {ref.grid.ndim}-D (shape "
            f"{ref.grid.shape_xyz}); pass a volume"
        )
    return ref


def check_frame_of_reference(ss: StructureSet, ref: Reference,
                             numbers: Sequence[int] | None = None) -> None:
    """Refuse ROIs whose frame of reference differs from the reference's.

    Parameters
    ----------
    ss : StructureSet
    ref : Reference
    numbers : sequence of int, optional
        The ROIs to check (default: all).

    Raises
    ------
    FrameOfReferenceError
        Both frames are known and differ.
    """
    if not ref.frame_of_reference_uid:
        return
    for roi in ss.rois:
        if numbers is not None and roi.number not in numbers:
            continue
        own = roi.frame_of_reference_uid or (ss.frame_of_reference_uids[0]
                                             if len(ss.frame_of_reference_uids) == 1 else "")
        if own and own != ref.frame_of_reference_uid:
            raise FrameOfReferenceError(
                f"ROI {roi.number} ({roi.name!r}) of {os.path.basename(ss.path)!r} is drawn "
                f"in the frame of reference {own}, but the reference image is in "
                f"{ref.frame_of_reference_uid}: world coordinates of different frames do not "
                "match. Pass the series the structures were drawn on; if you know that the "
                "two frames coincide, pass its grid (reference=image.spatial.grid) to place "
                "them without this check"
            )
