"""The fallback reader: any image SimpleITK reads that no other format claims (VTK legacy,
GIPL, MINC 2, MRC, ITK HDF5, PNG, JPEG, BMP, TIFF, …), lazily.

Opening runs ``ImageFileReader.ReadImageInformation`` (the header: size, pixel type,
spacing, origin, direction). Pixels are read per dask chunk with
``SetExtractIndex``/``SetExtractSize``:

- where the ImageIO **streams** (:data:`~spatial_xr.io.sitk.ios.IMAGE_IOS`: VTK, MRC,
  HDF5), only the requested region is read, and the default chunks are z slabs like the
  other file readers';
- elsewhere ITK decodes the **whole** image for every request, so the default is one chunk
  holding the whole image (decoded once per computation; a slice of it is cut from that
  one decode). Asking for smaller chunks of such a file warns: each chunk decodes the
  whole file.

Geometry comes from SimpleITK through :func:`spatial_xr.convert.sitk.grid_from_sitk`
(SimpleITK's geometry is spatial_xr's: LPS, origin at the centre of voxel 0), except for
ImageIOs whose world SimpleITK returns in RAS (MINC), which are converted to LPS. Vector
pixels (RGB, multi-component) become the dim ``c``.
"""

from __future__ import annotations

import contextlib
import locale
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRWarning, require
from spatial_xr.geometry import Grid
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import default_z_chunk, resolve_chunks
from spatial_xr.io.indexing import finish_selection, selection_ranges
from spatial_xr.io.sitk.ios import image_io
from spatial_xr.io.validate import require_data_fits

__all__ = ["SitkArray", "keep_locale", "open_sitk"]


def _sitk() -> Any:
    return require("SimpleITK", "itk")


_ITK_CALLS = threading.Lock()
"""Serialises SimpleITK reads in a process, so that the locale each one saves is the
caller's (see :func:`keep_locale`)."""


@contextlib.contextmanager
def keep_locale() -> Iterator[None]:
    """Run a SimpleITK read and put the process locale back afterwards.

    Some ImageIOs (VTK's) switch the C library's locale to ``"C"`` and leave it so, which
    turns Python's default text encoding into ASCII for the rest of the process.
    """
    with _ITK_CALLS:
        saved = locale.setlocale(locale.LC_ALL, None)
        try:
            yield
        finally:
            if locale.setlocale(locale.LC_ALL, None) != saved:
                locale.setlocale(locale.LC_ALL, saved)


def _read_error(path: str, exc: Exception, doing: str) -> FormatError:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    detail = lines[-1] if lines else type(exc).__name__
    return FormatError(
        f"SimpleITK could not {doing} {path!r} ({detail}); the file is corrupt, truncated, "
        "or in a format SimpleITK does not read — check it, or pass format='NAME' to open "
        "it with another reader"
    )


def _pixel_dtype(sitk: Any, pixel_id: int, components: int, ndim: int) -> np.dtype[Any]:
    """numpy dtype of a SimpleITK pixel type, as ``GetArrayFromImage`` gives it (taken
    from a one-voxel image, so that it is SimpleITK's own mapping)."""
    probe = sitk.Image([1] * ndim, pixel_id, components) if components > 1 else \
        sitk.Image([1] * ndim, pixel_id)
    return np.dtype(sitk.GetArrayViewFromImage(probe).dtype)


