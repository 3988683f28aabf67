"""A lazy, pickle-safe array that rasterises placed contours on request.

Each request (a dask block) fills only the slices it covers, and on each only the rows and
columns it covers, with only the contours lying on those slices. The object holds the
placed polygons (small numpy arrays), never a file handle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import LabelOverlapError, ParameterError
from spatial_xr.io.rtstruct.plan import Placement
from spatial_xr.io.rtstruct.raster import fill_polygons

__all__ = ["ContourMaskArray"]


def _indices(key: Any, shape: tuple[int, ...]) -> tuple[list[np.ndarray], list[bool]]:
    """Each key element as an array of indices, and whether the axis is kept (slices,
    integers and 1-D integer arrays, as dask passes them)."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = next(n for n, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (len(shape) - len(key))
    out, keep = [], []
    for k, n in zip(key, shape, strict=True):
        if isinstance(k, slice):
            out.append(np.arange(*k.indices(n)))
            keep.append(True)
        elif isinstance(k, int | np.integer):
            i = int(k) + (n if k < 0 else 0)
            if not 0 <= i < n:
                raise ParameterError(f"index {k} is out of range for an axis of size {n}")
            out.append(np.array([i]))
            keep.append(False)
        else:
            arr = np.asarray(k)
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise ParameterError(
                    f"contour masks are indexed with slices, integers or 1-D integer arrays, "
                    f"got {k!r}")
            arr = np.where(arr < 0, arr + n, arr)
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                raise ParameterError(f"an index is out of range for an axis of size {n}")
            out.append(arr)
            keep.append(True)
    return out, keep


class ContourMaskArray:
    """ROI masks rasterised from contours, lazily.

    Parameters
    ----------
    placement : Placement
        The contours on the grid.
    numbers : sequence of int
        ROI number of each placed ROI (the label value when ``combine``).
    names : sequence of str
        ROI names, for messages.
    combine : bool
        False: shape ``(n_rois, z, y, x)``, uint8 masks (1 inside). True: shape
        ``(z, y, x)``, the ROI number at each voxel (0 outside); a voxel claimed by two
        ROIs raises :class:`~spatial_xr.errors.LabelOverlapError` when computed.
    dtype : numpy dtype
    """

    def __init__(self, placement: Placement, numbers: list[int], names: list[str], *,
                 combine: bool, dtype: Any) -> None:
        self.placement = placement
        self.numbers = list(numbers)
        self.names = list(names)
        self.combine = combine
        self.dtype = np.dtype(dtype)
        spatial = placement.shape_zyx
        self.shape = spatial if combine else (len(numbers), *spatial)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> NDArray[Any]:
        idx, keep = _indices(key, self.shape)
        bounds = [range(int(i.min()), int(i.max()) + 1) if i.size else range(0, 0)
                  for i in idx]
        out = self._block(bounds)
        if any(i.size != len(b) or (i.size and i[0] != b.start) or
               (i.size > 1 and np.any(np.diff(i) != 1)) for i, b in zip(idx, bounds,
                                                                     strict=True)):
            out = out[np.ix_(*[i - b.start for i, b in zip(idx, bounds, strict=True)])]
        drop = tuple(0 if not k else slice(None) for k in keep)
        return out[drop]

    def _block(self, ranges: list[range]) -> NDArray[Any]:
        if self.combine:
            roi_range = range(len(self.numbers))
            spatial = ranges
        else:
            roi_range, spatial = ranges[0], ranges[1:]
        out_shape = tuple(len(r) for r in ranges)
        out = np.zeros(out_shape, dtype=self.dtype)
        if 0 in out_shape:
            return out
        axis = self.placement.axis
        others = [a for a in (0, 1, 2) if a != axis]
        row, col = spatial[others[0]], spatial[others[1]]
        planes = spatial[axis]
        for pos_out, pos in enumerate(roi_range):
            placed = self.placement.rois[pos]
            for k, polys in placed.planes.items():
                if k not in planes:
                    continue
                mask = fill_polygons(polys, (row.start, row.stop), (col.start, col.stop))
                if not mask.any():
                    continue
                sel: list[Any] = [slice(None)] * 3
                sel[axis] = k - planes.start
                if self.combine:
                    view = out[tuple(sel)]
                    clash = mask & (view != 0)
                    if clash.any():
                        self._overlap(view, clash, pos, k)
                    view[mask] = self.numbers[pos]
                else:
                    out[(pos_out, *sel)] = mask
        return out

    def _overlap(self, view: NDArray[Any], clash: NDArray[np.bool_], pos: int, k: int
                 ) -> None:
        other = int(view[clash][0])
        other_name = self.names[self.numbers.index(other)] if other in self.numbers else "?"
        dim = "zyx"[self.placement.axis]
        raise LabelOverlapError(
            f"ROIs {other} ({other_name!r}) and {self.numbers[pos]} ({self.names[pos]!r}) "
            f"overlap ({int(clash.sum())} voxels on slice {dim}={k}), so they cannot share "
            "one label image; open without combine=True to get one mask per ROI on a 'c' "
            "dim, or choose ROIs that do not overlap with rois=[...]"
        )
