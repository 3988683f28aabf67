"""From a NRRD header to spatial_xr's dims and geometry: which axes are ``x, y, z``, ``c``
and ``t``, and the :class:`~spatial_xr.geometry.Grid` in LPS millimetres.

**Axes.** With ``space directions``, an axis with a vector is spatial and an axis with
``none`` is non-spatial: ``t`` when its kind is ``time``, else ``c`` (``vector``,
``RGB-color``, ``RGBA-color``, ``list``, ``complex``, ``covariant-vector``, …). In a space
with time (``…-time`` spaces, or ``space dimension: 4``, which SimpleITK writes for 4-D
images) an axis whose vector has only a time component is ``t``. Without a space the
kinds decide (``domain``/``space`` or no kind: spatial; ``time``: ``t``; other kinds:
``c``), and a fourth unlabelled axis is ``t``. Spatial axes are named ``x, y, z`` in NRRD
axis order (fastest first).

**World.** ``space`` names the frame of ``space directions`` and ``space origin``; they are
converted to LPS as ITK does: ``right-anterior-superior`` negates x and y,
``left-anterior-superior`` negates y; ``left-posterior-superior``, ``scanner-xyz``,
``3D-right-handed`` and ``3D-left-handed`` are taken as LPS unchanged (ITK's reading: the
scanner and 3-D frames have no anatomical labels, so their x, y, z are used as L, P, S).
The time variants convert their three spatial components the same way (ITK leaves them
unconverted). ``measurement frame`` vectors are converted alike.

**Spacing** is the length of each direction vector (non-unit vectors are fine); the
direction is the normalised vectors, which must be at right angles (a shear raises
:class:`~spatial_xr.errors.GeometryError` naming the angle). Without a space, ``spacings``
(or ``axis mins``/``axis maxs``) give the spacing and ``axis mins`` the origin, shifted by
half a voxel for cell-centred axes (NRRD's default centring, as ITK reads it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spatial_xr.errors import DimensionError, FormatError, GeometryError
from spatial_xr.geometry import Grid, decompose_affine
from spatial_xr.io.nrrd.header import NrrdHeader

__all__ = ["LPS_FLIPS", "SPACE_UNITS", "TIME_UNITS", "NrrdLayout", "nrrd_layout",
           "udunits_name"]

LPS_FLIPS = {
    "right-anterior-superior": (-1.0, -1.0, 1.0),
    "left-anterior-superior": (1.0, -1.0, 1.0),
}
"""Sign of each world axis to convert a space to LPS (spaces not listed: unchanged)."""

SPACE_UNITS = {"mm": "millimeter", "millimeter": "millimeter", "millimeters": "millimeter",
               "um": "micrometer", "µm": "micrometer", "micron": "micrometer",
               "microns": "micrometer", "micrometer": "micrometer", "nm": "nanometer",
               "nanometer": "nanometer", "cm": "centimeter", "centimeter": "centimeter",
               "m": "meter", "meter": "meter"}
"""NRRD unit strings → UDUNITS-2 names of the spatial coords' ``units``."""
TIME_UNITS = {"s": "second", "sec": "second", "second": "second", "seconds": "second",
              "ms": "millisecond", "msec": "millisecond", "millisecond": "millisecond",
              "us": "microsecond", "usec": "microsecond", "microsecond": "microsecond",
              "min": "minute", "minute": "minute", "h": "hour", "hour": "hour"}
"""NRRD unit strings → UDUNITS-2 names of the ``t`` coord's ``units``."""

_NON_SPATIAL_OK = ("c", "t")


def udunits_name(unit: str, table: dict[str, str]) -> str | None:
    """The UDUNITS-2 name of a NRRD unit string, the string itself when unknown, None
    when empty."""
    unit = unit.strip()
    if not unit or unit in ("???", "none"):
        return None
    return table.get(unit.lower(), unit)


