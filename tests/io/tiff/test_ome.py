"""OME-XML parsing (spatial_xr.io.tiff.ome) and the pixel-size rules of ImageJ and plain
TIFF (spatial_xr.io.tiff.imagej), checked on XML that tifffile's OmeXml writes."""

from __future__ import annotations

import math

import pytest

from spatial_xr.errors import FormatError, UnitError
from spatial_xr.io.tiff.imagej import imagej_pixel_size, resolution_pixel_size
from spatial_xr.io.tiff.ome import parse_ome_xml

from .conftest import tifffile


def _xml(shape: tuple[int, ...], axes: str, **metadata: object) -> str:
    ome = tifffile.OmeXml()
    storedshape = (math.prod(shape[:-2]), 1, 1, *shape[-2:], 1)
    ome.addimage("uint16", shape, storedshape, axes=axes, **metadata)
    return ome.tostring()


def test_sizes_type_and_default_unit() -> None:
    (image,) = parse_ome_xml(_xml((3, 4, 20, 30), "CZYX", PhysicalSizeX=0.5,
                                  PhysicalSizeY=0.5, Name="img",
                                  Channel={"Name": ["a", "b", "c"]}))
    assert image.sizes == {"X": 30, "Y": 20, "Z": 4, "C": 3, "T": 1}
    assert image.dtype == "uint16" and image.name == "img"
    assert image.spacing == {"x": 0.5, "y": 0.5}
    assert image.unit == "micrometer"  # no PhysicalSizeXUnit: the schema's default, µm
    assert image.channel_names == ["a", "b", "c"]


def test_z_is_converted_into_the_unit_of_x() -> None:
    (image,) = parse_ome_xml(_xml((4, 20, 30), "ZYX", PhysicalSizeX=100.0,
                                  PhysicalSizeXUnit="nm", PhysicalSizeZ=0.3,
                                  PhysicalSizeZUnit="µm"))
    assert image.unit == "nanometer"
    assert image.spacing["z"] == pytest.approx(300.0)


def test_positions_along_z_and_constant() -> None:
    planes = {"PositionZ": [5.0, 6.0, 7.0], "PositionZUnit": ["µm"] * 3,
              "PositionX": [1.0] * 3, "PositionXUnit": ["mm"] * 3}
    (image,) = parse_ome_xml(_xml((3, 8, 8), "ZYX", PhysicalSizeX=1.0, PhysicalSizeZ=1.0,
                                  Plane=planes))
    assert image.origin == pytest.approx({"x": 1000.0, "z": 5.0})
    planes["PositionZ"] = [5.0, 6.0, 9.0]
    (image,) = parse_ome_xml(_xml((3, 8, 8), "ZYX", PhysicalSizeX=1.0, PhysicalSizeZ=1.0,
                                  Plane=planes))
    assert image.origin == {} and "PositionZ is neither constant" in image.positions_ignored


@pytest.mark.parametrize(("old", "new", "error", "match"), [
    ('PhysicalSizeX="0.5"', 'PhysicalSizeX="-1"', FormatError, "must be positive"),
    ('PhysicalSizeX="0.5"', 'PhysicalSizeX="wide"', FormatError, "not a number"),
    ('SizeX="30"', 'SizeX="0"', FormatError, "at least 1"),
    ('PhysicalSizeX="0.5"', 'PhysicalSizeX="0.5" PhysicalSizeXUnit="kg"', UnitError,
     "not a length"),
    ("</OME>", "", FormatError, "does not parse"),
])
def test_bad_ome_xml(old: str, new: str, error: type, match: str) -> None:
    xml = _xml((20, 30), "YX", PhysicalSizeX=0.5)
    assert old in xml
    with pytest.raises(error, match=match):
        parse_ome_xml(xml.replace(old, new))


def test_imagej_and_resolution_rules() -> None:
    px = imagej_pixel_size({"unit": "micron", "spacing": 3.0, "xorigin": 10, "finterval": 2},
                           (4, 1), (2, 1), "f.tif")
    assert px.spacing == {"x": 0.25, "y": 0.5, "z": 3.0} and px.unit == "micrometer"
    assert px.origin == {"x": -2.5} and px.time_increment == 2.0
    assert imagej_pixel_size({}, (4, 1), (4, 1), "f.tif").unit == "pixel"
    with pytest.raises(UnitError):
        imagej_pixel_size({"unit": "sec"}, (4, 1), (4, 1), "f.tif")
    with pytest.raises(FormatError, match="positive"):
        imagej_pixel_size({"unit": "um", "spacing": -1}, (4, 1), (4, 1), "f.tif")
    assert resolution_pixel_size((300, 1), (300, 1), 2, "f.tif").unit == "inch"
    assert resolution_pixel_size((300, 1), (300, 1), 1, "f.tif").unit == "pixel"
    with pytest.raises(FormatError, match="XResolution"):
        resolution_pixel_size(-5.0, 1.0, 3, "f.tif")
