"""Pixel size of ImageJ hyperstacks and plain TIFF files, from metadata already parsed by
tifffile (pure: no file access).

- **ImageJ**: x and y spacing are ``1 / XResolution`` and ``1 / YResolution`` in the
  ``unit`` of the ImageJ description (``"micron"``, ``"um"``, ``"\\u00B5m"``, ``"nm"``,
  ``"mm"``, ``"cm"``, ``"inch"``); z spacing is ``spacing``; ``xorigin``/``yorigin``/
  ``zorigin`` (the pixel position of the world origin, as ImageJ's Calibration stores it)
  give the origin ``-xorigin · spacing_x``; ``finterval`` is the time step in seconds. No
  ``unit`` (or ``"pixel"``) means the image is not calibrated: spacing 1, units
  ``"pixel"``.
- **Plain TIFF / BigTIFF**: ``XResolution``/``YResolution`` pixels per ``ResolutionUnit``:
  ``INCH`` → spacing in ``"inch"``, ``CENTIMETER`` → ``"centimeter"`` (the unit as written,
  never millimetres by assumption); ``NONE`` (tifffile's and many programs' default) → no
  physical size: spacing 1, units ``"pixel"``. Pages of a multi-page plain TIFF become
  ``z`` with spacing 1 in the same unit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spatial_xr.errors import FormatError
from spatial_xr.io.units import PIXEL, length_unit

__all__ = ["PixelSize", "imagej_pixel_size", "resolution_pixel_size"]

_RESOLUTION_UNITS = {2: "inch", 3: "centimeter"}
"""TIFF ResolutionUnit codes with a length (1 is NONE)."""


@dataclass
class PixelSize:
    """Spacing (per spatial dim), its unit, origin and time step of an image."""

    spacing: dict[str, float] = field(default_factory=dict)
    unit: str = PIXEL
    origin: dict[str, float] = field(default_factory=dict)
    time_increment: float | None = None
    time_unit: str | None = None


def _per_pixel(resolution: Any, what: str, path: str) -> float | None:
    """Spacing from a resolution value (pixels per unit): a number or (num, den)."""
    if resolution is None:
        return None
    if isinstance(resolution, tuple | list) and len(resolution) == 2:
        num, den = (float(v) for v in resolution)
        if den == 0:
            return None
        resolution = num / den
    value = float(resolution)
    if not math.isfinite(value) or value <= 0:
        raise FormatError(
            f"{path!r}: {what} is {resolution!r}; pixels per unit must be a positive number "
            "— fix the tag or pass spacing= explicitly"
        )
    return 1.0 / value


def resolution_pixel_size(
    xres: Any, yres: Any, resolution_unit: int | None, path: str
) -> PixelSize:
    """Pixel size from the TIFF resolution tags of a plain TIFF.

    Parameters
    ----------
    xres, yres : float or (int, int), optional
        ``XResolution`` and ``YResolution`` (pixels per unit).
    resolution_unit : int, optional
        ``ResolutionUnit`` (1 none, 2 inch, 3 centimetre).
    path : str
        For messages.
    """
    unit = _RESOLUTION_UNITS.get(int(resolution_unit or 1))
    if unit is None:
        return PixelSize()
    sx = _per_pixel(xres, "XResolution", path)
    sy = _per_pixel(yres, "YResolution", path)
    if sx is None or sy is None:
        return PixelSize()
    return PixelSize(spacing={"x": sx, "y": sy, "z": 1.0}, unit=unit)


def imagej_pixel_size(
    metadata: Mapping[str, Any], xres: Any, yres: Any, path: str
) -> PixelSize:
    """Pixel size of an ImageJ hyperstack.

    Parameters
    ----------
    metadata : mapping
        ``TiffFile.imagej_metadata`` (``unit``, ``spacing``, ``finterval``, origins).
    xres, yres : float or (int, int), optional
        ``XResolution`` and ``YResolution`` of the first page.
    path : str
        For messages.

    Raises
    ------
    UnitError
        ``unit`` is not a length (e.g. ``"sec"``).
    """
    out = PixelSize()
    unit = length_unit(metadata.get("unit"))
    if metadata.get("finterval"):
        dt = float(metadata["finterval"])
        if math.isfinite(dt) and dt > 0:
            out.time_increment, out.time_unit = dt, "second"
    if unit is None or unit == PIXEL:
        return out
    sx = _per_pixel(xres, "XResolution", path) or 1.0
    sy = _per_pixel(yres, "YResolution", path) or 1.0
    sz = float(metadata.get("spacing", 1.0) or 1.0)
    if not math.isfinite(sz) or sz <= 0:
        raise FormatError(
            f"{path!r}: the ImageJ z spacing is {metadata.get('spacing')!r}; it must be a "
            "positive number — fix it in ImageJ (Image > Properties) or pass spacing="
        )
    out.spacing, out.unit = {"x": sx, "y": sy, "z": sz}, unit
    for d, key in (("x", "xorigin"), ("y", "yorigin"), ("z", "zorigin")):
        if key in metadata:
            value = float(metadata[key])
            if math.isfinite(value):
                out.origin[d] = -value * out.spacing[d]
    return out
