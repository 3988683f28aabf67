"""Resampling onto any target grid, lazily and out-of-core.

Geometry first: the target :class:`~spatial_xr.geometry.Grid` and the output-index →
input-index matrix are computed with the pure-numpy helpers of
:mod:`spatial_xr.geometry.resampling`. Data second: the output is a dask array with one
task per output chunk; each task depends, by key, on the input chunks that intersect the
input box its voxels read (with the interpolation margin) and on nothing else.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, cast

import dask.array
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from dask.typing import DaskCollection, Key
from numpy.typing import ArrayLike, NDArray

from spatial_xr.buffers import empty
from spatial_xr.coords import assign_grid, grid_of, spatial_dims, values_by_dim
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    ParameterError,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid
from spatial_xr.geometry.resampling import (
    INTERPOLATION_MARGIN,
    INTERPOLATION_METHODS,
    grid_with_shape,
    grid_with_spacing,
    index_mapping,
    source_box,
)
from spatial_xr.labels.segments import check_label_fill, is_label, without_label_kind
from spatial_xr.ops._blocks import as_3d, assemble, box_pieces, direct_source, read_box
from spatial_xr.ops._kernels import resample_box
from spatial_xr.ops.fill import check_fill, fill_block
from spatial_xr.ops.smooth import gaussian_smooth

__all__ = [
    "antialias_sigma",
    "check_interpolation",
    "choose_interpolation",
    "resample",
    "target_grid",
    "transform_matrix",
]

DEFAULT_CHUNK_BYTES = 16 * 2**20
"""Target size of an output chunk when ``chunks`` is not given."""


# ---------------------------------------------------------------------- arguments
def check_interpolation(interpolation: str) -> str:
    """Validate an interpolation name."""
    if interpolation not in INTERPOLATION_METHODS:
        raise ParameterError(
            f"interpolation must be one of {INTERPOLATION_METHODS}, got {interpolation!r}"
        )
    return interpolation


def choose_interpolation(
    da: xr.DataArray, interpolation: str | None, allow_label_interpolation: bool = False
) -> str:
    """The interpolation to use on ``da``, label-safe by default.

    Parameters
    ----------
    da : xarray.DataArray
        The image (only its attrs are read).
    interpolation : str or None
        One of :data:`~spatial_xr.geometry.resampling.INTERPOLATION_METHODS`; ``None``:
        ``"label"`` for a label image (``attrs["kind"] == "label"``), else ``"linear"``.
    allow_label_interpolation : bool
        Allow ``"linear"``/``"cubic"`` on a label image (the result holds interpolated
        values, not labels).

    Raises
    ------
    UnsupportedOptionError
        ``"linear"`` or ``"cubic"`` on a label image without ``allow_label_interpolation``.
    ParameterError
        An unknown interpolation.
    """
    label = is_label(da)
    if interpolation is None:
        return "label" if label else "linear"
    method = check_interpolation(interpolation)
    if label and method in ("linear", "cubic") and not allow_label_interpolation:
        raise UnsupportedOptionError(
            f"interpolation={method!r} would blend the segment numbers of a label image "
            "(attrs['kind'] == 'label') into values that are no labels; use "
            "interpolation='label' (the default for labels) or 'nearest', or pass "
            "allow_label_interpolation=True to get interpolated values on purpose"
        )
    return method


def transform_matrix(transform: Any, ndim: int) -> NDArray[np.float64] | None:
    """A world-space homogeneous matrix from a 4×4 array or a linear SimpleITK transform.

    Parameters
    ----------
    transform : array_like, shape (n + 1, n + 1), SimpleITK.Transform or None
        Maps output-space points to input-space points (LPS mm), as SimpleITK's
        ``ResampleImageFilter`` uses it.
    ndim : int

    Returns
    -------
    ndarray, shape (n + 1, n + 1), or None
    """
    if transform is None:
        return None
    if hasattr(transform, "TransformPoint") and hasattr(transform, "GetDimension"):
        if transform.GetDimension() != ndim:
            raise ParameterError(
                f"the SimpleITK transform is {transform.GetDimension()}-D but the image is "
                f"{ndim}-D"
            )
        if not transform.IsLinear():
            raise ParameterError(
                f"only linear (affine) SimpleITK transforms are supported, got "
                f"{transform.GetName()}; resample with SimpleITK directly for deformable ones"
            )
        b = np.asarray(transform.TransformPoint((0.0,) * ndim), np.float64)
        m = np.eye(ndim + 1)
        for j in range(ndim):
            e = [0.0] * ndim
            e[j] = 1.0
            m[:ndim, j] = np.asarray(transform.TransformPoint(e), np.float64) - b
        m[:ndim, ndim] = b
        return m
    m = np.asarray(transform, np.float64)
    if m.shape != (ndim + 1, ndim + 1) or not np.all(np.isfinite(m)):
        raise ParameterError(
            f"transform must be a finite ({ndim + 1}, {ndim + 1}) world-space affine (LPS mm, "
            f"mapping output points to input points) or a SimpleITK transform; got shape "
            f"{m.shape}"
        )
    if not np.allclose(m[ndim], np.eye(ndim + 1)[ndim]):
        raise ParameterError(f"the last row of the transform must be {[0] * ndim + [1]}")
    if abs(np.linalg.det(m[:ndim, :ndim])) < 1e-12:
        raise ParameterError("transform is singular (its linear part has determinant 0)")
    return m


def target_grid(
    da: xr.DataArray,
    spacing: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    shape: int | Sequence[int] | Mapping[Hashable, int] | None = None,
    grid: Grid | None = None,
    like: xr.DataArray | None = None,
) -> Grid | None:
    """The output grid named by exactly one of ``spacing``, ``shape``, ``grid``, ``like``.

    ``spacing`` and ``shape`` are scalars (all axes) or per spatial dim (a mapping by name,
    or values in the order of the array's spatial dims); they keep the direction, the
    field of view and its centre (:func:`~spatial_xr.geometry.resampling.grid_with_spacing`,
    :func:`~spatial_xr.geometry.resampling.grid_with_shape`). Returns ``None`` when none
    is given.
    """
    given = [k for k, v in {"spacing": spacing, "shape": shape, "grid": grid,
                            "like": like}.items() if v is not None]
    if len(given) > 1:
        raise ParameterError(f"give only one of spacing=, shape=, grid=, like=; got {given}")
    src = grid_of(da)
    dims = spatial_dims(da)
    if spacing is not None:
        sp = values_by_dim(spacing, dims, "spacing")
        return grid_with_spacing(src, [sp[a] for a in src.axes])
    if shape is not None:
        sh = values_by_dim(shape, dims, "shape")
        if any(v != int(v) or v < 1 for v in sh.values()):
            raise ParameterError(f"shape must hold positive integers, got {shape!r}")
        return grid_with_shape(src, [int(sh[a]) for a in src.axes])
    if like is not None:
        if not isinstance(like, xr.DataArray):
            raise ParameterError(f"like= takes an image DataArray, got {type(like).__name__}")
        grid = grid_of(like)
    if grid is not None:
        if not isinstance(grid, Grid):
            raise ParameterError(f"grid= takes a spatial_xr Grid, got {type(grid).__name__}")
        if grid.ndim != src.ndim:
            raise GeometryError(
                f"the target grid is {grid.ndim}-D but the image is {src.ndim}-D"
            )
        return grid
    return None


def antialias_sigma(mapping: ArrayLike) -> NDArray[np.float64]:
    """Gaussian sigma (input voxels) that suppresses aliasing when downsampling.

    Parameters
    ----------
    mapping : array_like, shape (n + 1, n + 1)
        Output index → input index matrix.

    Returns
    -------
    ndarray, shape (n,)
        Per input axis ``a``: ``max(0, (f_a − 1) / 2)`` with ``f_a = max_b |M[a, b]|`` the
        largest step, in input voxels along axis ``a``, between neighbouring output voxels
        (scikit-image's rule; no smoothing when not downsampling).
    """
    m = np.asarray(mapping, np.float64)
    n = m.shape[0] - 1
    f = np.abs(m[:n, :n]).max(axis=1)
    return np.maximum(0.0, (f - 1.0) / 2.0)


# ---------------------------------------------------------------------- graph
def _resample_into(
    box: NDArray[Any],
    out: NDArray[Any],
    a_zyx: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    method: str,
    fill: float,
    nsp: int,
) -> None:
    """Resample an input box (lead..., spatial) into ``out`` (lead..., spatial)."""
    for idx in np.ndindex(*box.shape[: box.ndim - nsp]):
        dst = as_3d(out[idx], nsp)
        resample_box(as_3d(box[idx], nsp), a_zyx, dst.shape, lo, hi, method, fill, out.dtype,
                     out=dst)


@dataclasses.dataclass(frozen=True, eq=False)
class _BlockJob:
    """What a task needs, besides its input box, to make one output block.

    ``a_zyx``, ``lo`` and ``hi`` are in the coordinates of the block's input box (see
    :func:`_block_plan`); ``out_shape`` is the block's spatial shape.
    """

    out_shape: tuple[int, ...]
    a_zyx: NDArray[np.float64]
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    method: str
    fill: float
    dtype: np.dtype[Any]

    def run(self, box: NDArray[Any]) -> NDArray[Any]:
        """A new output block (lead..., *out_shape) from an input box (lead..., spatial)."""
        nsp = len(self.out_shape)
        out = np.empty((*box.shape[: box.ndim - nsp], *self.out_shape), dtype=self.dtype)
        _resample_into(box, out, self.a_zyx, self.lo, self.hi, self.method, self.fill, nsp)
        return out


def _block_task(arrays: list[NDArray[Any]], pieces: list[Any], box_shape: tuple[int, ...],
                job: _BlockJob) -> NDArray[Any]:
    """Resample one output block from the input chunks its box intersects."""
    return job.run(assemble(arrays, pieces, box_shape))


def _source_task(sources: list[Any], slices: tuple[slice, ...],
                 getter_kwargs: dict[str, Any], job: _BlockJob) -> NDArray[Any]:
    """Resample one output block, reading its input box straight from the source array."""
    return job.run(read_box(sources[0], slices, getter_kwargs))


def _lift_zyx(mapping_xyz: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n+1)² xyz index mapping → (3, 4) zyx mapping (2-D gets a trivial z row)."""
    n = mapping_xyz.shape[0] - 1
    rev = list(range(n))[::-1]
    lin = mapping_xyz[np.ix_(rev, rev)]
    off = mapping_xyz[rev, n]
    out = np.zeros((3, 4))
    out[3 - n:, 3 - n:3] = lin
    out[3 - n:, 3] = off
    if n == 2:
        out[0, 0] = 1.0
    return out


def _block_plan(
    mapping_xyz: NDArray[np.float64],
    a_full: NDArray[np.float64],
    start: NDArray[np.int64],
    stop: NDArray[np.int64],
    in_shape_zyx: tuple[int, ...],
    mar: tuple[int, int],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
           NDArray[np.float64]] | None:
    """Input box (zyx start, stop) of an output block and its box-local mapping and bounds."""
    n = len(in_shape_zyx)
    box = source_box(mapping_xyz, start[::-1], stop[::-1], tuple(in_shape_zyx[::-1]), mar)
    if box is None:
        return None
    b0 = box[0][::-1]
    b1 = box[1][::-1]
    a = a_full.copy()
    o3 = np.zeros(3)
    o3[3 - n:] = start
    s3 = np.zeros(3)
    s3[3 - n:] = b0
    a[:, 3] = a_full[:, :3] @ o3 + a_full[:, 3] - s3
    lo = np.full(3, -0.5)
    hi = np.full(3, 0.5)
    hi[3 - n:] = np.asarray(in_shape_zyx, np.float64) - 0.5
    return b0, b1, a, lo - s3, hi - s3


def _blocks(out_chunks: tuple[tuple[int, ...], ...]) -> Any:
    bounds = [np.concatenate([[0], np.cumsum(c)]) for c in out_chunks]
    for sp_block in np.ndindex(*[len(c) for c in out_chunks]):
        start = np.array([bounds[a][b] for a, b in enumerate(sp_block)], np.int64)
        stop = np.array([bounds[a][b + 1] for a, b in enumerate(sp_block)], np.int64)
        yield sp_block, start, stop


SLABS_PER_WORKER = 4
"""Output slabs per worker thread in the in-memory path (balances uneven slabs)."""


def _workers() -> int:
    from dask.system import CPU_COUNT

    return int(dask.config.get("num_workers", None) or CPU_COUNT)


def _run_parallel(jobs: list[Any]) -> None:
    """Run callables on a thread pool (the kernels release the GIL)."""
    import concurrent.futures

    if len(jobs) == 1:
        jobs[0]()
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=_workers()) as pool:
        for f in [pool.submit(job) for job in jobs]:
            f.result()


