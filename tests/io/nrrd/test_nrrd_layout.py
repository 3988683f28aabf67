"""Which NRRD axes become x, y, z, c and t, units, and the world mapping of each space;
the world positions are checked against SimpleITK's reads of the same headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from spatial_xr.errors import DimensionError, FormatError
from spatial_xr.io.nrrd.header import parse_nrrd_header
from spatial_xr.io.nrrd.layout import nrrd_layout

HEAD = ["NRRD0004", "type: uint8", "encoding: raw"]


def _layout(*lines: str):
    return nrrd_layout(parse_nrrd_header([*HEAD, *lines], "x.nrrd", data_offset=100))


def test_roles_from_kinds_without_space() -> None:
    assert _layout("dimension: 4", "sizes: 3 4 5 6",
                   "kinds: RGB-color domain domain domain").names == ("c", "x", "y", "z")
    assert _layout("dimension: 4", "sizes: 3 4 5 6").names == ("x", "y", "z", "t")
    assert _layout("dimension: 3", "sizes: 4 5 6",
                   "kinds: domain domain time").names == ("x", "y", "t")
    lay = _layout("dimension: 4", "sizes: 2 4 5 6", "kinds: time space space space",
                  "spacings: 0.5 1 1 1", "axis mins: 3 nan nan nan", "units: \"ms\" \"\" \"\" \"\"")
    assert lay.names == ("t", "x", "y", "z") and lay.t_units == "millisecond"
    np.testing.assert_allclose(lay.t_coord, [3.0, 3.5])


def test_units() -> None:
    base = ("dimension: 3", "sizes: 2 2 2", "space: LPS",
            "space directions: (1,0,0) (0,1,0) (0,0,1)")
    assert _layout(*base).units == "millimeter"
    assert _layout(*base, 'space units: "um" "um" "um"').units == "micrometer"
    with pytest.raises(FormatError, match="different units"):
        _layout(*base, 'space units: "mm" "um" "mm"')


def test_dimension_limits() -> None:
    with pytest.raises(DimensionError, match="1 spatial axes"):
        _layout("dimension: 1", "sizes: 5")
    with pytest.raises(DimensionError, match="2 or 3 spatial"):
        _layout("dimension: 5", "sizes: 2 2 2 2 2", "kinds: domain domain domain domain "
                "domain")


@pytest.mark.parametrize("space,flips", [("RAS", (-1, -1, 1)), ("LAS", (1, -1, 1)),
                                         ("LPS", (1, 1, 1)), ("scanner-xyz", (1, 1, 1)),
                                         ("3D-right-handed", (1, 1, 1)),
                                         ("3D-left-handed", (1, 1, 1))])
def test_space_to_lps_like_simpleitk(tmp_path: Path, space: str, flips: tuple) -> None:
    lines = ["dimension: 3", "sizes: 3 4 5", f"space: {space}",
             "space directions: (0,0.8,0.6) (0,-1.2,1.6) (3,0,0)", "space origin: (7,-8,9)"]
    lay = _layout(*lines)
    path = tmp_path / "s.nrrd"
    path.write_bytes(("\n".join([*HEAD, *lines]) + "\n\n").encode() + bytes(60))
    img = sitk.ReadImage(str(path))
    for ijk in ([0, 0, 0], [2, 3, 4], [1, 0, 3]):
        np.testing.assert_allclose(lay.grid.index_to_world(ijk),
                                   img.TransformIndexToPhysicalPoint(ijk), atol=1e-9)
    np.testing.assert_allclose(lay.grid.origin_xyz, np.multiply((7, -8, 9), flips))
