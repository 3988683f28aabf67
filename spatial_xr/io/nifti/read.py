"""Lazy NIfTI-1/NIfTI-2 reading and streaming.

Reading parses the header only (with nibabel); pixels are read per dask chunk through a
pickle-safe :class:`NiftiArray` that holds the path, a file manager and a lock, never an
open handle.

**Which affine.** spatial_xr follows nibabel's rule (``get_best_affine``): the sform when
``sform_code > 0``, else the qform when ``qform_code > 0``, else nibabel's pixdim-only
fallback affine. When both codes are set and the two affines place a voxel more than
1e-3 mm apart, a :class:`~spatial_xr.errors.SpatialXRWarning` says so. ``affine="qform"``
or ``affine="sform"`` choose explicitly. NIfTI's RAS world is converted to LPS.

**Dims.** NIfTI's ``i, j, k`` are the dims ``x, y, z``; the 4th dim is ``t`` and the 5th
``c``. The DataArray's dims are ``(t, c, z, y, x)`` minus the ones the file lacks.

**Colour.** An RGB24 or RGBA32 file (``datatype`` 128 or 2304: 3 or 4 interleaved uint8
samples per voxel) opens as uint8 with a ``c`` dim of size 3 or 4, placed as for RGB
DICOM (``(t, c, z, y, x)``), and ``attrs["photometric_interpretation"]`` ``"RGB"`` or
``"RGBA"``; reads stay lazy and partial.
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import os
import warnings
import zlib
from typing import IO, TYPE_CHECKING, Any, Literal, cast

import dask
import dask.array as dsa
import nibabel as nib
import numpy as np
import xarray as xr
from dask.utils import SerializableLock
from xarray.backends import CachingFileManager

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRWarning,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid, apply_affine, decompose_affine, lps_ras_flip
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import resolve_frame_chunks
from spatial_xr.io.indexing import finish_selection, selection_ranges
from spatial_xr.io.nifti.validate import check_nifti_file
from spatial_xr.io.streams import read_box
from spatial_xr.io.validate import declared_nbytes, require_data_fits

if TYPE_CHECKING:
    from nibabel.arrayproxy import ArrayProxy

__all__ = [
    "COLOR_DTYPES",
    "SPACE_UNITS",
    "TIME_UNITS",
    "NiftiArray",
    "affine_source",
    "assign_nifti_units",
    "choose_affine",
    "color_kind",
    "is_nifti_path",
    "open_nifti",
]

SPACE_UNITS = {"mm": "millimeter", "micron": "micrometer", "meter": "meter"}
"""NIfTI ``xyzt_units`` space names → UDUNITS-2 names of the coords' ``units``."""
TIME_UNITS = {"sec": "second", "msec": "millisecond", "usec": "microsecond"}
"""NIfTI ``xyzt_units`` time names → UDUNITS-2 names of the ``t`` coord's ``units``."""
AffineChoice = Literal["best", "sform", "qform"]

COLOR_DTYPES = {
    "RGB": np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")]),
    "RGBA": np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1"), ("A", "u1")]),
}
"""NIfTI's colour datatypes (RGB24 = 128, RGBA32 = 2304) as nibabel's structured dtypes,
keyed by the ``photometric_interpretation`` attribute spatial_xr gives them."""


def color_kind(dtype: np.dtype[Any]) -> str | None:
    """``"RGB"`` or ``"RGBA"`` for NIfTI's colour dtypes, else None."""
    for kind, dt in COLOR_DTYPES.items():
        if np.dtype(dtype) == dt:
            return kind
    return None


