"""OME-XML (the ImageDescription of an OME-TIFF) → what the geometry needs, in pure Python.

One :class:`OmeImage` per ``<Image>``: its sizes and pixel type (to check against the
IFDs), ``PhysicalSizeX/Y/Z`` with their units, ``TimeIncrement``, channel names and the
plane positions (``<Plane PositionX/Y/Z>``).

Rules (documented in ``docs/microscopy.md``):

- a ``PhysicalSize*`` without its ``*Unit`` attribute is in micrometres (the OME schema's
  default); an axis without ``PhysicalSize*`` has spacing 1 in the unit of the others, or
  in ``"pixel"`` when no axis has a physical size;
- the spatial axes share one unit (the world has one): z is converted into x's unit when
  the file writes them in different units;
- plane positions give the origin when every plane of the image has them in a length unit
  and they agree: the same x and y on every plane, and z either the same everywhere or
  ``PositionZ(TheZ=0) + TheZ · PhysicalSizeZ``. Otherwise (stage drift between time points,
  the schema's default unit ``"reference frame"``, missing entries) they are ignored and
  the reason is kept in ``attrs["positions_ignored"]``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from spatial_xr.errors import FormatError, UnitError
from spatial_xr.io.omezarr.metadata import unit_factor
from spatial_xr.io.units import PIXEL, length_unit

__all__ = ["OME_DEFAULT_UNIT", "OmeImage", "parse_ome_xml", "summary"]

OME_DEFAULT_UNIT = "micrometer"
"""Unit of ``PhysicalSize*`` when the OME-XML names none (the schema's default, µm)."""

_PIXEL_TYPES = {
    "int8": "int8", "int16": "int16", "int32": "int32", "uint8": "uint8",
    "uint16": "uint16", "uint32": "uint32", "float": "float32", "double": "float64",
    "complex": "complex64", "double-complex": "complex128", "bit": "bool",
}
_TIME_UNITS = {"s": "second", "ms": "millisecond", "µs": "microsecond", "us": "microsecond",
               "ns": "nanosecond", "min": "minute", "h": "hour"}


@dataclass
class OmeImage:
    """What one ``<Image>`` of OME-XML says about its pixels.

    Attributes
    ----------
    name : str or None
        ``Image/@Name``.
    sizes : dict
        ``{"X": SizeX, "Y": …, "Z": …, "C": …, "T": …}``.
    dimension_order : str
        e.g. ``"XYZCT"``.
    dtype : str or None
        numpy dtype name of ``Pixels/@Type``.
    spacing : dict
        Spacing per spatial dim name (``"x"``, ``"y"``, ``"z"``) in :attr:`unit`.
    unit : str
        UDUNITS-2 name shared by the spatial axes, or ``"pixel"``.
    origin : dict
        World position per spatial dim of the first plane (from plane positions), in
        :attr:`unit`; empty when positions are absent or ignored.
    positions_ignored : str or None
        Why plane positions were not used (``None`` when used or absent).
    time_increment : float or None
        ``TimeIncrement`` in :attr:`time_unit`.
    time_unit : str or None
    channel_names : list of str or None
        One per channel (``Channel/@Name``, ``None`` entries filled with ``"C<k>"``).
    has_tiffdata : bool
        Whether the image lists ``TiffData`` (tifffile makes a series only of those).
    """

    name: str | None
    sizes: dict[str, int]
    dimension_order: str
    dtype: str | None
    spacing: dict[str, float] = field(default_factory=dict)
    unit: str = PIXEL
    origin: dict[str, float] = field(default_factory=dict)
    positions_ignored: str | None = None
    time_increment: float | None = None
    time_unit: str | None = None
    channel_names: list[str] | None = None
    has_tiffdata: bool = True


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _float(attrs: dict[str, str], key: str, where: str) -> float | None:
    raw = attrs.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise FormatError(f"OME-XML {where}: {key}={raw!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(f"OME-XML {where}: {key}={raw!r} is not finite")
    return value


def _physical(pixels: dict[str, str], where: str) -> tuple[dict[str, float], str]:
    """Spacing per dim in one shared unit."""
    raw: dict[str, tuple[float, str]] = {}
    for ax in ("X", "Y", "Z"):
        size = _float(pixels, f"PhysicalSize{ax}", where)
        if size is None:
            continue
        if size <= 0:
            raise FormatError(
                f"OME-XML {where}: PhysicalSize{ax}={size} must be positive; fix the "
                "metadata (e.g. with tiffcomment) or pass spacing explicitly"
            )
        unit = length_unit(pixels.get(f"PhysicalSize{ax}Unit")) or OME_DEFAULT_UNIT
        raw[ax.lower()] = (size, unit)
    if not raw:
        return {}, PIXEL
    units = [u for _, u in raw.values()]
    if PIXEL in units and any(u != PIXEL for u in units):
        raise FormatError(
            f"OME-XML {where}: some physical sizes are in pixels and others in lengths "
            f"({ {d: u for d, (_, u) in raw.items()} }); the image has no single unit"
        )
    unit = raw["x"][1] if "x" in raw else units[0]
    spacing = {d: v if u == unit else v * unit_factor(u, unit) for d, (v, u) in raw.items()}
    return spacing, unit


def _planes_origin(
    pixels: ET.Element, image: OmeImage
) -> tuple[dict[str, float], str | None]:
    planes = _children(pixels, "Plane")
    if not planes:
        return {}, None
    n_planes = image.sizes["Z"] * image.sizes["C"] * image.sizes["T"]
    pos: dict[str, list[tuple[int, float]]] = {"x": [], "y": [], "z": []}
    for plane in planes:
        a = plane.attrib
        z = int(a.get("TheZ", 0))
        for ax in ("X", "Y", "Z"):
            value = _float(a, f"Position{ax}", "Plane")
            if value is None:
                continue
            unit_name = a.get(f"Position{ax}Unit", "reference frame")
            try:
                unit = length_unit(unit_name)
            except UnitError:
                unit = None
            if unit is None or unit == PIXEL or image.unit == PIXEL:
                return {}, (f"plane Position{ax} is in {unit_name!r}, not a length the "
                            f"image's unit ({image.unit}) converts from")
            pos[ax.lower()].append((z, value * unit_factor(unit, image.unit)))
    used = {d: v for d, v in pos.items() if v}
    if not used:
        return {}, None
    if any(len(v) != n_planes for v in used.values()):
        return {}, (f"only some of the {n_planes} planes carry positions "
                    f"({ {d: len(v) for d, v in used.items()} })")
    origin: dict[str, float] = {}
    tol = 1e-6
    for d in ("x", "y"):
        if d in used:
            values = [v for _, v in used[d]]
            scale = max(1.0, *(abs(v) for v in values))
            if max(values) - min(values) > tol * scale:
                return {}, (f"plane Position{d.upper()} differs between planes (from "
                            f"{min(values):g} to {max(values):g}: stage moves or drift)")
            origin[d] = values[0]
    if "z" in used:
        dz = image.spacing.get("z", 1.0)
        starts = [v - z * dz for z, v in used["z"]]
        flat = [v for _, v in used["z"]]
        scale = max(1.0, *(abs(v) for v in flat))
        if max(starts) - min(starts) <= tol * scale:
            origin["z"] = starts[0]
        elif max(flat) - min(flat) <= tol * scale:
            origin["z"] = flat[0]
        else:
            return {}, ("plane PositionZ is neither constant nor PositionZ(TheZ=0) + "
                        "TheZ · PhysicalSizeZ")
    return origin, None


def _image(element: ET.Element, index: int) -> OmeImage | None:
    pixels_list = _children(element, "Pixels")
    if not pixels_list:
        return None
    pixels = pixels_list[0]
    a = pixels.attrib
    where = f"Image {index} ({element.attrib.get('ID', '?')})"
    sizes = {}
    for ax in "XYZCT":
        raw = a.get(f"Size{ax}", "1")
        try:
            sizes[ax] = int(raw)
        except ValueError:
            raise FormatError(f"OME-XML {where}: Size{ax}={raw!r} is not an integer") from None
        if sizes[ax] < 1:
            raise FormatError(f"OME-XML {where}: Size{ax}={raw} must be at least 1")
    ptype = a.get("Type") or a.get("PixelType")
    spacing, unit = _physical(a, where)
    image = OmeImage(
        name=element.attrib.get("Name"),
        sizes=sizes,
        dimension_order=a.get("DimensionOrder", "XYZCT"),
        dtype=_PIXEL_TYPES.get(ptype or ""),
        spacing=spacing,
        unit=unit,
        has_tiffdata=bool(_children(pixels, "TiffData")),
    )
    dt = _float(a, "TimeIncrement", where)
    if dt is not None and dt > 0:
        image.time_increment = dt
        tu = a.get("TimeIncrementUnit", "s")
        image.time_unit = _TIME_UNITS.get(tu, tu)
    channels = _children(pixels, "Channel")
    if channels:
        names = [c.attrib.get("Name") for c in channels]
        if any(names):
            image.channel_names = [n if n else f"C{k}" for k, n in enumerate(names)]
    image.origin, image.positions_ignored = _planes_origin(pixels, image)
    return image


def parse_ome_xml(text: str | bytes) -> list[OmeImage]:
    """Every ``<Image>`` of an OME-XML document, in document order.

    Raises
    ------
    FormatError
        The XML does not parse, or a size or physical size is not a valid number.
    UnitError
        A ``PhysicalSize*Unit`` that is not a length.
    """
    try:
        root = ET.fromstring(text.encode() if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise FormatError(
            f"the OME-XML in the ImageDescription does not parse ({exc}); the file's "
            "metadata is corrupt — rewrite it, or open the pixels with format='tiff' after "
            "removing the description"
        ) from exc
    images: list[OmeImage] = []
    for k, element in enumerate(c for c in root if _local(c.tag) == "Image"):
        image = _image(element, k)
        if image is not None:
            images.append(image)
    return images


def summary(image: OmeImage) -> dict[str, Any]:
    """The sizes and type of an image, for messages."""
    return {**{f"Size{k}": v for k, v in image.sizes.items()}, "Type": image.dtype}
