"""The immutable :class:`Grid`: a regular sampling of physical space.

A grid is ITK's image geometry without pixels: ``shape``, ``spacing``, ``origin`` and
``direction``, with world point ``P = O + D · diag(S) · I`` in LPS millimetres.

Every per-axis quantity on a :class:`Grid` is stored in index order ``i, j, k`` — the array
axes named ``x``, ``y``, ``z`` — which is ITK's and SimpleITK's order; attribute names carry
the order (``shape_xyz``, ``spacing_zyx``) so that a swap is hard to write. Every operation
returns a new grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.geometry.affine import ORTHONORMAL_TOL, apply_affine, compose_affine, lps_ras_flip
from spatial_xr.geometry.orientation import direction_to_code, reorient_transform

__all__ = ["AXES_XYZ", "Grid"]

AXES_XYZ: dict[int, tuple[str, ...]] = {2: ("x", "y"), 3: ("x", "y", "z")}
"""Names of the index axes of a 2-D and a 3-D grid, in index order."""


def _frozen(values: ArrayLike, dtype: Any = np.float64) -> NDArray[Any]:
    a = np.array(values, dtype=dtype)
    a.setflags(write=False)
    return a


def _floats(values: ArrayLike | None, default: NDArray[np.float64], what: str) -> NDArray[Any]:
    """``values`` as a float64 array (``default`` when None), or a GeometryError naming it."""
    if values is None:
        return default
    try:
        return np.asarray(values, np.float64)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"{what} must be numbers, got {values!r}") from exc


def _vectors(values: ArrayLike, n: int, what: str) -> NDArray[np.float64]:
    """``values`` as a float64 array of shape (..., n), or a ParameterError naming it."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{what} must be numbers, shape (..., {n}); got {values!r}") from exc
    if a.shape[-1:] != (n,):
        raise ParameterError(f"{what} must have shape (..., {n}), got shape {a.shape}")
    return a