@dataclass(frozen=True)
class NrrdLayout:
    """Where a NRRD's axes go and its geometry.

    Attributes
    ----------
    names : tuple of str
        Dim name per NRRD axis (fastest first): ``x``, ``y``, ``z``, ``c`` or ``t``.
    grid : Grid
        2-D or 3-D; 3-D with one slice when a 2-D image lies in a 3-D space.
    add_z : bool
        The image has two spatial axes in a 3-D space: a ``z`` dim of length 1 is added.
    units : str
        UDUNITS-2 name of the spatial unit.
    t_coord : ndarray or None
        Time coordinate (length of ``t``) when the header gives one.
    t_units : str or None
    kinds : dict
        NRRD kind of the ``c`` and ``t`` axes, by dim name.
    measurement_frame : list of list of float or None
        The measurement frame vectors in LPS.
    """

    names: tuple[str, ...]
    grid: Grid
    add_z: bool = False
    units: str = "millimeter"
    t_coord: np.ndarray | None = None
    t_units: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    measurement_frame: list[list[float]] | None = None


def _kind(hdr: NrrdHeader, axis: int) -> str | None:
    if hdr.kinds is None:
        return None
    k = hdr.kinds[axis]
    return None if k.lower() in ("???", "none", "unknown") else k


def _roles(hdr: NrrdHeader) -> list[str]:
    """``"s"`` (spatial), ``"c"`` or ``"t"`` per NRRD axis."""
    roles: list[str] = []
    dirs = hdr.space_directions
    for a in range(hdr.dimension):
        kind = (_kind(hdr, a) or "").lower()
        if dirs is not None:
            vec = dirs[a]
            if vec is None:
                roles.append("t" if kind == "time" else "c")
            elif hdr.space_dimension == 4 and all(v == 0 for v in vec[:3]) and vec[3] != 0:
                roles.append("t")
            else:
                roles.append("s")
        elif kind == "time":
            roles.append("t")
        elif kind in ("", "domain", "space"):
            roles.append("s")
        else:
            roles.append("c")
    if dirs is None and hdr.kinds is None and roles.count("s") == 4:
        roles[-1] = "t"  # a 4-D image without kinds: its slowest axis is time
    return roles


def nrrd_layout(hdr: NrrdHeader) -> NrrdLayout:
    """Dims and geometry of a NRRD image.

    Parameters
    ----------
    hdr : NrrdHeader

    Returns
    -------
    NrrdLayout

    Raises
    ------
    DimensionError
        Not 2 or 3 spatial axes, or more than one ``c`` or ``t`` axis.
    GeometryError
        Non-finite, zero, singular or sheared directions or spacings.
    """
    path = hdr.path
    roles = _roles(hdr)
    spatial = [a for a, r in enumerate(roles) if r == "s"]
    for name in _NON_SPATIAL_OK:
        axes = [a for a, r in enumerate(roles) if r == name]
        if len(axes) > 1:
            axis_kinds = [_kind(hdr, a) for a in axes]
            raise DimensionError(
                f"{path!r} has {len(axes)} non-spatial axes that map to {name!r} (NRRD axes "
                f"{axes}, kinds {axis_kinds}); spatial_xr images have at most one 'c' and one "
                "'t' dim — split the file per component first"
            )
    if len(spatial) not in (2, 3):
        raise DimensionError(
            f"{path!r} has {len(spatial)} spatial axes (NRRD axes {spatial}, kinds "
            f"{list(hdr.kinds) if hdr.kinds else 'not given'}); spatial_xr reads images with "
            "2 or 3 spatial axes plus optional 'c' and 't' axes"
        )
    names = list(roles)
    for a, name in zip(spatial, "xyz", strict=False):
        names[a] = name
    if hdr.space_directions is not None:
        grid, add_z = _grid_from_directions(hdr, spatial)
    else:
        grid, add_z = _grid_from_axes(hdr, spatial)
    units = _spatial_units(hdr, spatial)
    t_coord, t_units = _time(hdr, roles)
    kinds = {r: k for a, r in enumerate(roles) if r in ("c", "t")
             if (k := _kind(hdr, a)) is not None}
    frame = None
    if hdr.measurement_frame is not None:
        flips = _flips(hdr)
        frame = [[float(v * f) for v, f in zip(vec, (*flips, 1.0), strict=False)]
                 for vec in hdr.measurement_frame]
    return NrrdLayout(tuple(names), grid, add_z, units, t_coord, t_units, kinds, frame)


