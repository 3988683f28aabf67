"""Atomic MetaImage writing (``.mha``, or ``.mhd`` + ``.raw``/``.zraw``), slab by slab.

The header is what ITK writes (same fields, same order; ``TransformMatrix`` lists each
axis direction in turn), so ITK, SimpleITK, 3D Slicer and ITK-SNAP read the files back
with the same geometry. Data are streamed one z slab at a time (raw or through one zlib
stream), so memory is bounded by a slab. Both files are written beside their
destinations and renamed into place when complete.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid, extra_dims, grid_of
from spatial_xr.errors import FormatError
from spatial_xr.geometry import Grid
from spatial_xr.io.atomic import atomic_output, check_overwrite
from spatial_xr.io.metaimage.read import DISTANCE_UNITS, is_metaimage_path
from spatial_xr.io.streaming import file_order_slabs

__all__ = ["METAIMAGE_TYPES", "write_metaimage"]

METAIMAGE_TYPES: dict[str, str] = {
    "b": "MET_UCHAR", "i1": "MET_CHAR", "u1": "MET_UCHAR", "i2": "MET_SHORT",
    "u2": "MET_USHORT", "i4": "MET_INT", "u4": "MET_UINT", "i8": "MET_LONG_LONG",
    "u8": "MET_ULONG_LONG", "f4": "MET_FLOAT", "f8": "MET_DOUBLE",
}
"""NumPy type codes (kind + size; ``b`` is bool, written as bytes) → ``ElementType``."""
_SIZE_FIELD = 20
"""Width reserved for ``CompressedDataSize`` in a ``.mha`` header (filled in at the end)."""


def _numbers(values: Any) -> str:
    return " ".join(repr(float(v)).removesuffix(".0") if float(v).is_integer() else
                    repr(float(v)) for v in np.ravel(values))


def _layout(da: xr.DataArray) -> xr.DataArray:
    """The image as dims (t, z, y, x, c): MetaImage's x, y, z, t with channels
    interleaved, reversed."""
    extra_dims(da, ("t", "c"), "MetaImage stores dims x, y, z, t and channels (c)")
    order = [d for d in ("t", "z", "y", "x", "c") if d in da.dims]
    return da.transpose(*order)


def _element_type(dtype: np.dtype[Any]) -> tuple[np.dtype[Any], str]:
    code = "b" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize}"
    if code not in METAIMAGE_TYPES:
        raise FormatError(
            f"MetaImage cannot store dtype {dtype}; cast the image first (e.g. "
            f"da.astype('float32')). Storable: {', '.join(sorted(set(METAIMAGE_TYPES)))}"
        )
    stored = np.dtype(np.uint8) if code == "b" else dtype.newbyteorder("<")
    return stored, METAIMAGE_TYPES[code]


def _header(da: xr.DataArray, element_type: str, data_file: str, compressed: bool,
            size_text: str | None) -> bytes:
    grid = grid_of(da)
    n = grid.ndim
    dims = list(grid.shape_xyz)
    spacing = list(grid.spacing_xyz)
    origin = list(grid.origin_xyz)
    direction = np.asarray(grid.direction_xyz)
    if "t" in da.dims:
        t0, dt = 0.0, 1.0
        if "t" in da.coords and da.sizes["t"] > 1:
            values = np.asarray(da.coords["t"].values, np.float64)
            steps = np.diff(values)
            if np.all(np.isfinite(values)) and steps[0] > 0 and np.allclose(steps, steps[0]):
                t0, dt = float(values[0]), float(steps[0])
        elif "t" in da.coords and np.issubdtype(da.coords["t"].dtype, np.number):
            t0 = float(da.coords["t"].values[0])
        dims.append(da.sizes["t"])
        spacing.append(dt)
        origin.append(t0)
        direction = np.block([[direction, np.zeros((n, 1))], [np.zeros((1, n)), np.ones((1, 1))]])
        n += 1
    lines = [
        "ObjectType = Image",
        f"NDims = {n}",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        f"CompressedData = {'True' if compressed else 'False'}",
    ]
    if size_text is not None:
        lines.append(f"CompressedDataSize = {size_text}")
    lines += [
        f"TransformMatrix = {_numbers(direction.T)}",  # one axis direction after another
        f"Offset = {_numbers(origin)}",
        f"CenterOfRotation = {' '.join(['0'] * n)}",
    ]
    if grid.ndim == 3 and "t" not in da.dims:
        code = grid.orientation
        opposite = {"L": "R", "R": "L", "P": "A", "A": "P", "S": "I", "I": "S"}
        lines.append(f"AnatomicalOrientation = {''.join(opposite[c] for c in code)}")
    lines.append(f"ElementSpacing = {_numbers(spacing)}")
    lines.append(f"DimSize = {' '.join(str(int(v)) for v in dims)}")
    if "c" in da.dims:
        lines.append(f"ElementNumberOfChannels = {da.sizes['c']}")
    units = da.coords[grid.axes[0]].attrs.get("units", "millimeter") \
        if grid.axes[0] in da.coords else "millimeter"
    short = {v: k for k, v in DISTANCE_UNITS.items()}.get(units)
    if short is not None and short != "mm":
        lines.append(f"DistanceUnits = {short}")
    lines.append(f"ElementType = {element_type}")
    lines.append(f"ElementDataFile = {data_file}")
    return ("\n".join(lines) + "\n").encode("latin-1")


def _compressor() -> Any:
    try:
        from isal import isal_zlib

        return isal_zlib.compressobj(1)
    except ImportError:
        return zlib.compressobj(1)


def _write_data(f: IO[bytes], data: xr.DataArray, stored: np.dtype[Any],
                compress: bool) -> int:
    """Write the voxels; returns the number of bytes written."""
    written = 0
    comp = _compressor() if compress else None
    for block in file_order_slabs(data, stored):
        out = comp.compress(block) if comp is not None else block
        f.write(out)
        written += len(out)
    if comp is not None:
        tail = comp.flush()
        f.write(tail)
        written += len(tail)
    return written


def write_metaimage(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    compress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write an image as MetaImage: ``.mha`` (one file) or ``.mhd`` + ``.raw``/``.zraw``.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, c, z, y, x`` (2-D to 4-D; ``c`` becomes
        ``ElementNumberOfChannels``; a 2-D image with ``t`` is written with one z slice,
        since MetaImage's 4th axis follows z). Bool is written as ``MET_UCHAR``.
    path : str or path-like
        Destination ending in ``.mha`` or ``.mhd``; the data file of a ``.mhd`` is put
        beside it with the same stem and ``.raw`` (``.zraw`` when compressed).
    compress : bool
        Deflate the voxels (zlib, ``CompressedData = True``).
    overwrite : bool
        Replace existing files (only after the new ones are complete).

    Returns
    -------
    pathlib.Path
        The header's path.

    Raises
    ------
    OverwriteError
        A destination file exists and ``overwrite`` is False (checked before writing).
    FormatError
        The name does not end in ``.mha``/``.mhd``, or the dtype cannot be stored.
    DimensionError
        Dims other than ``t, c, z, y, x``.
    """
    path = Path(path)
    if not is_metaimage_path(path):
        raise FormatError(f"MetaImage file names end in .mha or .mhd; got {str(path)!r}")
    grid = grid_of(da)  # refuse an irregular grid before anything is written
    if "t" in da.dims and grid.ndim == 2:  # MetaImage's 4th axis is t: add z of size 1
        grid = Grid((*grid.shape_xyz, 1), (*grid.spacing_xyz, 1.0), (*grid.origin_xyz, 0.0),
                    np.block([[grid.direction_xyz, np.zeros((2, 1))],
                              [np.zeros((1, 2)), np.ones((1, 1))]]))
        da = assign_grid(da.expand_dims("z"), grid)
    data = _layout(da)
    stored, element_type = _element_type(np.dtype(data.dtype))
    if path.suffix.lower() == ".mha":
        with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
            reserve = "0".rjust(_SIZE_FIELD) if compress else None
            head = _header(da, element_type, "LOCAL", compress, reserve)
            f.write(head)
            written = _write_data(f, data, stored, compress)
            if compress:  # fill in the size reserved in the header
                text = str(written).ljust(_SIZE_FIELD).encode("latin-1")
                f.seek(head.index(b"CompressedDataSize = ") + len(b"CompressedDataSize = "))
                f.write(text)
        return path
    raw = path.with_suffix(".zraw" if compress else ".raw")
    check_overwrite(path, overwrite)
    check_overwrite(raw, overwrite)
    # the data file is moved into place first, then the header; both are complete before
    # either is moved
    with atomic_output(path, overwrite=overwrite) as tmp_head, \
            atomic_output(raw, overwrite=overwrite) as tmp_raw:
        with open(tmp_raw, "wb") as f:
            written = _write_data(f, data, stored, compress)
        tmp_head.write_bytes(_header(da, element_type, raw.name, compress,
                                     str(written) if compress else None))
    return path
