"""Converting computed (floating-point) values back to an image's dtype.

Two operations need two different rounding rules, each matching the ITK filter that the
tests compare against:

``"half_up"``
    Block averages of pyramid levels (:mod:`spatial_xr.ops.pyramid`): integers become
    ``floor(v + ½)`` (halves round up, −2.5 → −2), then are clamped to the dtype's
    range; booleans are ``v ≥ ½``. This is the rounding of ITK's ``BinShrinkImageFilter``
    (``Math::Round``).
``"toward_zero"``
    Interpolated values (:mod:`spatial_xr.ops._kernels`, resample and point sampling):
    integers are clamped to the dtype's range, then truncated toward zero (2.7 → 2,
    −2.7 → −2); booleans are ``v ≠ 0``. This is the ``static_cast`` with which ITK's
    ``ResampleImageFilter`` writes its output.

Floating-point and complex dtypes take a plain cast under either rule. NaN has no integer
value: an integer output of NaN is undefined (as in ITK).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import UnsupportedOptionError

__all__ = ["ROUNDING_RULES", "Rounding", "round_to_dtype"]

Rounding = Literal["half_up", "toward_zero"]
ROUNDING_RULES: tuple[Rounding, ...] = ("half_up", "toward_zero")
"""The rounding rules :func:`round_to_dtype` knows (see the module docstring)."""


def round_to_dtype(values: NDArray[Any], dtype: np.dtype[Any] | type,
                   rounding: Rounding) -> NDArray[Any]:
    """Values converted to ``dtype``, rounded and clamped by ``rounding`` for integers.

    Parameters
    ----------
    values : ndarray, any shape
        Computed values (floating point, or already of ``dtype``).
    dtype : numpy dtype
        Target dtype.
    rounding : {"half_up", "toward_zero"}
        How integer (and boolean) outputs are rounded; see the module docstring.

    Returns
    -------
    ndarray, same shape, dtype ``dtype``
        ``values`` itself when it already has ``dtype`` and no rounding applies.

    Raises
    ------
    UnsupportedOptionError
        An unknown rounding rule.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([-2.5, -1.7, 0.5, 2.5, 300.2])
    >>> round_to_dtype(v, np.int8, "half_up").tolist()
    [-2, -2, 1, 3, 127]
    >>> round_to_dtype(v, np.int8, "toward_zero").tolist()
    [-2, -1, 0, 2, 127]
    """
    dtype = np.dtype(dtype)
    if rounding == "half_up":
        if dtype == np.bool_:
            return values >= 0.5
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return np.clip(np.floor(values + 0.5), info.min, info.max).astype(dtype)
    elif rounding == "toward_zero":
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            values = np.trunc(np.clip(values, float(info.min), float(info.max)))
    else:
        raise UnsupportedOptionError(
            f"unknown rounding rule {rounding!r}; use one of {', '.join(ROUNDING_RULES)}"
        )
    return values.astype(dtype, copy=False)