def _flips(hdr: NrrdHeader) -> tuple[float, ...]:
    space = (hdr.space or "").removesuffix("-time")
    return LPS_FLIPS.get(space, (1.0, 1.0, 1.0))


def _space3(hdr: NrrdHeader) -> int:
    """Dimensions of the spatial part of the space (time excluded)."""
    sd = hdr.space_dimension
    return 3 if sd == 4 else sd


def _grid_from_directions(hdr: NrrdHeader, spatial: list[int]) -> tuple[Grid, bool]:
    path = hdr.path
    assert hdr.space_directions is not None
    k = _space3(hdr)
    if k not in (2, 3):
        raise DimensionError(
            f"{path!r} has a {hdr.space_dimension}-D space; spatial_xr places images in 2-D "
            "or 3-D space (or 3-D space plus time)"
        )
    vecs = []
    for a in spatial:
        vec = np.asarray(hdr.space_directions[a], np.float64)
        if not np.all(np.isfinite(vec)):
            raise GeometryError(
                f"{path!r}: the space direction of NRRD axis {a} is {tuple(vec.tolist())}, "
                "which is not finite (NaN means unknown); every spatial axis needs a finite "
                "direction vector whose length is its spacing — fix 'space directions'"
            )
        if hdr.space_dimension == 4 and vec[3] != 0:
            raise GeometryError(
                f"{path!r}: the space direction of NRRD axis {a} {tuple(vec.tolist())} mixes "
                "space and time; spatial_xr needs each axis to be either spatial or time"
            )
        vecs.append(vec[:k])
    m = np.stack(vecs, axis=1)  # k × n, columns = axes
    flips = np.asarray(_flips(hdr)[:k])
    m = m * flips[:, None]
    origin = np.zeros(k)
    if hdr.space_origin is not None:
        origin = np.asarray(hdr.space_origin[:k], np.float64) * flips
        if not np.all(np.isfinite(origin)):
            raise GeometryError(
                f"{path!r}: 'space origin' is {hdr.space_origin}, which is not finite; give "
                "the world position of the first voxel's centre"
            )
    n = m.shape[1]
    spacing = np.linalg.norm(m, axis=0)
    for j, s in enumerate(spacing):
        if s <= 0:
            raise GeometryError(
                f"{path!r}: the space direction of NRRD axis {spatial[j]} is a zero vector "
                "(spacing 0), so the directions are singular; every spatial axis needs a "
                "non-zero direction whose length is its spacing — fix 'space directions'"
            )
    if n > k:
        raise GeometryError(
            f"{path!r}: {n} spatial axes in a {k}-D space: the space directions are "
            "singular (linearly dependent); fix 'space directions' or the space"
        )
    unit = m / spacing
    _check_right_angles(path, unit, spatial)
    add_z = False
    if n < k:  # a 2-D image in 3-D space: one slice, its normal as the z axis
        normal = np.cross(unit[:, 0], unit[:, 1])
        m = np.column_stack([m, normal / np.linalg.norm(normal)])
        add_z = True
    affine = np.eye(k + 1)
    affine[:k, :k] = m
    affine[:k, k] = origin
    try:
        o, s, d = decompose_affine(affine)
    except GeometryError as exc:  # pragma: no cover - _check_right_angles catches these
        raise GeometryError(f"{path!r}: 'space directions': {exc}") from exc
    shape = tuple(hdr.sizes[a] for a in spatial) + ((1,) if add_z else ())
    return Grid(shape, s, o, d), add_z


