"""Per-label statistics in world space, computed chunk by chunk (memory bounded by a chunk).

For every segment: voxel count, volume (count × voxel volume, mm³), world centroid (mean
world LPS position of its voxel centres, x, y, z) and world bounding box (smallest and
largest world x, y, z of its voxel centres — for an oblique image these are the extremes of
the rotated voxels, not an index box); with an image on the same grid, the mean, standard
deviation, minimum and maximum of its values inside the segment.
"""

from __future__ import annotations

from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import GeometryError, ParameterError
from spatial_xr.labels.segments import is_label, segment_table

__all__ = ["STAT_COLUMNS", "label_statistics"]

STAT_COLUMNS = ("name", "voxels", "volume_mm3", "centroid_x", "centroid_y", "centroid_z",
                "min_x", "min_y", "min_z", "max_x", "max_y", "max_z")
"""Columns of :func:`label_statistics` (``mean``, ``std``, ``min``, ``max`` follow with an
image)."""

Part = dict[int, NDArray[np.float64]]
# per label: [count, sum x, y, z, min x, y, z, max x, y, z, sum v, sum v², min v, max v]


def _block_stats(labels: NDArray[Any], values: NDArray[Any] | None, start: tuple[int, ...],
                 linear: NDArray[np.float64], origin: NDArray[np.float64],
                 channels: bool) -> Part:
    """Statistics of one block: ``labels`` in (z, y, x) (with a leading c for stacks),
    ``start`` its index offset (z, y, x), ``linear``/``origin`` the grid's affine."""
    out: Part = {}
    planes = [(i + 1, labels[i] != 0) for i in range(labels.shape[0])] if channels else [
        (int(v), labels == v) for v in np.unique(labels) if v != 0]
    n = linear.shape[0]
    for key, mask in planes:
        where = np.nonzero(mask)
        if where[0].size == 0:
            continue
        idx_xyz = np.stack([where[n - 1 - a] + start[n - 1 - a] for a in range(n)], -1)
        world = idx_xyz @ linear.T + origin
        row = np.full(15, np.nan)
        row[0] = where[0].size
        row[1:1 + n] = world.sum(axis=0)
        row[4:4 + n] = world.min(axis=0)
        row[7:7 + n] = world.max(axis=0)
        if values is not None:
            v = np.asarray(values[where], np.float64)
            row[10:14] = v.sum(), (v * v).sum(), v.min(), v.max()
        out[key] = row
    return out


def _combine(parts: list[Part]) -> Part:
    total: Part = {}
    for part in parts:
        for key, row in part.items():
            acc = total.get(key)
            if acc is None:
                total[key] = row.copy()
                continue
            acc[0] += row[0]
            acc[1:4] += np.nan_to_num(row[1:4])
            acc[4:7] = np.fmin(acc[4:7], row[4:7])
            acc[7:10] = np.fmax(acc[7:10], row[7:10])
            acc[10:12] += row[10:12]
            acc[12] = np.fmin(acc[12], row[12])
            acc[13] = np.fmax(acc[13], row[13])
    return total


def _blocks(arr: dsa.Array) -> list[tuple[Any, tuple[int, ...]]]:
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int) for c in arr.chunks]
    delayed = arr.to_delayed()
    out = []
    for key in np.ndindex(*delayed.shape):
        out.append((delayed[key], tuple(int(starts[a][k]) for a, k in enumerate(key))))
    return out


def label_statistics(label: xr.DataArray, image: xr.DataArray | None = None) -> Any:
    """Per-segment statistics of a label image, as a pandas DataFrame.

    Parameters
    ----------
    label : xarray.DataArray
        A label image (``attrs["kind"] == "label"``): segment numbers, or a ``c`` dim of
        masks (one per segment). numpy- or dask-backed; computed chunk by chunk.
    image : xarray.DataArray, optional
        An image on the same grid (e.g. the CT): adds ``mean``, ``std`` (sample standard
        deviation, n − 1, as SimpleITK and pandas), ``min``, ``max`` of its values per
        segment.

    Returns
    -------
    pandas.DataFrame
        Index ``number`` (segment number); columns :data:`STAT_COLUMNS` (world positions
        LPS mm, x, y, z). Segments of the table without voxels have 0 voxels and NaN
        positions; voxel values missing from the table are listed with an empty name.

    Raises
    ------
    ParameterError
        ``label`` is no label image.
    GeometryError
        ``image`` is on another grid (resample one onto the other first).
    """
    import pandas as pd

    if not is_label(label):
        raise ParameterError(
            "label_statistics needs a label image (attrs['kind'] == 'label'); mark it with "
            "spatial_xr.labels.as_label(da, segments=...)"
        )
    grid = grid_of(label)
    dims = spatial_dims(label)
    zyx = [d for d in ("z", "y", "x") if d in dims]
    channels = "c" in label.dims
    ordered = label.transpose(*(["c"] if channels else []), *zyx)
    lab = ordered.data if isinstance(ordered.data, dsa.Array) else dsa.from_array(
        np.asarray(ordered.data), chunks=ordered.shape)
    if channels:
        lab = lab.rechunk({0: -1})
    img = None
    if image is not None:
        if not grid_of(image).isclose(grid):
            raise GeometryError(
                "the image is on another grid than the labels; bring it onto the labels' "
                "grid first: image.spatial.resample(like=label)"
            )
        img_data = image.transpose(*zyx).data
        img = (img_data if isinstance(img_data, dsa.Array) else dsa.from_array(
            np.asarray(img_data))).rechunk(lab.chunks[1:] if channels else lab.chunks)
    linear = grid.direction_xyz * grid.spacing_xyz[np.newaxis, :]
    origin = grid.origin_xyz
    img_blocks = None if img is None else {s: b for b, s in _blocks(img)}
    parts = []
    for block, start in _blocks(lab):
        sp = start[1:] if channels else start
        vals = None if img_blocks is None else img_blocks[sp]
        parts.append(dask.delayed(_block_stats)(block, vals, sp, linear, origin, channels))
    (total,) = dask.compute(dask.delayed(_combine)(parts))
    table = segment_table(label)
    keys = ({i + 1: s for i, s in enumerate(table)} if channels
            else {s.number: s for s in table})
    rows = []
    voxel = float(np.prod(grid.spacing_xyz))
    for key in sorted(set(keys) | set(total)):
        seg = keys.get(key)
        acc = total.get(key)
        number = seg.number if seg is not None else key
        row: dict[str, Any] = {"number": number, "name": seg.name if seg else ""}
        count = 0 if acc is None else int(acc[0])
        row["voxels"] = count
        row["volume_mm3"] = count * voxel
        for a, axis in enumerate("xyz"):
            row[f"centroid_{axis}"] = acc[1 + a] / count if count else np.nan
            row[f"min_{axis}"] = acc[4 + a] if count else np.nan
            row[f"max_{axis}"] = acc[7 + a] if count else np.nan
        if image is not None:
            mean = acc[10] / count if count else np.nan
            row["mean"] = mean
            var = (acc[11] - count * mean * mean) / (count - 1) if count > 1 else np.nan
            row["std"] = float(np.sqrt(max(var, 0.0))) if count > 1 else np.nan
            row["min"] = acc[12] if count else np.nan
            row["max"] = acc[13] if count else np.nan
        rows.append(row)
    columns = ["number", *STAT_COLUMNS, *(("mean", "std", "min", "max") if image is not None
                                         else ())]
    return pd.DataFrame(rows, columns=columns).set_index("number")
