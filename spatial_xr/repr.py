"""Compact text and HTML summaries of an image's geometry (for ``da.spatial`` in Jupyter)."""

from __future__ import annotations

import html

import numpy as np
import xarray as xr

from spatial_xr.coords import grid_of, spatial_dims

__all__ = ["geometry_html", "geometry_rows", "geometry_text"]


def _vec(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in np.asarray(v).ravel()) + ")"


def geometry_rows(da: xr.DataArray) -> list[tuple[str, str]]:
    """(label, value) rows describing an image: shape, dtype, spacing, origin, direction,
    orientation, world bounds, chunks."""
    g = grid_of(da)
    dims = spatial_dims(da)
    units = {d: da.coords[d].attrs.get("units", "millimeter") if d in da.coords else "index"
             for d in dims}
    unit = units[dims[-1]]
    spacing = dict(zip(g.axes, g.spacing_xyz.tolist(), strict=True))
    lo, hi = g.bounds
    rows = [
        ("dims", ", ".join(f"{d}: {da.sizes[d]}" for d in da.dims)),
        ("dtype", str(da.dtype)),
        ("spacing", ", ".join(f"{d}: {spacing[d]:.6g}" for d in dims) + f" ({unit})"),
        ("origin (xyz)", _vec(g.origin_xyz) + " LPS"),
        ("direction (xyz)", "identity" if np.allclose(g.direction_xyz, np.eye(g.ndim))
         else "[" + ", ".join(_vec(r) for r in g.direction_xyz) + "]"),
        ("orientation", g.orientation),
        ("bounds (xyz)", f"{_vec(lo)} → {_vec(hi)}"),
    ]
    chunks = getattr(da.data, "chunks", None)
    if chunks is not None:
        rows.append(("chunks", ", ".join(
            f"{d}: {max(c)}" for d, c in zip(da.dims, chunks, strict=True))))
    else:
        rows.append(("backing", type(da.data).__name__))
    return rows


def geometry_text(da: xr.DataArray) -> str:
    """Multi-line text summary of an image's geometry."""
    rows = geometry_rows(da)
    width = max(len(k) for k, _ in rows)
    return "<spatial geometry>\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def geometry_html(da: xr.DataArray) -> str:
    """HTML table of an image's geometry (Jupyter rich display)."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in geometry_rows(da)
    )
    return f"<table><caption>spatial geometry</caption>{body}</table>"