def _check_right_angles(path: str, unit: np.ndarray, spatial: list[int]) -> None:
    """Raise GeometryError naming singular or sheared pairs of unit direction columns."""
    n = unit.shape[1]
    worst = (0.0, 0, 1)
    for i in range(n):
        for j in range(i + 1, n):
            c = float(np.clip(unit[:, i] @ unit[:, j], -1.0, 1.0))
            if abs(c) > abs(worst[0]):
                worst = (c, i, j)
    c, i, j = worst
    if abs(c) > 1 - 1e-9:
        raise GeometryError(
            f"{path!r}: the space directions of NRRD axes {spatial[i]} and {spatial[j]} are "
            "parallel, so the direction matrix is singular; fix 'space directions'"
        )
    if abs(c) > 1e-4:
        angle = math.degrees(math.acos(c))
        raise GeometryError(
            f"{path!r}: the space directions of NRRD axes {spatial[i]} and {spatial[j]} meet "
            f"at {angle:.4g}° instead of 90° (a shear of {abs(90 - angle):.4g}°); spatial_xr "
            "grids have no shear — resample the image onto an orthogonal grid first"
        )


def _grid_from_axes(hdr: NrrdHeader, spatial: list[int]) -> tuple[Grid, bool]:
    """Geometry from per-axis spacings and axis mins (no space directions)."""
    path = hdr.path
    spacing, origin = [], []
    flips = np.asarray(_flips(hdr))
    for a in spatial:
        size = hdr.sizes[a]
        centre = (hdr.centers[a].lower() if hdr.centers else "cell")
        cell = centre != "node"
        lo = hdr.axis_mins[a] if hdr.axis_mins else math.nan
        hi = hdr.axis_maxs[a] if hdr.axis_maxs else math.nan
        if hdr.spacings is not None:
            s = hdr.spacings[a]
            what = f"'spacings' gives NRRD axis {a} the spacing {s}"
        elif math.isfinite(lo) and math.isfinite(hi):
            s = (hi - lo) / (size if cell else max(size - 1, 1))
            what = f"'axis mins'/'axis maxs' give NRRD axis {a} the spacing {s}"
        else:
            s, what = 1.0, ""
        if not math.isfinite(s) or s == 0:
            raise GeometryError(
                f"{path!r}: {what}; a spatial axis needs a finite, non-zero spacing — fix "
                "the header"
            )
        spacing.append(s)
        origin.append((lo + s / 2 if cell else lo) if math.isfinite(lo) else 0.0)
    sp = np.asarray(spacing)
    direction = np.diag(np.sign(sp))
    n = len(spatial)
    if hdr.space_dimension in (2, 3) and n == hdr.space_dimension:
        direction = np.diag(flips[:n]) @ direction
        origin = list(np.asarray(origin) * flips[:n])
    return Grid(tuple(hdr.sizes[a] for a in spatial), np.abs(sp), origin, direction), False


def _spatial_units(hdr: NrrdHeader, spatial: list[int]) -> str:
    if hdr.space_units is not None:
        names = [udunits_name(u, SPACE_UNITS) for u in hdr.space_units[:3]]
        where = "'space units'"
    elif hdr.units is not None:
        names = [udunits_name(hdr.units[a], SPACE_UNITS) for a in spatial]
        where = "'units'"
    else:
        return "millimeter"
    given = {n for n in names if n is not None}
    if len(given) > 1:
        raise FormatError(
            f"{hdr.path!r}: {where} gives the spatial axes different units {sorted(given)}; "
            "spatial_xr needs one spatial unit — fix the header"
        )
    return given.pop() if given else "millimeter"


def _time(hdr: NrrdHeader, roles: list[str]) -> tuple[np.ndarray | None, str | None]:
    if "t" not in roles:
        return None, None
    a = roles.index("t")
    n = hdr.sizes[a]
    direction = hdr.space_directions[a] if hdr.space_directions is not None else None
    if direction is not None:  # time as the 4th world axis
        dt = float(direction[3])
        t0 = float(hdr.space_origin[3]) if hdr.space_origin is not None else 0.0
        unit = hdr.space_units[3] if hdr.space_units is not None else ""
    else:
        dt = hdr.spacings[a] if hdr.spacings is not None else math.nan
        lo = hdr.axis_mins[a] if hdr.axis_mins is not None else math.nan
        if not math.isfinite(dt):
            return None, None
        t0 = lo if math.isfinite(lo) else 0.0
        unit = hdr.units[a] if hdr.units is not None else ""
    if not (math.isfinite(dt) and math.isfinite(t0)):
        return None, None
    return t0 + dt * np.arange(n, dtype=np.float64), udunits_name(unit, TIME_UNITS)