def is_nifti_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a NIfTI file (``.nii`` or ``.nii.gz``)."""
    name = str(path).lower()
    return name.endswith((".nii", ".nii.gz"))


def open_file(path: str) -> IO[bytes]:
    """Open a NIfTI file for binary reading, decompressing ``.gz`` (with ISA-L if
    installed, else zlib)."""
    if path.lower().endswith(".gz"):
        try:
            from isal import igzip

            return igzip.open(path, "rb")
        except ImportError:
            return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


@functools.cache
def _read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean unreadable voxel data (evaluated on the first error, so that
    ISA-L is imported only by gzip reads)."""
    errors: list[type[BaseException]] = [OSError, EOFError, ValueError, TypeError, zlib.error]
    try:
        from isal import isal_zlib

        # (isal's stubs declare the class as an instance)
        errors.append(cast(type[BaseException], isal_zlib.error))
    except ImportError:
        pass
    return tuple(errors)


def _open_via_module(path: str) -> IO[bytes]:
    # Looked up at call time so that tests (and users) may wrap ``open_file``.
    return open_file(path)


class NiftiArray:
    """Pickle-safe lazy view of a NIfTI file's voxel data in reversed (C) axis order.

    Parameters
    ----------
    path : str
        File path.
    shape_f : tuple of int
        NIfTI data shape (``x, y, z, t, c`` order, as stored).
    raw_dtype : numpy.dtype
        On-disk dtype (may be big-endian).
    offset : int
        Byte offset of the voxel data.
    slope, inter : float
        Scaling to apply (``1, 0`` for none).
    dtype : numpy.dtype
        Output dtype.

    Notes
    -----
    ``shape`` is ``shape_f[::-1]`` and indexing takes a tuple of slices in that order.
    The bytes read are those of :func:`spatial_xr.io.streams.read_box` (one range for a
    slab, one span of whole rows per plane for a box), through one open file per process
    that later reads continue (a gzip stream read in order is inflated once).
    """

    def __init__(
        self,
        path: str,
        shape_f: tuple[int, ...],
        raw_dtype: np.dtype[Any],
        offset: int,
        slope: float,
        inter: float,
        dtype: np.dtype[Any],
    ) -> None:
        self.path = path
        self.shape_f = shape_f
        self.raw_dtype = raw_dtype
        self.offset = offset
        self.slope = slope
        self.inter = inter
        self.dtype = dtype
        self.shape = tuple(shape_f[::-1])
        self.ndim = len(self.shape)
        self._gz = path.lower().endswith(".gz")
        self._manager = CachingFileManager(_open_via_module, path)
        self._lock = SerializableLock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_manager")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._manager = CachingFileManager(_open_via_module, self.path)

    def __getitem__(self, key: Any) -> np.ndarray:
        ranges, post = selection_ranges(key, self.shape)
        with self._lock:
            try:
                fobj = self._manager.acquire()
                raw = read_box(self.shape, ranges, self.raw_dtype,
                               functools.partial(self._read_into, fobj))
                if self._gz and raw.size and all(
                        r[-1] == n - 1 for r, n in zip(ranges, self.shape, strict=True)):
                    while fobj.read(1 << 20):  # to the end: gzip checks its CRC-32 there
                        pass
            except FileNotFoundError as exc:
                self._manager.close()
                raise PathNotFoundError(
                    f"{self.path!r} no longer exists (it was opened lazily and removed or "
                    "renamed before its voxels were read); open it again"
                ) from exc
            except _read_errors() as exc:
                self._manager.close()
                raise FormatError(
                    f"could not read voxel data of {self.path!r} ({type(exc).__name__}: "
                    f"{exc}); the file is truncated or corrupt, or changed after it was "
                    "opened — re-export or re-download it"
                ) from exc
        arr = finish_selection(raw, post)
        if not arr.dtype.isnative:  # our own buffer (or a copy of it): swap in place
            arr = arr.byteswap(inplace=True).view(arr.dtype.newbyteorder("="))
        if self.slope != 1.0 or self.inter != 0.0:
            scaled = arr.astype(self.dtype)
            scaled *= self.dtype.type(self.slope)
            scaled += self.dtype.type(self.inter)
            arr = scaled
        return np.asarray(arr, dtype=self.dtype, order="C")  # keeps 0-d results 0-d

    def _read_into(self, fobj: IO[bytes], start: int, view: memoryview) -> None:
        """Fill ``view`` with the voxel data bytes from byte ``start`` on."""
        fobj.seek(self.offset + start)
        # gzip streams: read through their buffered reader, whose ``readinto`` fills the
        # destination directly (GzipFile.readinto reads into a temporary bytes object)
        reader = cast(io.BufferedIOBase, getattr(fobj, "_buffer", fobj) if self._gz else fobj)
        got = 0
        while got < view.nbytes:
            n = reader.readinto(view[got:])
            if not n:
                raise FormatError(
                    f"{self.path!r} is truncated: its header declares "
                    f"{math.prod(self.shape)} voxels but the voxel data end after "
                    f"{start + got} of their bytes; re-export or re-download the file"
                )
            got += n


