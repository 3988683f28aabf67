"""OME-NGFF multiscales JSON ↔ geometry, in pure Python and numpy (no zarr, no I/O).

Mapping (DESIGN §4):

- ``scale`` of a space axis is the spacing along it and ``translation`` is the world
  position of voxel 0 along the world axis of the same name (the origin, as ngff-zarr and
  ITK write it: ``translation["x"] = origin_x``);
- space axes may carry RFC-4 ``orientation`` labels (``{"type": "anatomical", "value":
  "right-to-left"}``); they are written when the direction is a signed permutation;
- the exact geometry (direction in zyx order, origin, world frame) is also stored under a
  group attribute ``spatial_xr`` beside ``ome``. On read it wins, then RFC-4 labels, then
  the identity direction.
- a NIfTI-Zarr store (written with ``nifti=True``) writes each level's ``translation`` in
  the *image frame* (``Dᵀ·origin``, the first value of each coordinate, DESIGN §2.3) so that
  the levels line up per array axis as NIfTI tools compute them, and no orientation labels;
  its ``spatial_xr`` attribute says ``"translation_frame": "image"``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import (
    FormatError,
    GeometryError,
    SpatialXRWarning,
    UnitError,
    UnknownCoordinateSystemError,
)
from spatial_xr.geometry import Grid

__all__ = [
    "CANONICAL_ORDER",
    "LENGTH_UNITS",
    "AxisMeta",
    "LevelMeta",
    "MultiscaleMeta",
    "build_attrs",
    "direction_from_orientations",
    "level_grid",
    "orientations_from_direction",
    "parse_attrs",
    "unit_factor",
]

CANONICAL_ORDER = ("t", "c", "z", "y", "x")
SPATIAL = ("z", "y", "x")
SUPPORTED_VERSIONS = ("0.1", "0.2", "0.3", "0.4", "0.5")
GEOMETRY_KEY = "spatial_xr"

#: Metres per unit of the UDUNITS-2 length units that OME-NGFF lists.
LENGTH_UNITS: dict[str, float] = {
    "angstrom": 1e-10,
    "attometer": 1e-18,
    "centimeter": 1e-2,
    "decimeter": 1e-1,
    "exameter": 1e18,
    "femtometer": 1e-15,
    "foot": 0.3048,
    "gigameter": 1e9,
    "hectometer": 1e2,
    "inch": 0.0254,
    "kilometer": 1e3,
    "megameter": 1e6,
    "meter": 1.0,
    "micrometer": 1e-6,
    "mile": 1609.344,
    "millimeter": 1e-3,
    "nanometer": 1e-9,
    "parsec": 3.0856775814913673e16,
    "petameter": 1e15,
    "picometer": 1e-12,
    "terameter": 1e12,
    "yard": 0.9144,
    "yoctometer": 1e-24,
    "yottameter": 1e24,
    "zeptometer": 1e-21,
    "zettameter": 1e21,
}
_UNIT_ALIASES = {"mm": "millimeter", "um": "micrometer", "µm": "micrometer", "nm": "nanometer",
                 "m": "meter", "cm": "centimeter", "micron": "micrometer"}

# RFC-4 labels of the LPS world: (positive, negative) per world axis x, y, z.
LPS_LABELS = (
    ("right-to-left", "left-to-right"),
    ("anterior-to-posterior", "posterior-to-anterior"),
    ("inferior-to-superior", "superior-to-inferior"),
)


@dataclass(frozen=True)
class AxisMeta:
    """One entry of ``multiscales[i].axes``."""

    name: str
    type: str | None = None
    unit: str | None = None
    orientation: str | None = None


@dataclass(frozen=True)
class LevelMeta:
    """One dataset (scale level): its path and per-axis scale and translation."""

    path: str
    scale: tuple[float, ...]
    translation: tuple[float, ...]


@dataclass(frozen=True)
class MultiscaleMeta:
    """Parsed ``multiscales`` entry plus the ``spatial_xr`` geometry, if present."""

    version: str
    axes: tuple[AxisMeta, ...]
    levels: tuple[LevelMeta, ...]
    name: str | None = None
    direction_zyx: NDArray[np.float64] | None = None
    geometry_source: str = "identity"
    extra: dict[str, Any] = field(default_factory=dict)
    translation_frame: str = "world"
    coordinate_system: str | None = None
    coordinate_systems: tuple[str, ...] = ()
    intrinsic_system: str | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        """Axis names in array order (``t``, ``c``, ``z``, ``y``, ``x`` subset)."""
        return tuple(a.name for a in self.axes)

    @property
    def spatial_dims(self) -> tuple[str, ...]:
        """Names of the space axes in array order."""
        return tuple(a.name for a in self.axes if a.name in SPATIAL)


def unit_factor(unit: str | None, target: str) -> float:
    """Multiplier converting a length in ``unit`` into ``target`` (both UDUNITS-2 names).

    Raises
    ------
    UnitError
        If either name is not a known length unit.
    """
    src = _UNIT_ALIASES.get(unit, unit) if unit else "millimeter"
    dst = _UNIT_ALIASES.get(target, target)
    if src not in LENGTH_UNITS or dst not in LENGTH_UNITS:
        bad = src if src not in LENGTH_UNITS else dst
        raise UnitError(
            f"cannot convert lengths from {src!r} to {dst!r}: {bad!r} is not a UDUNITS-2 "
            f"length unit OME-NGFF knows; use one of {sorted(LENGTH_UNITS)}"
        )
    return LENGTH_UNITS[src] / LENGTH_UNITS[dst]


def canonical_unit(unit: str | None) -> str | None:
    """The UDUNITS-2 name of a unit, mapping short forms such as ``"mm"``."""
    if unit is None:
        return None
    return _UNIT_ALIASES.get(unit, unit)


# ---------------------------------------------------------------------- orientation labels
def orientations_from_direction(direction_zyx: NDArray[np.float64]) -> dict[str, str] | None:
    """RFC-4 labels of the space axes by name, or ``None`` if D is not a signed permutation.

    Parameters
    ----------
    direction_zyx : ndarray, shape (n, n)
        Direction in zyx order (rows world z, y, x; columns array axes z, y, x).
    """
    d = np.flip(np.asarray(direction_zyx, np.float64))  # xyz order
    n = d.shape[0]
    if not np.allclose(np.abs(d).max(axis=0), 1.0, atol=0, rtol=0):
        return None
    names = ("x", "y", "z")[:n]
    out: dict[str, str] = {}
    for col, name in enumerate(names):
        world = int(np.argmax(np.abs(d[:, col])))
        out[name] = LPS_LABELS[world][0 if d[world, col] > 0 else 1]
    return out


def direction_from_orientations(
    labels: Mapping[str, str | None], spatial: Sequence[str]
) -> NDArray[np.float64] | None:
    """Direction (zyx order) from RFC-4 labels of every space axis, or ``None``.

    ``None`` means the labels are absent, incomplete or not a set of LPS-compatible
    anatomical directions that form a signed permutation (the caller uses the identity).
    """
    n = len(spatial)
    names = ("x", "y", "z")[:n]
    if set(spatial) != set(names) or any(labels.get(a) is None for a in names):
        return None
    d = np.zeros((n, n))
    for col, name in enumerate(names):
        label = labels[name]
        found = [
            (w, s) for w, pair in enumerate(LPS_LABELS[:n]) for s, lab in zip((1.0, -1.0), pair,
                                                                               strict=True)
            if lab == label
        ]
        if not found:
            return None
        w, s = found[0]
        d[w, col] = s
    if not np.allclose(np.abs(d).sum(axis=1), 1.0):
        return None
    return np.flip(d)


# ---------------------------------------------------------------------- parsing
def parse_axis(raw: Any, version: str) -> AxisMeta:
    if isinstance(raw, str):  # 0.3 style
        name = raw
        kind = {"t": "time", "c": "channel"}.get(name, "space" if name in SPATIAL else None)
        return AxisMeta(name=name, type=kind)
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise FormatError(f"OME-NGFF {version} axis entries need a 'name'; got {raw!r}")
    for key in ("name", "type", "unit"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise FormatError(
                f"OME-NGFF {version} axis {key!r} must be a string; got {raw!r}"
            )
    orientation = raw.get("orientation")
    label = None
    if isinstance(orientation, Mapping) and orientation.get("type", "anatomical") == "anatomical":
        label = orientation.get("value")
        label = label if isinstance(label, str) else None
    return AxisMeta(
        name=str(raw["name"]),
        type=raw.get("type"),
        unit=canonical_unit(raw.get("unit")),
        orientation=label,
    )


def rename_axes(axes: list[AxisMeta]) -> list[AxisMeta]:
    """Map time/channel axes with other names onto ``t``/``c``; check space names."""
    out = []
    for a in axes:
        name = a.name
        if a.type == "time" and name not in ("t",):
            name = "t"
        elif a.type == "channel" and name != "c":
            name = "c"
        elif a.type == "space" and name not in SPATIAL:
            raise FormatError(
                f"space axis {a.name!r} is not one of 'z', 'y', 'x'; spatial_xr maps space "
                "axes by name. Rename the axis in the store's multiscales metadata."
            )
        elif a.type not in ("time", "channel", "space") and name not in CANONICAL_ORDER:
            raise FormatError(
                f"axis {a.name!r} of type {a.type!r} has no spatial_xr dim; only t, c, z, y, x "
                "axes are supported"
            )
        out.append(AxisMeta(name, a.type, a.unit, a.orientation))
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise FormatError(f"axis names repeat after mapping onto t/c/z/y/x: {names}")
    if "x" not in names or "y" not in names:
        raise FormatError(f"an image needs space axes 'y' and 'x'; the store has axes {names}")
    return out


def _transforms(raw: Any, n: int, where: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    scale = np.ones(n)
    translation = np.zeros(n)
    if raw is None:
        return scale, translation
    if not isinstance(raw, list):
        raise FormatError(f"coordinateTransformations of {where} must be a list, got {raw!r}")
    for t in raw:
        kind = t.get("type") if isinstance(t, Mapping) else None
        if kind == "identity":
            continue
        if kind not in ("scale", "translation"):
            raise FormatError(
                f"unsupported coordinate transformation {t!r} in {where}; OME-NGFF 0.4/0.5 "
                "allow 'scale' and 'translation'"
            )
        if kind not in t:
            raise FormatError(
                f"{kind} transformation in {where} has no inline values ({t!r}); "
                "transformations stored in a separate array are not supported"
            )
        try:
            values = np.asarray(t[kind], dtype=np.float64)
        except (TypeError, ValueError):
            values = np.full(0, np.nan)
        if values.shape != (n,) or not np.all(np.isfinite(values)):
            raise FormatError(
                f"{kind} of {where} must hold {n} finite numbers (one per axis), got {t[kind]!r}"
            )
        if kind == "scale":
            if np.any(values <= 0):
                raise FormatError(f"scale of {where} must be > 0, got {values.tolist()}")
            scale = scale * values
            translation = translation * values
        else:
            translation = translation + values
    return scale, translation


def _entries(raw: Any) -> list[Any]:
    """The ``multiscales`` value: a list of objects."""
    if not isinstance(raw, list) or not all(isinstance(m, Mapping) for m in raw):
        raise FormatError(
            f"'multiscales' must be a list of objects (one per multiscale image), got "
            f"{str(raw)[:200]}; the store's OME-NGFF metadata is malformed"
        )
    return raw


def _find_multiscales(attrs: Mapping[str, Any]) -> tuple[str, list[Any]]:
    ome = attrs.get("ome")
    if isinstance(ome, Mapping) and "multiscales" in ome:
        version = str(ome.get("version", "0.5"))
        return version, _entries(ome["multiscales"])
    if "multiscales" in attrs:
        ms = _entries(attrs["multiscales"])
        version = str(ms[0].get("version", "0.4")) if ms and isinstance(ms[0], Mapping) else "0.4"
        return version, ms
    raise FormatError(
        "this Zarr group has no OME-NGFF 'multiscales' metadata (neither attrs['ome'] nor "
        "attrs['multiscales']); open a multiscale image group, e.g. the root of an .ome.zarr"
    )


def geometry_attr(
    attrs: Mapping[str, Any], spatial: tuple[str, ...]
) -> NDArray[np.float64] | None:
    raw = attrs.get(GEOMETRY_KEY)
    if not isinstance(raw, Mapping) or "direction_zyx" not in raw:
        return None
    try:
        d = np.asarray(raw["direction_zyx"], dtype=np.float64)
    except (TypeError, ValueError):
        d = None
    n = len(spatial)
    if d is None or d.shape != (n, n) or raw.get("world", "LPS") != "LPS":
        warnings.warn(
            f"ignoring the '{GEOMETRY_KEY}' group attribute: it does not describe an LPS "
            f"direction for the {n} space axes {spatial}; using orientation labels or the "
            "identity instead",
            SpatialXRWarning,
            stacklevel=4,
        )
        return None
    err = np.abs(d.T @ d - np.eye(n)).max() if np.all(np.isfinite(d)) else np.inf
    if err > 1e-6:
        raise GeometryError(
            f"the '{GEOMETRY_KEY}' group attribute holds a direction_zyx that is not "
            f"orthonormal (max |DᵀD − I| = {err:.3g}): {d.tolist()}; the store's geometry "
            f"metadata is corrupt — fix or delete attrs['{GEOMETRY_KEY}']"
        )
    return d


def parse_attrs(
    attrs: Mapping[str, Any], multiscale: int = 0, *, coordinate_system: str | None = None,
    load: Callable[[str], NDArray[np.float64]] | None = None,
) -> MultiscaleMeta:
    """Parse a group's attributes (OME-NGFF 0.1–0.6) into a :class:`MultiscaleMeta`.

    Parameters
    ----------
    attrs : mapping
        The group attributes (``.zattrs`` of Zarr v2, ``attributes`` of ``zarr.json``).
    multiscale : int
        Which entry of ``multiscales`` to use.
    coordinate_system : str, optional
        OME-Zarr 0.6: the named coordinate system to read the geometry in (see
        :mod:`spatial_xr.io.omezarr.systems`); default the one matching the LPS world.
    load : callable, optional
        OME-Zarr 0.6: reads transformation parameters stored in arrays.

    Raises
    ------
    FormatError
        Missing or malformed metadata.
    UnknownCoordinateSystemError
        ``coordinate_system`` is not in the store (or the store is older than 0.6).
    """
    from spatial_xr.io.omezarr import systems

    version, entries = _find_multiscales(attrs)
    if version not in SUPPORTED_VERSIONS and not systems.is_v06(version):
        raise FormatError(
            f"OME-NGFF version {version!r} is not supported; spatial_xr reads "
            f"{', '.join(SUPPORTED_VERSIONS)} and 0.6"
        )
    if not entries:
        raise FormatError("the 'multiscales' list is empty")
    if not 0 <= multiscale < len(entries):
        raise FormatError(
            f"multiscale={multiscale} is out of range; the group has {len(entries)} multiscales"
        )
    ms = entries[multiscale]
    if systems.is_v06(version) and ("coordinateSystems" in ms or "axes" not in ms):
        return systems.parse_multiscale_v06(attrs, ms, version,
                                            coordinate_system=coordinate_system, load=load)
    if coordinate_system is not None:  # (a 0.6 entry with 0.5-style 'axes' is read as 0.5)
        raise UnknownCoordinateSystemError(
            f"coordinate_system={coordinate_system!r}: this store is OME-NGFF {version}, which "
            "has no named coordinate systems (they came with 0.6, RFC-5); drop the argument"
        )
    raw_axes = ms.get("axes")
    datasets = ms.get("datasets")
    if not datasets:
        raise FormatError("multiscales entry has no 'datasets'")
    if raw_axes is None:  # 0.1/0.2: always 5-D tczyx
        raw_axes = list(CANONICAL_ORDER)
    if not isinstance(raw_axes, list):
        raise FormatError(f"'axes' must be a list (one entry per array dim), got {raw_axes!r}")
    if not isinstance(datasets, list):
        raise FormatError(f"'datasets' must be a list of objects, got {str(datasets)[:200]}")
    axes = rename_axes([parse_axis(a, version) for a in raw_axes])
    n = len(axes)
    gscale, gtrans = _transforms(ms.get("coordinateTransformations"), n, "the multiscale")
    levels = []
    for i, ds in enumerate(datasets):
        if not isinstance(ds, Mapping) or "path" not in ds:
            raise FormatError(f"dataset {i} has no 'path': {ds!r}")
        s, t = _transforms(ds.get("coordinateTransformations"), n, f"dataset {ds['path']!r}")
        levels.append(
            LevelMeta(
                path=str(ds["path"]),
                scale=tuple((s * gscale).tolist()),
                translation=tuple((t * gscale + gtrans).tolist()),
            )
        )
    spatial = tuple(a.name for a in axes if a.name in SPATIAL)
    direction = geometry_attr(attrs, spatial)
    source = "spatial_xr"
    frame = "world"
    if direction is not None:
        frame = attrs[GEOMETRY_KEY].get("translation_frame", "world")
        if frame not in ("world", "image"):
            raise FormatError(
                f"the '{GEOMETRY_KEY}' group attribute has translation_frame {frame!r}, not "
                f"'world' or 'image'; the store's geometry metadata is corrupt — fix or "
                f"delete attrs['{GEOMETRY_KEY}']"
            )
    if direction is None:
        labels = {a.name: a.orientation for a in axes if a.name in SPATIAL}
        direction = direction_from_orientations(labels, spatial)
        source = "orientation"
        if direction is None:
            source = "identity"
            if any(v is not None for v in labels.values()):
                warnings.warn(
                    f"the orientation labels {labels} do not give an LPS direction for every "
                    "space axis; using the identity direction",
                    SpatialXRWarning,
                    stacklevel=3,
                )
    return MultiscaleMeta(
        version=version,
        axes=tuple(axes),
        levels=tuple(levels),
        name=ms.get("name"),
        direction_zyx=direction,
        geometry_source=source,
        translation_frame=frame,
    )


def level_grid(
    meta: MultiscaleMeta, index: int, shape: Sequence[int], units: str | None = None
) -> Grid:
    """The Grid of level ``index`` whose array has ``shape`` (in ``meta.dims`` order).

    Spacing is ``scale``, origin is ``translation`` (matched by axis name; ``D·translation``
    when ``meta.translation_frame`` is ``"image"``), direction from ``meta.direction_zyx``
    (identity if ``None``). With ``units`` given, spacing and origin are converted from
    each axis's unit into ``units``.
    """
    level = meta.levels[index]
    by_name = {a.name: i for i, a in enumerate(meta.axes)}
    n = len(meta.spatial_dims)
    names = ("x", "y", "z")[:n]
    factors = [
        1.0 if units is None else unit_factor(meta.axes[by_name[a]].unit, units) for a in names
    ]
    direction = None if meta.direction_zyx is None else np.flip(meta.direction_zyx)
    first = [level.translation[by_name[a]] * f for a, f in zip(names, factors, strict=True)]
    if meta.translation_frame == "image" and direction is not None:
        first = list(direction @ np.asarray(first, np.float64))
    return Grid(
        shape_xyz=tuple(int(shape[by_name[a]]) for a in names),
        spacing_xyz=[level.scale[by_name[a]] * f for a, f in zip(names, factors, strict=True)],
        origin_xyz=first,
        direction_xyz=direction,
    )


# ---------------------------------------------------------------------- writing
def _num(v: float) -> float | int:
    """JSON number: integral floats stay floats (exact repr round trip)."""
    f = float(v)
    if not math.isfinite(f):
        raise FormatError(f"cannot write the non-finite number {v!r} to OME-NGFF metadata")
    return f


def build_attrs(
    *,
    version: str,
    dims: Sequence[str],
    units: Mapping[str, str | None],
    levels: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]],
    direction_zyx: NDArray[np.float64],
    name: str | None = None,
    translation_frame: str = "world",
) -> dict[str, Any]:
    """Group attributes of a multiscale image for OME-NGFF ``version``.

    Parameters
    ----------
    version : {"0.4", "0.5", "0.6"}
        0.6 writes RFC-5 coordinate systems (see :mod:`spatial_xr.io.omezarr.systems`):
        ``intrinsic`` and ``world``, the direction as an ``affine`` between them.
    dims : sequence of str
        Axis names in array order (subset of ``t, c, z, y, x``, canonical order).
    units : mapping
        UDUNITS-2 unit by dim name (``None`` for no unit; ignored for ``c``).
    levels : sequence of (path, scale by dim, translation by dim)
        One entry per level, finest first.
    direction_zyx : ndarray, shape (n, n)
        Direction of the space axes in zyx order.
    name : str, optional
        Name of the multiscale image.
    translation_frame : {"world", "image"}
        What the levels' translations are: world positions of voxel 0 (DESIGN §4), or
        image-frame coordinates ``Dᵀ·origin`` (NIfTI-Zarr; no orientation labels then).

    Returns
    -------
    dict
        JSON-serialisable attributes: ``{"ome": {...}, "spatial_xr": {...}}`` for 0.5 and
        0.6, ``{"multiscales": [...], "spatial_xr": {...}}`` for 0.4.
    """
    if version not in ("0.4", "0.5", "0.6"):
        raise FormatError(f"version must be '0.4', '0.5' or '0.6', got {version!r}")
    if version == "0.6" and translation_frame != "world":
        raise FormatError("OME-Zarr 0.6 metadata is written with world translations only")
    if translation_frame not in ("world", "image"):
        raise FormatError(
            f"translation_frame must be 'world' or 'image', got {translation_frame!r}"
        )
    image_frame = translation_frame == "image"
    labels = None if image_frame else orientations_from_direction(direction_zyx)
    axes = []
    for d in dims:
        kind = {"t": "time", "c": "channel"}.get(d, "space")
        entry: dict[str, Any] = {"name": d, "type": kind}
        unit = units.get(d)
        if unit is not None and kind != "channel":
            entry["unit"] = unit
        if labels is not None and d in labels:
            entry["orientation"] = {"type": "anatomical", "value": labels[d]}
        axes.append(entry)
    datasets = [
        {
            "path": path,
            "coordinateTransformations": [
                {"type": "scale", "scale": [_num(scale[d]) for d in dims]},
                {"type": "translation", "translation": [_num(trans[d]) for d in dims]},
            ],
        }
        for path, scale, trans in levels
    ]
    ms: dict[str, Any] = {"axes": axes, "datasets": datasets, "name": name or "image"}
    spatial = [d for d in dims if d in SPATIAL]
    origin = np.asarray([levels[0][2][a] for a in ("x", "y", "z") if a in spatial], np.float64)
    if image_frame:
        origin = np.flip(np.asarray(direction_zyx, np.float64)) @ origin
    geometry: dict[str, Any] = {
        "version": 1,
        "world": "LPS",
        "spatial_dims_zyx": [d for d in SPATIAL if d in spatial],
        "direction_zyx": np.asarray(direction_zyx, np.float64).tolist(),
        "origin_xyz": [_num(v) for v in origin],
    }
    if image_frame:
        geometry["translation_frame"] = "image"
    if version == "0.6":
        from spatial_xr.io.omezarr.systems import WRITE_VERSION, build_multiscale_v06

        ms, extra = build_multiscale_v06(dims=dims, axes=axes, levels=levels,
                                         direction_zyx=direction_zyx, name=ms["name"])
        return {"ome": {"version": WRITE_VERSION, "multiscales": [ms]},
                GEOMETRY_KEY: {**geometry, **extra}}
    if version == "0.5":
        return {"ome": {"version": "0.5", "multiscales": [ms]}, GEOMETRY_KEY: geometry}
    ms = {"version": "0.4", **ms}
    return {"multiscales": [ms], GEOMETRY_KEY: geometry}
