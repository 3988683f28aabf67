"""Open a DICOM series (a folder, a list of files or one file) lazily as a DataArray."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    PathNotFoundError,
    SeriesSelectionError,
)
from spatial_xr.geometry.slices import POSITION_TOL
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import chunks_by_name, default_z_chunk
from spatial_xr.io.dicom.discover import (
    group_series,
    is_segmentation,
    list_files,
    referenced_series,
    scan_frames,
)
from spatial_xr.io.dicom.headers import FrameHeader
from spatial_xr.io.dicom.layout import Irregular, Layout, arrange
from spatial_xr.io.dicom.lazy import DicomSliceArray, ResampledSliceArray

__all__ = ["open_dicom", "output_dtype"]

Select = Mapping[str, Any] | Callable[[FrameHeader], bool] | None

_UNITS = {"HU": "HU", "US": None, "OD": "OD", "MGML": "mg/ml", "PCT": "percent"}
_INT_DTYPES = [np.dtype(t) for t in ("u1", "i1", "u2", "i2", "u4", "i4", "i8")]


def _stored_range(f: FrameHeader) -> tuple[int, int]:
    bits = min(f.bits_stored, f.bits_allocated)
    if f.pixel_representation == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def output_dtype(frames: Sequence[FrameHeader], apply_rescale: bool) -> np.dtype[Any]:
    """Smallest dtype that holds every rescaled value exactly (float32 if none does).

    Parameters
    ----------
    frames : sequence of FrameHeader
    apply_rescale : bool
        False: the stored dtype.
    """
    f0 = frames[0]
    stored = f0.stored_dtype
    if f0.bits_allocated not in (8, 16, 32) or f0.bits_allocated < f0.bits_stored:
        return stored
    if not apply_rescale or all(f.slope == 1.0 and f.intercept == 0.0 for f in frames):
        return stored
    integral = all(
        float(f.slope).is_integer() and float(f.intercept).is_integer() for f in frames
    )
    if not integral:
        return np.dtype(np.float64 if f0.bits_allocated == 32 else np.float32)
    lo = hi = None
    for f in frames:
        a, b = _stored_range(f)
        ends = (a * f.slope + f.intercept, b * f.slope + f.intercept)
        lo = min(ends) if lo is None else min(lo, *ends)
        hi = max(ends) if hi is None else max(hi, *ends)
    for dt in _INT_DTYPES:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:  # type: ignore[operator]
            return dt
    return np.dtype(np.float64)


def _select(frames: list[FrameHeader], select: Select) -> list[FrameHeader]:
    if select is None:
        return frames
    if callable(select):
        return [f for f in frames if select(f)]

    def value(f: FrameHeader, k: str) -> Any:
        if k == "ImageOrientationPatient":
            return f.iop
        if k == "SeriesInstanceUID":
            return f.series_uid
        return f.tags.get(k)

    def match(f: FrameHeader) -> bool:
        for k, want in select.items():
            got = value(f, k)
            if isinstance(want, list | tuple) and isinstance(got, tuple):
                if len(want) != len(got) or not np.allclose(want, got, atol=1e-4):
                    return False
            elif isinstance(got, float) and isinstance(want, int | float):
                if abs(got - want) > 1e-6:
                    return False
            elif got != want and str(got) != str(want):
                return False
        return True

    return [f for f in frames if match(f)]


def _choose_series(
    frames: list[FrameHeader], where: str, series_uid: str | None, series: int | None
) -> list[FrameHeader]:
    groups = group_series(frames)
    if not groups:
        raise FormatError(
            f"no DICOM image found in {where!r} (files that are not DICOM, DICOMDIR and "
            "non-image objects are skipped); check the path, or pass recursive=True"
        )
    uids = list(groups)
    listing = "\n".join(
        f"  [{i}] {u}  {g[0].modality or '?'}  {g[0].description!r}  "
        f"{len({f.path for f in g})} files"
        + ("  (segmentation)" if is_segmentation(g[0]) else "")
        for i, (u, g) in enumerate(groups.items())
    )
    if series_uid is not None:
        if series_uid not in groups:
            raise SeriesSelectionError(
                f"series_uid {series_uid!r} is not in {where!r}; it holds:\n{listing}"
            )
        return groups[series_uid]
    if series is not None:
        if not -len(uids) <= series < len(uids):
            raise SeriesSelectionError(
                f"series={series} is out of range; {where!r} holds {len(uids)} series:\n"
                f"{listing}"
            )
        return groups[uids[series]]
    images = [u for u in uids if not is_segmentation(groups[u][0])]
    if len(images) == 1:  # segmentations beside one image series: the image
        return groups[images[0]]
    if len(groups) > 1:
        segs = len(groups) - len(images)
        raise SeriesSelectionError(
            f"{where!r} holds {len(images)} image series"
            + (f" and {segs} segmentations" if segs else "")
            + f"; choose one with series_uid=... or series=<index>:\n{listing}"
        )
    return groups[uids[0]]


def _open_segmentation(frames: list[FrameHeader], scanned: list[FrameHeader],
                       chunks: Any) -> xr.DataArray:
    """A chosen SEG series: opened on the grid of the series it references when that
    series was scanned too, else on its own grid."""
    from spatial_xr.io.dicomseg.read import open_dicomseg

    files = list(dict.fromkeys(f.path for f in frames))
    if len(files) != 1:
        raise SeriesSelectionError(
            f"the segmentation series {frames[0].series_uid} has {len(files)} SEG files; "
            "open one of them with spatial_xr.open_image(path)"
        )
    refs = referenced_series(files[0])
    source = [f for f in scanned if f.series_uid in refs and not is_segmentation(f)]
    reference = list(dict.fromkeys(f.path for f in source)) or None
    return open_dicomseg(files[0], reference=reference, chunks=chunks)


def _attrs(lay: Layout, apply_rescale: bool, identifying: bool, source: str
           ) -> dict[str, Any]:
    f0 = lay.frames[0]
    attrs: dict[str, Any] = {"source_format": "DICOM", "source": os.path.basename(source)}
    attrs.update({k: v for k, v in f0.attrs.items() if v is not None})
    if f0.tile >= 0:
        attrs["mosaic"] = True
    if f0.frame >= 0:
        attrs["n_frames_in_file"] = f0.n_frames
    slopes = sorted({f.slope for f in lay.frames})
    inters = sorted({f.intercept for f in lay.frames})
    if len(slopes) == 1 and len(inters) == 1:
        attrs["rescale_slope"], attrs["rescale_intercept"] = slopes[0], inters[0]
    else:
        attrs["rescale_varies"] = True
    attrs["rescale_applied"] = bool(apply_rescale)
    rtype = str(f0.attrs.get("rescale_type") or ("HU" if f0.modality == "CT" else ""))
    if apply_rescale and _UNITS.get(rtype.upper()):
        attrs["units"] = _UNITS[rtype.upper()]
    if f0.ipp is None or f0.iop is None:
        attrs["geometry"] = "missing from the file: index grid (origin 0, identity direction)"
    if lay.t_tag is not None:
        attrs["t_tag"] = lay.t_tag
    if lay.plan is not None:
        attrs["resampled"] = "linear along the slice normal onto a regular grid"
    if identifying:
        attrs.update({k: v for k, v in f0.private.items()})
    return attrs


def _chunks(chunks: Any, names: tuple[str, ...], shape: tuple[int, ...],
            itemsize: int) -> tuple[int, ...]:
    """Backend chunks in backend order ``([t,] z, y, x[, c])``; default: one chunk per volume
    of up to 512 MiB, else z runs of whole slices of about dask's ``array.chunk-size``
    (:func:`~spatial_xr.io.chunking.default_z_chunk`)."""
    zi = names.index("z")
    per_slice = int(np.prod(shape[zi + 1 :])) * itemsize
    nz = default_z_chunk(shape[zi], per_slice)
    default = (*(1,) * zi, nz, *shape[zi + 1 :])
    if chunks is None:
        return default
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, names, default, shape)
    raise DimensionError("chunks must be a mapping of dim name to chunk size, e.g. {'z': 16}")


def open_dicom(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    series_uid: str | None = None,
    series: int | None = None,
    select: Select = None,
    chunks: Any = None,
    apply_rescale: bool = True,
    irregular: Irregular = "raise",
    t_tag: str | None = None,
    tolerance: float = POSITION_TOL,
    recursive: bool = False,
    fill_value: float = 0.0,
    include_identifying: bool = False,
) -> xr.DataArray:
    """Open a DICOM series lazily (headers only) as a DataArray with exact geometry.

    Parameters
    ----------
    path : str, path-like or list of them
        A folder (every file in it), one file (a slice, a multi-frame or mosaic object), or
        a list of files.
    series_uid : str, optional
        SeriesInstanceUID to open when the files hold several series. DICOM SEG objects
        are left out of the default choice: a folder holding one image series and its
        segmentations opens the image. Naming a SEG's series opens it as a label image
        (:func:`~spatial_xr.io.dicomseg.read.open_dicomseg`), on the grid of the series it
        references when that series is among the files. (A SEG file opened on its own
        here gives its frames as plain pixels; ``open_image`` opens it as a label image.)
    series : int, optional
        Index of the series to open, in the order :func:`discover_series` lists them.
    select : mapping or callable, optional
        Keep only some slices: ``{"EchoTime": 12.5}``, ``{"StackID": "1"}``,
        ``{"ImageOrientationPatient": [1, 0, 0, 0, 1, 0]}``, or a callable taking a
        :class:`~spatial_xr.io.dicom.headers.FrameHeader`.
    chunks : mapping, optional
        dask chunks by dim name (``-1`` for a whole dim). Default: one chunk per ``t``
        volume of up to 512 MiB, else runs of whole slices of about dask's
        ``array.chunk-size`` (see :mod:`spatial_xr.io.chunking`).
    apply_rescale : bool
        Apply RescaleSlope/Intercept lazily (per slice). The dtype is the smallest that
        holds every value exactly (e.g. int16 for typical CT), float32 otherwise. False
        keeps the stored values and dtype.
    irregular : {"raise", "resample"}
        A tilted (sheared) or unevenly spaced stack raises by default; ``"resample"``
        resamples it lazily (linearly, float32) onto a regular grid along the normal.
    t_tag : str, optional
        Tag that separates volumes at repeated positions (default: the first that does of
        TemporalPositionIdentifier, TemporalPositionIndex, AcquisitionTime, EchoTime,
        EffectiveEchoTime, TriggerTime, DiffusionBValue, AcquisitionNumber,
        InstanceNumber).
    tolerance : float
        Largest deviation (mm) of a slice from a regular grid.
    recursive : bool
        Also read files in sub-folders.
    fill_value : float
        Value of resampled voxels outside every source slice.
    include_identifying : bool
        Copy patient-identifying tags (name, ID, birth date, …) into attrs; off by default.

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus the absent ones; ``x`` is the column index and ``y``
        the row index of the slices; dask-backed.

    Raises
    ------
    PathNotFoundError, FormatError, SeriesSelectionError, MixedGeometryError,
    SliceSpacingError, GantryTiltError, DuplicateSliceError, DependencyError
    """
    if isinstance(path, str | os.PathLike):
        where = os.fspath(path)
        if os.path.isdir(where):
            files = list_files(where, recursive)
        elif os.path.isfile(where):
            files = [where]
        else:
            raise PathNotFoundError(f"no such file or folder: {where!r}")
    else:
        files = [os.fspath(p) for p in path]
        missing = [p for p in files if not os.path.isfile(p)]
        if missing:
            raise PathNotFoundError(f"no such files: {missing[:5]}")
        where = os.path.commonpath(files) if files else "[]"
    scanned = scan_frames(files, identifying=include_identifying)
    frames = _choose_series(scanned, where, series_uid, series)
    if is_segmentation(frames[0]) and len(files) > 1:  # a SEG chosen among other files
        return _open_segmentation(frames, scanned, chunks)
    chosen = _select(frames, select)
    if not chosen:
        raise SeriesSelectionError(
            f"select={select!r} keeps none of the {len(frames)} slices of series "
            f"{frames[0].series_uid}; check the tag name and value"
        )
    lay = arrange(chosen, irregular=irregular, t_tag=t_tag, tol=tolerance)
    return _to_dataarray(lay, where, chunks=chunks, apply_rescale=apply_rescale,
                         fill_value=fill_value, identifying=include_identifying)


def _to_dataarray(lay: Layout, where: str, *, chunks: Any, apply_rescale: bool,
                  fill_value: float, identifying: bool) -> xr.DataArray:
    f0 = lay.frames[0]
    dtype = output_dtype(lay.frames, apply_rescale)
    sources = [f.source for f in lay.frames]
    slopes = inters = None
    if apply_rescale:
        slopes = np.array([[lay.frames[i].slope for i in row] for row in lay.table])
        inters = np.array([[lay.frames[i].intercept for i in row] for row in lay.table])
    has_t = lay.t_tag is not None
    lazy: Any = DicomSliceArray(sources, lay.table, f0.rows, f0.cols, f0.samples,
                                f0.stored_dtype, f0.bits_stored, slopes, inters, dtype, has_t,
                                f0.bits_allocated)
    if lay.plan is not None:
        lazy = ResampledSliceArray(lazy, lay.plan, fill_value)
    names = (("t",) if has_t else ()) + ("z", "y", "x") + (("c",) if f0.samples > 1 else ())
    backend_chunks = _chunks(chunks, names, lazy.shape, lazy.dtype.itemsize)
    token = dask.base.tokenize(
        sources, lay.table, slopes, inters, str(lazy.dtype), has_t,
        None if lay.plan is None else (lay.plan.lower, lay.plan.weight, lay.plan.shift_rc),
        [(s[0], os.stat(s[0]).st_mtime_ns) for s in sources[:1]],
    )
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=backend_chunks, asarray=False, fancy=True, name=f"dicom-{token}",
        meta=np.empty((0,) * lazy.ndim, lazy.dtype)))
    da = xr.DataArray(data, dims=names, name="image",
                      attrs=_attrs(lay, apply_rescale, identifying, where))
    if has_t:
        values = lay.t_values or []
        if all(isinstance(v, int | float) for v in values):
            da = da.assign_coords(t=("t", np.asarray(values, dtype=np.float64)))
            unit = {"AcquisitionTime": "second", "EchoTime": "millisecond",
                    "EffectiveEchoTime": "millisecond", "TriggerTime": "millisecond"}
            if lay.t_tag in unit:
                da.coords["t"].attrs["units"] = unit[lay.t_tag]
            da.coords["t"].attrs["dicom_tag"] = lay.t_tag
    if "c" in da.dims:
        da = da.transpose(*[d for d in ("t", "c", "z", "y", "x") if d in da.dims])
    return assign_grid(da, lay.grid)
