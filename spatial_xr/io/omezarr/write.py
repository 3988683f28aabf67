"""OME-Zarr writing (OME-NGFF 0.5 on Zarr v3, 0.4 on Zarr v2, or 0.6 with RFC-5
coordinate systems on Zarr v3), out of core.

Every level is written chunk by chunk with :func:`dask.array.store`: each task computes
and writes whole chunks (whole shards when sharding), so memory stays bounded by a few
chunks per worker whatever the volume size. With ``pyramid=True`` level ``k`` of a lazy
image is computed from level ``k − 1`` *as stored*, so each level costs one pass over the
previous one; an image already in memory is pyramided in memory, in one computation. A
task of level ``k`` reads the block of level ``k − 1`` that makes one whole output chunk.

Local destinations are written beside the final path and renamed into place when complete
(:func:`spatial_xr.io.atomic.atomic_output`); remote stores (which cannot rename) get the
group metadata last, so an interrupted write never looks like a valid OME-Zarr image.
Neither overwrites an existing store unless ``overwrite=True``.

``nifti=True`` writes NIfTI-Zarr: the same store plus the NIfTI-1 header of level 0 in a
``nifti`` array of the group (:mod:`spatial_xr.io.niftizarr`), and each level's OME
``translation`` in the image frame so that NIfTI tools line the levels up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, cast

import dask.array as dsa
import numpy as np
import xarray as xr
import zarr
import zarr.errors
from numpy.typing import ArrayLike

from spatial_xr.coords import assign_grid, grid_of, spatial_dims
from spatial_xr.errors import DimensionError, OverwriteError, UnsupportedOptionError
from spatial_xr.geometry import Grid
from spatial_xr.io.atomic import atomic_output
from spatial_xr.io.niftizarr.header import header_bytes
from spatial_xr.io.niftizarr.store import write_header_bytes
from spatial_xr.io.omezarr.metadata import CANONICAL_ORDER, build_attrs, canonical_unit
from spatial_xr.io.omezarr.store import StoreTarget, describe, open_store, resolve_local_path
from spatial_xr.ops.pyramid import downsample, tree_levels
from spatial_xr.ops.pyramid_plan import PyramidPlan, level_chunks, plan_pyramid

__all__ = ["to_ome_zarr"]

VERSIONS = ("0.4", "0.5", "0.6")
ZARR_V3_VERSIONS = ("0.5", "0.6")


# ---------------------------------------------------------------------- options
def _canonical(da: xr.DataArray) -> xr.DataArray:
    unknown = [d for d in da.dims if d not in CANONICAL_ORDER]
    if unknown:
        raise DimensionError(
            f"OME-Zarr axes are t, c, z, y, x; the image has other dims {unknown}. Rename "
            "them (e.g. da.rename(band='c')) or select one entry along them."
        )
    spatial_dims(da)
    order = [d for d in CANONICAL_ORDER if d in da.dims]
    return da.transpose(*order)


def _write_chunks(da: xr.DataArray, chunks: Any) -> tuple[int, ...]:
    per = level_chunks(chunks, da)
    return tuple(
        max(1, min(int(per.get(str(d), 1)), int(n))) for d, n in zip(da.dims, da.shape,
                                                                      strict=True)
    )


def _shards(da: xr.DataArray, shards: Any, chunks: tuple[int, ...], version: str) -> Any:
    if shards is None:
        return None
    if version not in ZARR_V3_VERSIONS:
        raise UnsupportedOptionError("sharding needs Zarr v3: use version='0.5' or '0.6', or "
                                     "shards=None")
    if isinstance(shards, int | np.integer):
        per = {d: int(shards) for d in spatial_dims(da)}
    elif isinstance(shards, Mapping):
        per = {str(d): int(v) for d, v in shards.items()}
    else:
        raise UnsupportedOptionError(f"shards must be an int or a mapping dim → int, got {shards}")
    out = []
    for d, c, n in zip(da.dims, chunks, da.shape, strict=True):
        s = per.get(str(d), c)
        s = min(max(s, c), -(-int(n) // c) * c)
        if s % c:
            raise UnsupportedOptionError(
                f"shard size {s} along {d!r} must be a multiple of the chunk size {c}"
            )
        out.append(s)
    return tuple(out)


def _compressors(compressor: Any, version: str) -> dict[str, Any]:
    if isinstance(compressor, str) and compressor == "default":
        compressor = "zstd-fast"
    if compressor is None:
        return {"compressors": None}
    if isinstance(compressor, str):
        name = compressor.lower()
        if version in ZARR_V3_VERSIONS:
            import zarr.codecs as zc

            v3 = {
                "zstd-fast": lambda: zc.ZstdCodec(level=1),
                "zstd": lambda: zc.ZstdCodec(level=3),
                "gzip": lambda: zc.GzipCodec(level=5),
                "blosc": lambda: zc.BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"),
                "lz4": lambda: zc.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
            }
            table = v3
        else:
            import numcodecs

            table = {
                "zstd-fast": lambda: numcodecs.Zstd(level=1),
                "zstd": lambda: numcodecs.Zstd(level=3),
                "gzip": lambda: numcodecs.GZip(level=5),
                "blosc": lambda: numcodecs.Blosc(cname="zstd", clevel=5,
                                                 shuffle=numcodecs.Blosc.BITSHUFFLE),
                "lz4": lambda: numcodecs.Blosc(cname="lz4", clevel=5,
                                               shuffle=numcodecs.Blosc.SHUFFLE),
            }
        if name not in table:
            raise UnsupportedOptionError(
                f"unknown compressor {compressor!r}; use 'default', None, one of "
                f"{sorted(table)} or a codec object"
            )
        return {"compressors": table[name]()}
    return {"compressors": compressor}


def _axis_metadata(
    da: xr.DataArray, grid: Grid, frame: str = "world"
) -> tuple[dict[str, str | None], dict[str, float], dict[str, float]]:
    """Units, scale and translation by dim of one (canonical) level whose geometry is
    ``grid`` (scale = spacing, translation = world position of voxel 0, or its image-frame
    coordinate ``Dᵀ·origin`` when ``frame`` is ``"image"``)."""
    units: dict[str, str | None] = {}
    scale: dict[str, float] = {}
    trans: dict[str, float] = {}
    first = grid.origin_xyz if frame == "world" else grid.direction_xyz.T @ grid.origin_xyz
    for a, s, o in zip(grid.axes, grid.spacing_xyz, first, strict=True):
        scale[a], trans[a] = float(s), float(o)
        units[a] = canonical_unit(da.coords[a].attrs.get("units", "millimeter"))
    if "c" in da.dims:
        scale["c"], trans["c"], units["c"] = 1.0, 0.0, None
    if "t" in da.dims:
        scale["t"], trans["t"], units["t"] = 1.0, 0.0, None
        if "t" in da.coords and np.issubdtype(da.coords["t"].dtype, np.number):
            v = np.asarray(da.coords["t"].values, np.float64)
            step = float(v[1] - v[0]) if v.size > 1 else 1.0
            if step > 0 and np.allclose(np.diff(v), step, rtol=1e-6, atol=0):
                scale["t"], trans["t"] = step, float(v[0])
                units["t"] = canonical_unit(da.coords["t"].attrs.get("units"))
    return units, scale, trans


def _given_grids(levels: list[xr.DataArray]) -> list[Grid]:
    """Grids of given pyramid levels.

    A level whose coordinates describe level 0 zoomed out by integer factors (the DESIGN §3
    rule, as :func:`~spatial_xr.ops.pyramid.pyramid` builds it) gets that exact grid, so its
    spacing is level 0's times an integer rather than a value recovered from coordinates
    (which may fall an ulp below the finer level's); any other level keeps the grid of its
    coordinates.
    """
    base = grid_of(levels[0])
    out = [base]
    for level in levels[1:]:
        grid = grid_of(level)
        ratio = grid.spacing_xyz / base.spacing_xyz
        f = np.rint(ratio)
        if np.all((f >= 1) & (f <= base.shape_xyz)) and np.allclose(ratio, f, rtol=1e-9,
                                                                      atol=0):
            exact = base.zoom_out([int(v) for v in f]).replace(shape_xyz=grid.shape_xyz)
            size = max(float(grid.spacing_xyz.max()), float(np.abs(grid.origin_xyz).max()))
            if exact.isclose(grid, atol=1e-9 * size):
                grid = exact
        out.append(grid)
    return out


# ---------------------------------------------------------------------- writing
def _create(
    root: zarr.Group, k: int, da: xr.DataArray, chunks: tuple[int, ...], shards: Any,
    codec: dict[str, Any], version: str,
) -> zarr.Array:
    kwargs: dict[str, Any] = dict(
        name=f"scale{k}/image",
        shape=da.shape,
        dtype=da.dtype,
        chunks=chunks,
        fill_value=0,
        **codec,
    )
    if version in ZARR_V3_VERSIONS:
        kwargs["dimension_names"] = [str(d) for d in da.dims]
        if shards is not None:
            kwargs["shards"] = shards
    else:
        kwargs["attributes"] = {"_ARRAY_DIMENSIONS": [str(d) for d in da.dims]}
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    return root.create_array(**kwargs)


class _Borrowed:
    """A read-only stand-in for an in-memory array that dask slices without copying.

    ``dask.array.from_array`` copies and hashes a NumPy array (a full pass over the
    image each, about as long as compressing it); the writer computes right away and
    never mutates its input, so it can read the caller's buffer in place.
    """

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.array[key]


def _as_dask(da: xr.DataArray, block: tuple[int, ...]) -> dsa.Array:
    if isinstance(da.data, dsa.Array):
        return da.data
    data = np.asarray(da.data)
    return dsa.from_array(_Borrowed(data), chunks=block, name=False, asarray=False,
                          meta=np.empty((0,) * data.ndim, data.dtype))


def _store_level(da: xr.DataArray, arr: zarr.Array, block: tuple[int, ...]) -> None:
    # a zarr Array is a store target (dask's annotation names only numpy array-likes)
    dsa.store(_as_dask(da, block).rechunk(block), cast(ArrayLike, arr), lock=False,
              compute=True)


def _from_stored(arr: zarr.Array, like: xr.DataArray, block: tuple[int, ...]) -> xr.DataArray:
    return like.copy(data=dsa.from_zarr(arr, chunks=block))


def _read_block(level: xr.DataArray, factors: Mapping[str, int], chunks: Any) -> tuple[int, ...]:
    """The block of ``level`` that downsamples by ``factors`` into one write chunk."""
    return tuple(
        min(int(n), c * int(factors.get(str(d), 1)))
        for d, c, n in zip(level.dims, _write_chunks(level, chunks), level.shape, strict=True)
    )


def _next_level(
    plan: PyramidPlan, k: int, previous: tuple[xr.DataArray, zarr.Array],
    level0: xr.DataArray, in_memory: bool, chunks: Any,
) -> xr.DataArray:
    """Pyramid level ``k`` (≥ 1), downsampled from level ``k − 1`` as ``plan`` says."""
    prev, prev_arr = previous
    factors = plan.factors[k - 1]
    read = _read_block(prev, factors, chunks)
    if not in_memory:
        prev = _from_stored(prev_arr, prev, read)
    elif k == 1:
        prev = prev.copy(data=_as_dask(level0, read))
    level = downsample(prev, factors, plan.method, chunks=plan.chunks)
    return assign_grid(level, plan.grids[k])


def _write_group(
    store: Any,
    levels: list[xr.DataArray],
    *,
    plan: PyramidPlan | None,
    version: str,
    chunks: Any,
    shards: Any,
    codec: dict[str, Any],
    name: str | None,
    nifti: bytes | None = None,
) -> None:
    frame = "world" if nifti is None else "image"
    root = zarr.open_group(store=store, mode="w",
                           zarr_format=3 if version in ZARR_V3_VERSIONS else 2)
    meta_levels = []
    # scale and translation come from these grids, never from a level's coordinates
    grids = _given_grids(levels) if plan is None else list(plan.grids)
    # an image already in memory: every level is computed from the previous one in
    # memory and all are written in one computation (the extra levels together are
    # smaller than the image); a lazy image: level k is read back from the stored level k − 1,
    # so memory stays bounded by a few chunks whatever the size. Either way a task of
    # level k reads the f-fold block of level k − 1 that makes one whole output chunk
    # (from the store or the caller's array), so no task waits for pieces computed by
    # others: on a cluster, nothing but the output crosses between workers
    in_memory = plan is not None and not isinstance(levels[0].data, dsa.Array)
    pending: list[tuple[xr.DataArray, zarr.Array, tuple[int, ...]]] = []
    previous: tuple[xr.DataArray, zarr.Array] | None = None
    for k in range(len(grids)):
        if plan is not None and previous is not None:  # next level, from the previous one
            level = _next_level(plan, k, previous, levels[0], in_memory, chunks)
        else:
            level = levels[k]
        wchunks = _write_chunks(level, chunks)
        wshards = _shards(level, shards, wchunks, version)
        arr = _create(root, k, level, wchunks, wshards, codec, version)
        block = wshards or wchunks
        if plan is not None and not in_memory:
            _store_level(level, arr, block)
        else:
            pending.append((level, arr, block))
        previous = (level, arr)
        units, scale, trans = _axis_metadata(level, grids[k], frame)
        meta_levels.append((f"scale{k}/image", scale, trans, units))
    if pending:  # given levels: one computation, so shared upstream tasks run once
        dsa.store([_as_dask(lv, b).rechunk(b) for lv, _, b in pending],
                  [cast(ArrayLike, arr) for _, arr, _ in pending], lock=False, compute=True)
    if nifti is not None:
        write_header_bytes(root, nifti)
    dims = [str(d) for d in levels[0].dims]
    attrs = build_attrs(
        version=version,
        dims=dims,
        units=meta_levels[0][3],
        levels=[(p, s, t) for p, s, t, _ in meta_levels],
        direction_zyx=grids[0].direction_zyx,
        name=name,
        translation_frame=frame,
    )
    root.attrs.update(attrs)


def _exists(store: Any) -> bool:
    try:
        zarr.open_group(store=store, mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, KeyError):
        return False
    return True


def to_ome_zarr(
    obj: xr.DataArray | xr.DataTree,
    path: StoreTarget,
    *,
    pyramid: bool | xr.DataTree = True,
    version: str = "0.5",
    chunks: int | Mapping[str, int] | None = None,
    shards: int | Mapping[str, int] | None = None,
    compressor: Any = "default",
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    levels: int | None = None,
    factors: Any = None,
    method: str | None = None,
    label: bool | None = None,
    name: str | None = None,
    progress: bool = False,
    nifti: bool = False,
) -> None:
    """Write an image or a pyramid as an OME-Zarr store, chunk by chunk.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.DataTree
        An image obeying the geometry contract, or a pyramid DataTree (``scale0``, …).
    path : str, path-like, fsspec mapper or zarr store
        Destination: a local ``.ome.zarr`` folder (written atomically), a local ``.ozx``
        file (zipped OME-Zarr, see :func:`spatial_xr.io.ozx.to_ozx`) or a URL
        (``s3://…``), mapper or store.
    pyramid : bool or xarray.DataTree
        ``True``: build a pyramid while writing (each level from the stored previous one;
        ``levels``, ``factors``, ``method``, ``label`` as in
        :func:`spatial_xr.ops.pyramid.pyramid`); ``False``: one level; a DataTree: write
        its levels as they are.
    levels, factors, method, label
        With ``pyramid=True``: how the pyramid is built, as in
        :func:`spatial_xr.ops.pyramid.pyramid`.
    version : {"0.5", "0.4", "0.6"}
        OME-NGFF version: 0.5 writes Zarr v3, 0.4 writes Zarr v2. ``"0.6"`` writes Zarr v3
        with RFC-5 coordinate systems: ``intrinsic`` (as 0.5's axes) and ``world`` (LPS,
        space axes labelled with RFC-4 orientations), connected by an ``affine`` whose
        linear part is the direction, so that an oblique image is exact in the standard
        metadata (see :mod:`spatial_xr.io.omezarr.systems`).
    chunks : int or mapping dim → int, optional
        Chunk edge per spatial dim (``t``/``c``: 1); default 128 (3-D) or 256 (2-D).
    shards : int or mapping dim → int, optional
        Shard edge per spatial dim (0.5 only), a multiple of the chunk.
    compressor : "default", None, str or codec
        ``"default"`` (Zstandard level 1, ``"zstd-fast"``: several times faster than
        Zarr's own default level 3 for ~10 % larger output), ``None`` (uncompressed), one
        of ``"zstd"`` (level 3), ``"blosc"`` (Blosc-Zstd, bit-shuffled), ``"lz4"``
        (Blosc-LZ4, byte-shuffled), ``"gzip"``, or a numcodecs (0.4) / zarr v3 codec
        (0.5) object.
    overwrite : bool
        Replace an existing store.
    storage_options : dict, optional
        fsspec options for URLs.
    name : str, optional
        Name of the multiscale image in the metadata (default the DataArray's name).
    progress : bool
        Show a dask progress bar (local scheduler).
    nifti : bool
        Write NIfTI-Zarr: also store level 0's NIfTI-1 header (NIfTI-2 when a dim exceeds
        32767; qform = sform = the image's affine in RAS, as
        :func:`~spatial_xr.io.nifti.write_nifti` writes it) as the group's ``nifti`` array,
        so that NIfTI tools (the reference implementation ``niizarr``'s ``zarr2nii``) open
        every level with its own affine. The OME translations are then image-frame coordinates
        (``Dᵀ·origin``, the DataArray's first coordinate values) with no orientation labels,
        so that the levels line up per array axis; the exact geometry stays in the
        ``spatial_xr`` attribute. Name the store ``*.nii.zarr``.

    Raises
    ------
    OverwriteError
        The destination exists and ``overwrite`` is False (nothing is written).
    DimensionError, UnsupportedOptionError
        Dims outside ``t, c, z, y, x``; bad chunks, shards, compressor or method.
    FormatError
        ``nifti=True`` and NIfTI has no datatype for the image's dtype (nothing is written).
    """
    if version not in VERSIONS:
        raise UnsupportedOptionError(
            f"version must be '0.5', '0.4' or '0.6', got {version!r}")
    if nifti and version == "0.6":
        raise UnsupportedOptionError(
            "NIfTI-Zarr is written as OME-Zarr 0.4 or 0.5; use version='0.5' with nifti=True")
    plan = None
    if isinstance(obj, xr.DataTree):
        levels_da = [_canonical(lv) for lv in tree_levels(obj)]
    elif isinstance(pyramid, xr.DataTree):
        levels_da = [_canonical(lv) for lv in tree_levels(pyramid)]
        if dict(levels_da[0].sizes) != dict(obj.sizes):
            raise DimensionError(
                f"pyramid level 0 has sizes {dict(levels_da[0].sizes)} but the image has "
                f"{dict(obj.sizes)}; pass the pyramid built from this image"
            )
    else:
        levels_da = [_canonical(obj)]
        if pyramid:
            plan = plan_pyramid(levels_da[0], levels=levels, factors=factors, chunks=chunks,
                                method=method, label=label)
    name = name or (str(levels_da[0].name) if levels_da[0].name is not None else None)
    codec = _compressors(compressor, version)
    header = None
    if nifti:  # before anything is written: a dtype NIfTI lacks fails here
        grid0 = plan.grids[0] if plan is not None else _given_grids(levels_da)[0]
        header = header_bytes(levels_da[0], grid0)
    kwargs: dict[str, Any] = dict(plan=plan, version=version, chunks=chunks, shards=shards,
                                  codec=codec, name=name, nifti=header)
    ctx: Any = contextlib.nullcontext()
    if progress:
        from dask.diagnostics import ProgressBar

        ctx = ProgressBar()
    local = resolve_local_path(path)
    if local is not None and local.rstrip("/").lower().endswith(".ozx"):  # RFC-9 zip
        from spatial_xr.io.ozx.write import to_ozx

        return to_ozx(obj, local, pyramid=pyramid, version=version, chunks=chunks,
                      shards=shards, compressor=compressor, overwrite=overwrite, levels=levels,
                      factors=factors, method=method, label=label, name=name,
                      progress=progress)
    with ctx:
        if local is not None:
            with atomic_output(local, overwrite=overwrite) as tmp:
                _write_group(zarr.storage.LocalStore(str(tmp)), levels_da, **kwargs)
            return
        store = open_store(path, mode="w", storage_options=storage_options)
        if _exists(store) and not overwrite:
            raise OverwriteError(
                f"{describe(path)} already holds a Zarr group; pass overwrite=True to "
                "replace it, or choose another destination"
            )
        _write_group(store, levels_da, **kwargs)

