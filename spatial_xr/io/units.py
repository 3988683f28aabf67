"""Lengths with units, as readers take them: ``spacing=0.5`` (in the image's own unit),
``spacing="500 nm"``, ``spacing=(2, "um")`` or a pint quantity, per dim or for all.

Unit names are UDUNITS-2 names (``"micrometer"``) or the short forms microscopy files
write (``"µm"``, ``"um"``, ``"micron"``, ``"nm"``, ``"Å"``); conversion factors come from
:data:`spatial_xr.io.omezarr.metadata.LENGTH_UNITS`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from spatial_xr.errors import UnitError
from spatial_xr.io.omezarr.metadata import LENGTH_UNITS, canonical_unit, unit_factor

__all__ = [
    "PIXEL",
    "UNIT_SYMBOLS",
    "length_unit",
    "parse_length",
    "spacing_in_unit",
]

PIXEL = "pixel"
"""The ``units`` of coordinates whose file gives no physical size (spacing 1 per pixel)."""

UNIT_SYMBOLS: dict[str, str] = {
    "µm": "micrometer", "μm": "micrometer", "um": "micrometer", "micron": "micrometer",
    "microns": "micrometer", "\\u00B5m": "micrometer", "nm": "nanometer",
    "mm": "millimeter", "cm": "centimeter", "dm": "decimeter", "m": "meter",
    "km": "kilometer", "pm": "picometer", "fm": "femtometer", "Å": "angstrom",
    "in": "inch", "inch": "inch", "inches": "inch", "ft": "foot",
    "yd": "yard", "mi": "mile", "pixel": PIXEL, "pixels": PIXEL, "px": PIXEL,
}
"""Symbols and plurals found in OME-XML, ImageJ and TIFF metadata → UDUNITS-2 names."""

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")


def length_unit(name: str | None) -> str | None:
    """The UDUNITS-2 name of a length unit (``"µm"`` → ``"micrometer"``), ``"pixel"``
    for pixel units, or ``None`` for ``None``/empty.

    Raises
    ------
    UnitError
        ``name`` is not a length unit (e.g. ``"s"`` or ``"kg"``).
    """
    if name is None or not str(name).strip():
        return None
    raw = str(name).strip()
    unit = UNIT_SYMBOLS.get(raw, UNIT_SYMBOLS.get(raw.lower(), canonical_unit(raw.lower())))
    if unit == PIXEL or unit in LENGTH_UNITS:
        return unit
    raise UnitError(
        f"{raw!r} is not a length unit; spatial sizes need one of "
        f"{sorted(UNIT_SYMBOLS)} or a UDUNITS-2 length name "
        f"({', '.join(sorted(LENGTH_UNITS)[:6])}, …)"
    )


def parse_length(value: Any, unit: str) -> float:
    """A length in ``unit``: a number (already in ``unit``), a string ``"500 nm"``, a
    pair ``(500, "nm")`` or a pint quantity.

    Parameters
    ----------
    value : float, str, tuple or quantity
    unit : str
        The image's unit (UDUNITS-2 name, or ``"pixel"``).

    Returns
    -------
    float

    Raises
    ------
    UnitError
        The string cannot be read, or its unit cannot be converted into ``unit`` (a
        length given for an image in pixels, a unit that is not a length).
    """
    if hasattr(value, "magnitude") and hasattr(value, "units"):  # pint and friends
        value = (float(value.magnitude), str(value.units))
    if isinstance(value, str):
        m = _QUANTITY.match(value)
        if m is None:
            try:
                return float(value)
            except ValueError:
                raise UnitError(
                    f"cannot read the length {value!r}; write a number and a unit, e.g. "
                    "'0.5 um' or '500 nm'"
                ) from None
        value = (float(m.group(1)), m.group(2))
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        number, given = float(value[0]), length_unit(value[1])
        target = length_unit(unit) or PIXEL
        if given == target:
            return number
        if PIXEL in (given, target):
            raise UnitError(
                f"cannot convert {value[0]} {value[1]} into {target}s: the image "
                f"{'has no physical pixel size' if target == PIXEL else 'is in ' + target}; "
                "give the spacing as a plain number in the image's unit"
            )
        return number * unit_factor(given, target)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UnitError(
            f"a length must be a number, a string such as '0.5 um', or (value, unit); got "
            f"{value!r}"
        ) from None


def spacing_in_unit(spacing: Any, unit: str) -> float | list[float] | dict[Hashable, float]:
    """``spacing=`` of a reader (one value, one per spatial dim, or a mapping by dim;
    each a number in ``unit`` or a length with a unit) as plain numbers in ``unit``,
    in the same shape."""
    if isinstance(spacing, Mapping):
        return {k: parse_length(v, unit) for k, v in spacing.items()}
    single = (isinstance(spacing, str | int | float) or hasattr(spacing, "magnitude")
              or (isinstance(spacing, tuple) and len(spacing) == 2
                  and isinstance(spacing[1], str)))
    if single or not isinstance(spacing, Sequence | Iterable):
        return parse_length(spacing, unit)
    return [parse_length(v, unit) for v in spacing]
