"""TIFF files written by tifffile (an implementation we did not write), and the oracles
that read them back: tifffile's own reads and OME-XML, ome-types and bioio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")  # part of the test extra: always installed in CI


def rchar() -> int:
    """Bytes this process has read so far (``/proc/self/io``)."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


def bioio_image(path: Path) -> Any:
    """The file as bioio (with its OME-TIFF plugin) reads it."""
    import bioio_ome_tiff
    from bioio import BioImage

    return BioImage(path, reader=bioio_ome_tiff.Reader)


def ome_pixels(path: Path, image: int = 0) -> Any:
    """``Pixels`` of an image of the file's OME-XML, parsed and validated against the OME
    schema by ome-types."""
    import ome_types

    with tifffile.TiffFile(path) as tf:
        xml = tf.ome_metadata
    return ome_types.from_xml(xml, validate=True).images[image].pixels


def write_ome(path: Path, data: np.ndarray, axes: str, **metadata: Any) -> Path:
    """An OME-TIFF written by tifffile (tiled, zlib)."""
    tile = (32, 32) if data.shape[-1] >= 32 else None
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", tile=tile,
                     compression="zlib", metadata={"axes": axes, **metadata})
    return path


@pytest.fixture
def volume(rng: np.random.Generator) -> np.ndarray:
    """(t, c, z, y, x) uint16 test data."""
    return rng.integers(0, 60000, (2, 3, 4, 40, 48), dtype=np.uint16)


@pytest.fixture
def pyramid_file(tmp_path: Path, rng: np.random.Generator) -> Path:
    """A tiled 2-channel OME-TIFF with 3 SubIFD levels written by tifffile."""
    data = rng.integers(0, 4000, (2, 1024, 1536), dtype=np.uint16)
    path = tmp_path / "pyr.ome.tif"
    md = {"axes": "CYX", "PhysicalSizeX": 0.325, "PhysicalSizeXUnit": "µm",
          "PhysicalSizeY": 0.325, "PhysicalSizeYUnit": "µm",
          "Channel": {"Name": ["DAPI", "GFP"]}}
    opts = dict(tile=(256, 256), compression="zlib", photometric="minisblack")
    with tifffile.TiffWriter(path, bigtiff=True, ome=True) as tw:
        tw.write(data, subifds=2, metadata=md, **opts)
        for k in (1, 2):
            f = 2**k
            tw.write(data[:, ::f, ::f], subfiletype=1, **opts)
    return path
