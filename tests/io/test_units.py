"""Lengths with units for spacing= arguments (spatial_xr.io.units)."""

from __future__ import annotations

import pytest

from spatial_xr.errors import UnitError
from spatial_xr.io.units import length_unit, parse_length, spacing_in_unit


@pytest.mark.parametrize(("name", "unit"), [
    ("µm", "micrometer"), ("μm", "micrometer"), ("um", "micrometer"), ("micron", "micrometer"),
    ("\\u00B5m", "micrometer"), ("nm", "nanometer"), ("mm", "millimeter"), ("Å", "angstrom"),
    ("in", "inch"), ("centimeter", "centimeter"), ("pixel", "pixel"), (None, None),
])
def test_unit_names(name: str | None, unit: str | None) -> None:
    assert length_unit(name) == unit


@pytest.mark.parametrize("bad", ["s", "kg", "reference frame", "furlongs"])
def test_a_unit_that_is_not_a_length(bad: str) -> None:
    with pytest.raises(UnitError, match="not a length unit"):
        length_unit(bad)


def test_lengths_convert_into_the_image_unit() -> None:
    assert parse_length(0.5, "micrometer") == 0.5
    assert parse_length("500 nm", "micrometer") == pytest.approx(0.5)
    assert parse_length("2um", "nanometer") == pytest.approx(2000)
    assert parse_length((1, "mm"), "micrometer") == pytest.approx(1000)
    assert parse_length("1e-3 mm", "micrometer") == pytest.approx(1)
    assert parse_length("3", "inch") == 3.0
    assert spacing_in_unit({"z": "2 um", "x": 0.5}, "micrometer") == {"z": 2.0, "x": 0.5}
    assert spacing_in_unit(["1 um", 2], "micrometer") == [1.0, 2.0]
    assert spacing_in_unit((2, "um"), "nanometer") == pytest.approx(2000)


def test_pint_quantities() -> None:
    pint = pytest.importorskip("pint")  # napari, in the test extra, depends on pint
    q = pint.UnitRegistry().Quantity(250, "nanometer")
    assert parse_length(q, "micrometer") == pytest.approx(0.25)


@pytest.mark.parametrize(("value", "unit", "match"), [
    ("2 um", "pixel", "no physical pixel size"),
    ("2 s", "micrometer", "not a length unit"),
    ("two um", "micrometer", "cannot read the length"),
    ([1], "micrometer", "a length must be"),
])
def test_bad_lengths(value: object, unit: str, match: str) -> None:
    with pytest.raises(UnitError, match=match):
        parse_length(value, unit)
