"""Atomic NRRD writing (``.nrrd`` attached, ``.nhdr`` + ``.raw``/``.raw.gz`` detached),
streamed z-slab by z-slab (memory bounded by one slab).

The header uses ``space: left-posterior-superior`` (``left-posterior-superior-time`` when
the image has a ``t`` dim, so that ITK and SimpleITK read it as a 4-D image; ``space
dimension: 2`` for 2-D images), ``space directions`` = D · diag(S) from the grid, ``space
origin`` = O. Axes are stored ``c`` (fastest, kind ``vector`` or the kind it was read
with), ``x``, ``y``, ``z``, ``t`` (kind ``time``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import xarray as xr

from spatial_xr.coords import extra_dims, grid_of
from spatial_xr.errors import (
    FormatError,
    ParameterError,
    SpatialXRWarning,
    UnsupportedOptionError,
)
from spatial_xr.io.atomic import atomic_output, check_overwrite
from spatial_xr.io.nrrd.layout import SPACE_UNITS, TIME_UNITS
from spatial_xr.io.nrrd.read import is_nrrd_path
from spatial_xr.io.streaming import file_order_slabs, gzip_writer

__all__ = ["C_KIND_SIZES", "nrrd_header_text", "write_nrrd"]

_TYPE_NAMES = {"i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16", "i4": "int32",
               "u4": "uint32", "i8": "int64", "u8": "uint64", "f4": "float", "f8": "double"}
C_KIND_SIZES = {"vector": None, "list": None, "point": None, "covariant-vector": None,
                "normal": None, "stub": 1, "scalar": 1, "complex": 2, "2-vector": 2,
                "3-color": 3, "RGB-color": 3, "HSV-color": 3, "XYZ-color": 3, "4-color": 4,
                "RGBA-color": 4, "3-vector": 3, "3-gradient": 3, "3-normal": 3,
                "4-vector": 4, "quaternion": 4, "2D-symmetric-matrix": 3,
                "2D-masked-symmetric-matrix": 4, "2D-matrix": 4, "2D-masked-matrix": 5,
                "3D-symmetric-matrix": 6, "3D-masked-symmetric-matrix": 7, "3D-matrix": 9,
                "3D-masked-matrix": 10}
"""NRRD kinds a ``c`` axis may be written with, and the size each requires (None: any)."""


def _num(v: float) -> str:
    return repr(float(v) + 0.0)  # shortest exact form; -0.0 written as 0.0


def _vec(values: Any) -> str:
    return "(" + ",".join(_num(v) for v in values) + ")"


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", "\\n")


def _unit_name(udunits: str, table: dict[str, str]) -> str:
    reverse: dict[str, str] = {}
    for short, long in table.items():
        reverse.setdefault(long, short)
    return reverse.get(udunits, udunits)


def _file_layout(da: xr.DataArray) -> xr.DataArray:
    """The image as dims (t, z, y, x, c) minus absent ones: C order of NRRD's c, x, y, z,
    t."""
    extra_dims(da, ("t", "c"), "NRRD stores dims x, y, z plus optional c and t")
    return da.transpose(*[d for d in ("t", "z", "y", "x", "c") if d in da.dims])


def _dtype(da: xr.DataArray) -> np.dtype[Any]:
    dtype = np.dtype(da.dtype)
    if dtype == np.bool_:
        return np.dtype("<u1")
    code = f"{dtype.kind}{dtype.itemsize}"
    if code not in _TYPE_NAMES:
        hint = ("split the real and imaginary parts into a c dim" if dtype.kind == "c"
                else "cast it first, e.g. da.astype('float32')")
        raise FormatError(f"NRRD cannot store dtype {dtype}; {hint}")
    return np.dtype("<" + code)


def _c_kind(da: xr.DataArray) -> str:
    kind = (da.attrs.get("nrrd_kinds") or {}).get("c")
    if kind in C_KIND_SIZES:
        size = C_KIND_SIZES[kind]
        if size is None or size == da.sizes["c"]:
            return str(kind)
    return "vector"


def _time_axis(da: xr.DataArray) -> tuple[float, float, str]:
    """First time, time step and NRRD time unit of the ``t`` dim."""
    if "t" not in da.coords or da.sizes["t"] < 1:
        return 0.0, 1.0, ""
    t = np.asarray(da.coords["t"].values, dtype=np.float64)
    unit = _unit_name(da.coords["t"].attrs.get("units", ""), TIME_UNITS)
    if t.size == 1:
        return float(t[0]), 1.0, unit
    step = (t[-1] - t[0]) / (t.size - 1)
    if not (np.all(np.isfinite(t)) and step > 0 and np.allclose(np.diff(t), step,
                                                                 rtol=1e-6, atol=0)):
        warnings.warn(
            "the t coordinate is not uniformly increasing; NRRD stores a time origin and "
            "step, so the file gets time indices (origin 0, step 1)",
            SpatialXRWarning,
            stacklevel=4,
        )
        return 0.0, 1.0, ""
    return float(t[0]), float(step), unit


def nrrd_header_text(da: xr.DataArray, *, encoding: str = "raw",
                     data_file: str | None = None) -> str:
    """The NRRD header ``write_nrrd`` writes for ``da`` (without the data).

    Parameters
    ----------
    da : xarray.DataArray
        Image with geometry, dims among ``t, c, z, y, x``.
    encoding : {"raw", "gzip"}
    data_file : str, optional
        Name of the detached data file (relative to the header); None for attached data.

    Returns
    -------
    str
        Ends with the blank line that separates attached data (with ``data_file``: with the
        ``data file`` line).
    """
    _file_layout(da)  # refuses dims NRRD cannot store
    dtype = _dtype(da)
    grid = grid_of(da)
    n = grid.ndim
    has_t, has_c = "t" in da.dims, "c" in da.dims
    time_space = has_t and n == 3
    space_dim = n + (1 if time_space else 0)
    sizes: list[int] = []
    dirs: list[str] = []
    kinds: list[str] = []
    if has_c:
        sizes.append(da.sizes["c"])
        dirs.append("none")
        kinds.append(_c_kind(da))
    affine = grid.direction_xyz * grid.spacing_xyz[None, :]
    for a in range(n):
        sizes.append(grid.shape_xyz[a])
        col = list(affine[:, a]) + ([0.0] if time_space else [])
        dirs.append(_vec(col))
        kinds.append("domain")
    t0, dt, t_unit = _time_axis(da) if has_t else (0.0, 1.0, "")
    if has_t:
        sizes.append(da.sizes["t"])
        dirs.append(_vec([0.0] * n + [dt]) if time_space else "none")
        kinds.append("time")
    units = da.coords["x"].attrs.get("units", "millimeter") if "x" in da.coords else \
        "millimeter"
    unit = _unit_name(units, SPACE_UNITS)
    lines = ["NRRD0004", "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html",
             f"type: {_TYPE_NAMES[dtype.str[1:]]}", f"dimension: {len(sizes)}"]
    if n == 3:
        lines.append("space: left-posterior-superior" + ("-time" if time_space else ""))
    else:
        lines.append("space dimension: 2")
    lines += [f"sizes: {' '.join(str(int(s)) for s in sizes)}",
              f"space directions: {' '.join(dirs)}",
              f"kinds: {' '.join(kinds)}"]
    if dtype.itemsize > 1:
        lines.append("endian: little")
    lines.append(f"encoding: {encoding}")
    space_units = [unit] * n + ([t_unit] if time_space else [])
    lines.append("space units: " + " ".join(f'"{_escape(u)}"' for u in space_units))
    origin = list(grid.origin_xyz) + ([t0] if time_space else [])
    lines.append(f"space origin: {_vec(origin)}")
    if has_t and not time_space:
        lines += [f"spacings: {' '.join(['nan'] * (len(sizes) - 1) + [_num(dt)])}",
                  f"axis mins: {' '.join(['nan'] * (len(sizes) - 1) + [_num(t0)])}"]
    frame = _measurement_frame(da, space_dim)
    if frame is not None:
        lines.append("measurement frame: " + " ".join(_vec(v) for v in frame))
    if "nrrd_content" in da.attrs:
        lines.append(f"content: {_escape(da.attrs['nrrd_content'])}")
    for key, value in (da.attrs.get("nrrd_fields") or {}).items():
        if ":=" in str(key):
            raise FormatError(f"the nrrd_fields key {key!r} contains ':=', which a NRRD "
                              "key cannot hold; rename it")
        lines.append(f"{_escape(key)}:={_escape(value)}")
    if data_file is not None:
        lines.append(f"data file: {data_file}")
        return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n\n"


def _measurement_frame(da: xr.DataArray, space_dim: int) -> list[list[float]] | None:
    frame = da.attrs.get("measurement_frame")
    if frame is None:
        return None
    m = np.asarray(frame, dtype=np.float64)
    k = m.shape[0] if m.ndim == 2 and m.shape[0] == m.shape[1] else 0
    if k not in (2, 3, 4) or not np.all(np.isfinite(m)):
        raise FormatError(f"attrs['measurement_frame'] must be a square matrix of finite "
                          f"numbers (its vectors), got {frame!r}")
    if k < space_dim:
        full = np.eye(space_dim)
        full[:k, :k] = m
        m = full
    elif k > space_dim:
        m = m[:space_dim, :space_dim]
    return m.tolist()


def write_nrrd(
    da: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    encoding: Literal["raw", "gzip"] = "raw",
    detached: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write an image as NRRD.

    Data are streamed z-slab by z-slab (memory bounded by one slab), written beside the
    destination and renamed into place when complete.

    Parameters
    ----------
    da : xarray.DataArray
        Image with dims among ``t, c, z, y, x`` and any numeric dtype but float16 and
        complex (bool is written as uint8).
    path : str or path-like
        ``.nrrd`` (data attached) or ``.nhdr`` (header only; the data go to
        ``<stem>.raw`` or ``<stem>.raw.gz`` beside it).
    encoding : {"raw", "gzip"}
        gzip compresses with ISA-L (``gzip`` extra) when installed, else zlib, at level 1.
    detached : bool
        Write a detached header; requires a ``.nhdr`` name (a ``.nhdr`` name is always
        detached).
    overwrite : bool
        Replace existing files (only after the new ones are complete).

    Returns
    -------
    pathlib.Path
        The header's path.

    Raises
    ------
    OverwriteError
        A destination file exists and ``overwrite`` is False (nothing is written).
    FormatError
        The name is not ``.nrrd``/``.nhdr``, or the dtype cannot be stored.
    """
    path = Path(path)
    if not is_nrrd_path(path):
        raise FormatError(f"NRRD file names end in .nrrd or .nhdr; got {str(path)!r}")
    if encoding not in ("raw", "gzip"):
        raise UnsupportedOptionError(
            f"encoding must be 'raw' or 'gzip', got {encoding!r}")
    is_nhdr = path.name.lower().endswith(".nhdr")
    if detached and not is_nhdr:
        raise ParameterError(
            f"a detached NRRD header is a .nhdr file; name the destination "
            f"{path.with_suffix('.nhdr').name!r} (its data go beside it), or pass "
            "detached=False"
        )
    data = _file_layout(da)
    dtype = _dtype(da)
    if not is_nhdr:
        header = nrrd_header_text(da, encoding=encoding)
        with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
            f.write(header.encode("utf-8"))
            _write_data(f, data, dtype, encoding)
        return path
    data_path = path.with_name(path.name[:-5] + (".raw.gz" if encoding == "gzip" else ".raw"))
    check_overwrite(path, overwrite)
    check_overwrite(data_path, overwrite)
    header = nrrd_header_text(da, encoding=encoding, data_file=data_path.name)
    with atomic_output(path, overwrite=overwrite) as tmp_header:
        tmp_header.write_bytes(header.encode("utf-8"))
        with atomic_output(data_path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
            _write_data(f, data, dtype, encoding)
    return path


def _write_data(f: IO[bytes], data: xr.DataArray, dtype: np.dtype[Any], encoding: str) -> None:
    if encoding == "gzip":
        with gzip_writer(f) as gz:
            for block in file_order_slabs(data, dtype):
                gz.write(block)
    else:
        for block in file_order_slabs(data, dtype):
            f.write(block)
