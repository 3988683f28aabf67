"""Lazy MetaImage reading (``.mha``, ``.mhd`` + ``.raw``/``.zraw``, LIST and patterns).

Opening reads the header only (and checks the sizes of the data files). Voxels are read
per dask chunk by a pickle-safe :class:`~spatial_xr.io.streams.StreamedArray` holding
paths, never handles: raw data read only the bytes of the requested box (one span of whole
rows per plane); zlib data (``CompressedData = True``) inflate one stream per chunk
request, from its start up to the last plane needed.

**Geometry.** World is LPS mm, as in ITK. ``Offset`` (or ``Origin``/``Position``) is the
world position of the centre of voxel 0; ``ElementSpacing`` the spacing;
``TransformMatrix`` (or ``Rotation``/``Orientation``) lists the world direction of each
axis in turn (x axis first), i.e. it is the transpose of the direction matrix D written
row by row — what ITK writes and reads. ``CenterOfRotation`` is ignored: ITK's
MetaImageIO builds the image geometry from the offset and the matrix alone (the centre
only matters for MetaIO spatial objects that are rotated about it, and ITK writes zeros).
``AnatomicalOrientation`` is a summary that ITK writes but never reads; spatial_xr checks
it against the matrix and warns when they disagree (the matrix wins, as in ITK).

**Dims.** MetaImage axes x, y, z, t (x fastest) become the dims ``x, y, z, t``;
``ElementNumberOfChannels > 1`` adds ``c``. The DataArray's dims are ``(t, c, z, y, x)``
minus the ones the file lacks.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRWarning,
)
from spatial_xr.geometry import Grid, compose_affine, decompose_affine
from spatial_xr.geometry.orientation import direction_to_code
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import default_z_chunk, resolve_chunks
from spatial_xr.io.metaimage.header import (
    MetaImageHeader,
    list_file_count,
    read_metaimage_header,
)
from spatial_xr.io.streams import DataStream, StreamedArray
from spatial_xr.io.validate import (
    declared_nbytes,
    frames_per_chunk,
    require_data_fits,
)

__all__ = ["DISTANCE_UNITS", "data_streams", "is_metaimage_path", "open_metaimage",
           "shear_description"]

DISTANCE_UNITS = {"mm": "millimeter", "um": "micrometer", "cm": "centimeter"}
"""MetaIO ``DistanceUnits`` → UDUNITS-2 names of the coords' ``units``."""
_OPPOSITE = {"L": "R", "R": "L", "P": "A", "A": "P", "S": "I", "I": "S"}
_USED = {
    "ObjectType", "ObjectSubType", "NDims", "DimSize", "ElementType", "ElementDataFile",
    "BinaryData", "BinaryDataByteOrderMSB", "ElementByteOrderMSB", "CompressedData",
    "CompressedDataSize", "ElementSpacing", "ElementSize", "Offset", "Origin", "Position",
    "TransformMatrix", "Rotation", "Orientation", "CenterOfRotation",
    "AnatomicalOrientation", "ElementNumberOfChannels", "HeaderSize", "DistanceUnits",
}