def _resample_slabs(
    arr: NDArray[Any],
    out: NDArray[Any],
    nlead: int,
    mapping_xyz: NDArray[np.float64],
    method: str,
    fill: float,
) -> None:
    """In-memory nearest/linear/label: slabs of the output read the whole input in place.

    The output is cut along its first spatial axis with more than one voxel into
    contiguous slabs, which threads fill in place: no input box is copied and no
    per-block buffer is allocated, so memory is the input plus the output.
    """
    nsp = arr.ndim - nlead
    a_full = _lift_zyx(mapping_xyz)
    lo = np.full(3, -0.5)
    hi = np.full(3, 0.5)
    hi[3 - nsp:] = np.asarray(arr.shape[nlead:], np.float64) - 0.5
    out_zyx = (1,) * (3 - nsp) + out.shape[nlead:]
    axis = 0 if out_zyx[0] > 1 or out_zyx[1] == 1 else 1
    n = out_zyx[axis]
    pieces = min(n, _workers() * SLABS_PER_WORKER)
    bounds = np.linspace(0, n, pieces + 1).round().astype(int)

    def job(idx: tuple[int, ...], b: int, e: int) -> Any:
        def run() -> None:
            src = as_3d(arr[idx], nsp)
            dst = as_3d(out[idx], nsp)
            dst = dst[b:e] if axis == 0 else dst[:, b:e]
            a = a_full.copy()
            a[:, 3] += a_full[:, axis] * b
            resample_box(src, a, dst.shape, lo, hi, method, fill, out.dtype, out=dst)
        return run

    _run_parallel([job(idx, int(b), int(e))
                   for idx in np.ndindex(*arr.shape[:nlead])
                   for b, e in itertools.pairwise(bounds) if e > b])


