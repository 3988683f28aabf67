"""Lazy NRRD reading (``.nrrd`` with attached data, ``.nhdr`` with one or several data
files).

Opening reads the header only (and checks, without reading them, that the data files
exist and are large enough for what the header declares). Voxels are read per dask chunk
by a pickle-safe :class:`~spatial_xr.io.streams.StreamedArray` holding file names and
offsets, never an open handle:

- **raw**: only the bytes of the requested planes (a z slab of whole planes is one read;
  a box is one read per plane of the rows it spans);
- **gzip**, **bzip2**: one decompression stream per chunk request, inflated from the start
  of the data and discarded up to the first needed byte, then up to the last needed byte
  only (to the end when the last voxel is read, so that gzip's CRC-32 is checked);
- **ascii**, **hex**: parsed whole at every chunk request, so the default is one chunk
  for the whole image.

See :mod:`spatial_xr.io.nrrd.layout` for the axes and the geometry.
"""

from __future__ import annotations

import math
import os
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import FormatError, PathNotFoundError
from spatial_xr.io._dask import fresh_read_array
from spatial_xr.io.chunking import WHOLE_VOLUME_BYTES, default_z_chunk, resolve_chunks
from spatial_xr.io.nrrd.header import NrrdHeader, read_nrrd_header
from spatial_xr.io.nrrd.layout import NrrdLayout, nrrd_layout
from spatial_xr.io.streams import (
    COMPRESSED_CODECS,
    TEXT_CODECS,
    DataStream,
    StreamedArray,
    stream_capacity,
)
from spatial_xr.io.validate import declared_nbytes, frames_per_chunk

__all__ = ["is_nrrd_path", "nrrd_streams", "open_nrrd"]

_ORDER = ("t", "c", "z", "y", "x")