class SitkArray:
    """Pickle-safe lazy view of a file read by SimpleITK, in SimpleITK's numpy layout
    ``(z,) y, x[, c]``.

    Parameters
    ----------
    path : str
        The file.
    io_name : str
        The ImageIO that read the header (``ImageFileReader.GetImageIOFromFileName``);
        every read uses the same one.
    size_xyz : tuple of int
        ``GetSize()`` of the file.
    components : int
        Values per pixel (1 for scalar images).
    dtype : numpy.dtype
        Pixel dtype.
    min_file_size : int
        Bytes the file must hold (its uncompressed voxels) for a read to be trusted; 0 when
        the format gives no such bound.

    Notes
    -----
    Holds no SimpleITK object: each read builds an ``ImageFileReader``, so the array
    pickles and reads in any process.
    """

    def __init__(self, path: str, io_name: str, size_xyz: tuple[int, ...], components: int,
                 dtype: np.dtype[Any], min_file_size: int = 0) -> None:
        self.path = path
        self.min_file_size = int(min_file_size)
        self.io_name = io_name
        self.size_xyz = tuple(int(v) for v in size_xyz)
        self.components = int(components)
        self.dtype = np.dtype(dtype)
        self.shape = self.size_xyz[::-1] + ((self.components,) if self.components > 1 else ())
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        ranges, post = selection_ranges(key, self.shape)
        nsp = len(self.size_xyz)
        if any(len(r) == 0 for r in ranges):
            return finish_selection(np.empty([len(r) for r in ranges], self.dtype), post)
        lo = [r[0] for r in ranges[:nsp]]
        hi = [r[-1] + 1 for r in ranges[:nsp]]
        box = self._read_box(lo, hi)
        local = tuple(slice(None, None, r.step) for r in ranges[:nsp]) + tuple(
            slice(r.start, r.stop, r.step) for r in ranges[nsp:])
        return np.ascontiguousarray(finish_selection(box[local], post))

    def _read_box(self, lo: list[int], hi: list[int]) -> np.ndarray:
        """Voxels ``lo:hi`` (C order of the spatial axes) as SimpleITK reads them."""
        sitk = _sitk()
        reader = sitk.ImageFileReader()
        reader.SetFileName(self.path)
        reader.SetImageIO(self.io_name)
        size = [b - a for a, b in zip(lo, hi, strict=True)]
        if size != list(self.shape[: len(size)]):
            reader.SetExtractIndex([int(v) for v in lo[::-1]])
            reader.SetExtractSize([int(v) for v in size[::-1]])
        if not os.path.exists(self.path):
            raise PathNotFoundError(
                f"{self.path!r} no longer exists (it was opened lazily and removed or renamed "
                "before its pixels were read); open it again"
            )
        if self.min_file_size:  # ITK reads a truncated raw file without an error
            require_data_fits(self.path, 0, self.min_file_size, compressed=False,
                              what="header and pixel data (header size × pixel type)")
        try:
            with keep_locale():
                image = reader.Execute()
        except RuntimeError as exc:
            raise _read_error(self.path, exc, "read the pixels of") from exc
        return owned_array_view(sitk, image)


class _ImageBuffer:
    """Exposes a SimpleITK image's pixel buffer to numpy and keeps the image alive for as
    long as an array uses the buffer."""

    def __init__(self, view: np.ndarray, image: Any) -> None:
        interface = dict(view.__array_interface__)
        # the image was read for this request and is owned by nobody else: writeable
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface
        self.image = image


def owned_array_view(sitk: Any, image: Any) -> np.ndarray:
    """The pixels of a SimpleITK image as a numpy array without a copy (layout
    ``(z,) y, x[, c]``), which keeps the image alive (``GetArrayViewFromImage`` alone
    does not: its array must not outlive the image)."""
    return np.asarray(_ImageBuffer(sitk.GetArrayViewFromImage(image), image))


