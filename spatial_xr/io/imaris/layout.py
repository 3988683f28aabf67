"""The structure of an Imaris file, read from its HDF5 metadata only.

Imaris 5.5 layout (the ``.ims`` format Imaris, its converters and many microscope vendors
write)::

    /DataSet/ResolutionLevel r/TimePoint t/Channel c/Data     3-D dataset (z, y, x)
        attributes of "Channel c": ImageSizeX, ImageSizeY, ImageSizeZ (the level's size)
    /DataSetInfo/Image          X, Y, Z (level 0 size), ExtMin0..2, ExtMax0..2, Unit
    /DataSetInfo/Channel c      Name, Color, …
    /DataSetInfo/TimeInfo       TimePoint1, TimePoint2, … ("2020-01-31 12:00:00.000")

Every level covers the same box, ``ExtMin`` to ``ExtMax`` per axis (x, y, z order): the
*corners* of the outer voxels. A level of ``n`` voxels along an axis therefore has spacing
``(ExtMax − ExtMin) / n`` and its first voxel centre at ``ExtMin + spacing / 2``. The
``Data`` datasets may be larger than the level's size (Imaris pads them to whole HDF5
chunks); only the declared size is image.
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from spatial_xr.errors import (
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRWarning,
    UnitError,
    require,
)
from spatial_xr.geometry import Grid
from spatial_xr.io.imaris.attrs import attr_number, attr_size, attr_text
from spatial_xr.io.omezarr.metadata import LENGTH_UNITS, canonical_unit

__all__ = ["IMARIS_UNITS", "ImarisLayout", "ImarisLevel", "read_layout", "unit_name"]

IMARIS_UNITS = {"um": "micrometer", "µm": "micrometer", "μm": "micrometer",
                "micron": "micrometer", "nm": "nanometer", "mm": "millimeter",
                "cm": "centimeter", "m": "meter", "pm": "picometer"}
"""Unit spellings found in Imaris files → UDUNITS-2 names."""
DEFAULT_UNIT = "micrometer"
"""Imaris' unit when a file states none."""

_LEVEL = re.compile(r"ResolutionLevel (\d+)$")
_TIME = re.compile(r"TimePoint (\d+)$")
_CHANNEL = re.compile(r"Channel (\d+)$")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class ImarisLevel:
    """One resolution level: its image size, stored size, HDF5 chunks and dtype."""

    index: int
    shape_zyx: tuple[int, int, int]
    """Voxels of the image (``ImageSizeZ, ImageSizeY, ImageSizeX``)."""
    data_shape: tuple[int, int, int]
    """Shape of the ``Data`` datasets (at least ``shape_zyx``; padded to chunks)."""
    chunks_zyx: tuple[int, int, int] | None
    """HDF5 chunk shape, or None for a contiguous dataset."""
    dtype: np.dtype[Any]
    compression: str | None


@dataclass(frozen=True)
class ImarisLayout:
    """What an Imaris file holds, and where (HDF5 paths)."""

    path: str
    levels: tuple[ImarisLevel, ...]
    n_timepoints: int
    n_channels: int
    channel_names: tuple[str, ...]
    ext_min_xyz: tuple[float, float, float]
    ext_max_xyz: tuple[float, float, float]
    unit: str
    """UDUNITS-2 name of the file's length unit (``"micrometer"`` for ``"um"``)."""
    unit_written: str | None
    """The unit as the file spells it (None if absent)."""
    times_s: tuple[float, ...] | None
    """Seconds since the first time point, when every ``TimePoint`` date parses."""
    time_start: str | None
    dataset_root: str = "DataSet"
    version: str | None = None

    def data_path(self, level: int, t: int, c: int) -> str:
        """HDF5 path of the ``Data`` dataset of one level, time point and channel."""
        return f"{self.dataset_root}/ResolutionLevel {level}/TimePoint {t}/Channel {c}/Data"

    def spacing_xyz(self, level: int) -> np.ndarray:
        """Voxel spacing (file unit, x, y, z) of ``level``: box extent / voxel count."""
        shape_xyz = np.array(self.levels[level].shape_zyx[::-1], np.float64)
        return (np.asarray(self.ext_max_xyz) - np.asarray(self.ext_min_xyz)) / shape_xyz

    def origin_xyz(self, level: int) -> np.ndarray:
        """Centre of voxel 0 (file unit, x, y, z) of ``level``: ``ExtMin + spacing / 2``."""
        return np.asarray(self.ext_min_xyz, np.float64) + self.spacing_xyz(level) / 2

    def grid(self, level: int, factor: float = 1.0) -> Grid:
        """The level's :class:`Grid` (identity direction), lengths multiplied by
        ``factor`` (to convert the file's unit)."""
        return Grid(self.levels[level].shape_zyx[::-1], self.spacing_xyz(level) * factor,
                    self.origin_xyz(level) * factor, np.eye(3))