def resample_numpy(
    arr: NDArray[Any],
    nlead: int,
    out_shape_zyx: tuple[int, ...],
    mapping_xyz: NDArray[np.float64],
    method: str,
    fill: float,
    dtype: np.dtype[Any],
    out_chunks: tuple[tuple[int, ...], ...],
) -> NDArray[Any]:
    """Eager version for in-memory inputs, written straight into one result array.

    Nearest, linear and label: output slabs read the whole input in place, whatever its
    memory layout (:func:`_resample_slabs`). Cubic: blocks (``out_chunks``) each
    prefilter their own input box. Both on a thread pool (as many threads as dask's
    threaded scheduler).
    """
    nsp = len(out_shape_zyx)
    in_shape_zyx = arr.shape[nlead:]
    out = empty((*arr.shape[:nlead], *out_shape_zyx), dtype)
    if method != "cubic":
        _resample_slabs(arr, out, nlead, mapping_xyz, method, fill)
        return out
    a_full = _lift_zyx(mapping_xyz)
    mar = INTERPOLATION_MARGIN[method]
    lead = (slice(None),) * nlead

    def job(start: NDArray[np.int64], stop: NDArray[np.int64]) -> Any:
        def run() -> None:
            dst = out[(*lead, *(slice(int(b), int(e))
                                for b, e in zip(start, stop, strict=True)))]
            plan = _block_plan(mapping_xyz, a_full, start, stop, in_shape_zyx, mar)
            if plan is None:
                dst[...] = fill
                return
            b0, b1, a, lo, hi = plan
            box = arr[(*lead, *(slice(int(b), int(e)) for b, e in zip(b0, b1, strict=True)))]
            _resample_into(box, dst, a, lo, hi, method, fill, nsp)
        return run

    _run_parallel([job(start, stop) for _, start, stop in _blocks(out_chunks)])
    return out