def open_sitk(path: str | os.PathLike[str], *, chunks: Any = None) -> xr.DataArray:
    """Open a file through SimpleITK's ``ImageFileReader``, lazily.

    Parameters
    ----------
    path : str or path-like
        A file SimpleITK reads (see :data:`spatial_xr.io.sitk.ios.IMAGE_IOS`).
    chunks : dict, tuple, int or "auto", optional
        dask chunks (a dict keyed by dim name, or a value per dim in DataArray order).
        Default: z slabs for ImageIOs that stream, else the whole image in one chunk.

    Returns
    -------
    xarray.DataArray
        dims ``(c,) (z,) y, x`` (``c`` for vector pixels); dask-backed.
        ``attrs["source_format"]`` is the ImageIO's name (e.g. ``"VTKImageIO"``).

    Raises
    ------
    DependencyError
        SimpleITK is not installed (extra ``itk``).
    FormatError
        SimpleITK cannot read the file's header.
    DimensionError
        The image is not 2-D or 3-D.
    """
    from spatial_xr.convert.sitk import grid_from_sitk

    sitk = _sitk()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise PathNotFoundError(f"no such file: {path!r}")
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        io_name = reader.GetImageIOFromFileName(path)
        reader.SetImageIO(io_name)
        with keep_locale():
            reader.ReadImageInformation()
    except RuntimeError as exc:
        raise _read_error(path, exc, "read the header of") from exc
    grid = grid_from_sitk(reader)  # DimensionError unless 2-D or 3-D
    info = image_io(io_name)
    if info is not None and info.world == "RAS":
        grid = _ras_to_lps(grid)
    streams = info is not None and info.streams
    components = int(reader.GetNumberOfComponents())
    dtype = _pixel_dtype(sitk, reader.GetPixelID(), components, grid.ndim)

    min_size = 0
    offset = _raw_data_offset(path, io_name) if info is not None and info.raw else None
    if offset is not None:
        nbytes = int(np.prod(grid.shape_xyz, dtype=object)) * components * dtype.itemsize
        require_data_fits(path, offset, nbytes, compressed=False,
                          what="pixel data (header size × pixel type)")
        min_size = offset + nbytes
    lazy = SitkArray(path, io_name, grid.shape_xyz, components, dtype, min_size)
    names = ("z", "y", "x")[3 - grid.ndim:] + (("c",) if components > 1 else ())
    default = _default_chunks(lazy, streams)
    chunks = resolve_chunks(chunks, names, lazy.shape, default)
    stat = os.stat(path)
    token = dask.base.tokenize(path, stat.st_mtime_ns, stat.st_size, io_name)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=chunks, asarray=False, fancy=True, name=f"sitk-{token}",
        meta=np.empty((0,) * lazy.ndim, dtype)))
    if not streams and data.npartitions > 1:
        warnings.warn(
            f"{os.path.basename(path)} is read by SimpleITK's {io_name}, which decodes the "
            f"whole image for every request: each of the {data.npartitions} chunks asked for "
            "decodes the whole file. Open it with the default chunks (one chunk) unless "
            "memory requires otherwise",
            SpatialXRWarning,
            stacklevel=2,
        )
    da = xr.DataArray(data, dims=names, name="image", attrs={"source_format": io_name})
    if components > 1:
        da = da.transpose("c", ...)
    return assign_grid(da, grid)


def _raw_data_offset(path: str, io_name: str) -> int | None:
    """Where the uncompressed voxels of a raw-data ImageIO's file start (a lower bound), or
    None when the file holds them compressed or as text (``.gz``, ASCII VTK)."""
    if path.lower().endswith(".gz"):
        return None
    with open(path, "rb") as f:
        head = f.read(1024)
    if io_name == "GiplImageIO":
        return 256
    if io_name == "MRCImageIO":  # 1024-byte header + NSYMBT bytes of extended header
        order = ">" if head[212:214] == b"\x11\x11" else "<"
        extended = int(np.frombuffer(head[92:96], f"{order}i4")[0]) if len(head) >= 96 else 0
        return 1024 + max(0, extended)
    if io_name == "VTKImageIO":
        lines = head.split(b"\n")
        if not any(line.strip().upper() == b"BINARY" for line in lines[:4]):
            return None
        end = 0
        for keyword in (b"LOOKUP_TABLE", b"COLOR_SCALARS", b"VECTORS", b"TENSORS"):
            at = head.find(keyword)
            if at >= 0:
                end = max(end, head.find(b"\n", at) + 1)
        return end
    return 0


def _default_chunks(lazy: SitkArray, streams: bool) -> tuple[int, ...]:
    """z slabs (of whole planes and components) when the ImageIO streams, else the whole
    image as one chunk."""
    if not streams or len(lazy.size_xyz) < 3:
        return lazy.shape
    nz = lazy.shape[0]
    slice_bytes = int(np.prod(lazy.shape[1:])) * lazy.dtype.itemsize
    return (default_z_chunk(nz, slice_bytes), *lazy.shape[1:])


def _ras_to_lps(grid: Grid) -> Grid:
    """The grid whose world coordinates were RAS, expressed in LPS (x and y negated)."""
    flip = np.ones(grid.ndim)
    flip[: min(2, grid.ndim)] = -1.0
    return grid.replace(origin_xyz=grid.origin_xyz * flip,
                        direction_xyz=flip[:, None] * grid.direction_xyz)
