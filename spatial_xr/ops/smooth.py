"""Gaussian smoothing of dask arrays, chunk by chunk, equal to smoothing the whole array.

Used before downsampling: by pyramid levels (``method="gaussian"``) and by resampling
with ``antialias=True``. The filter is :func:`scipy.ndimage.gaussian_filter` with
``mode="nearest"`` (the edge voxel is repeated) and its kernel cut at
:data:`GAUSSIAN_TRUNCATE` sigmas; each chunk is padded with its neighbours' voxels deep
enough for the kernel, so the result equals filtering the whole array at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.array as dsa
import numpy as np
from numpy.typing import NDArray

__all__ = ["GAUSSIAN_TRUNCATE", "gaussian_block", "gaussian_smooth"]

GAUSSIAN_TRUNCATE = 4.0
"""The kernel reaches this many sigmas (scipy's default); its radius is
``int(4σ + ½) ≤ ceil(4σ)`` voxels."""


def gaussian_block(block: NDArray[Any], sigmas: Sequence[float],
                   float_dtype: np.dtype[Any]) -> NDArray[Any]:
    """Gaussian-filtered copy of one in-memory block, computed in ``float_dtype``.

    Parameters
    ----------
    block : ndarray, any shape
    sigmas : sequence of float, one per axis of ``block``
        Standard deviation in voxels (0: that axis is not smoothed).
    float_dtype : numpy floating dtype
        Dtype of the computation and of the result.

    Returns
    -------
    ndarray, shape of ``block``, dtype ``float_dtype``
    """
    from scipy import ndimage

    return ndimage.gaussian_filter(block.astype(float_dtype, copy=False), tuple(sigmas),
                                   mode="nearest", truncate=GAUSSIAN_TRUNCATE)


def gaussian_smooth(data: dsa.Array, sigmas: Sequence[float],
                    float_dtype: np.dtype[Any]) -> dsa.Array:
    """Lazily Gaussian-filter a dask array, chunk by chunk.

    Parameters
    ----------
    data : dask.array.Array, any shape
    sigmas : sequence of float, one per axis of ``data``
        Standard deviation in voxels (0: that axis is not smoothed).
    float_dtype : numpy floating dtype
        Dtype of the computation and of the result (``float32`` halves the memory of
        ``float64``).

    Returns
    -------
    dask.array.Array, shape of ``data``, dtype ``float_dtype``
        Equal to :func:`gaussian_block` of the whole array: each chunk is padded by
        ``ceil(4σ)`` voxels of its neighbours (the edge voxel repeated at the array's
        border). An axis no longer than that padding is smoothed whole (one chunk).
    """
    sig = tuple(float(s) for s in sigmas)
    depth = {a: int(np.ceil(GAUSSIAN_TRUNCATE * s)) if s > 0 else 0 for a, s in enumerate(sig)}
    # an axis shorter than the kernel is smoothed whole (one chunk, no overlap needed: the
    # filter's own "nearest" boundary is the one map_overlap would add)
    short = {a: -1 for a, n in enumerate(data.shape) if 0 < n <= depth[a]}
    if short:
        data = data.rechunk(short)
        depth.update(dict.fromkeys(short, 0))
    dtype = np.dtype(float_dtype)
    return data.map_overlap(gaussian_block, depth=depth, boundary="nearest", sigmas=sig,
                            float_dtype=dtype, dtype=dtype,
                            meta=np.empty((0,) * data.ndim, dtype))
