"""Fill values: checking that one fits a dtype, and constant blocks of it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import ParameterError

__all__ = ["check_fill", "fill_block"]


def check_fill(fill_value: float, dtype: np.dtype[Any]) -> float:
    """Check that ``fill_value`` is representable in ``dtype`` and return it as a float.

    Raises
    ------
    ParameterError
        A non-integral or out-of-range value for an integer dtype, or a value other than
        0/1 for a boolean dtype.
    """
    f = float(fill_value)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if not np.isfinite(f) or f != np.trunc(f) or not info.min <= f <= info.max:
            raise ParameterError(
                f"fill_value {fill_value!r} cannot be stored in the dtype {dtype}; give an "
                f"integer in [{info.min}, {info.max}], or use a float dtype (dtype=, or "
                "da.astype('float32'))"
            )
    elif dtype == np.bool_ and f not in (0.0, 1.0):
        raise ParameterError(f"fill_value {fill_value!r} cannot be stored in a boolean image")
    return f


def fill_block(shape: tuple[int, ...], fill: float, dtype: np.dtype[Any]) -> NDArray[Any]:
    """A block of ``shape`` holding ``fill`` (a dask task for regions outside the input)."""
    return np.full(shape, fill, dtype=dtype)
