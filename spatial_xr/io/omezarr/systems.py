"""OME-Zarr 0.6 (RFC-5) named coordinate systems ↔ geometry, in pure Python and numpy.

Reading
-------
A 0.6 multiscale image lists ``coordinateSystems``; each dataset (level) maps its array
indices to the *intrinsic* system (the ``output`` of every dataset transformation) by a
scale and a translation, and ``multiscales[i].coordinateTransformations`` connect the
intrinsic system to other named systems. Opening the image "in" system ``S`` composes, per
level, the dataset transformation with the transformations from the intrinsic system to
``S`` (walking a transformation backwards through its inverse where needed) into one
affine map from array index to ``S``, and reads the grid off it:

- the space axes of ``S`` are the LPS world axes their RFC-4 ``orientation`` labels name,
  or, without labels, the world axes of the same name (``x``, ``y``, ``z``);
- spacing is the length of each array axis's column, direction the column divided by it
  (the columns must be orthogonal: a sheared map is no grid), origin the image of index 0;
- ``t`` maps from ``t`` alone (its scale and translation give the time coordinate); ``c`` is
  not placed.

The intrinsic system itself is read as OME-NGFF 0.4/0.5 images are (DESIGN §4): scale =
spacing, translation = world position of voxel 0, direction from RFC-4 labels.

Which system is opened when the caller names none: the one the ``spatial_xr`` group
attribute names (stores written by spatial_xr), else the first other system whose space
axes are all labelled with the LPS directions (``right-to-left``, ``anterior-to-posterior``,
``inferior-to-superior``) and that linear transformations reach, else the intrinsic one.

Writing
-------
``version="0.6"`` writes two systems: ``intrinsic`` (the 0.5 axes: scale = spacing,
translation of level 0 = origin, RFC-4 labels when the direction is a signed permutation)
and ``world`` (the same axes, space axes labelled with the LPS directions), connected by one
``affine`` (``identity`` when the direction is the identity) whose linear part is the
direction. So that one affine serves every level, level ``k``'s translation is level 0's
origin plus the offset of its first voxel along the *array* axes (``Dᵀ·(O_k − O_0)``), as
ngff-zarr places the levels of its pyramids; the world map is then
``world = D·(intrinsic − O_0) + O_0`` for every level, exact for every direction.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import (
    FormatError,
    GeometryError,
    SingularTransformError,
    SpatialXRWarning,
    TransformMetadataError,
    UnknownCoordinateSystemError,
)
from spatial_xr.io.omezarr.metadata import (
    GEOMETRY_KEY,
    LPS_LABELS,
    SPATIAL,
    AxisMeta,
    LevelMeta,
    MultiscaleMeta,
    canonical_unit,
    direction_from_orientations,
    geometry_attr,
    orientations_from_direction,
    parse_axis,
    rename_axes,
    unit_factor,
)
from spatial_xr.io.omezarr.rfc5 import (
    ArrayLoader,
    Edge,
    TransformGraph,
    reference_name,
    transformation_matrix,
)

__all__ = [
    "INTRINSIC",
    "WORLD",
    "WRITE_VERSION",
    "build_multiscale_v06",
    "is_v06",
    "parse_multiscale_v06",
]

INTRINSIC = "intrinsic"
"""Name of the intrinsic coordinate system spatial_xr writes."""
WORLD = "world"
"""Name of the LPS world coordinate system spatial_xr writes."""
WRITE_VERSION = "0.6"
_DIRECTION_ATOL = 1e-9


def is_v06(version: str) -> bool:
    """Whether an ``ome.version`` string is OME-Zarr 0.6 (``"0.6"``, ``"0.6rc0"``, …)."""
    return version == "0.6" or version.startswith(("0.6rc", "0.6.", "0.6-", "0.6dev"))


# ---------------------------------------------------------------------- reading
def _systems(ms: Mapping[str, Any]) -> dict[str, list[Any]]:
    raw = ms.get("coordinateSystems")
    if not isinstance(raw, list) or not raw:
        raise FormatError(
            "an OME-Zarr 0.6 multiscales entry needs a non-empty 'coordinateSystems' list; "
            f"got {str(raw)[:200]}"
        )
    out: dict[str, list[Any]] = {}
    for i, cs in enumerate(raw):
        name = cs.get("name") if isinstance(cs, Mapping) else None
        axes = cs.get("axes") if isinstance(cs, Mapping) else None
        if not isinstance(name, str) or not name or not isinstance(axes, list) or not axes:
            raise FormatError(
                f"coordinateSystems[{i}] needs a non-empty 'name' and a list of 'axes'; got "
                f"{str(cs)[:200]}"
            )
        if name in out:
            raise FormatError(f"coordinate system name {name!r} appears twice; names must be "
                              "unique")
        out[name] = axes
    return out


def _dataset_output(ds: Mapping[str, Any], first: str) -> str:
    transforms = ds.get("coordinateTransformations")
    if not isinstance(transforms, list) or not transforms:
        raise FormatError(f"dataset {ds.get('path')!r} has no coordinateTransformations; "
                          "RFC-5 requires a scale (and translation) per dataset")
    names = {n for t in transforms if isinstance(t, Mapping)
             for n in [reference_name(t.get("output"))[0]] if n is not None}
    if len(names) > 1:
        raise FormatError(f"dataset {ds.get('path')!r} maps to several coordinate systems "
                          f"{sorted(names)}")
    return next(iter(names)) if names else first


def _dataset_matrix(ds: Mapping[str, Any], n: int, load: ArrayLoader | None) -> Any:
    where = f"dataset {ds.get('path')!r}"
    total = np.eye(n + 1)
    for i, t in enumerate(ds["coordinateTransformations"]):
        total = transformation_matrix(t, n, where=f"{where} coordinateTransformations[{i}]",
                                      load=load, n_out=n) @ total
    return total


def _edges(ms: Mapping[str, Any], systems: Mapping[str, Any]) -> list[Edge]:
    raw = ms.get("coordinateTransformations")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TransformMetadataError(
            f"multiscales coordinateTransformations must be a list, got {str(raw)[:200]}")
    edges = []
    for i, t in enumerate(raw):
        where = f"multiscales coordinateTransformations[{i}]"
        if not isinstance(t, Mapping):
            raise TransformMetadataError(f"{where} must be an object, got {str(t)[:200]}")
        (src, src_path), (dst, dst_path) = (reference_name(t.get("input")),
                                            reference_name(t.get("output")))
        if src_path or dst_path:  # a system of another group (a label image): not ours
            continue
        for side, name in (("input", src), ("output", dst)):
            if name not in systems:
                raise TransformMetadataError(
                    f"{where} names {side} coordinate system {name!r}, which the image does not "
                    f"define (it has {sorted(systems)})"
                )
        label = t.get("name")
        edges.append(Edge(str(src), str(dst), t, f"{where} ({t.get('type')!r}"
                                       f"{f' named {label!r}' if label else ''})"))
    return edges


def _lps_labelled(axes: list[Any], version: str) -> bool:
    space = [parse_axis(a, version) for a in axes if isinstance(a, Mapping)
             and a.get("type") == "space"]
    wanted = {pair[0] for pair in LPS_LABELS[:len(space)]}
    return bool(space) and {a.orientation for a in space} == wanted


def _choose(
    systems: Mapping[str, list[Any]], intrinsic: str, graph: TransformGraph,
    requested: str | None, attr_name: str | None, version: str,
) -> str:
    if requested is not None:
        if requested not in systems:
            raise UnknownCoordinateSystemError(
                f"coordinate_system={requested!r} is not in this image; it has "
                f"{', '.join(repr(n) for n in systems)} (intrinsic: {intrinsic!r})"
            )
        return requested
    if attr_name in systems:
        return str(attr_name)
    for name, axes in systems.items():
        if name != intrinsic and _lps_labelled(axes, version) and \
                graph.reachable(intrinsic, name):
            return name
    return intrinsic


def _intrinsic_levels(
    mats: Sequence[NDArray[np.float64]], paths: Sequence[str], dims: Sequence[str],
) -> list[LevelMeta]:
    levels = []
    for path, a in zip(paths, mats, strict=True):
        lin = a[:-1, :-1]
        if np.any(lin - np.diag(np.diag(lin))):
            raise TransformMetadataError(
                f"dataset {path!r} maps its array by {lin.tolist()}, not by a scale and a "
                "translation as RFC-5 requires of dataset transformations"
            )
        scale = np.diag(lin)
        for d, s in zip(dims, scale, strict=True):
            if s == 0:
                raise SingularTransformError(
                    f"dataset {path!r} has scale 0 along {d!r}; give every axis a non-zero "
                    "scale (the voxel size)")
            if s < 0 and d in SPATIAL:
                raise FormatError(f"scale of dataset {path!r} must be > 0, got "
                                  f"{scale.tolist()}")
        levels.append(LevelMeta(path, tuple(scale.tolist()), tuple(a[:-1, -1].tolist())))
    return levels


def _world_rows(axes: Sequence[AxisMeta], system: str) -> NDArray[np.float64]:
    """W with LPS world (x, y, z) = W · (the system's space coordinates, in its order)."""
    n = len(axes)
    w = np.zeros((n, n))
    names = ("x", "y", "z")[:n]
    labelled = all(a.orientation is not None for a in axes)
    for r, a in enumerate(axes):
        hit = None
        if labelled:
            hit = next(((i, s) for i, pair in enumerate(LPS_LABELS[:n])
                        for s, lab in zip((1.0, -1.0), pair, strict=True)
                        if lab == a.orientation), None)
        elif a.name in names:
            hit = (names.index(a.name), 1.0)
        if hit is None:
            raise FormatError(
                f"cannot tell which LPS world axis the axis {a.name!r} of coordinate system "
                f"{system!r} is: name its space axes {list(reversed(names))} or give each an "
                "RFC-4 anatomical orientation"
            )
        w[hit[0], r] = hit[1]
    if not np.allclose(np.abs(w).sum(axis=1), 1.0):
        raise FormatError(
            f"the space axes of coordinate system {system!r} ({[a.name for a in axes]}) do "
            "not name distinct world axes"
        )
    return w


def _system_levels(
    mats: Sequence[NDArray[np.float64]], paths: Sequence[str], array_axes: Sequence[AxisMeta],
    target_axes: Sequence[AxisMeta], target: str,
) -> tuple[list[LevelMeta], NDArray[np.float64], str | None, str | None]:
    """Levels (scale, world translation), direction (xyz), space unit and time unit of the
    grids that the level matrices ``mats`` (array index → ``target``) describe."""
    dims = [a.name for a in array_axes]
    space_cols = [i for i, d in enumerate(dims) if d in SPATIAL]
    other_cols = [i for i in range(len(dims)) if i not in space_cols]
    kinds = [a.type for a in target_axes]
    space_rows = [i for i, k in enumerate(kinds) if k == "space"]
    other_rows = [i for i in range(len(kinds)) if i not in space_rows]
    if len(space_rows) != len(space_cols) or len(target_axes) != len(dims):
        raise FormatError(
            f"coordinate system {target!r} has axes {[a.name for a in target_axes]} "
            f"({len(space_rows)} of type 'space'); the image has axes {dims}: a grid needs "
            "one space axis per array space axis"
        )
    units = [canonical_unit(target_axes[r].unit) for r in space_rows]
    unit = next((u for u in units if u is not None), None)
    factors = np.array([unit_factor(u, unit) if u and unit else 1.0 for u in units])
    w = _world_rows([target_axes[r] for r in space_rows], target)
    order = [space_cols[[dims[c] for c in space_cols].index(a)]
             for a in ("x", "y", "z")[:len(space_cols)]]
    time_row = next((r for r in other_rows if target_axes[r].type == "time"), None)
    t_col = dims.index("t") if "t" in dims else None
    levels, direction = [], None
    for path, a in zip(paths, mats, strict=True):
        if np.any(a[np.ix_(space_rows, other_cols)]) or np.any(a[np.ix_(other_rows, space_cols)]):
            raise GeometryError(
                f"the map of dataset {path!r} to coordinate system {target!r} mixes space axes "
                "with time/channel axes, which no image grid can hold"
            )
        m = w @ (a[np.ix_(space_rows, order)] * factors[:, None])
        origin = w @ (a[space_rows, -1] * factors)
        spacing = np.linalg.norm(m, axis=0)
        if np.any(spacing <= 1e-12 * max(float(spacing.max()), 1e-300)):
            raise SingularTransformError(
                f"the map of dataset {path!r} to coordinate system {target!r} is singular "
                f"(linear part {m.tolist()}): some array axis has no extent in that system"
            )
        d = m / spacing
        err = float(np.abs(d.T @ d - np.eye(len(order))).max())
        if err > 1e-6:
            raise GeometryError(
                f"the map of dataset {path!r} to coordinate system {target!r} shears the array "
                f"axes (max |DᵀD − I| = {err:.3g}); spatial_xr images need orthogonal axes. "
                "Open another coordinate system, or resample the image"
            )
        if direction is None:
            direction = d
        elif np.abs(d - direction).max() > 1e-6:
            raise GeometryError(
                f"levels of the image have different directions in coordinate system "
                f"{target!r} ({direction.tolist()} and, for {path!r}, {d.tolist()})"
            )
        scale = [1.0] * len(dims)
        trans = [0.0] * len(dims)
        for j, c in enumerate(order):
            scale[c], trans[c] = float(spacing[j]), float(origin[j])
        if t_col is not None and time_row is not None:
            if np.any(np.delete(a[time_row, :-1], t_col)):
                raise GeometryError(f"time in coordinate system {target!r} depends on other "
                                    "axes than 't'")
            scale[t_col], trans[t_col] = float(a[time_row, t_col]), float(a[time_row, -1])
        levels.append(LevelMeta(path, tuple(scale), tuple(trans)))
    time_unit = target_axes[time_row].unit if time_row is not None else None
    return levels, np.eye(len(order)) if direction is None else direction, unit, time_unit


def parse_multiscale_v06(
    attrs: Mapping[str, Any], ms: Mapping[str, Any], version: str, *,
    coordinate_system: str | None = None, load: ArrayLoader | None = None,
) -> MultiscaleMeta:
    """Parse one OME-Zarr 0.6 ``multiscales`` entry, in the coordinate system asked for.

    Parameters
    ----------
    attrs : mapping
        The group attributes (for the ``spatial_xr`` attribute).
    ms : mapping
        The ``multiscales`` entry.
    version : str
        The ``ome.version`` string.
    coordinate_system : str, optional
        Name of the system to open; default as the module docstring says.
    load : callable, optional
        Reads transformation parameters stored in arrays (``"path"``).

    Raises
    ------
    UnknownCoordinateSystemError
        ``coordinate_system`` is not defined (the message lists those that are).
    TransformMetadataError, NonLinearTransformError, SingularTransformError, GeometryError,
    FormatError
        Malformed transformations, a field on the way, a singular or shearing map.
    """
    systems = _systems(ms)
    first = next(iter(systems))
    datasets = ms.get("datasets")
    if not isinstance(datasets, list) or not datasets or not all(
            isinstance(d, Mapping) and "path" in d for d in datasets):
        raise FormatError(f"multiscales 'datasets' must be a non-empty list of objects with a "
                          f"'path', got {str(datasets)[:200]}")
    outputs = {_dataset_output(d, first) for d in datasets}
    if len(outputs) != 1:
        raise FormatError(f"the datasets map to different coordinate systems {sorted(outputs)}; "
                          "RFC-5 requires one intrinsic system for all levels")
    intrinsic = outputs.pop()
    if intrinsic not in systems:
        raise FormatError(f"the datasets map to coordinate system {intrinsic!r}, which "
                          f"coordinateSystems does not define ({sorted(systems)})")
    array_axes = rename_axes([parse_axis(a, version) for a in systems[intrinsic]])
    dims = [a.name for a in array_axes]
    n = len(dims)
    paths = [str(d["path"]) for d in datasets]
    mats = [_dataset_matrix(d, n, load) for d in datasets]
    graph = TransformGraph({k: len(v) for k, v in systems.items()}, _edges(ms, systems), load)
    raw_attr = attrs.get(GEOMETRY_KEY)
    attr_name = raw_attr.get("coordinate_system") if isinstance(raw_attr, Mapping) else None
    target = _choose(systems, intrinsic, graph, coordinate_system, attr_name, version)
    spatial = tuple(a.name for a in array_axes if a.name in SPATIAL)
    common: dict[str, Any] = dict(
        version=version, name=ms.get("name"), coordinate_system=target,
        coordinate_systems=tuple(systems), intrinsic_system=intrinsic,
    )
    if target == intrinsic:
        levels = _intrinsic_levels(mats, paths, dims)
        direction = geometry_attr(attrs, spatial) if attr_name in (None, intrinsic) else None
        source = "spatial_xr"
        if direction is None:
            labels = {a.name: a.orientation for a in array_axes if a.name in SPATIAL}
            direction = direction_from_orientations(labels, spatial)
            source = "orientation" if direction is not None else "identity"
        return MultiscaleMeta(axes=tuple(array_axes), levels=tuple(levels),
                              direction_zyx=direction, geometry_source=source, **common)
    to_target = graph.matrix(intrinsic, target)
    target_axes = [parse_axis(a, version) for a in systems[target]]
    levels, d_xyz, unit, time_unit = _system_levels(
        [to_target @ m for m in mats], paths, array_axes, target_axes, target)
    direction = np.flip(d_xyz)
    source = "rfc5"
    if attr_name == target:
        exact = geometry_attr(attrs, spatial)
        if exact is not None and np.abs(exact - direction).max() <= _DIRECTION_ATOL:
            direction, source = exact, "spatial_xr"
        elif exact is not None:
            warnings.warn(
                f"the '{GEOMETRY_KEY}' attribute's direction disagrees with the coordinate "
                f"transformations to {target!r} (edited by another tool?); using the "
                "transformations",
                SpatialXRWarning, stacklevel=4,
            )
    axes = tuple(
        AxisMeta(a.name, a.type, unit if a.name in SPATIAL else
                 (time_unit if a.name == "t" else a.unit), None)
        for a in array_axes
    )
    return MultiscaleMeta(axes=axes, levels=tuple(levels), direction_zyx=direction,
                          geometry_source=source, **common)


# ---------------------------------------------------------------------- writing
def _num(v: float) -> float:
    f = float(v)
    if not np.isfinite(f):
        raise FormatError(f"cannot write the non-finite number {v!r} to OME-Zarr metadata")
    return f


def build_multiscale_v06(
    *,
    dims: Sequence[str],
    axes: Sequence[dict[str, Any]],
    levels: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]],
    direction_zyx: NDArray[np.float64],
    name: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The 0.6 ``multiscales`` entry and the extra ``spatial_xr`` attribute fields.

    Parameters
    ----------
    dims : sequence of str
        Axis names in array order.
    axes : sequence of dict
        The 0.5-style axis objects (name, type, unit, orientation labels when the
        direction is a signed permutation): the axes of the intrinsic system.
    levels : sequence of (path, scale by dim, translation by dim)
        Finest first; translations are the world positions of each level's voxel 0.
    direction_zyx : ndarray, shape (n, n)
        Direction in zyx order.
    name : str
        Name of the multiscale image.
    """
    d_xyz = np.flip(np.asarray(direction_zyx, np.float64))
    world = ("x", "y", "z")[:d_xyz.shape[0]]
    origin = np.array([levels[0][2][a] for a in world])
    datasets = []
    for path, scale, trans in levels:
        first = np.array([trans[a] for a in world])
        offset = d_xyz.T @ (first - origin)  # level k's voxel 0, along the array axes
        shifted = dict(trans)
        for j, a in enumerate(world):
            shifted[a] = float(origin[j] + offset[j])
        datasets.append({
            "path": path,
            "coordinateTransformations": [{
                "type": "sequence",
                "input": {"path": path},
                "output": {"name": INTRINSIC},
                "transformations": [
                    {"type": "scale", "scale": [_num(scale[d]) for d in dims]},
                    {"type": "translation", "translation": [_num(shifted[d]) for d in dims]},
                ],
            }],
        })
    labels = orientations_from_direction(np.eye(len(world))) or {}
    world_axes = []
    for ax in axes:
        entry = {k: v for k, v in ax.items() if k != "orientation"}
        if ax["name"] in labels:
            entry["orientation"] = {"type": "anatomical", "value": labels[ax["name"]]}
        world_axes.append(entry)
    transform: dict[str, Any]
    if np.array_equal(d_xyz, np.eye(len(world))):
        transform = {"type": "identity"}
    else:
        n = len(dims)
        matrix = np.zeros((n, n + 1))
        shift = origin - d_xyz @ origin
        for r, dr in enumerate(dims):
            if dr not in world:
                matrix[r, r] = 1.0
                continue
            for c, dc in enumerate(dims):
                if dc in world:
                    matrix[r, c] = d_xyz[world.index(dr), world.index(dc)]
            matrix[r, n] = shift[world.index(dr)]
        transform = {"type": "affine", "affine": [[_num(v) for v in row] for row in matrix]}
    transform.update(name="direction", input={"name": INTRINSIC}, output={"name": WORLD})
    ms = {
        "name": name,
        "coordinateSystems": [
            {"name": INTRINSIC, "axes": [dict(a) for a in axes]},
            {"name": WORLD, "axes": world_axes},
        ],
        "datasets": datasets,
        "coordinateTransformations": [transform],
    }
    return ms, {"coordinate_system": WORLD}