def is_metaimage_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a MetaImage header (``.mha`` or ``.mhd``)."""
    return str(path).lower().endswith((".mha", ".mhd"))


def shear_description(direction: np.ndarray, names: str = "xyzt") -> str:
    """Which two columns of a (normalised) matrix are furthest from perpendicular, e.g.
    ``"axes x and y meet at 84.3° instead of 90°"``."""
    d = np.asarray(direction, np.float64)
    d = d / np.linalg.norm(d, axis=0)
    cos = np.abs(np.clip(d.T @ d, -1.0, 1.0) - np.eye(d.shape[0]))
    i, j = np.unravel_index(int(np.argmax(cos)), cos.shape)
    angle = math.degrees(math.acos(float(np.clip((d.T @ d)[i, j], -1.0, 1.0))))
    return f"axes {names[min(i, j)]} and {names[max(i, j)]} meet at {angle:.4g}° instead of 90°"


def _geometry(hdr: MetaImageHeader) -> tuple[Grid, tuple[float, float] | None]:
    """The spatial Grid and, for 4-D images, the t coordinate's (start, step)."""
    path, n = hdr.path, hdr.ndims
    spacing = np.asarray(hdr.spacing, np.float64)
    field = "ElementSpacing" if "ElementSpacing" in hdr.fields else "ElementSize"
    if not np.all(np.isfinite(spacing)) or np.any(spacing == 0):
        raise GeometryError(
            f"{path!r}: {field} = {hdr.fields.get(field)!r}; every spacing must be a finite, "
            "non-zero number (mm between voxel centres) — fix the header"
        )
    origin = np.asarray(hdr.origin, np.float64)
    if not np.all(np.isfinite(origin)):
        raise GeometryError(f"{path!r}: the origin {origin.tolist()} is not finite; fix the "
                            "header's Offset")
    matrix = hdr.matrix
    what = hdr.matrix_field or "TransformMatrix"
    if not np.all(np.isfinite(matrix)):
        raise GeometryError(f"{path!r}: {what} has non-finite entries; fix the header")
    ns = min(n, 3)
    t_axis = None
    if n == 4:
        mixed = np.abs(matrix[:3, 3]).max() + np.abs(matrix[3, :3]).max()
        if mixed > 1e-6 or abs(matrix[3, 3]) < 1e-12:
            raise GeometryError(
                f"{path!r}: the 4-D {what} mixes the time axis with space:\n{matrix}\n"
                "spatial_xr keeps t separate from z, y, x; the 4th row and column must be "
                "(0, 0, 0, ±1)"
            )
        t_axis = (float(origin[3]), float(spacing[3] * np.sign(matrix[3, 3])
                                          * np.linalg.norm(matrix[:, 3])))
    if np.any(spacing[:ns] < 0):
        warnings.warn(
            f"{os.path.basename(path)}: {field} has negative values {spacing[:ns].tolist()}; "
            "read as positive spacing with the axis direction reversed (the same world "
            "positions as ITK's)",
            SpatialXRWarning,
            stacklevel=4,
        )
    affine = compose_affine(origin[:ns], spacing[:ns], matrix[:ns, :ns])
    linear = affine[:ns, :ns]
    if abs(np.linalg.det(linear)) < 1e-12 * np.prod(np.abs(spacing[:ns])):
        raise GeometryError(
            f"{path!r}: {what} is singular (two axes point the same way or an axis is "
            f"zero):\n{matrix}\nEvery axis needs its own direction; fix the header"
        )
    try:
        o, s, d = decompose_affine(affine)
    except GeometryError as exc:
        raise GeometryError(
            f"{path!r}: {what} is sheared — {shear_description(linear)}; spatial_xr grids "
            f"have perpendicular axes ({exc}). Resample the image onto a regular grid with "
            "another tool, or fix the header"
        ) from exc
    grid = Grid(hdr.dim_size[:ns], s, o, d)
    _check_orientation(hdr, d)
    return grid, t_axis


def _check_orientation(hdr: MetaImageHeader, direction: np.ndarray) -> None:
    """Warn when ``AnatomicalOrientation`` disagrees with the direction matrix."""
    text = hdr.fields.get("AnatomicalOrientation", "").strip().upper()
    if hdr.ndims != 3 or not text or set(text) <= {"?"}:
        return
    expected = "".join(_OPPOSITE[c] for c in direction_to_code(direction))
    given = text[:3]
    if any(g not in "?" + expected[i] for i, g in enumerate(given)) or len(given) < 3:
        source = (f"its {hdr.matrix_field}" if hdr.matrix_field
                  else "no TransformMatrix (identity)")
        warnings.warn(
            f"{os.path.basename(hdr.path)}: AnatomicalOrientation = {text!r} disagrees with "
            f"{source}, which means {expected!r} (MetaIO letters name where each axis comes "
            "from); using the matrix, as ITK does. Fix or drop the AnatomicalOrientation line",
            SpatialXRWarning,
            stacklevel=4,
        )


def _data_path(hdr: MetaImageHeader, name: str) -> str:
    return name if os.path.isabs(name) else os.path.join(os.path.dirname(hdr.path), name)


