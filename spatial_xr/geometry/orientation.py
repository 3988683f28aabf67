"""Orientation codes (nibabel letters) and signed permutations.

A code has one letter per index axis, in index order i, j, k (the array axes named
``x``, ``y``, ``z``), naming the world direction that index *increases toward*:
``L``/``R`` (world x), ``P``/``A`` (world y), ``S``/``I`` (world z). In LPS,
``"LPS"`` is the identity direction and ``"RAS"`` is ``diag(-1, -1, 1)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spatial_xr.errors import GeometryError

__all__ = [
    "axis_assignment",
    "code_to_direction",
    "direction_to_code",
    "reorient_transform",
    "validate_code",
]

_POSITIVE = "LPS"
_NEGATIVE = "RAI"


def validate_code(code: str, ndim: int) -> str:
    """Check an orientation code and return it upper-cased.

    Parameters
    ----------
    code : str
        ``ndim`` letters from ``LR``, ``PA``, ``SI`` (``LR``, ``PA`` for 2-D), each world
        axis used once.
    ndim : int
        2 or 3.

    Raises
    ------
    GeometryError
        If the code has the wrong length, unknown letters or a repeated world axis.
    """
    if not isinstance(code, str):
        raise GeometryError(f"orientation code must be a string such as 'RAS', got {code!r}")
    c = code.upper()
    allowed = {"L": 0, "R": 0, "P": 1, "A": 1, "S": 2, "I": 2}
    axes = [allowed.get(ch) for ch in c]
    if (
        len(c) != ndim
        or None in axes
        or sorted(axes) != list(range(ndim))  # type: ignore[type-var]
    ):
        example = "RAS" if ndim == 3 else "RA"
        raise GeometryError(
            f"invalid {ndim}-D orientation code {code!r}: use {ndim} letters, one from each of "
            f"{'L/R, P/A, S/I' if ndim == 3 else 'L/R, P/A'} (e.g. {example!r})"
        )
    return c


def code_to_direction(code: str) -> NDArray[np.float64]:
    """Direction matrix (LPS, columns = index axes) of an orientation code.

    Parameters
    ----------
    code : str
        Orientation code, e.g. ``"RAS"``.

    Returns
    -------
    ndarray, shape (n, n)
        A signed permutation matrix.
    """
    c = validate_code(code, len(code))
    n = len(c)
    d = np.zeros((n, n))
    for j, ch in enumerate(c):
        if ch in _POSITIVE:
            d[_POSITIVE.index(ch), j] = 1.0
        else:
            d[_NEGATIVE.index(ch), j] = -1.0
    return d


def axis_assignment(direction: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Closest world axis and sign for each index axis of a direction matrix.

    Axes are assigned greedily by the largest absolute cosine, so every world axis is used
    exactly once even for oblique matrices (as nibabel's ``io_orientation`` does).

    Parameters
    ----------
    direction : array_like, shape (n, n)
        Orthonormal direction matrix, columns = index axes.

    Returns
    -------
    world_axis : ndarray of int, shape (n,)
        World axis (0 = x, 1 = y, 2 = z) closest to each index axis.
    sign : ndarray of float, shape (n,)
        +1 when the index axis points along the positive world axis, else −1.
    """
    d = np.abs(np.asarray(direction, dtype=np.float64)).copy()
    n = d.shape[0]
    world_axis = np.full(n, -1, dtype=np.intp)
    for _ in range(n):
        r, c = np.unravel_index(np.argmax(d), d.shape)
        world_axis[c] = r
        d[r, :] = -1.0
        d[:, c] = -1.0
    signed = np.asarray(direction, dtype=np.float64)[world_axis, np.arange(n)]
    return world_axis, np.where(signed >= 0, 1.0, -1.0)


def direction_to_code(direction: ArrayLike) -> str:
    """Orientation code (nibabel letters, LPS world) of a direction matrix.

    Parameters
    ----------
    direction : array_like, shape (n, n)

    Returns
    -------
    str
        e.g. ``"LPS"`` for the identity, ``"RAS"`` for ``diag(-1, -1, 1)``.
    """
    world_axis, sign = axis_assignment(direction)
    return "".join(
        (_POSITIVE if s > 0 else _NEGATIVE)[w] for w, s in zip(world_axis, sign, strict=True)
    )


def reorient_transform(
    direction: ArrayLike, code: str
) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """Axis permutation and flips that bring an image to an orientation code.

    Parameters
    ----------
    direction : array_like, shape (n, n)
        Current direction matrix.
    code : str
        Target orientation code.

    Returns
    -------
    perm : tuple of int, length n
        New index axis ``a`` is old index axis ``perm[a]``.
    flips : tuple of bool, length n
        Whether new index axis ``a`` runs opposite to old axis ``perm[a]``.
    """
    d = np.asarray(direction, dtype=np.float64)
    target = code_to_direction(validate_code(code, d.shape[0]))
    world_axis, sign = axis_assignment(d)
    t_axis, t_sign = axis_assignment(target)
    perm = tuple(int(np.flatnonzero(world_axis == w)[0]) for w in t_axis)
    flips = tuple(bool(sign[p] != s) for p, s in zip(perm, t_sign, strict=True))
    return perm, flips