def resample_dask(
    data: dask.array.Array,
    nlead: int,
    in_shape_zyx: tuple[int, ...],
    out_shape_zyx: tuple[int, ...],
    mapping_xyz: NDArray[np.float64],
    method: str,
    fill: float,
    dtype: np.dtype[Any],
    out_chunks: tuple[tuple[int, ...], ...],
) -> dask.array.Array:
    """Build the output dask array: one task per output block.

    Each task reads exactly its input box: straight from the source array when ``data``
    is a plain ``from_array``/``from_zarr`` array (:func:`~spatial_xr.ops._blocks.direct_source`;
    no input-chunk task is shared between output blocks, so memory is bounded by the
    boxes being worked on), otherwise from the input chunks its box intersects.

    Parameters
    ----------
    data : dask.array.Array, shape (lead..., *in_shape_zyx)
    nlead : int
        Number of leading non-spatial dims (taken whole per input block).
    in_shape_zyx, out_shape_zyx : tuple of int
    mapping_xyz : ndarray, shape (n + 1, n + 1)
        Output index → input index, xyz order.
    method, fill, dtype
        See :func:`resample`.
    out_chunks : tuple of tuple of int
        Chunks of the spatial output dims (zyx); leading dims keep the input's chunks.
    """
    lead_chunks = data.chunks[:nlead]
    chunks = (*lead_chunks, *out_chunks)
    name = "resample-" + tokenize(data.name, mapping_xyz, out_chunks, method, fill, str(dtype))
    a_full = _lift_zyx(mapping_xyz)
    mar = INTERPOLATION_MARGIN[method]
    direct = direct_source(data)
    lead_bounds = [np.concatenate([[0], np.cumsum(c)]) for c in lead_chunks]
    layer: dict[Key, Any] = {}
    for lead_block in np.ndindex(*[len(c) for c in lead_chunks]):
        lead_shape = tuple(lead_chunks[a][b] for a, b in enumerate(lead_block))
        lead_slices = tuple(slice(int(lead_bounds[a][b]), int(lead_bounds[a][b + 1]))
                            for a, b in enumerate(lead_block))
        for sp_block, start, stop in _blocks(out_chunks):
            out_shape = tuple(int(v) for v in stop - start)
            key = (name, *lead_block, *sp_block)
            plan = _block_plan(mapping_xyz, a_full, start, stop, in_shape_zyx, mar)
            if plan is None:
                layer[key] = (fill_block, (*lead_shape, *out_shape), fill, dtype)
                continue
            b0, b1, a, lo, hi = plan
            job = _BlockJob(out_shape, a, lo, hi, method, fill, dtype)
            if direct is not None:
                slices = (*lead_slices, *(slice(int(b), int(e)) for b, e in zip(b0, b1,
                                                                            strict=True)))
                layer[key] = (_source_task, [direct[0]], slices, direct[1], job)
                continue
            keys, pieces = box_pieces(data.name, data.chunks, lead_block, b0, b1)
            box_shape = tuple(int(v) for v in b1 - b0)
            layer[key] = (_block_task, list(keys), pieces, box_shape, job)
    # a dask Array is a collection (dask's protocol misreads its staticmethod scheduler)
    graph = HighLevelGraph.from_collections(name, layer,
                                            dependencies=[cast(DaskCollection, data)])
    return dask.array.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype))


