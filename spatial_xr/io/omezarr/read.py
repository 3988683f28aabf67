"""Lazy OME-Zarr reading: one level as a DataArray, or every level as a DataTree.

Opening reads only the group and array metadata; pixels are read per dask chunk, and the
dask chunks follow the stored chunks (shards for sharded Zarr v3 arrays), so a
computation fetches only the chunks it touches.

A NIfTI-Zarr store (a group that also holds a ``nifti`` header array) is placed by its
NIfTI header, which the specification gives precedence over the OME metadata (see
:mod:`spatial_xr.io.niftizarr.header`); its ``scl_slope``/``scl_inter`` apply as in NIfTI.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
import zarr
import zarr.errors

from spatial_xr.coords import assign_grid
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    ParameterError,
    PathNotFoundError,
    RemoteAccessError,
    TransformMetadataError,
)
from spatial_xr.io.chunking import chunks_by_name
from spatial_xr.io.indexing import Selector, select_entries
from spatial_xr.io.nifti.read import AffineChoice
from spatial_xr.io.niftizarr.header import NiftiZarrHeader, apply_header_scaling
from spatial_xr.io.niftizarr.store import read_header_bytes
from spatial_xr.io.omezarr.detect import is_omezarr_path
from spatial_xr.io.omezarr.metadata import (
    LENGTH_UNITS,
    MultiscaleMeta,
    canonical_unit,
    level_grid,
    parse_attrs,
    unit_factor,
)
from spatial_xr.io.omezarr.store import StoreTarget, describe, open_store
from spatial_xr.io.validate import CheckedReads

__all__ = ["coordinate_systems", "is_omezarr_path", "open_multiscale", "open_omezarr",
           "select_level"]

_MAX_PARAMETER_VALUES = 1 << 16



def _open_group(target: StoreTarget, storage_options: dict[str, Any] | None) -> zarr.Group:
    store = open_store(target, mode="r", storage_options=storage_options)
    try:
        return zarr.open_group(store=store, mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError) as exc:
        if isinstance(exc, PathNotFoundError):
            raise
        raise FormatError(
            f"{describe(target)} holds no Zarr group ({exc}); pass the root of an OME-Zarr "
            "image (the folder with zarr.json or .zattrs)"
        ) from exc
    except ValueError as exc:  # e.g. zarr.json / .zattrs that is not valid JSON
        raise FormatError(
            f"{describe(target)} has unreadable Zarr metadata ({type(exc).__name__}: {exc}); "
            "the store is corrupt"
        ) from exc
    except Exception as exc:
        if not isinstance(target, str) or "://" not in target:
            raise
        raise RemoteAccessError(
            f"could not read {describe(target)} ({type(exc).__name__}: {exc}); check the URL, "
            "the network and the credentials in storage_options"
        ) from exc


def _parameter_loader(group: zarr.Group) -> Callable[[str], np.ndarray]:
    """Reads transformation parameters (RFC-5 ``"path"``) from a small array of the group."""

    def load(path: str) -> np.ndarray:
        try:
            arr = group[path.strip("/")]
        except (KeyError, ValueError, TypeError) as exc:
            raise TransformMetadataError(
                f"transformation parameters at {path!r} are missing from the store ({exc})"
            ) from exc
        if not isinstance(arr, zarr.Array) or arr.size > _MAX_PARAMETER_VALUES:
            raise TransformMetadataError(
                f"transformation parameters at {path!r} must be a small array (at most "
                f"{_MAX_PARAMETER_VALUES} values), got {type(arr).__name__} "
                f"{getattr(arr, 'shape', '')}"
            )
        return np.asarray(arr[...], dtype=np.float64)

    return load


def _parse(group: zarr.Group, attrs: Mapping[str, Any], multiscale: int,
           coordinate_system: str | None) -> MultiscaleMeta:
    return parse_attrs(attrs, multiscale, coordinate_system=coordinate_system,
                       load=_parameter_loader(group))


def _chunks_for(arr: zarr.Array, dims: tuple[str, ...], chunks: Any) -> Any:
    native = tuple(arr.shards or arr.chunks) if hasattr(arr, "shards") else tuple(arr.chunks)
    if chunks is None:
        return native
    if isinstance(chunks, Mapping):
        return chunks_by_name(chunks, dims, native, arr.shape)
    return chunks


def _axis_coord(meta: MultiscaleMeta, index: int, dim: str, size: int) -> xr.Variable:
    i = meta.dims.index(dim)
    level = meta.levels[index]
    values = level.translation[i] + level.scale[i] * np.arange(size, dtype=np.float64)
    unit = meta.axes[i].unit
    return xr.Variable((dim,), values, {"units": unit} if unit else {})


def _level_dataarray(
    group: zarr.Group,
    meta: MultiscaleMeta,
    index: int,
    *,
    chunks: Any = None,
    units: str | None = None,
    nifti: NiftiZarrHeader | None = None,
    scaling: bool = True,
) -> xr.DataArray:
    path = meta.levels[index].path
    try:
        arr = group[path]
    except KeyError as exc:
        raise FormatError(
            f"dataset {path!r} listed in the multiscales metadata is missing from the store"
        ) from exc
    except (ValueError, TypeError) as exc:  # zarr.json/.zarray not JSON, or invalid fields
        raise FormatError(
            f"array {path!r} has unreadable Zarr metadata ({type(exc).__name__}: {exc}); "
            "the store is corrupt"
        ) from exc
    if not isinstance(arr, zarr.Array):
        raise FormatError(f"dataset {path!r} is a group, not an array")
    if arr.ndim != len(meta.axes):
        raise FormatError(
            f"array {path!r} has {arr.ndim} dims but the metadata lists {len(meta.axes)} axes "
            f"{meta.dims}"
        )
    zchunks = _chunks_for(arr, meta.dims, chunks)
    data = dsa.from_array(  # as dsa.from_zarr, with chunk read errors as FormatError
        CheckedReads(arr, f"array {path!r}"), zchunks, asarray=False, fancy=False,
        name="from-zarr-" + dask.base.tokenize(arr, zchunks),
        meta=np.empty((0,) * arr.ndim, dtype=arr.dtype),
    )
    source = meta.geometry_source
    if nifti is None:
        grid = level_grid(meta, index, arr.shape, units=units)
    else:
        grid, source = nifti.level_grid(meta, index, arr.shape, units=units)
    coords = {}
    if "t" in meta.dims:
        coords["t"] = _axis_coord(meta, index, "t", arr.shape[meta.dims.index("t")])
    da = xr.DataArray(data, dims=meta.dims, coords=coords, name="image")
    for d in meta.spatial_dims:
        unit = units or (nifti.unit if nifti else meta.axes[meta.dims.index(d)].unit)
        da.coords[d] = xr.Variable((d,), np.zeros(da.sizes[d]), {"units": unit or "millimeter"})
    da = assign_grid(da, grid)
    da.attrs["geometry_source"] = source
    if meta.coordinate_system is not None and nifti is None:
        da.attrs["coordinate_system"] = meta.coordinate_system
        da.attrs["coordinate_systems"] = list(meta.coordinate_systems)
    if nifti is not None:
        da.attrs["source_format"] = "NIfTI-Zarr"
        da = apply_header_scaling(da, *nifti.slope_inter, scaling)
    return da


def _nifti_header(
    group: zarr.Group, meta: MultiscaleMeta, target: StoreTarget, nifti: bool | None,
    affine: AffineChoice,
) -> NiftiZarrHeader | None:
    """The store's NIfTI header, checked against level 0; None for plain OME-Zarr (or
    ``nifti=False``)."""
    if nifti is False:
        return None
    where = describe(target)
    raw = read_header_bytes(group, where)
    if raw is None:
        if nifti:
            raise FormatError(
                f"{where} is OME-Zarr without a NIfTI header (no 'nifti' array in its group), "
                "so it is not NIfTI-Zarr; open it with format='omezarr' (or nifti=None)"
            )
        return None
    header = NiftiZarrHeader.from_bytes(raw, where, affine=affine)
    try:
        level0 = group[meta.levels[0].path]
    except KeyError as exc:
        raise FormatError(
            f"dataset {meta.levels[0].path!r} listed in the multiscales metadata is missing "
            "from the store"
        ) from exc
    if not hasattr(level0, "shape"):
        raise FormatError(
            f"dataset {meta.levels[0].path!r} listed in the multiscales metadata is a group, "
            "not an array"
        )
    header.check_level0(meta, level0.shape)
    return header


def _spacing_mm(meta: MultiscaleMeta, index: int) -> dict[str, float]:
    out = {}
    for d in meta.spatial_dims:
        i = meta.dims.index(d)
        unit = meta.axes[i].unit
        f = unit_factor(unit, "millimeter") if (unit or "millimeter") in LENGTH_UNITS else 1.0
        out[d] = meta.levels[index].scale[i] * f
    return out


def select_level(
    spacings: Sequence[Mapping[str, float]],
    target: float | Sequence[float] | Mapping[Hashable, float],
) -> int:
    """Index of the level whose spacing is closest to ``target``.

    Distance is the sum over spatial dims of ``|log(level spacing / target)|``, so a level
    twice too fine and one twice too coarse tie (the finer wins).

    Parameters
    ----------
    spacings : sequence of mapping dim → spacing
        Per level, in the same unit as ``target``.
    target : float, sequence or mapping
        One value for every dim, one per spatial dim (in the levels' dim order) or by name.
    """
    dims = list(spacings[0])
    if isinstance(target, Mapping):
        missing = set(target) - set(dims)
        if missing:
            raise DimensionError(
                f"spacing= names dims {sorted(missing, key=str)} the image lacks ({dims})")
        want = {str(k): float(v) for k, v in target.items()}
    else:
        arr = np.atleast_1d(np.asarray(target, np.float64))
        if arr.size == 1:
            want = dict.fromkeys(dims, float(arr[0]))
        elif arr.size == len(dims):
            want = dict(zip(dims, arr.tolist(), strict=True))
        else:
            raise DimensionError(
                f"spacing= needs 1 or {len(dims)} values (dims {dims}), got {target!r}"
            )
    if any(not np.isfinite(v) or v <= 0 for v in want.values()):
        raise DimensionError(f"spacing= must be positive, got {target!r}")
    cost = [
        sum(abs(np.log(s[d] / v)) for d, v in want.items()) for s in spacings
    ]
    return int(np.argmin(cost))


def _resolve_level(meta: MultiscaleMeta, level: int | None, spacing: Any) -> int:
    n = len(meta.levels)
    if level is not None and spacing is not None:
        raise ParameterError("give level= or spacing=, not both")
    if spacing is not None:
        return select_level([_spacing_mm(meta, k) for k in range(n)], spacing)
    k = 0 if level is None else int(level)
    if not -n <= k < n:
        raise DimensionError(f"level={level} is out of range: the store has {n} levels (0–{n-1})")
    return k % n


def open_omezarr(
    path: StoreTarget,
    *,
    level: int | None = None,
    spacing: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    channel: Selector = None,
    timepoint: Selector = None,
    chunks: Any = None,
    storage_options: dict[str, Any] | None = None,
    units: str | None = None,
    multiscale: int = 0,
    nifti: bool | None = None,
    affine: AffineChoice = "best",
    apply_scaling: bool = True,
    coordinate_system: str | None = None,
) -> xr.DataArray:
    """Open one level of an OME-Zarr image (OME-NGFF 0.4/Zarr v2 or 0.5/Zarr v3) lazily.

    Parameters
    ----------
    path : str, path-like, fsspec mapper or zarr store
        Local ``.ome.zarr`` folder, URL (``s3://``, ``gs://``, ``https://``, …), mapper or
        store.
    level : int, optional
        Level index (0 = finest, negative counts from the coarsest). Default 0.
    spacing : float, sequence or mapping, optional
        Instead of ``level``: the target voxel size in **millimetres** (converted from each
        axis's unit); the level with the closest spacing is opened.
    channel, timepoint : int, slice or sequence of int, optional
        Select along ``c``/``t`` (an int drops the dim).
    chunks : dict, tuple or "auto", optional
        dask chunks; default the stored chunks (shards if sharded).
    storage_options : dict, optional
        fsspec options for URLs.
    units : str, optional
        Convert spatial coordinates to this length unit (e.g. ``"millimeter"``); default
        keeps the store's units (micrometre data stays micrometre).
    multiscale : int
        Which entry of ``multiscales`` to open.
    nifti : bool, optional
        NIfTI-Zarr: ``None`` places the image by the group's NIfTI header when it has one,
        ``True`` demands one, ``False`` ignores it (OME metadata only).
    affine : {"best", "sform", "qform"}
        Which affine of the NIfTI header to use (as for NIfTI files).
    apply_scaling : bool
        Apply the NIfTI header's ``scl_slope``/``scl_inter`` lazily (as
        :func:`~spatial_xr.io.nifti.open_nifti` does); ``False`` keeps the stored values and
        records the scaling in ``attrs``.
    coordinate_system : str, optional
        OME-Zarr 0.6 (RFC-5): the named coordinate system whose coordinates are the world
        (its space axes taken as LPS by their RFC-4 labels, else by name). Default: the
        one the ``spatial_xr`` attribute names, else one labelled LPS, else the intrinsic
        system (see :mod:`spatial_xr.io.omezarr.systems`). ``attrs["coordinate_system"]``
        says which was used, ``attrs["coordinate_systems"]`` lists them all
        (also :func:`coordinate_systems`).

    Returns
    -------
    xarray.DataArray
        dims in stored order (``t, c, z, y, x`` subset), dask-backed, with geometry from the
        NIfTI header (NIfTI-Zarr), else the ``spatial_xr`` attribute, else RFC-4 orientation
        labels, else identity direction (``attrs["geometry_source"]`` says which:
        ``"nifti"``, ``"spatial_xr"``, ``"orientation"``, ``"identity"``, or ``"rfc5"``
        for a 0.6 coordinate system reached by transformations; a NIfTI-Zarr
        store written by spatial_xr says ``"spatial_xr"`` when its exact geometry agrees
        with its float32 header).

    Raises
    ------
    PathNotFoundError, FormatError, DimensionError, UnitError
    UnknownCoordinateSystemError
        ``coordinate_system`` names no system of the store; the message lists them.
    TransformMetadataError, NonLinearTransformError, SingularTransformError
        The transformations to the coordinate system are malformed, pass through a
        displacement/coordinate field, or are singular.
    """
    group = _open_group(path, storage_options)
    meta = _parse(group, group.attrs.asdict(), multiscale, coordinate_system)
    k = _resolve_level(meta, level, spacing)
    header = _nifti_header(group, meta, path, nifti, affine)
    da = _level_dataarray(group, meta, k, chunks=chunks, units=canonical_unit(units),
                          nifti=header, scaling=apply_scaling)
    da = select_entries(da, "c", channel, "channel")
    return select_entries(da, "t", timepoint, "timepoint")


def open_multiscale(
    path: StoreTarget,
    *,
    channel: Selector = None,
    timepoint: Selector = None,
    chunks: Any = None,
    storage_options: dict[str, Any] | None = None,
    units: str | None = None,
    multiscale: int = 0,
    nifti: bool | None = None,
    affine: AffineChoice = "best",
    apply_scaling: bool = True,
    coordinate_system: str | None = None,
) -> xr.DataTree:
    """Open every level of an OME-Zarr image lazily as an ``xarray.DataTree``.

    The root holds the group's attributes (the OME metadata); children ``scale0``,
    ``scale1``, … (finest first) are Datasets with one variable ``image`` obeying the
    geometry contract. Parameters are as for :func:`open_omezarr`.

    Returns
    -------
    xarray.DataTree
    """
    group = _open_group(path, storage_options)
    attrs = group.attrs.asdict()
    meta = _parse(group, attrs, multiscale, coordinate_system)
    header = _nifti_header(group, meta, path, nifti, affine)
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs={k: v for k, v in attrs.items()})}
    for k in range(len(meta.levels)):
        da = _level_dataarray(group, meta, k, chunks=chunks, units=canonical_unit(units),
                              nifti=header, scaling=apply_scaling)
        da = select_entries(da, "c", channel, "channel")
        da = select_entries(da, "t", timepoint, "timepoint")
        nodes[f"scale{k}"] = da.to_dataset(name="image")
    return xr.DataTree.from_dict(nodes)



def coordinate_systems(
    path: StoreTarget, *, multiscale: int = 0,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The named coordinate systems of an OME-Zarr 0.6 image, and which one opens by default.

    Parameters
    ----------
    path : str, path-like, fsspec mapper or zarr store
        The image (group with ``multiscales``).
    multiscale : int
        Which entry of ``multiscales``.
    storage_options : dict, optional
        fsspec options for URLs.

    Returns
    -------
    dict
        ``{"names": [...], "intrinsic": name, "default": name, "transformations": [...]}``:
        every system in listed order, the intrinsic one (the datasets' output), the one
        :func:`open_omezarr` opens without ``coordinate_system=``, and the multiscale-level
        transformations (type, name, input, output) that connect them. A 0.4/0.5 store has
        no named systems: ``names`` is empty.
    """
    group = _open_group(path, storage_options)
    attrs = group.attrs.asdict()
    meta = _parse(group, attrs, multiscale, None)
    ome = attrs.get("ome") if isinstance(attrs.get("ome"), Mapping) else {}
    entries = ome.get("multiscales") if isinstance(ome, Mapping) else None
    raw = entries[multiscale].get("coordinateTransformations") if meta.coordinate_systems \
        and isinstance(entries, list) else None
    listed = [
        {k: t.get(k) for k in ("type", "name", "input", "output", "path") if t.get(k) is not None}
        for t in (raw if isinstance(raw, list) else []) if isinstance(t, Mapping)
    ]
    return {"names": list(meta.coordinate_systems), "intrinsic": meta.intrinsic_system,
            "default": meta.coordinate_system, "transformations": listed}