def unit_name(text: str | None, path: str) -> str:
    """The UDUNITS-2 length unit of an Imaris ``Unit`` attribute.

    Raises
    ------
    UnitError
        The unit is not a length (e.g. ``"s"``) or is unknown.
    """
    if text is None or not text.strip():
        warnings.warn(
            f"{os.path.basename(path)}: DataSetInfo/Image has no Unit; using Imaris' default "
            "micrometre. If the file is in another unit, convert the coordinates after "
            "opening (e.g. multiply by the right factor)",
            SpatialXRWarning,
            stacklevel=4,
        )
        return DEFAULT_UNIT
    key = text.strip()
    name = IMARIS_UNITS.get(key, IMARIS_UNITS.get(key.lower(), canonical_unit(key)))
    if name not in LENGTH_UNITS:
        raise UnitError(
            f"{path!r}: DataSetInfo/Image Unit is {text!r}, which is not a length unit; the "
            "voxel size must be a length (Imaris writes 'um', 'nm' or 'mm'). Fix the Unit "
            "attribute of the file (e.g. with h5py) to the unit the extents are in"
        )
    return name


def _numbered(group: Any, pattern: re.Pattern[str], what: str, where: str, path: str) -> int:
    """How many members ``pattern`` numbers 0, 1, … (a gap raises FormatError)."""
    found = sorted(int(m.group(1)) for name in group if (m := pattern.match(name)))
    if not found:
        raise FormatError(f"{path!r}: {where!r} holds no {what} 0; the file holds no image")
    missing = sorted(set(range(found[-1] + 1)) - set(found))
    if missing:
        raise FormatError(
            f"{path!r}: {where!r} has {what} {found} but {what} {missing} is missing; the file "
            "is incomplete (re-export it, or copy it again if it was cut short)"
        )
    return len(found)


def _level(f: Any, layout_root: str, r: int, n_t: int, n_c: int,
           image_size: tuple[int, int, int] | None, path: str) -> ImarisLevel:
    where_level = f"{layout_root}/ResolutionLevel {r}"
    shape = data_shape = chunks = dtype = compression = None
    for t in range(n_t):
        for c in range(n_c):
            where = f"{where_level}/TimePoint {t}/Channel {c}"
            if where not in f:
                raise FormatError(
                    f"{path!r}: {where!r} is missing (level 0 has {n_t} time points and "
                    f"{n_c} channels, every level must hold them all); the file is incomplete"
                )
            group = f[where]
            if "Data" not in group or not hasattr(group["Data"], "shape"):
                raise FormatError(f"{path!r}: {where!r} has no 'Data' dataset")
            data = group["Data"]
            if data.ndim != 3:
                raise FormatError(
                    f"{path!r}: {where}/Data has {data.ndim} dims; Imaris stores 3-D (z, y, x)"
                )
            if all(f"ImageSize{a}" in group.attrs for a in "XYZ"):
                size = tuple(attr_size(group.attrs, f"ImageSize{a}", where, path)
                             for a in "ZYX")
            elif r == 0 and image_size is not None:
                size = image_size
            else:
                raise FormatError(
                    f"{path!r}: {where!r} lacks ImageSizeX/Y/Z, so the level's size is "
                    "unknown (its Data may be padded); the file is not a complete Imaris file"
                )
            stored = tuple(int(v) for v in data.shape)
            if any(s < n for s, n in zip(stored, size, strict=True)):
                raise FormatError(
                    f"{path!r}: {where}/Data has shape {stored} (z, y, x), smaller than the "
                    f"size {size} its ImageSize attributes declare; the file is truncated or "
                    "corrupt — re-export it"
                )
            if shape is None:
                shape, data_shape, dtype = size, stored, np.dtype(data.dtype)
                chunks = tuple(int(v) for v in data.chunks) if data.chunks else None
                compression = data.compression
            elif size != shape or np.dtype(data.dtype) != dtype:
                raise FormatError(
                    f"{path!r}: {where!r} has size {size} and type {data.dtype} but the first "
                    f"channel of level {r} has {shape} and {dtype}; every channel and time "
                    "point of a level must agree"
                )
    assert shape is not None and data_shape is not None and dtype is not None
    return ImarisLevel(r, shape, data_shape, chunks, dtype, compression)  # type: ignore[arg-type]


