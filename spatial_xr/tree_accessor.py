"""The ``.spatial`` accessor on ``xarray.DataTree`` pyramids (DESIGN §3).

A pyramid is a DataTree whose children ``scale0``, ``scale1``, … (finest first) each hold
one image variable (``image``). The accessor lists the levels, picks one by index or by
target spacing, and writes the pyramid as OME-Zarr.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import xarray as xr

from spatial_xr._delegate import forwards_to
from spatial_xr.errors import ParameterError

__all__ = ["SpatialTreeAccessor"]


@xr.register_datatree_accessor("spatial")
class SpatialTreeAccessor:
    """Levels of a multiscale pyramid (``tree.spatial``)."""

    def __init__(self, tree: xr.DataTree) -> None:
        self._tree = tree

    def _levels(self) -> list[xr.DataArray]:
        from spatial_xr.ops.pyramid import tree_levels

        return tree_levels(self._tree)

    def __len__(self) -> int:
        return len(self._levels())

    @property
    def levels(self) -> Any:
        """A ``pandas.DataFrame``, one row per level: shape and spacing per spatial dim.

        Columns ``shape_<dim>`` and ``spacing_<dim>`` for each spatial dim, plus ``units``,
        ``dtype`` and ``nbytes``; the index is the node name (``scale0``, …).
        """
        import pandas as pd

        rows = []
        names = []
        for k, da in enumerate(self._levels()):
            sp = da.spatial
            row: dict[str, Any] = {f"shape_{d}": n for d, n in sp.shape.items()}
            row.update({f"spacing_{d}": s for d, s in sp.spacing.items()})
            row["units"] = da.coords[sp.dims[-1]].attrs.get("units", "millimeter")
            row["dtype"] = str(da.dtype)
            row["nbytes"] = int(da.nbytes)
            rows.append(row)
            names.append(f"scale{k}")
        return pd.DataFrame(rows, index=pd.Index(names, name="level"))

    def level(
        self,
        index: int | None = None,
        *,
        spacing: float | Sequence[float] | Mapping[Hashable, float] | None = None,
    ) -> xr.DataArray:
        """One level as a DataArray, by index or by spacing.

        Parameters
        ----------
        index : int, optional
            Level number: 0 is the finest, negative numbers count from the coarsest.
            Default 0.
        spacing : float, sequence or mapping, optional
            Instead of ``index``: the level whose spacing is closest to this (same units
            as the coordinates; a scalar, one value per spatial dim in the levels' dim
            order, or a mapping by dim name).

        Returns
        -------
        xarray.DataArray
            The level's image (lazy when the pyramid is).

        Raises
        ------
        ParameterError
            Both ``index`` and ``spacing`` given, or ``index`` out of range.
        """
        from spatial_xr.io.omezarr.read import select_level

        levels = self._levels()
        if index is not None and spacing is not None:
            raise ParameterError("give index or spacing=, not both")
        if spacing is not None:
            index = select_level([da.spatial.spacing for da in levels], spacing)
        k = 0 if index is None else int(index)
        if not -len(levels) <= k < len(levels):
            raise ParameterError(
                f"level {index} is out of range: the pyramid has {len(levels)} levels "
                f"(0–{len(levels) - 1}, or negative from the coarsest)"
            )
        return levels[k]

    @forwards_to("spatial_xr.io.omezarr.write:to_ome_zarr")
    def to_ome_zarr(self, *args: Any, **kwargs: Any) -> None:
        """Write the pyramid as OME-Zarr; see :func:`spatial_xr.io.omezarr.write.to_ome_zarr`."""
        from spatial_xr.io.omezarr.write import to_ome_zarr

        to_ome_zarr(self._tree, *args, **kwargs)
