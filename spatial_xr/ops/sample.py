"""Image values at world points (ITK interpolators' conventions), lazily for many points."""

from __future__ import annotations

import uuid
from typing import Any

import dask.array
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from dask.typing import Key
from numpy.typing import ArrayLike, NDArray

from spatial_xr.coords import grid_of
from spatial_xr.errors import ParameterError
from spatial_xr.geometry.resampling import INTERPOLATION_MARGIN
from spatial_xr.labels.segments import without_label_kind
from spatial_xr.ops._blocks import as_3d, assemble, box_pieces
from spatial_xr.ops._kernels import sample_box
from spatial_xr.ops.fill import check_fill, fill_block
from spatial_xr.ops.resample import choose_interpolation

__all__ = ["sample"]


def _sample_task(
    arrays: list[NDArray[Any]],
    pieces: list[Any],
    box_shape: tuple[int, ...],
    index_zyx: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    method: str,
    fill: float,
    dtype: np.dtype[Any],
) -> NDArray[Any]:
    nsp = len(box_shape)
    box = assemble(arrays, pieces, box_shape)
    lead = box.shape[: box.ndim - nsp]
    out = np.empty((*lead, index_zyx.shape[0]), dtype=dtype)
    for idx in np.ndindex(*lead):
        out[idx] = sample_box(as_3d(box[idx], nsp), index_zyx, lo, hi, method, fill, dtype)
    return out


def sample(
    da: xr.DataArray,
    points: ArrayLike,
    interpolation: str | None = None,
    *,
    fill_value: float = 0,
    dtype: Any = None,
    chunk_size: int = 65536,
    allow_label_interpolation: bool = False,
) -> xr.DataArray:
    """Interpolated image values at world points.

    Parameters
    ----------
    da : xarray.DataArray
        Image (2-D or 3-D, any leading ``t``/``c`` dims), numpy- or dask-backed.
    points : array_like, shape (N, n)
        World points (LPS mm, x, y, z order).
    interpolation : {"linear", "nearest", "cubic", "label"}, optional
        As in :func:`spatial_xr.ops.resample.resample` (SimpleITK's interpolators); default
        ``"label"`` for a label image (``attrs["kind"] == "label"``), else ``"linear"``.
    fill_value : float
        Value for points outside the image (continuous index outside ``[−½, n − ½)``).
    dtype : numpy dtype, optional
        Default float64 for ``linear``/``cubic``, the image's dtype for ``nearest``/``label``.
        Integer dtypes: clamp, then truncate toward zero.
    chunk_size : int
        Points per task. Each task reads only the bounding box of its points (plus the
        interpolation margin): sort points spatially to keep boxes small.
    allow_label_interpolation : bool
        Allow ``"linear"``/``"cubic"`` on a label image.

    Returns
    -------
    xarray.DataArray, dims (leading dims..., "point")
        Dask-backed when the image is dask-backed or there are more than ``chunk_size``
        points.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.arange(8.0).reshape(2, 2, 2))
    >>> float(da.spatial.sample([[0.5, 0, 0]]).values[0])
    0.5
    """
    method = choose_interpolation(da, interpolation, allow_label_interpolation)
    grid = grid_of(da)
    n = grid.ndim
    try:
        pts = np.asarray(points, np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"points must be an (N, {n}) array of world points (x, y, z, LPS "
                             f"mm), got {points!r}") from exc
    if pts.ndim != 2 or pts.shape[1] != n or not np.all(np.isfinite(pts)):
        raise ParameterError(
            f"points must be a finite (N, {n}) array of world points (x, y, z, LPS mm), got "
            f"shape {pts.shape}"
        )
    if int(chunk_size) < 1:
        raise ParameterError(f"chunk_size must be >= 1, got {chunk_size}")
    if dtype is None:
        dtype = np.float64 if method in ("linear", "cubic") else da.dtype
    out_dtype = np.dtype(dtype)
    fill = check_fill(fill_value, out_dtype)
    sdims = ("z", "y", "x")[3 - n:]
    lead = [str(d) for d in da.dims if d not in sdims]
    ordered = da.transpose(*lead, *sdims)
    data = ordered.data
    lazy = isinstance(data, dask.array.Array) or pts.shape[0] > chunk_size
    if not isinstance(data, dask.array.Array):
        data = dask.array.from_array(np.asarray(data), chunks=data.shape,
                                     name="sample-input-" + uuid.uuid4().hex)
    idx_xyz = grid.world_to_index(pts)
    mar = INTERPOLATION_MARGIN[method]
    shape_zyx = np.asarray(grid.shape_zyx, np.int64)
    nlead = len(lead)
    lead_chunks = data.chunks[:nlead]
    npts = pts.shape[0]
    pchunks = tuple(min(chunk_size, npts - s) for s in range(0, npts, chunk_size)) or (0,)
    name = "sample-" + tokenize(data.name, pts, method, fill, str(out_dtype))
    layer: dict[Key, Any] = {}
    for lead_block in np.ndindex(*[len(c) for c in lead_chunks]):
        lead_shape = tuple(lead_chunks[a][b] for a, b in enumerate(lead_block))
        offset = 0
        for p, size in enumerate(pchunks):
            key = (name, *lead_block, p)
            sub = idx_xyz[offset: offset + size, ::-1]
            offset += size
            if size == 0:
                layer[key] = (fill_block, (*lead_shape, 0), fill, out_dtype)
                continue
            b0 = np.clip(np.floor(sub.min(axis=0)).astype(np.int64) - mar[0], 0, shape_zyx)
            b1 = np.clip(np.floor(sub.max(axis=0)).astype(np.int64) + mar[1] + 1, 0, shape_zyx)
            if np.any(b1 <= b0):
                layer[key] = (fill_block, (*lead_shape, size), fill, out_dtype)
                continue
            keys, pieces = box_pieces(data.name, data.chunks, lead_block, b0, b1)
            local = np.zeros((size, 3))
            local[:, 3 - n:] = sub - b0
            s3 = np.zeros(3)
            s3[3 - n:] = b0
            lo = np.full(3, -0.5) - s3
            hi = np.full(3, 0.5)
            hi[3 - n:] = shape_zyx - 0.5
            layer[key] = (_sample_task, list(keys), pieces, tuple(int(v) for v in b1 - b0),
                          local, lo, hi - s3, method, fill, out_dtype)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[data])
    out = dask.array.Array(graph, name, (*lead_chunks, pchunks),
                           meta=np.empty((0,) * (nlead + 1), out_dtype))
    result: Any = out if lazy else out.compute()
    coords = {k: v for k, v in ordered.coords.items() if not set(v.dims) & set(sdims)}
    attrs = {k: v for k, v in da.attrs.items() if k != "direction"}
    if method in ("linear", "cubic"):
        attrs = without_label_kind(attrs)
    return xr.DataArray(result, dims=(*lead, "point"), coords=coords, name=da.name,
                        attrs=attrs)
