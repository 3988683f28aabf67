"""TIFF stacks: a folder, glob or list of 2-D TIFF files opened as one volume along ``z``.

- **Order**: natural sort of the file names (``img2.tif`` before ``img10.tif``).
- **Numbering**: when every name carries a number (the last run of digits), the numbers
  must be evenly spaced; a gap (``img_007.tif`` missing between 006 and 008) raises
  :class:`~spatial_xr.errors.StackError` naming the missing numbers.
- **Members**: every file must have the same shape and dtype (checked when opening, from
  the headers only); a grey image gives dims ``z, y, x``, an RGB(A) one ``c, z, y, x``.
- **Laziness**: one dask chunk per file; a file is read when a computation needs it.
- **Spacing**: x and y from the first file's metadata (OME-XML, ImageJ or resolution
  tags), z from its ImageJ ``spacing`` or OME ``PhysicalSizeZ`` when present, else 1;
  the origin from the first file's plane position (OME) or ImageJ origin, else 0;
  ``spacing=`` overrides any of them (a number in the files' unit, or a string with a
  unit). A stack whose files give no physical size is in ``"pixel"`` unless ``spacing=``
  gives lengths for every axis.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    FormatError,
    ParameterError,
    PathNotFoundError,
    SpatialXRError,
    StackError,
    UnitError,
    require,
)
from spatial_xr.geometry import Grid
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.tiff.detect import STACK_EXTENSIONS, is_glob
from spatial_xr.io.units import PIXEL, length_unit, parse_length

__all__ = ["TiffStackArray", "natural_key", "open_tiff_stack", "stack_files"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> list[Any]:
    """Sort key that orders the digit runs of a name by value (``a2`` < ``a10``)."""
    return [int(t) if t.isdigit() else t.lower() for t in _DIGITS.split(name)]


def stack_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The member files of a stack, in natural order.

    Parameters
    ----------
    source : str, path-like or sequence
        A folder (its ``.tif``/``.tiff`` files; hidden and other files are ignored), a
        glob pattern, or a list of files (kept in the given order).

    Raises
    ------
    PathNotFoundError
        The folder or a listed file does not exist, or the glob matches nothing.
    StackError
        The numbers in the names have a gap.
    """
    if not isinstance(source, str | os.PathLike):
        files = [os.fspath(p) for p in source]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise PathNotFoundError(f"stack files do not exist: {missing[:5]}")
        return files
    path = os.fspath(source)
    if os.path.isdir(path):
        names = [n for n in os.listdir(path) if not n.startswith(".")
                 and n.lower().endswith(STACK_EXTENSIONS)]
        files = [os.path.join(path, n) for n in names]
        what = f"the folder {path!r}"
    elif is_glob(path):
        files = [f for f in glob.glob(path) if os.path.isfile(f)]
        what = f"the pattern {path!r}"
    else:
        raise PathNotFoundError(f"{path!r} is neither a folder nor a glob pattern")
    if not files:
        raise PathNotFoundError(f"{what} matches no .tif/.tiff files")
    files.sort(key=lambda f: natural_key(os.path.basename(f)))
    _check_numbering(files)
    return files


def _check_numbering(files: list[str]) -> None:
    numbers = []
    for f in files:
        runs = _DIGITS.findall(os.path.basename(f))
        if not runs:
            return
        numbers.append(int(runs[-1]))
    if len(numbers) < 3 or len(set(numbers)) != len(numbers):
        return
    steps = np.diff(numbers)
    step = int(steps.min())
    if step <= 0 or np.all(steps == step):
        return
    have = set(numbers)
    missing = [n for n in range(numbers[0], numbers[-1], step) if n not in have]
    raise StackError(
        f"the stack's file numbers have gaps: {len(missing)} missing between "
        f"{numbers[0]} and {numbers[-1]} (step {step}), e.g. {missing[:5]} — next to "
        f"{os.path.basename(files[0])!r}. Restore the missing files, or pass the files "
        "to open as a list to open them anyway"
    )


