"""Target spacings with and without units."""

from __future__ import annotations

import pytest

from spatial_xr.errors import UnitError
from spatial_xr.io.units import parse_length as length_in_unit
from spatial_xr.io.units import spacing_in_unit


def test_numbers_and_quantities():
    assert length_in_unit(2.0, "micrometer") == 2.0
    assert length_in_unit("2 um", "micrometer") == 2.0
    assert length_in_unit("0.002mm", "micrometer") == pytest.approx(2.0, rel=1e-12)
    assert length_in_unit("500 nanometer", "micrometer") == pytest.approx(0.5, rel=1e-12)
    assert length_in_unit("3", "millimeter") == 3.0
    assert spacing_in_unit(["1 mm", 2], "micrometer") == [pytest.approx(1000.0), 2.0]
    assert spacing_in_unit({"z": "4 µm"}, "nanometer") == {"z": pytest.approx(4000.0)}


def test_bad_quantities():
    with pytest.raises(UnitError, match="'s'"):
        length_in_unit("2 s", "micrometer")
    with pytest.raises(UnitError, match="cannot read the length 'fine'"):
        length_in_unit("fine", "micrometer")