def _output_chunks(
    out_shape_zyx: tuple[int, ...],
    dims_zyx: Sequence[str],
    dtype: np.dtype[Any],
    chunks: Any,
    lead_elems: int,
) -> tuple[tuple[int, ...], ...]:
    if chunks is None:
        limit = max(DEFAULT_CHUNK_BYTES // max(lead_elems, 1), 2**16)
        return dask.array.core.normalize_chunks(
            ("auto",) * len(out_shape_zyx), out_shape_zyx, limit=limit, dtype=dtype
        )
    if isinstance(chunks, Mapping):
        chunks = tuple(chunks.get(d, -1) for d in dims_zyx)
    return dask.array.core.normalize_chunks(chunks, out_shape_zyx, dtype=dtype)


# ---------------------------------------------------------------------- public
def resample(
    da: xr.DataArray,
    spacing: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    shape: int | Sequence[int] | Mapping[Hashable, int] | None = None,
    grid: Grid | None = None,
    like: xr.DataArray | None = None,
    *,
    transform: Any = None,
    interpolation: str | None = None,
    fill_value: float = 0,
    dtype: Any = None,
    antialias: bool = False,
    chunks: Any = None,
    allow_label_interpolation: bool = False,
) -> xr.DataArray:
    """Resample an image onto a target grid in world space.

    Parameters
    ----------
    da : xarray.DataArray
        Image obeying the geometry contract; numpy- or dask-backed; 2-D or 3-D, with any
        leading ``t``/``c`` dims (resampled independently).
    spacing : float, sequence or mapping, optional
        New voxel spacing (mm): a scalar (isotropic) or per spatial dim (mapping by name,
        or values in the order of the array's spatial dims). Keeps the direction, the field
        of view and its centre.
    shape : int, sequence or mapping, optional
        New voxel counts; keeps the direction and the voxel-corner box exactly.
    grid : Grid, optional
        The output grid.
    like : xarray.DataArray, optional
        An image whose grid is the output grid (the way to bring a mask or an image into a
        reference grid: ``mask.spatial.resample(like=ref)``, see ``docs/labels.md``).
    transform : array_like (n + 1, n + 1) or SimpleITK.Transform, optional
        World-space (LPS mm) affine mapping *output* points to *input* points, exactly as
        SimpleITK's ``ResampleImageFilter`` applies it. With no target grid, the output
        grid is the input's.
    interpolation : {"linear", "nearest", "cubic", "label"}, optional
        ``cubic`` is SimpleITK's ``sitkBSpline``; ``label`` is its ``sitkLabelLinear``
        (per-label linear vote, for segmentations). See :mod:`spatial_xr.ops._kernels`.
        Default ``"label"`` for a label image (``attrs["kind"] == "label"``), else
        ``"linear"``.
    fill_value : float
        Value of output voxels whose point falls outside the input (continuous index
        outside ``[−½, n − ½)``, as ITK). On a label image only 0 (background) or a
        segment number.
    dtype : numpy dtype, optional
        Output dtype; default the input's (as SimpleITK). Integer outputs are clamped to
        the dtype's range and truncated toward zero, as SimpleITK does.
    antialias : bool
        Gaussian pre-filter before downsampling, sigma per input axis from
        :func:`antialias_sigma`; ignored for ``nearest`` and ``label``.
    chunks : int, tuple, mapping or "auto", optional
        Chunks of the output's spatial dims (default about 16 MiB per chunk).
    allow_label_interpolation : bool
        Allow ``"linear"``/``"cubic"`` on a label image. The result then holds
        interpolated values, not labels: its ``kind`` attr is dropped (the segment table
        stays, for reference). Pass ``dtype="float32"`` to keep the fractions.

    Returns
    -------
    xarray.DataArray
        On the target grid, same dims (order kept), non-spatial coords and attrs. Dask-backed
        for a dask-backed input (one task per output chunk, each reading only the input
        box it needs); numpy-backed otherwise.

    Raises
    ------
    ParameterError
        Unknown interpolation, conflicting targets, a bad transform or a fill value the
        output dtype cannot hold.
    UnsupportedOptionError
        ``"linear"``/``"cubic"`` on a label image without ``allow_label_interpolation``.
    GeometryError, DimensionError
        Bad target grid or image dims.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> da = spatial_xr.from_array(np.zeros((10, 20, 20), np.int16), spacing=(2.5, 0.7, 0.7))
    >>> da.spatial.resample(spacing=1.0).spatial.shape
    {'z': 25, 'y': 14, 'x': 14}
    """
    method = choose_interpolation(da, interpolation, allow_label_interpolation)
    src = grid_of(da)
    n = src.ndim
    tmat = transform_matrix(transform, n)
    out_grid = target_grid(da, spacing, shape, grid, like)
    if out_grid is None:
        if tmat is None:
            raise ParameterError(
                "resample needs a target: give spacing=, shape=, grid=, like= or transform="
            )
        out_grid = src
    out_dtype = np.dtype(da.dtype if dtype is None else dtype)
    if not (np.issubdtype(out_dtype, np.number) or out_dtype == np.bool_):
        raise ParameterError(f"dtype must be numeric, got {out_dtype}")
    fill = check_fill(fill_value, out_dtype)
    if method in ("nearest", "label"):
        check_label_fill(da, fill_value)
    sdims = ("z", "y", "x")[3 - n:]
    if set(spatial_dims(da)) != set(sdims):
        raise DimensionError(f"expected spatial dims {sdims}, got {spatial_dims(da)}")
    lead = [str(d) for d in da.dims if d not in sdims]
    ordered = da.transpose(*lead, *sdims)
    data = ordered.data
    lazy = isinstance(data, dask.array.Array)
    if not lazy:
        data = np.asarray(data)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    mapping = index_mapping(out_grid, src, tmat)
    smooth = antialias and method in ("linear", "cubic")
    sigma = antialias_sigma(mapping)[::-1] if smooth else np.zeros(n)
    if np.any(sigma > 0) and not lazy:
        data = dask.array.from_array(data, chunks=data.shape,
                                     name="resample-input-" + uuid.uuid4().hex)
        lazy_input = False
    else:
        lazy_input = lazy
    if np.any(sigma > 0):
        float_dtype = np.float32 if data.dtype == np.float32 else np.float64
        data = gaussian_smooth(data, (0.0,) * len(lead) + tuple(sigma), np.dtype(float_dtype))
    lead_elems = int(np.prod([ordered.sizes[d] for d in lead])) if lead else 1
    if lazy and lead:
        lead_elems = int(np.prod([max(c) for c in data.chunks[: len(lead)]]))
    out_chunks = _output_chunks(out_grid.shape_zyx, sdims, out_dtype, chunks, lead_elems)
    if isinstance(data, dask.array.Array):
        out: Any = resample_dask(data, len(lead), src.shape_zyx, out_grid.shape_zyx, mapping,
                                 method, fill, out_dtype, out_chunks)
        if not lazy_input:
            target = empty(out.shape, out.dtype)
            dask.array.store(out, target, lock=False)
            out = target
    else:
        out = resample_numpy(data, len(lead), out_grid.shape_zyx, mapping, method, fill,
                             out_dtype, out_chunks)
    coords = {k: v for k, v in ordered.coords.items()
              if not set(v.dims) & set(sdims)}
    attrs = dict(da.attrs)
    if is_label(da) and method in ("linear", "cubic"):
        attrs = without_label_kind(attrs)
    res = xr.DataArray(out, dims=(*lead, *sdims), coords=coords, name=da.name, attrs=attrs)
    res = assign_grid(res, out_grid)
    for d in sdims:
        units = da.coords[d].attrs.get("units") if d in da.coords else None
        if units:
            res.coords[d].attrs["units"] = units
    return res.transpose(*da.dims)