def _times(info: Mapping[str, Any] | None, n_t: int) -> tuple[tuple[float, ...] | None,
                                                              str | None]:
    if info is None:
        return None, None
    stamps = []
    for i in range(1, n_t + 1):
        text = attr_text(info, f"TimePoint{i}")
        when = None
        for fmt in _TIME_FORMATS:
            try:
                when = datetime.strptime(text or "", fmt)
                break
            except ValueError:
                continue
        if when is None:
            return None, attr_text(info, "TimePoint1")
        stamps.append(when)
    seconds = tuple((s - stamps[0]).total_seconds() for s in stamps)
    if any(b <= a for a, b in itertools.pairwise(seconds)):
        return None, attr_text(info, "TimePoint1")
    return seconds, attr_text(info, "TimePoint1")


def read_layout(path: str | os.PathLike[str]) -> ImarisLayout:
    """Read the structure of an Imaris file (HDF5 metadata only; no voxels).

    Parameters
    ----------
    path : str or path-like
        ``.ims`` file.

    Returns
    -------
    ImarisLayout

    Raises
    ------
    PathNotFoundError
        No such file.
    FormatError
        Not an HDF5 file, not an Imaris layout, a level/time point/channel missing, a
        ``Data`` dataset smaller than its declared size, or bad attributes.
    GeometryError
        ``ExtMax`` not greater than ``ExtMin`` along an axis.
    UnitError
        ``Unit`` is not a length.
    """
    h5py = require("h5py", "imaris")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise PathNotFoundError(f"no such Imaris file: {path!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(
            f"{path!r} is not a readable HDF5 file ({exc}); an Imaris .ims file is HDF5 — the "
            "file is truncated, corrupt or of another format"
        ) from exc
    with f:
        root = attr_text(f.attrs, "DataSetDirectoryName") or "DataSet"
        info_root = attr_text(f.attrs, "DataSetInfoDirectoryName") or "DataSetInfo"
        if root not in f:
            raise FormatError(
                f"{path!r} is HDF5 but has no {root!r} group: not an Imaris file (members: "
                f"{sorted(f)[:8]})"
            )
        n_levels = _numbered(f[root], _LEVEL, "ResolutionLevel", root, path)
        level0 = f"{root}/ResolutionLevel 0"
        n_t = _numbered(f[level0], _TIME, "TimePoint", level0, path)
        n_c = _numbered(f[f"{level0}/TimePoint 0"], _CHANNEL, "Channel",
                        f"{level0}/TimePoint 0", path)
        where_image = f"{info_root}/Image"
        if where_image not in f:
            raise FormatError(
                f"{path!r}: {where_image!r} is missing, so the voxel size is unknown (it "
                "holds ExtMin/ExtMax and the image size); not a complete Imaris file"
            )
        image = f[where_image].attrs
        image_size: tuple[int, int, int] | None = None
        if all(a in image for a in "XYZ"):
            nz, ny, nx = (attr_size(image, a, where_image, path) for a in "ZYX")
            image_size = (nz, ny, nx)
        levels = tuple(_level(f, root, r, n_t, n_c, image_size, path)
                       for r in range(n_levels))
        if image_size is not None and levels[0].shape_zyx != image_size:
            raise FormatError(
                f"{path!r}: {where_image} declares Z, Y, X = {image_size} but level 0 holds "
                f"{levels[0].shape_zyx}; the file's metadata disagree"
            )
        ext_min = tuple(attr_number(image, f"ExtMin{i}", where_image, path) for i in range(3))
        ext_max = tuple(attr_number(image, f"ExtMax{i}", where_image, path) for i in range(3))
        for i, axis in enumerate("xyz"):
            if not ext_max[i] > ext_min[i]:
                raise GeometryError(
                    f"{path!r}: {where_image} has ExtMin{i} = {ext_min[i]} and ExtMax{i} = "
                    f"{ext_max[i]}; the image box must extend along {axis} (ExtMax > ExtMin)"
                )
        unit_text = attr_text(image, "Unit")
        unit = unit_name(unit_text, path)
        names = []
        for c in range(n_c):
            where = f"{info_root}/Channel {c}"
            name = attr_text(f[where].attrs, "Name") if where in f else None
            names.append(name or f"Channel {c}")
        info = f.get(f"{info_root}/TimeInfo")
        times, start = _times(info.attrs if info is not None else None, n_t)
        version = attr_text(f.attrs, "ImarisVersion")
    return ImarisLayout(
        path=path, levels=levels, n_timepoints=n_t, n_channels=n_c,
        channel_names=tuple(names), ext_min_xyz=ext_min, ext_max_xyz=ext_max,  # type: ignore[arg-type]
        unit=unit, unit_written=unit_text, times_s=times, time_start=start,
        dataset_root=root, version=version,
    )