def is_nrrd_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a NRRD file (``.nrrd`` or ``.nhdr``)."""
    return os.fspath(path).lower().endswith((".nrrd", ".nhdr"))


def _human(n: int) -> str:
    return f"{n} bytes ({n / 2**30:.3g} GiB)" if n >= 2**30 else f"{n} bytes"


def nrrd_streams(hdr: NrrdHeader) -> list[DataStream]:
    """The data streams of a NRRD image, in data order, after checking that each file
    exists and can hold what the header declares (nothing is read).

    Parameters
    ----------
    hdr : NrrdHeader

    Returns
    -------
    list of DataStream

    Raises
    ------
    PathNotFoundError
        A detached data file does not exist.
    FormatError
        A file is too small for its declared data.
    """
    item = hdr.dtype.itemsize
    total = declared_nbytes(hdr.sizes, item)
    files = hdr.data_files or (hdr.path,)
    per_file = declared_nbytes(hdr.sizes[:hdr.data_subdim], item)
    if not hdr.data_files:
        per_file = total
    streams = []
    for name in files:
        try:
            size = os.path.getsize(name)
        except FileNotFoundError as exc:
            raise PathNotFoundError(
                f"{hdr.path!r} names the data file {name!r}, which does not exist; put the "
                "data file beside the header (data file names are relative to the header's "
                "folder) or fix 'data file' in the header"
            ) from exc
        offset = hdr.data_offset if not hdr.data_files else 0
        stream = DataStream(
            path=name, nbytes=per_file, codec=hdr.encoding, offset=offset or 0,
            line_skip=hdr.line_skip, skip=max(hdr.byte_skip, 0),
            from_end=hdr.byte_skip == -1, dtype=hdr.dtype.str,
        )
        stored = size - (0 if stream.from_end else stream.offset)
        if stream_capacity(stream, stored) < per_file:
            what = "holds" if hdr.encoding == "raw" else "can hold at most"
            raise FormatError(
                f"{name!r} is truncated or its header lies: sizes {hdr.sizes} of type "
                f"{hdr.dtype} need {_human(per_file)} of {hdr.encoding} data"
                f"{' per file' if len(files) > 1 else ''}, but the file {what} "
                f"{_human(max(0, stream_capacity(stream, stored)))}; re-export or re-download "
                "it, or fix 'sizes'/'type' in the header"
            )
        streams.append(stream)
    return streams


def _default_chunks(shape: tuple[int, ...], names: tuple[str, ...], itemsize: int,
                    codec: str, n_streams: int) -> tuple[int, ...]:
    """Default chunks in the lazy array's (C) order: whole spatial planes, z slabs of about
    dask's chunk size for raw volumes over 512 MiB, one frame per chunk along slow
    non-spatial axes; compressed single streams group frames up to 512 MiB (each chunk
    request inflates from the stream's start); text encodings one chunk in all."""
    if codec in TEXT_CODECS:
        return shape
    top = names.index("z") if "z" in names else names.index("y")
    frame_bytes = math.prod(shape[top:]) * itemsize
    plane_bytes = math.prod(shape[top + 1:]) * itemsize
    nz = shape[top]
    if codec in COMPRESSED_CODECS:
        nzc = nz
        group = max(1, WHOLE_VOLUME_BYTES // max(1, frame_bytes)) if n_streams == 1 else 1
    else:
        nzc = default_z_chunk(nz, plane_bytes)
        group = 1
    n_frames = math.prod(shape[:top])
    group = max(group, frames_per_chunk(n_frames, -(-nz // nzc)))
    lead = []
    for n in shape[:top][::-1]:  # fill the fastest of the slow axes first
        lead.append(min(n, group))
        group = -(-group // n)
    return (*lead[::-1], nzc, *shape[top + 1:])


def _token(hdr: NrrdHeader, streams: list[DataStream]) -> str:
    stats = []
    for p in {hdr.path, *(s.path for s in streams)}:
        st = os.stat(p)
        stats.append((p, st.st_mtime_ns, st.st_size))
    return dask.base.tokenize(sorted(stats))


def open_nrrd(path: str | os.PathLike[str], *, chunks: Any = None) -> xr.DataArray:
    """Open a NRRD image lazily.

    Parameters
    ----------
    path : str or path-like
        ``.nrrd`` (attached data) or ``.nhdr`` (detached header).
    chunks : dict, tuple, int or "auto", optional
        dask chunks, a dict keyed by dim name or a value per dim in DataArray order.
        Default: one chunk per ``t``/``c`` frame of whole planes when the frame holds at most
        512 MiB, else z slabs of about dask's ``array.chunk-size`` (raw data); whole
        frames, grouped up to 512 MiB, for gzip and bzip2; one chunk for ascii and hex.

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus those absent (2-D images: ``y, x``); dask-backed.
        ``attrs``: ``source_format`` (``"NRRD"``), ``nrrd_space`` (the file's ``space``),
        ``nrrd_kinds`` (NRRD kinds of the ``c``/``t`` dims), ``measurement_frame`` (its
        vectors in LPS, JSON list), ``nrrd_fields`` (the ``key:=value`` pairs),
        ``nrrd_content`` (the ``content`` field).

    Raises
    ------
    FormatError
        Malformed header, unknown type or encoding, data shorter than declared.
    PathNotFoundError
        The file or a detached data file does not exist.
    GeometryError
        Non-finite, zero, singular or sheared directions or spacings.
    DimensionError
        Not 2 or 3 spatial axes, or more than one ``c`` or ``t`` axis.
    """
    path = os.fspath(path)
    hdr = read_nrrd_header(path)
    layout = nrrd_layout(hdr)
    streams = nrrd_streams(hdr)
    lazy = StreamedArray(streams, hdr.sizes[::-1], hdr.dtype)
    names = layout.names[::-1]
    default = _default_chunks(lazy.shape, names, hdr.dtype.itemsize, hdr.encoding,
                              len(streams))
    c_chunks = resolve_chunks(chunks, names, lazy.shape, default)
    token = _token(hdr, streams)
    data = fresh_read_array(dsa.from_array(
        lazy, chunks=c_chunks, asarray=False, fancy=True, name=f"nrrd-{token}",
        meta=np.empty((0,) * lazy.ndim, lazy.dtype)))
    da = xr.DataArray(data, dims=names, name="image", attrs=_attrs(hdr, layout))
    if layout.add_z:
        da = da.expand_dims("z")
    da = da.transpose(*[n for n in _ORDER if n in da.dims])
    da = assign_grid(da, layout.grid)
    for d in ("z", "y", "x"):
        if d in da.coords:
            da.coords[d].attrs["units"] = layout.units
    if layout.t_coord is not None:
        da = da.assign_coords(t=("t", layout.t_coord))
        if layout.t_units:
            da.coords["t"].attrs["units"] = layout.t_units
    return da


def _attrs(hdr: NrrdHeader, layout: NrrdLayout) -> dict[str, Any]:
    attrs: dict[str, Any] = {"source_format": "NRRD"}
    if hdr.space is not None:
        attrs["nrrd_space"] = hdr.space
    if layout.kinds:
        attrs["nrrd_kinds"] = dict(layout.kinds)
    if layout.measurement_frame is not None:
        attrs["measurement_frame"] = layout.measurement_frame
    if hdr.key_values:
        attrs["nrrd_fields"] = dict(hdr.key_values)
    if "content" in hdr.fields:
        attrs["nrrd_content"] = hdr.fields["content"]
    return attrs
