"""Target spacings given with or without a unit, for choosing a pyramid level.

DESIGN §5b: a spacing argument is a number in the image's unit, or a string with a unit
(``"2 um"``, ``"0.5 micrometer"``, ``"0.002mm"``). :func:`spacing_in_unit` turns either form,
given once, per spatial dim or by dim name, into numbers in one unit.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from spatial_xr.errors import ParameterError, UnitError
from spatial_xr.io.omezarr.metadata import LENGTH_UNITS, canonical_unit, unit_factor

__all__ = ["length_in_unit", "spacing_in_unit"]

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")
_EXTRA_ALIASES = {"μm": "micrometer", "microns": "micrometer", "micrometre": "micrometer",
                  "millimetre": "millimeter", "nanometre": "nanometer", "metre": "meter"}


def length_in_unit(value: float | str, unit: str) -> float:
    """One length in ``unit``.

    Parameters
    ----------
    value : float or str
        A number (already in ``unit``) or ``"<number> <unit>"`` such as ``"2 um"``.
    unit : str
        UDUNITS-2 length unit of the result (the image's coordinate unit).

    Raises
    ------
    UnitError
        The string's unit is not a known length unit.
    ParameterError
        The string is not a number followed by a unit.
    """
    if not isinstance(value, str):
        return float(value)
    match = _QUANTITY.match(value)
    if match is None:
        raise ParameterError(
            f"spacing {value!r} is not a number with a unit; write e.g. '2 um' or "
            "'0.5 micrometer', or give a number in the image's unit"
        )
    number = float(match.group(1))
    if not match.group(2):
        return number
    name = _EXTRA_ALIASES.get(match.group(2), canonical_unit(match.group(2)))
    if name not in LENGTH_UNITS:
        raise UnitError(
            f"spacing {value!r}: {match.group(2)!r} is not a length unit; use one of "
            f"um, nm, mm or a UDUNITS-2 name such as 'micrometer'"
        )
    return number * unit_factor(name, unit)


def spacing_in_unit(
    value: float | str | Sequence[float | str] | Mapping[Hashable, float | str],
    unit: str,
) -> float | list[float] | dict[Hashable, float]:
    """A target spacing (scalar, sequence or mapping by dim) with every entry in ``unit``.

    Parameters
    ----------
    value : float, str, sequence or mapping
        Numbers are taken to be in ``unit``; strings carry their own unit (``"2 um"``).
    unit : str
        UDUNITS-2 length unit of the result.
    """
    if isinstance(value, Mapping):
        return {k: length_in_unit(v, unit) for k, v in value.items()}
    if isinstance(value, str) or np.ndim(value) == 0:
        return length_in_unit(value, unit)  # type: ignore[arg-type]
    return [length_in_unit(v, unit) for v in value]  # type: ignore[union-attr]