class Grid:
    """Geometry of a regular 2-D or 3-D image in LPS world space.

    Parameters
    ----------
    shape_xyz : sequence of int, length n
        Number of voxels along index axes i, j, k (array dims ``x``, ``y``, ``z``).
    spacing_xyz : sequence of float, length n, optional
        Distance (mm) between voxel centres along i, j, k; > 0. Default 1.
    origin_xyz : sequence of float, length n, optional
        World position (LPS mm) of the centre of voxel 0. Default 0.
    direction_xyz : array_like, shape (n, n), optional
        Orthonormal matrix whose column ``a`` is the world (x, y, z) unit vector of index
        axis ``a``. Default identity.

    Raises
    ------
    GeometryError
        If a value is not finite, a spacing is not positive, a size is not a positive
        integer, or the direction is not orthonormal within 1e-6.

    Examples
    --------
    >>> g = Grid(shape_xyz=(4, 5, 6), spacing_xyz=(0.5, 0.5, 2.0))
    >>> g.index_to_world([1, 0, 2]).tolist()
    [0.5, 0.0, 4.0]
    >>> g.orientation
    'LPS'
    """

    __slots__ = ("_direction", "_origin", "_shape", "_spacing")

    _shape: tuple[int, ...]
    _spacing: NDArray[np.float64]
    _origin: NDArray[np.float64]
    _direction: NDArray[np.float64]

    def __init__(
        self,
        shape_xyz: Sequence[int],
        spacing_xyz: ArrayLike | None = None,
        origin_xyz: ArrayLike | None = None,
        direction_xyz: ArrayLike | None = None,
    ) -> None:
        shape = tuple(shape_xyz) if isinstance(shape_xyz, Iterable) else (shape_xyz,)
        n = len(shape)
        if n not in AXES_XYZ:
            raise GeometryError(f"a Grid is 2-D or 3-D; got shape {shape} with {n} axes")
        if not all(isinstance(v, int | np.integer) and v >= 1 for v in shape):
            raise GeometryError(f"shape must hold positive integers, got {shape}")
        spacing = _floats(spacing_xyz, np.ones(n), "spacing")
        origin = _floats(origin_xyz, np.zeros(n), "origin")
        direction = _floats(direction_xyz, np.eye(n), "direction")
        if spacing.shape != (n,):
            raise GeometryError(f"spacing must have {n} values for shape {shape}, got {spacing}")
        if origin.shape != (n,):
            raise GeometryError(f"origin must have {n} values for shape {shape}, got {origin}")
        if direction.shape != (n, n):
            raise GeometryError(
                f"direction must be a {n}x{n} matrix for shape {shape}, got shape "
                f"{direction.shape}"
            )
        if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
            raise GeometryError(
                f"spacing must be finite and > 0, got {spacing.tolist()}; give the voxel size "
                "in mm along each axis"
            )
        if not np.all(np.isfinite(origin)):
            raise GeometryError(f"origin must be finite, got {origin.tolist()}")
        err = np.abs(direction.T @ direction - np.eye(n)).max() if np.all(
            np.isfinite(direction)
        ) else np.inf
        if err > ORTHONORMAL_TOL:
            raise GeometryError(
                f"direction must be orthonormal within {ORTHONORMAL_TOL:g} "
                f"(max |DᵀD − I| = {err:.3g}); got\n{np.array2string(direction, precision=8)}\n"
                "Columns must be unit vectors at right angles; orthonormalise it first "
                "(spatial_xr.geometry.orthonormalize)."
            )
        object.__setattr__(self, "_shape", tuple(int(v) for v in shape))
        object.__setattr__(self, "_spacing", _frozen(spacing))
        object.__setattr__(self, "_origin", _frozen(origin))
        object.__setattr__(self, "_direction", _frozen(direction))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Grid is immutable; use Grid.replace(...) to make a changed copy")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Grid, (self._shape, self._spacing, self._origin, self._direction))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_zyx(
        cls,
        shape_zyx: Sequence[int],
        spacing_zyx: ArrayLike | None = None,
        origin_xyz: ArrayLike | None = None,
        direction_zyx: ArrayLike | None = None,
    ) -> Grid:
        """Build a grid from numpy-ordered (``z, y, x``) per-axis values.

        ``origin_xyz`` is a world point and so stays in x, y, z order; ``direction_zyx`` is
        the matrix stored in ``attrs["direction"]`` (``np.flip`` of the xyz matrix).
        """
        return cls(
            shape_xyz=tuple(shape_zyx)[::-1],
            spacing_xyz=None if spacing_zyx is None else np.asarray(spacing_zyx)[::-1],
            origin_xyz=origin_xyz,
            direction_xyz=None if direction_zyx is None else np.flip(np.asarray(direction_zyx)),
        )

    @classmethod
    def from_image_frame(
        cls,
        shape_xyz: Sequence[int],
        first_xyz: ArrayLike,
        step_xyz: ArrayLike,
        direction_xyz: ArrayLike | None = None,
    ) -> Grid:
        """Build a grid from image-frame coordinates (DESIGN §2.3).

        Parameters
        ----------
        shape_xyz : sequence of int, length n
        first_xyz : array_like, shape (n,)
            Image-frame coordinate of voxel 0 along each axis.
        step_xyz : array_like, shape (n,)
            Signed coordinate step; a negative step (a reversed axis) becomes a positive
            spacing with that direction column negated.
        direction_xyz : array_like, shape (n, n), optional
            The direction ``D`` that maps image-frame coordinates to world points.
        """
        n = len(shape_xyz)
        d = np.eye(n) if direction_xyz is None else np.asarray(direction_xyz, np.float64)
        first = np.asarray(first_xyz, np.float64)
        step = np.asarray(step_xyz, np.float64)
        if np.any(step == 0) or not np.all(np.isfinite(step)):
            raise GeometryError(f"coordinate steps must be finite and non-zero, got {step}")
        origin = d @ first
        return cls(shape_xyz, np.abs(step), origin, d * np.sign(step)[np.newaxis, :])

    def replace(self, **changes: Any) -> Grid:
        """Copy with some of ``shape_xyz``, ``spacing_xyz``, ``origin_xyz``,
        ``direction_xyz`` replaced."""
        kw: dict[str, Any] = {
            "shape_xyz": self._shape,
            "spacing_xyz": self._spacing,
            "origin_xyz": self._origin,
            "direction_xyz": self._direction,
        }
        unknown = set(changes) - set(kw)
        if unknown:
            raise ParameterError(
                f"Grid.replace got unknown fields {sorted(unknown)}; it accepts {sorted(kw)}"
            )
        kw.update(changes)
        return Grid(**kw)

    # ------------------------------------------------------------------ properties
    @property
    def ndim(self) -> int:
        """Number of spatial axes (2 or 3)."""
        return len(self._shape)

    @property
    def axes(self) -> tuple[str, ...]:
        """Array dim names of the index axes, in index order: ``("x", "y", "z")``."""
        return AXES_XYZ[self.ndim]

    @property
    def shape_xyz(self) -> tuple[int, ...]:
        """Voxel counts along i, j, k."""
        return self._shape

    @property
    def shape_zyx(self) -> tuple[int, ...]:
        """Voxel counts in numpy order (``z, y, x``)."""
        return self._shape[::-1]

    @property
    def spacing_xyz(self) -> NDArray[np.float64]:
        """Voxel spacing (mm) along i, j, k, shape (n,)."""
        return self._spacing

    @property
    def spacing_zyx(self) -> NDArray[np.float64]:
        """Voxel spacing (mm) in numpy order, shape (n,)."""
        return self._spacing[::-1]

    @property
    def origin_xyz(self) -> NDArray[np.float64]:
        """World position (LPS mm) of the centre of voxel 0, shape (n,)."""
        return self._origin

    @property
    def direction_xyz(self) -> NDArray[np.float64]:
        """Direction matrix, shape (n, n): column a is the world unit vector of index axis a."""
        return self._direction

    @property
    def direction_zyx(self) -> NDArray[np.float64]:
        """Direction in zyx order (``np.flip(direction_xyz)``), as in ``attrs["direction"]``."""
        return np.flip(self._direction)

    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(np.prod(self._shape))

    @property
    def affine(self) -> NDArray[np.float64]:
        """Homogeneous affine, shape (n+1, n+1): index (i, j, k, 1) → LPS (x, y, z, 1)."""
        return compose_affine(self._origin, self._spacing, self._direction)

    @property
    def affine_ras(self) -> NDArray[np.float64]:
        """Homogeneous affine, shape (n+1, n+1): index (i, j, k, 1) → RAS (as nibabel)."""
        return lps_ras_flip(self.affine)

    @property
    def orientation(self) -> str:
        """Orientation code (nibabel letters toward which each index increases), e.g. 'LPS'."""
        return direction_to_code(self._direction)

    @property
    def is_axis_aligned(self) -> bool:
        """True when the direction is a signed permutation (no obliquity)."""
        return bool(np.allclose(np.abs(self._direction).max(axis=0), 1.0, atol=1e-9))

    # ------------------------------------------------------------------ mapping
    def index_to_world(self, index_xyz: ArrayLike) -> NDArray[np.float64]:
        """World points (LPS mm) of continuous indices.

        Parameters
        ----------
        index_xyz : array_like, shape (..., n)
            Indices in i, j, k order.

        Returns
        -------
        ndarray, shape (..., n)
            World points in x, y, z order.
        """
        return apply_affine(self.affine, _vectors(index_xyz, self.ndim, "index_xyz"))

    def world_to_index(self, points_xyz: ArrayLike, rounded: bool = False) -> NDArray[Any]:
        """Continuous (or nearest integer) indices of world points.

        Parameters
        ----------
        points_xyz : array_like, shape (..., n)
            World points (LPS mm).
        rounded : bool
            Return int64 indices of the nearest voxel centre (halves round up, as ITK's
            ``TransformPhysicalPointToIndex``) instead of float64.

        Returns
        -------
        ndarray, shape (..., n)
            Indices in i, j, k order; may lie outside the grid.
        """
        p = _vectors(points_xyz, self.ndim, "world points (x, y, z)") - self._origin
        idx = (p @ self._direction) / self._spacing
        if rounded:
            return np.floor(idx + 0.5).astype(np.int64)
        return idx

    def image_coords(self) -> tuple[NDArray[np.float64], ...]:
        """Image-frame coordinates of voxel centres along each axis (DESIGN §2.3).

        Returns
        -------
        tuple of ndarray, length n, in i, j, k order
            ``coord_a = (Dᵀ·O)_a + S_a · arange(shape_a)``, so that ``world = D · coord``.
        """
        first = self._direction.T @ self._origin
        return tuple(
            first[a] + self._spacing[a] * np.arange(self._shape[a], dtype=np.float64)
            for a in range(self.ndim)
        )

    def corners(self) -> NDArray[np.float64]:
        """World points (LPS mm) of the voxel-corner box, shape (2**n, n)."""
        lo = -0.5 * np.ones(self.ndim)
        hi = np.asarray(self._shape, np.float64) - 0.5
        idx = np.array(list(itertools.product(*zip(lo, hi, strict=True))))
        return self.index_to_world(idx)

    @property
    def center(self) -> NDArray[np.float64]:
        """World position (LPS mm, x, y, z order) of the grid's centre, shape (n,).

        The point at continuous index ``(shape − 1)/2``: the centre of the voxel-corner box
        and of the voxel centres alike, as SimpleITK's
        ``TransformContinuousIndexToPhysicalPoint`` gives it.
        """
        return self.index_to_world((np.asarray(self._shape, np.float64) - 1) / 2)

    @property
    def bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Axis-aligned world bounding box of the voxel-corner box.

        Returns
        -------
        (lower_xyz, upper_xyz) : tuple of ndarray, each shape (n,), LPS mm
        """
        c = self.corners()
        return c.min(axis=0), c.max(axis=0)

    # ------------------------------------------------------------------ comparison
    def isclose(self, other: object, atol: float = 1e-6) -> bool:
        """Whether two grids have the same shape and agree within ``atol``.

        ``atol`` is in mm for spacing and origin and unitless for direction cosines.
        """
        if not isinstance(other, Grid) or other._shape != self._shape:
            return False
        return bool(
            np.allclose(self._spacing, other._spacing, rtol=0, atol=atol)
            and np.allclose(self._origin, other._origin, rtol=0, atol=atol)
            and np.allclose(self._direction, other._direction, rtol=0, atol=atol)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grid):
            return NotImplemented
        return self.isclose(other)

    def __hash__(self) -> int:
        # Equality has a tolerance, so only exact, tolerance-free fields may enter the hash.
        return hash(("Grid", self._shape))

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (
            "spatial_xr.Grid",
            self._shape,
            self._spacing.tobytes(),
            self._origin.tobytes(),
            self._direction.tobytes(),
        )

    def __repr__(self) -> str:
        def fmt(v: NDArray[np.float64]) -> str:
            return "(" + ", ".join(f"{x:.6g}" for x in v) + ")"

        d = "identity" if np.allclose(self._direction, np.eye(self.ndim), atol=0) else (
            "[" + ", ".join(fmt(r) for r in self._direction) + "]"
        )
        return (
            f"Grid(shape_xyz={self._shape}, spacing_xyz={fmt(self._spacing)}, "
            f"origin_xyz={fmt(self._origin)}, direction_xyz={d}, "
            f"orientation={self.orientation!r})"
        )

    # ------------------------------------------------------------------ Grid → Grid
    def window(self, start_xyz: Sequence[int], shape_xyz: Sequence[int]) -> Grid:
        """The grid of an index box, which may reach outside this grid (for padding).

        Parameters
        ----------
        start_xyz : sequence of int, length n
            Index of the new voxel 0 (may be negative).
        shape_xyz : sequence of int, length n
            Size of the box (> 0).
        """
        start = np.asarray(start_xyz, np.float64)
        return self.replace(shape_xyz=tuple(int(v) for v in shape_xyz),
                            origin_xyz=self.index_to_world(start))

    def zoom_out(self, factors_xyz: int | Sequence[int]) -> Grid:
        """The grid of a multiscale level downsampled by integer factors (DESIGN §3).

        Each coarse voxel covers a block of ``f`` fine voxels per axis, and its centre is the
        centre of that block, as ITK's ``BinShrinkImageFilter`` places it. Trailing fine
        voxels that do not fill a whole block are dropped.

        Parameters
        ----------
        factors_xyz : int or sequence of int, length n
            Block size along i, j, k (an int: every axis); each between 1 and the size of
            its axis.

        Returns
        -------
        Grid
            ``shape = shape // f``, ``spacing = f · S`` (one exact product, so a level's
            spacing is never below a finer level's), the same direction, and origin
            ``O + D · diag(S) · (f − 1)/2`` (image-frame coordinate ``coord0 + (f − 1)·S/2``).

        Raises
        ------
        GeometryError
            If a factor is not an integer between 1 and the size of its axis.
        """
        raw = [factors_xyz] * self.ndim if isinstance(factors_xyz, int | np.integer) else list(
            factors_xyz)
        if len(raw) != self.ndim or not all(
            isinstance(v, int | np.integer) and 1 <= v <= n
            for v, n in zip(raw, self._shape, strict=False)
        ):
            raise GeometryError(
                f"zoom-out factors must be {self.ndim} integers, each between 1 and the size "
                f"of its axis {self._shape}; got {factors_xyz!r}"
            )
        f = np.asarray(raw, np.float64)
        return Grid(
            shape_xyz=tuple(n // int(v) for n, v in zip(self._shape, raw, strict=True)),
            spacing_xyz=self._spacing * f,
            origin_xyz=self.index_to_world((f - 1) / 2),
            direction_xyz=self._direction,
        )

    def index_slice(self, slices_xyz: Sequence[slice]) -> Grid:
        """The grid of ``array[slices]`` with Python slice semantics, steps included.

        A negative step reverses an axis: spacing stays positive and the direction column
        is negated, so every kept voxel keeps its world position.

        Parameters
        ----------
        slices_xyz : sequence of slice, length n
            One slice per index axis i, j, k.

        Raises
        ------
        GeometryError
            If a slice selects no voxel.
        """
        if len(slices_xyz) != self.ndim:
            raise GeometryError(f"need {self.ndim} slices, got {len(slices_xyz)}")
        start = np.zeros(self.ndim)
        shape: list[int] = []
        step = np.ones(self.ndim)
        for a, s in enumerate(slices_xyz):
            b, e, st = s.indices(self._shape[a])
            n = len(range(b, e, st))
            if n == 0:
                raise GeometryError(
                    f"slice {s} selects no voxel along axis {self.axes[a]!r} "
                    f"of size {self._shape[a]}"
                )
            start[a], step[a] = b, st
            shape.append(n)
        return Grid(
            shape_xyz=tuple(shape),
            spacing_xyz=self._spacing * np.abs(step),
            origin_xyz=self.index_to_world(start),
            direction_xyz=self._direction * np.sign(step)[np.newaxis, :],
        )

    def flip(self, axes_xyz: Sequence[int]) -> Grid:
        """Reverse the given index axes (0 = i/x, 1 = j/y, 2 = k/z); world points kept."""
        return self.index_slice(
            [slice(None, None, -1) if a in set(axes_xyz) else slice(None)
             for a in range(self.ndim)]
        )

    def permute(self, perm_xyz: Sequence[int]) -> Grid:
        """Reorder index axes: new axis ``a`` is old axis ``perm_xyz[a]``; world points kept."""
        p = list(perm_xyz)
        if sorted(p) != list(range(self.ndim)):
            raise GeometryError(f"{perm_xyz} is not a permutation of {list(range(self.ndim))}")
        return Grid(
            shape_xyz=tuple(self._shape[i] for i in p),
            spacing_xyz=self._spacing[p],
            origin_xyz=self._origin,
            direction_xyz=self._direction[:, p],
        )

    def reorient(self, code: str) -> tuple[Grid, tuple[int, ...], tuple[bool, ...]]:
        """The grid laid out in orientation ``code``, by permutation and flips only.

        Parameters
        ----------
        code : str
            Target orientation code, e.g. ``"RAS"``.

        Returns
        -------
        grid : Grid
            New grid; every voxel keeps its world position.
        perm : tuple of int
            New index axis ``a`` is old axis ``perm[a]``.
        flips : tuple of bool
            Whether new axis ``a`` is reversed relative to old axis ``perm[a]``.
        """
        perm, flips = reorient_transform(self._direction, code)
        permuted = self.permute(perm)
        return permuted.flip([a for a, f in enumerate(flips) if f]), perm, flips
