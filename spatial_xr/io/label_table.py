"""The segment table a label-image writer uses: the one given, the image's own, or one
row per label value found."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.labels import Segment, check_segments, segments_from_json

__all__ = ["writer_segments"]


def writer_segments(da: xr.DataArray, segments: Any = None) -> list[Segment]:
    """The segments to write for a label image or masks.

    Parameters
    ----------
    da : xarray.DataArray
        Label image (no ``c`` dim: values are segment numbers) or masks (one segment per
        ``c`` index).
    segments : segment table, optional
        Default: ``attrs["segments"]``; without one, ``"Segment <n>"`` for each non-zero
        value of a label image (one pass over the data) or each ``c`` index of masks.

    Returns
    -------
    list of Segment

    Raises
    ------
    ParameterError
        A non-integer image, or a table that does not match it.
    """
    rows = segments_from_json(segments if segments is not None else
                              da.attrs.get("segments") or [])
    if "c" in da.dims and not rows:
        rows = [Segment(i + 1, f"Segment {i + 1}") for i in range(da.sizes["c"])]
    check_segments(da, rows)
    if rows or "c" in da.dims:
        return rows
    data = da.data
    values = np.unique(np.asarray(data.compute() if hasattr(data, "compute") else data))
    return [Segment(int(v), f"Segment {int(v)}") for v in values if v > 0]