def _stream(hdr: MetaImageHeader, path: str, shape: tuple[int, ...], *, local: bool,
            single: bool) -> DataStream:
    """One data file (or the header file itself for LOCAL), checked against its size."""
    try:
        size = os.path.getsize(path)
    except FileNotFoundError as exc:
        raise PathNotFoundError(
            f"the data file {path!r} named by {hdr.path!r} (ElementDataFile = "
            f"{hdr.data_file!r}) does not exist; copy it next to the header or fix "
            "ElementDataFile"
        ) from exc
    nbytes = declared_nbytes(shape, hdr.dtype.itemsize)
    base = hdr.data_offset if local else 0
    if hdr.header_size > 0:
        base = hdr.header_size
    codec = "zlib" if hdr.compressed else "raw"
    if hdr.header_size == -1:
        if hdr.compressed:
            raise FormatError(
                f"{hdr.path!r} combines HeaderSize = -1 with CompressedData = True; the "
                "compressed stream's start cannot be found from the end of the file. "
                "Re-export it without HeaderSize = -1"
            )
        require_data_fits(path, 0, nbytes, compressed=False,
                          what="voxel data (DimSize × ElementType × channels)")
        return DataStream(path, nbytes, from_end=True)
    if hdr.compressed:
        csize = hdr.compressed_size if single else None
        if csize is not None and base + csize > size:
            raise FormatError(
                f"{path!r} is truncated: the header declares CompressedDataSize = {csize} "
                f"from byte {base} but the file has {size} bytes; re-export or re-download it"
            )
        require_data_fits(path, 0, nbytes, compressed=True,
                          what="voxel data (DimSize × ElementType × channels)")
        if base >= size and nbytes:
            raise FormatError(f"{path!r} holds no compressed voxel data after byte {base}")
        return DataStream(path, nbytes, codec, offset=base, stored_nbytes=csize, exact=True)
    require_data_fits(path, base, nbytes, compressed=False,
                      what="voxel data (DimSize × ElementType × channels)")
    if size > base + nbytes:
        raise FormatError(
            f"{path!r} holds {size - base} bytes of voxel data after byte {base} but DimSize "
            f"{list(hdr.dim_size)} × {hdr.fields['ElementType']} × {hdr.channels} channel(s) "
            f"make {nbytes}; DimSize, ElementType or ElementNumberOfChannels is wrong (or a "
            "header precedes the data: set HeaderSize) — fix the header"
        )
    return DataStream(path, nbytes, codec, offset=base)


def _pattern_names(hdr: MetaImageHeader) -> list[str]:
    """File names of ``ElementDataFile = name%03d.raw first last step`` (ITK's rule: one
    file per index of the last axis; ``first`` defaults to 1 and ``step`` to 1)."""
    words = hdr.data_file.split()
    n = hdr.dim_size[-1]
    numbers = [w for w in words[1:] if w.lstrip("-").isdigit()]
    pattern = " ".join(words[: len(words) - len(numbers)])
    first = int(numbers[0]) if numbers else 1
    last = int(numbers[1]) if len(numbers) > 1 else first + n - 1
    step = int(numbers[2]) if len(numbers) > 2 else 1
    if step == 0:
        raise FormatError(f"{hdr.path!r}: ElementDataFile = {hdr.data_file!r} has step 0")
    indices = list(range(first, last + (1 if step > 0 else -1), step))
    if len(indices) < n:
        raise FormatError(
            f"{hdr.path!r}: ElementDataFile = {hdr.data_file!r} names {len(indices)} files "
            f"but DimSize needs {n} (one per index of the last axis); fix the range or DimSize"
        )
    try:
        return [pattern % i for i in indices[:n]]
    except (TypeError, ValueError) as exc:
        raise FormatError(
            f"{hdr.path!r}: ElementDataFile = {hdr.data_file!r} is not a valid file-name "
            f"pattern ({exc}); use a printf form such as slice%03d.raw"
        ) from exc


def data_streams(hdr: MetaImageHeader, c_shape: tuple[int, ...]) -> list[DataStream]:
    """The data files of a header as :class:`~spatial_xr.io.streams.DataStream`\\s in data
    order (one, or one per slice/volume for LIST and patterns), each checked against its
    size (nothing is read).

    Parameters
    ----------
    hdr : MetaImageHeader
    c_shape : tuple of int
        The C-ordered array shape (``t, z, y, x, c``).

    Returns
    -------
    list of DataStream

    Raises
    ------
    PathNotFoundError
        A data file does not exist.
    FormatError
        A data file too small or too large for its declared data, a LIST too short.
    """
    if hdr.is_local:
        return [_stream(hdr, hdr.path, c_shape, local=True, single=True)]
    if hdr.is_list or hdr.is_pattern:
        if hdr.is_list:
            per, count = list_file_count(hdr.ndims, hdr.dim_size, hdr.data_file)
            names = list(hdr.list_files)
            if len(names) < count:
                raise FormatError(
                    f"{hdr.path!r}: ElementDataFile = {hdr.data_file!r} is followed by "
                    f"{len(names)} file names but DimSize {list(hdr.dim_size)} needs {count} "
                    f"(one per {per}-D block); list every file"
                )
        else:
            per = hdr.ndims - 1
            names = _pattern_names(hdr)
        lead = hdr.ndims - per
        shape = c_shape[lead:]
        return [_stream(hdr, _data_path(hdr, name), shape, local=False, single=False)
                for name in names]
    return [_stream(hdr, _data_path(hdr, hdr.data_file), c_shape, local=False,
                    single=True)]