def _load_image(path: str) -> nib.Nifti1Image:
    try:
        img = nib.load(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # nibabel raises many types for bad headers
        raise FormatError(
            f"{path!r} is not a readable NIfTI file ({type(exc).__name__}: {exc}); check that "
            "it is a complete .nii/.nii.gz"
        ) from exc
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise FormatError(f"{path!r} is a {type(img).__name__}, not a single-file NIfTI")
    return img


def choose_affine(hdr: Any, path: str, affine: AffineChoice) -> np.ndarray:
    """The RAS affine of a NIfTI-1/-2 header (single file or pair) by nibabel's rule.

    Parameters
    ----------
    hdr : nibabel.Nifti1Header or nibabel.Nifti2Header
        The parsed header.
    path : str
        For messages.
    affine : {"best", "sform", "qform"}
        ``"best"``: the sform when ``sform_code > 0`` (warning when the qform places a
        corner more than 1e-3 mm away), else the qform when ``qform_code > 0``, else
        nibabel's pixdim-only affine.

    Returns
    -------
    ndarray, shape (4, 4)
        Index (i, j, k, 1) → RAS mm. Not checked for shear (call
        :func:`~spatial_xr.geometry.decompose_affine` on it).

    Raises
    ------
    GeometryError
        The requested affine is absent, or the qform is not a rotation.
    ParameterError
        ``affine`` is not one of the three names.
    """
    sform, scode = hdr.get_sform(coded=True)
    try:
        qform, qcode = hdr.get_qform(coded=True)
    except ValueError as exc:  # quatern_b/c/d not part of a unit quaternion
        if affine == "qform" or not scode:
            raise GeometryError(f"{path!r}: the qform is invalid ({exc})") from exc
        warnings.warn(
            f"{os.path.basename(path)}: the qform is invalid ({exc}) and is ignored; using "
            "the sform",
            SpatialXRWarning,
            stacklevel=4,
        )
        qform, qcode = None, 0
    if affine == "sform":
        if not scode:
            raise GeometryError(f"{path!r} has no sform (sform_code 0); use affine='best'")
        return np.asarray(sform)
    if affine == "qform":
        if not qcode:
            raise GeometryError(f"{path!r} has no qform (qform_code 0); use affine='best'")
        return np.asarray(qform)
    if affine != "best":
        raise UnsupportedOptionError(
            f"affine must be 'best', 'sform' or 'qform', got {affine!r}"
        )
    if scode and qcode:
        try:
            decompose_affine(sform)
        except GeometryError:
            return np.asarray(sform)  # a broken sform is an error, raised by the caller
        shape = np.asarray(hdr.get_data_shape()[:3] + (1,) * (3 - len(hdr.get_data_shape())))
        corners = np.array(np.meshgrid(*[[0, n - 1] for n in shape])).reshape(3, -1).T
        gap = np.abs(apply_affine(sform, corners) - apply_affine(qform, corners)).max()
        if gap > 1e-3:
            warnings.warn(
                f"{os.path.basename(path)}: qform and sform disagree by up to {gap:.3g} mm; "
                "using the sform (nibabel's rule). Pass affine='qform' to use the qform.",
                SpatialXRWarning,
                stacklevel=4,
            )
        return np.asarray(sform)
    return np.asarray(hdr.get_best_affine())


def affine_source(hdr: Any, affine: AffineChoice) -> str:
    """Which header fields the affine chosen by :func:`choose_affine` came from, as words
    for error messages (e.g. ``"the sform (srow_x/y/z)"``)."""
    source: str = affine
    if affine == "best":
        source = "sform" if hdr["sform_code"] else "qform" if hdr["qform_code"] else "pixdim"
    return {
        "sform": "the sform (srow_x/y/z)",
        "qform": "the qform (quatern_b/c/d, qoffset_x/y/z, pixdim)",
    }.get(source, "the pixdim-only affine (no qform or sform stored)")


def open_nifti(
    path: str | os.PathLike[str],
    *,
    chunks: Any = None,
    apply_scaling: bool = True,
    affine: AffineChoice = "best",
) -> xr.DataArray:
    """Open a NIfTI-1 or NIfTI-2 file lazily.

    Parameters
    ----------
    path : str or path-like
        ``.nii`` or ``.nii.gz`` file.
    chunks : dict, tuple, int or "auto", optional
        dask chunks, a dict keyed by dim name or a value per dim in DataArray order.
        Default: one chunk per ``t``/``c`` frame when it holds at most 512 MiB (always for
        ``.nii.gz``), else z slabs of whole x-y planes of about dask's ``array.chunk-size``
        (see :mod:`spatial_xr.io.chunking`).
    apply_scaling : bool
        Apply ``scl_slope``/``scl_inter`` (lazily). The dtype is kept when the scaling is the
        identity, else float32 (float64 for float64 data). ``False`` keeps raw stored values
        and records the scaling in ``attrs["scale_slope"]``/``attrs["scale_intercept"]``.
    affine : {"best", "sform", "qform"}
        Which stored affine defines the geometry (see the module notes).

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus those absent from the file; dask-backed.

    Raises
    ------
    FormatError
        Unreadable or truncated header or file.
    GeometryError
        Sheared, singular or non-finite affine.
    """
    path = os.fspath(path)
    check_nifti_file(path, affine=affine)
    img = _load_image(path)
    hdr = img.header
    shape_f = tuple(int(v) for v in hdr.get_data_shape())
    if len(shape_f) > 5:
        raise DimensionError(
            f"{path!r} has {len(shape_f)} data dims; spatial_xr reads up to 5 (x, y, z, t, c)"
        )
    if any(v <= 0 for v in shape_f):
        raise FormatError(f"{path!r} declares a non-positive data shape {shape_f}")
    shape_f = shape_f + (1,) * (3 - len(shape_f)) if len(shape_f) < 3 else shape_f
    raw_dtype = np.dtype(hdr.get_data_dtype())
    color = color_kind(raw_dtype)
    if color is not None and len(shape_f) > 4:
        raise DimensionError(
            f"{path!r} is {color} with a 5th data dim of {shape_f[4]}; spatial_xr gives the "
            f"{color} samples the c dim, so it reads colour files of up to 4 dims (x, y, z, t)"
        )
    proxy = cast("ArrayProxy", img.dataobj)  # an image loaded from a file
    offset = int(proxy.offset)
    header_end = int(hdr.single_vox_offset) + int(hdr.extensions.get_sizeondisk())
    if offset < header_end:
        raise FormatError(
            f"{path!r} has vox_offset {offset}, inside its own header (voxel data of a .nii "
            f"file start at byte {header_end} or later); the header is corrupt — fix vox_offset "
            "or re-export the file"
        )
    gz = path.lower().endswith(".gz")
    nbytes = declared_nbytes(shape_f, raw_dtype.itemsize)
    require_data_fits(path, offset, nbytes, compressed=gz)

    slope, inter = float(proxy.slope), float(proxy.inter)
    if not (np.isfinite(slope) and np.isfinite(inter)):
        raise FormatError(f"{path!r} has non-finite scl_slope/scl_inter ({slope}, {inter})")
    identity = slope == 1.0 and inter == 0.0
    attrs: dict[str, Any] = {"source_format": type(hdr).__name__.replace("Header", "")}
    if color is not None:  # scaling does not apply to colour samples (as nibabel)
        out_dtype = raw_dtype = np.dtype(np.uint8)
        use_slope, use_inter = 1.0, 0.0
        attrs["photometric_interpretation"] = color
    elif apply_scaling and not identity:
        out_dtype = np.dtype(np.float64 if raw_dtype.itemsize == 8 and raw_dtype.kind == "f"
                             else np.float32)
        use_slope, use_inter = slope, inter
    else:
        out_dtype = raw_dtype.newbyteorder("=")
        use_slope, use_inter = 1.0, 0.0
        if not identity:
            attrs["scale_slope"], attrs["scale_intercept"] = slope, inter

    ras = choose_affine(hdr, path, affine)
    try:
        origin, spacing, direction = decompose_affine(lps_ras_flip(ras))
    except GeometryError as exc:
        raise GeometryError(f"{path!r}: {affine_source(hdr, affine)}: {exc}") from exc
    grid = Grid(shape_f[:3], spacing, origin, direction)

    samples = len(color) if color is not None else 0
    if samples:  # interleaved samples: a fastest-varying axis of uint8, named c
        lazy = NiftiArray(path, (samples, *shape_f), raw_dtype, offset, 1.0, 0.0, out_dtype)
        names = ("c", "x", "y", "z", "t")[: len(shape_f) + 1][::-1]
    else:
        lazy = NiftiArray(path, shape_f, raw_dtype, offset, use_slope, use_inter, out_dtype)
        names = ("x", "y", "z", "t", "c")[: len(shape_f)][::-1]
    c_chunks = resolve_frame_chunks(chunks, names, lazy.shape, shape_f,
                                    max(1, samples) * out_dtype.itemsize, compressed=gz,
                                    samples=samples)
    stat = os.stat(path)
    token = dask.base.tokenize(path, stat.st_mtime_ns, stat.st_size, use_slope, use_inter,
                               str(out_dtype))
    # fancy=True lets dask fuse later slices into the read (only touched bytes are read)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=c_chunks, asarray=False, fancy=True, name=f"nifti-{token}",
        meta=np.empty((0,) * lazy.ndim, out_dtype)))
    da = xr.DataArray(data, dims=names, name="image", attrs=attrs)
    if "c" in names:
        da = da.transpose(*[d for d in ("t", "c", "z", "y", "x") if d in names])
    return assign_nifti_units(assign_grid(da, grid), hdr)


def assign_nifti_units(da: xr.DataArray, hdr: Any) -> xr.DataArray:
    """The coords' units from a NIfTI header's ``xyzt_units`` and, for a ``t`` dim, the
    ``t`` coordinate from ``pixdim[4]`` (when finite and > 0; starting at 0).

    Parameters
    ----------
    da : xarray.DataArray
        Image with ``z, y, x`` coords (and maybe a ``t`` dim).
    hdr : nibabel.Nifti1Header or nibabel.Nifti2Header
        Header of a NIfTI file or pair.

    Returns
    -------
    xarray.DataArray
    """
    units_x, units_t = hdr.get_xyzt_units()
    for d in ("z", "y", "x"):
        da.coords[d].attrs["units"] = SPACE_UNITS.get(units_x, "millimeter")
    dt = float(hdr["pixdim"][4])
    if "t" in da.dims and np.isfinite(dt) and dt > 0:
        da = da.assign_coords(t=("t", dt * np.arange(da.sizes["t"], dtype=np.float64)))
        if units_t in TIME_UNITS:
            da.coords["t"].attrs["units"] = TIME_UNITS[units_t]
    return da
