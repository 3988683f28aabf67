"""The plan of a multiscale pyramid: method, chunks, per-level factors and level grids.

Geometry first (DESIGN §3): before any pixel is touched, :func:`plan_pyramid` checks the
options and fixes every level, as a :class:`PyramidPlan`. :func:`spatial_xr.ops.pyramid.pyramid`
and the OME-Zarr writer both build their levels from one plan, so the levels' coordinates
and the written ``scale``/``translation`` come from the same :class:`~spatial_xr.geometry.Grid`
values. Level ``k``'s grid is level 0's zoomed out by the product of the factors so far
(:meth:`~spatial_xr.geometry.Grid.zoom_out`), so its spacing is level 0's times an integer,
exactly, and never below a finer level's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import DimensionError, UnsupportedOptionError
from spatial_xr.geometry import Grid
from spatial_xr.labels.segments import is_label

__all__ = [
    "ANISOTROPY_RATIO",
    "LABEL_SAFE_METHODS",
    "PYRAMID_METHODS",
    "Factors",
    "PyramidPlan",
    "check_pyramid_method",
    "default_chunk",
    "default_factors",
    "level_chunks",
    "plan_pyramid",
]

PYRAMID_METHODS = ("mean", "gaussian", "mode", "nearest")
"""Downsampling methods of a pyramid level (see :mod:`spatial_xr.ops.pyramid`)."""
LABEL_SAFE_METHODS = ("mode", "nearest")
"""The pyramid methods that only ever output values found in the input (label-safe)."""
ANISOTROPY_RATIO = 1.5
"""An axis is halved only while its spacing is at most this multiple of the finest."""

Factors = int | Mapping[Hashable, int] | Sequence[int | Mapping[Hashable, int]] | None
"""Per-level factors as :func:`plan_pyramid` takes them."""


def default_chunk(n_spatial: int) -> int:
    """Default chunk edge (voxels) of a pyramid level: 128 for 3-D, 256 for 2-D."""
    return 128 if n_spatial == 3 else 256


def level_chunks(chunks: Any, da: xr.DataArray) -> dict[str, int]:
    """Chunk edge per dim of a pyramid level.

    Parameters
    ----------
    chunks : int, mapping dim → int or None
        One edge for every spatial dim, or edges by dim name (spatial dims left out get the
        default; ``t``/``c`` only when named); ``None``: :func:`default_chunk` for every
        spatial dim.
    da : xarray.DataArray
        The image (its dims are checked against a mapping).

    Returns
    -------
    dict
        dim name → chunk edge (voxels); every spatial dim is present.

    Raises
    ------
    UnsupportedOptionError
        An edge below 1 or a value that is neither an int nor a mapping.
    DimensionError
        A mapping names dims the image lacks.
    """
    sdims = spatial_dims(da)
    if chunks is None:
        return dict.fromkeys(sdims, default_chunk(len(sdims)))
    if isinstance(chunks, int | np.integer):
        if chunks < 1:
            raise UnsupportedOptionError(f"chunks must be ≥ 1, got {chunks}")
        return dict.fromkeys(sdims, int(chunks))
    if isinstance(chunks, Mapping):
        unknown = set(chunks) - set(da.dims)
        if unknown:
            raise DimensionError(f"chunks names dims {sorted(unknown)} the image lacks")
        out = {str(d): int(v) for d, v in chunks.items()}
        for d in sdims:
            out.setdefault(d, default_chunk(len(sdims)))
        return out
    raise UnsupportedOptionError(
        f"chunks must be an int or a mapping dim → int, got {chunks!r}"
    )


def check_pyramid_method(method: str | None, label: bool, dtype: np.dtype[Any]) -> str:
    """The downsampling method to use, checked against the image.

    Parameters
    ----------
    method : str or None
        One of :data:`PYRAMID_METHODS`; ``None``: ``"mode"`` for a label image, else
        ``"mean"``.
    label : bool
        Whether the image holds labels (only :data:`LABEL_SAFE_METHODS` allowed).
    dtype : numpy dtype
        The image's dtype (averaging methods need numbers).

    Raises
    ------
    UnsupportedOptionError
        An unknown method, an averaging method on labels or on non-numeric data.
    """
    if method is None:
        return "mode" if label else "mean"
    if method not in PYRAMID_METHODS:
        raise UnsupportedOptionError(
            f"unknown downsampling method {method!r}; choose one of {', '.join(PYRAMID_METHODS)}"
        )
    if label and method not in LABEL_SAFE_METHODS:
        raise UnsupportedOptionError(
            f"method={method!r} would average a label image into values that are no labels; "
            "use method='mode' or 'nearest' (or label=False if it is not a label image: "
            "attrs['kind'] == 'label' marks label images)"
        )
    if method in ("mean", "gaussian") and not (
        np.issubdtype(dtype, np.number) or dtype == np.bool_
    ):
        raise UnsupportedOptionError(f"method={method!r} needs numeric data, got dtype {dtype}")
    return method


def default_factors(
    shape: Mapping[str, int],
    spacing: Mapping[str, float],
    chunk: Mapping[str, int],
    levels: int | None = None,
    factor: int = 2,
) -> list[dict[str, int]]:
    """Per-level factors (each relative to the previous level) for an image.

    An axis is divided by ``factor`` unless its spacing is more than
    :data:`ANISOTROPY_RATIO` times the finest spacing of the level (so anisotropic images
    first become near-isotropic) or it has fewer than ``factor`` voxels. Without
    ``levels``, levels are added until every axis fits in one chunk.

    Parameters
    ----------
    shape, spacing, chunk : mapping spatial dim → value
    levels : int, optional
        Total number of levels including level 0.
    factor : int
        The division factor of an axis that is reduced.

    Returns
    -------
    list of dict
        One mapping dim → factor per level after level 0.
    """
    size = dict(shape)
    sp = {d: float(v) for d, v in spacing.items()}
    out: list[dict[str, int]] = []
    while True:
        if levels is not None:
            if len(out) + 1 >= levels:
                break
        elif all(size[d] <= chunk[d] for d in size):
            break
        finest = min(sp.values())
        f = {
            d: factor if sp[d] <= ANISOTROPY_RATIO * finest and size[d] >= factor else 1
            for d in size
        }
        if all(v == 1 for v in f.values()):
            f = {d: factor if size[d] >= factor else 1 for d in size}
            if all(v == 1 for v in f.values()):
                break
        out.append(f)
        for d in size:
            size[d] //= f[d]
            sp[d] *= f[d]
    return out


def _factors_well_formed(factors: Factors) -> bool:
    def entry(v: Any) -> bool:
        if isinstance(v, Mapping):
            return all(isinstance(f, int | np.integer) for f in v.values())
        return isinstance(v, int | np.integer)

    if factors is None or entry(factors):
        return True
    return (isinstance(factors, Sequence | np.ndarray) and not isinstance(factors, str)
            and all(entry(v) for v in factors))


def _level_factors(
    grid: Grid, sdims: tuple[str, ...], levels: int | None, factors: Factors,
    chunk: Mapping[str, int],
) -> list[dict[str, int]]:
    """Per-level factors (relative to the previous level) from the user's options."""
    if levels is not None and (not isinstance(levels, int | np.integer) or levels < 1):
        raise UnsupportedOptionError(f"levels must be ≥ 1 (an int), got {levels!r}")
    if not _factors_well_formed(factors):
        raise UnsupportedOptionError(
            f"factors must be an int, a mapping dim → int, or a sequence of them (one per "
            f"level after the first); got {factors!r}"
        )
    shape = dict(zip(grid.axes, grid.shape_xyz, strict=True))
    shape = {d: shape[d] for d in sdims}
    if factors is None or isinstance(factors, int | np.integer):
        spacing = {d: float(s) for d, s in zip(grid.axes, grid.spacing_xyz, strict=True)}
        step = 2 if factors is None else int(factors)
        if step < 2:
            raise UnsupportedOptionError(f"an int factor must be ≥ 2, got {factors}")
        return default_factors(shape, {d: spacing[d] for d in sdims}, chunk, levels, step)
    if isinstance(factors, Mapping):
        out: list[dict[str, int]] = []
        size = dict(shape)
        per = {d: int(factors.get(d, 1)) for d in sdims}
        while (levels is not None and len(out) + 1 < levels) or (
            levels is None and any(size[d] > chunk[d] for d in sdims)
        ):
            if any(size[d] < per[d] for d in sdims) or all(v == 1 for v in per.values()):
                break
            out.append(dict(per))
            size = {d: size[d] // per[d] for d in sdims}
        return out
    seq = list(factors)
    if levels is not None and levels != len(seq) + 1:
        raise UnsupportedOptionError(
            f"levels={levels} disagrees with {len(seq)} factor entries (levels = entries + 1)"
        )
    return [
        dict.fromkeys(sdims, int(v)) if isinstance(v, int | np.integer)
        else {d: int(v.get(d, 1)) for d in sdims}
        for v in seq
    ]


@dataclasses.dataclass(frozen=True)
class PyramidPlan:
    """Everything a pyramid's levels are built from, fixed before any pixel is read.

    Attributes
    ----------
    method : str
        Downsampling method, one of :data:`PYRAMID_METHODS` (checked against the image).
    label : bool
        Whether the image holds labels.
    chunks : dict
        Chunk edge (voxels) by dim name; every spatial dim is present (see
        :func:`level_chunks`).
    factors : tuple of dict
        One mapping spatial dim → integer factor per level after level 0, each relative
        to the previous level.
    grids : tuple of Grid
        The grid of every level, level 0 first: level 0's grid zoomed out by the product
        of the factors so far.

    The dicts are the plan's own copies; treat them as read-only.
    """

    method: str
    label: bool
    chunks: dict[str, int]
    factors: tuple[dict[str, int], ...]
    grids: tuple[Grid, ...]

    @property
    def levels(self) -> int:
        """Number of levels, level 0 included."""
        return len(self.grids)


def plan_pyramid(
    da: xr.DataArray,
    levels: int | None = None,
    factors: Factors = None,
    chunks: int | Mapping[str, int] | None = None,
    method: str | None = None,
    *,
    label: bool | None = None,
) -> PyramidPlan:
    """Check the options of a pyramid and fix its levels.

    Parameters
    ----------
    da : xarray.DataArray
        Image obeying the geometry contract (only its geometry, dims, dtype and attrs are
        read).
    levels : int, optional
        Total number of levels including level 0. Default: until a level fits in a chunk.
    factors : int, mapping or sequence, optional
        Per-level factor relative to the previous level: an int for every spatial dim, a
        mapping dim → int, or a list with one int/mapping per level after level 0.
        Default: 2, skipping axes much coarser than the finest (anisotropy-aware, see
        :func:`default_factors`).
    chunks : int or mapping dim → int, optional
        Chunk edge of every level per spatial dim; default 128 (3-D) or 256 (2-D).
    method : {"mean", "gaussian", "mode", "nearest"}, optional
        Default ``"mean"``, or ``"mode"`` for label images.
    label : bool, optional
        Whether ``da`` is a label image (default: ``attrs["kind"] == "label"``, see
        :func:`spatial_xr.labels.is_label`).

    Returns
    -------
    PyramidPlan

    Raises
    ------
    UnsupportedOptionError
        Bad levels, factors (below 1, or above the size of the level they divide),
        chunks or method.
    DimensionError
        Chunks named for dims the image lacks.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> from spatial_xr.ops.pyramid_plan import plan_pyramid
    >>> da = spatial_xr.from_array(np.ones((8, 64, 64), "int16"), spacing=(2.5, 1.0, 1.0))
    >>> plan = plan_pyramid(da, levels=3, chunks=32)
    >>> plan.factors
    ({'z': 1, 'y': 2, 'x': 2}, {'z': 2, 'y': 2, 'x': 2})
    >>> [g.spacing_zyx.tolist() for g in plan.grids]
    [[2.5, 1.0, 1.0], [2.5, 2.0, 2.0], [5.0, 4.0, 4.0]]
    """
    label_image = is_label(da) if label is None else bool(label)
    checked = check_pyramid_method(method, label_image, np.dtype(da.dtype))
    chunk = level_chunks(chunks, da)
    sdims = spatial_dims(da)
    grid0 = grid_of(da)
    per_level = _level_factors(grid0, sdims, levels, factors, chunk)
    size = {d: int(da.sizes[d]) for d in sdims}
    total = dict.fromkeys(sdims, 1)
    grids = [grid0]
    for f in per_level:
        for d in sdims:
            if not 1 <= f[d] <= size[d]:
                raise UnsupportedOptionError(
                    f"factor {f[d]} along {d!r} must be between 1 and the size {size[d]}"
                )
            size[d] //= f[d]
            total[d] *= f[d]
        grids.append(grid0.zoom_out([total[a] for a in grid0.axes]))
    return PyramidPlan(
        method=checked,
        label=label_image,
        chunks=dict(chunk),
        factors=tuple(dict(f) for f in per_level),
        grids=tuple(grids),
    )