def _default_chunks(c_shape: tuple[int, ...], names: tuple[str, ...], itemsize: int,
                    one_stream: bool) -> tuple[int, ...]:
    """One chunk per t frame: the whole frame, or z slabs of whole planes when it is
    larger than :data:`~spatial_xr.io.chunking.WHOLE_VOLUME_BYTES`; a frame of a single
    zlib stream is always whole (every chunk request inflates from the stream's start)."""
    sizes = dict(zip(names, c_shape, strict=True))
    plane = sizes["y"] * sizes["x"] * sizes.get("c", 1) * itemsize
    nz = sizes.get("z", 1)
    nzc = nz if one_stream else default_z_chunk(nz, plane)
    out = []
    for name, n in zip(names, c_shape, strict=True):
        if name == "t":
            out.append(min(n, frames_per_chunk(n, -(-nz // nzc))))
        elif name == "z":
            out.append(nzc)
        else:
            out.append(n)
    return tuple(out)


def open_metaimage(path: str | os.PathLike[str], *, chunks: Any = None) -> xr.DataArray:
    """Open a MetaImage file lazily.

    Parameters
    ----------
    path : str or path-like
        ``.mha`` (header and data in one file) or ``.mhd`` (header; data in the file(s)
        its ``ElementDataFile`` names).
    chunks : dict, tuple, int or "auto", optional
        dask chunks, a dict keyed by dim name or one value per dim in DataArray order.
        Default: one chunk per ``t`` frame when it holds at most 512 MiB (always for a
        single zlib stream), else z slabs of whole planes of about dask's
        ``array.chunk-size``.

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus those absent from the file; dask-backed, in the
        file's element type (native byte order).

    Raises
    ------
    FormatError
        Bad header, unknown ElementType, truncated or oversized data, a data size that
        disagrees with DimSize.
    GeometryError
        NaN/zero spacing, a singular or sheared matrix.
    PathNotFoundError
        The header or a data file does not exist.
    """
    path = os.fspath(path)
    hdr = read_metaimage_header(path)
    grid, t_axis = _geometry(hdr)
    axis_names = ("x", "y", "z", "t")[: hdr.ndims]
    c_names = axis_names[::-1] + (("c",) if hdr.channels > 1 else ())
    c_shape = hdr.dim_size[::-1] + ((hdr.channels,) if hdr.channels > 1 else ())
    streams = data_streams(hdr, c_shape)
    lazy = StreamedArray(streams, c_shape, hdr.dtype)
    out_dtype = lazy.dtype
    one_stream = hdr.compressed and len(streams) == 1
    default = _default_chunks(c_shape, c_names, out_dtype.itemsize, one_stream)
    c_chunks = resolve_chunks(chunks, c_names, c_shape, default)
    stats = [os.stat(p.path) for p in streams[:1]] + [os.stat(path)]
    token = dask.base.tokenize(path, [(s.st_mtime_ns, s.st_size) for s in stats],
                               [(p.path, p.offset, p.codec) for p in streams], str(out_dtype),
                               c_shape)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=c_chunks, asarray=False, fancy=True, name=f"metaimage-{token}",
        meta=np.empty((0,) * lazy.ndim, out_dtype)))
    attrs: dict[str, Any] = {"source_format": "MetaImage"}
    extra = {k: v for k, v in hdr.fields.items() if k not in _USED}
    if extra:
        attrs["metaimage_fields"] = extra
    da = xr.DataArray(data, dims=c_names, name="image", attrs=attrs)
    order = [d for d in ("t", "c", "z", "y", "x") if d in c_names]
    if tuple(order) != c_names:
        da = da.transpose(*order)
    da = assign_grid(da, grid)
    units = DISTANCE_UNITS.get(hdr.fields.get("DistanceUnits", "mm").strip(), "millimeter")
    for d in grid.axes:
        da.coords[d].attrs["units"] = units
    if t_axis is not None:
        start, step = t_axis
        da = da.assign_coords(t=("t", start + step * np.arange(da.sizes["t"],
                                                              dtype=np.float64)))
    return da