def _header(path: str) -> tuple[tuple[int, ...], np.dtype[Any], str]:
    tifffile = require("tifffile", "tiff")
    try:
        with tifffile.TiffFile(path) as tf:
            s = tf.series[0]
            return tuple(int(n) for n in s.shape), np.dtype(s.dtype), s.axes
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"stack file {path!r} does not exist") from exc
    except Exception as exc:
        raise FormatError(
            f"stack file {path!r} is not a readable TIFF ({type(exc).__name__}: {exc})"
        ) from exc


class TiffStackArray:
    """Lazy ``(z, y, x[, s])`` view of a list of 2-D TIFF files: index ``z`` reads file
    ``z``. Pickles (holds only the paths).

    Parameters
    ----------
    files : list of str
        One file per ``z``.
    shape : tuple of int
        Shape of one file's image.
    dtype : numpy.dtype
    """

    def __init__(self, files: list[str], shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.files = list(files)
        self.plane = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.shape = (len(self.files), *self.plane)
        self.ndim = len(self.shape)

    def _read(self, path: str) -> np.ndarray:
        import tifffile

        try:
            arr = tifffile.imread(path, series=0, level=0, maxworkers=1)
        except FileNotFoundError as exc:
            raise PathNotFoundError(
                f"stack file {path!r} no longer exists (removed after the stack was opened); "
                "open the stack again"
            ) from exc
        except SpatialXRError:
            raise
        except Exception as exc:
            raise FormatError(
                f"could not read stack file {path!r} ({type(exc).__name__}: {exc}); it is "
                "truncated or corrupt — re-export it"
            ) from exc
        if arr.shape != self.plane or arr.dtype != self.dtype:
            raise StackError(
                f"stack file {path!r} now holds {arr.shape} {arr.dtype}, not "
                f"{self.plane} {self.dtype} as when the stack was opened; open it again"
            )
        return arr

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        zkey, rest = key[0], key[1:]
        if isinstance(zkey, int | np.integer):
            return np.asarray(self._read(self.files[int(zkey)])[rest])
        indices = range(len(self.files))[zkey]
        out = np.empty((len(indices), *np.empty(self.plane, dtype=bool)[rest].shape),
                       dtype=self.dtype)
        for i, z in enumerate(indices):
            out[i] = self._read(self.files[z])[rest]
        return out


def _given_spacing(spacing: Any, dims: tuple[str, ...]) -> dict[str, Any]:
    if spacing is None:
        return {}
    if isinstance(spacing, Mapping):
        unknown = set(spacing) - set(dims)
        if unknown:
            raise ParameterError(f"spacing= names dims {sorted(map(str, unknown))}; the stack "
                                 f"has {dims}")
        return {str(k): v for k, v in spacing.items()}
    single = isinstance(spacing, str | int | float) or hasattr(spacing, "magnitude") or (
        isinstance(spacing, tuple) and len(spacing) == 2 and isinstance(spacing[1], str))
    if single:
        return dict.fromkeys(dims, spacing)
    values = list(spacing)
    if len(values) != len(dims):
        raise ParameterError(
            f"spacing= needs 1 or {len(dims)} values (dims {dims}), got {spacing!r}"
        )
    return dict(zip(dims, values, strict=True))


def _unit_of(value: Any) -> str | None:
    if hasattr(value, "units"):
        return length_unit(str(value.units))
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return length_unit(value[1])
    if isinstance(value, str):
        m = re.match(r"^\s*[-+0-9.eE]+\s*(\S.*?)\s*$", value)
        return length_unit(m.group(1)) if m else None
    return None


def _stack_geometry(
    first: str, spacing: Any, dims: tuple[str, ...]
) -> tuple[dict[str, float], str, dict[str, float]]:
    from spatial_xr.io.tiff.read import describe_series

    info = describe_series(first)
    px = info.pixel_size
    unit = px.unit
    given = _given_spacing(spacing, dims)
    if unit == PIXEL and given:
        units = {d: _unit_of(v) for d, v in given.items()}
        named = [u for u in units.values() if u not in (None, PIXEL)]
        if named:
            if set(given) != set(dims):
                raise UnitError(
                    f"the stack's files give no physical pixel size, so spacing= with units "
                    f"must cover every axis {dims} (got {sorted(given)})"
                )
            unit = named[0]
    out = {d: float(px.spacing.get(d, 1.0)) if unit == px.unit else 1.0 for d in dims}
    for d, v in given.items():
        out[d] = parse_length(v, unit)
        if not out[d] > 0:
            raise ParameterError(f"spacing= must be positive, got {v!r} for {d!r}")
    origin = dict(px.origin) if unit == px.unit else {}
    return out, unit, origin


def open_tiff_stack(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    spacing: float | str | Sequence[Any] | Mapping[Hashable, Any] | None = None,
    chunks: Any = None,
) -> xr.DataArray:
    """Open a folder, glob or list of 2-D TIFF files as one lazy volume along ``z``.

    Parameters
    ----------
    source : str, path-like or sequence of paths
        Folder of ``.tif``/``.tiff`` files, glob pattern (``"scan/img_*.tif"``) or list
        of files (opened in the given order, without the numbering check).
    spacing : float, str, sequence or mapping, optional
        Voxel size overriding the files' metadata: one value for every axis, one per
        spatial dim (``z, y, x``) or a mapping (``{"z": "2 um"}``); numbers are in the
        files' unit.
    chunks : optional
        dask chunks; default one file per chunk (``z`` chunks of 1).

    Returns
    -------
    xarray.DataArray
        dims ``(z, y, x)``, or ``(c, z, y, x)`` for RGB(A) files; dask-backed.

    Raises
    ------
    StackError
        Files of different shapes or dtypes, or a gap in the numbering.
    PathNotFoundError, FormatError, UnitError
    """
    files = stack_files(source)
    shape, dtype, axes = _header(files[0])
    for f in files[1:]:
        s, d, _ = _header(f)
        if s != shape or d != dtype:
            raise StackError(
                f"the stack's files differ: {os.path.basename(files[0])!r} holds {shape} "
                f"{dtype} but {os.path.basename(f)!r} holds {s} {d}; a stack needs files of "
                "one shape and dtype — move the odd file out, or open the files one by one"
            )
    if axes not in ("YX", "YXS", "SYX"):
        raise StackError(
            f"stack files must hold 2-D images (axes YX, or YXS for RGB); "
            f"{os.path.basename(files[0])!r} has axes {axes!r} and shape {shape} — open "
            "it on its own with open_image"
        )
    sp, unit, origin = _stack_geometry(files[0], spacing, ("z", "y", "x"))
    lazy = TiffStackArray(files, shape, dtype)
    default = (1, *shape)
    dchunks = default if chunks is None else chunks
    if isinstance(chunks, Mapping):
        names = ("z", *{"YX": ("y", "x"), "YXS": ("y", "x", "c"), "SYX": ("c", "y", "x")}[axes])
        from spatial_xr.io.chunking import chunks_by_name

        dchunks = chunks_by_name(chunks, names, default, lazy.shape)
    stats = [os.stat(f) for f in files]
    token = dask.base.tokenize(files, [(s.st_mtime_ns, s.st_size) for s in stats], dchunks)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=dchunks, asarray=False, fancy=False, name=f"tiffstack-{token}",
        meta=np.empty((0,) * lazy.ndim, dtype)))
    names = ("z", *{"YX": ("y", "x"), "YXS": ("y", "x", "c"), "SYX": ("c", "y", "x")}[axes])
    da = xr.DataArray(data, dims=names, name="image",
                      attrs={"source_format": "TIFF stack", "files": len(files)})
    da = da.transpose(*[d for d in ("c", "z", "y", "x") if d in names])
    grid = Grid(shape_xyz=(shape[axes.index("X")], shape[axes.index("Y")], len(files)),
                spacing_xyz=[sp["x"], sp["y"], sp["z"]],
                origin_xyz=[origin.get(d, 0.0) for d in ("x", "y", "z")])
    da = assign_grid(da, grid)
    for dim in ("z", "y", "x"):
        da.coords[dim].attrs["units"] = unit
    if "c" in da.dims and da.sizes["c"] in (3, 4):
        da = da.assign_coords(c=("c", ["R", "G", "B", "A"][: da.sizes["c"]]))
    return da
