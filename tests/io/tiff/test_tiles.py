"""Boxes of pages decoded tile by tile (spatial_xr.io.tiff.tiles) equal tifffile's reads of
the same pages, for the layouts TIFF writers produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spatial_xr
from spatial_xr.io.tiff.array import TiffArray
from spatial_xr.io.tiff.tiles import box_readable

from .conftest import tifffile

LAYOUTS = {
    "tiled zlib": dict(tile=(32, 48), compression="zlib"),
    "strips, uncompressed, 7 rows": dict(rowsperstrip=7),
    "strips zstd + predictor": dict(rowsperstrip=16, compression="zstd", predictor=True),
    "tiled lzw": dict(tile=(16, 16), compression="lzw"),
    "big-endian tiled": dict(tile=(32, 32), compression="zlib", byteorder=">"),
}
BOXES = [(slice(0, 100), slice(0, 130)), (slice(5, 6), slice(3, 129)),
         (slice(31, 65), slice(47, 49)), (7, slice(None)), (slice(90, 100), 129)]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_boxes_match_tifffile(tmp_path: Path, rng: np.random.Generator, layout: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = TiffArray._read_boxes

    def spy(self: TiffArray, *args: object) -> np.ndarray:
        calls.append(args)
        return original(self, *args)

    monkeypatch.setattr(TiffArray, "_read_boxes", spy)
    options = dict(LAYOUTS[layout])
    byteorder = options.pop("byteorder", "<")
    data = rng.integers(0, 60000, (3, 100, 130), dtype=np.uint16)
    path = tmp_path / "layout.tif"
    tifffile.imwrite(path, data, photometric="minisblack", byteorder=byteorder,
                     metadata={"axes": "ZYX"}, **options)
    with tifffile.TiffFile(path) as tf:
        assert box_readable(tf.pages[0])
        ref = tf.asarray()
    da = spatial_xr.open_image(path, chunks={"z": 1, "y": 40, "x": 50})
    np.testing.assert_array_equal(da.values, ref)
    for ys, xs in BOXES:
        np.testing.assert_array_equal(da.isel(z=1, y=ys, x=xs).values, ref[1, ys, xs])
        np.testing.assert_array_equal(da.isel(y=ys, x=xs).values, ref[:, ys, xs])
    assert calls  # the boxes went through read_box, not the Zarr store


def test_rgb_and_jpeg_tiles(tmp_path: Path, rng: np.random.Generator) -> None:
    rgb = rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", tile=(32, 32), compression="zlib")
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.isel(y=slice(10, 50), x=slice(20, 80)).values,
                                  np.moveaxis(rgb[10:50, 20:80], -1, 0))
    np.testing.assert_array_equal(da.isel(c=1, y=33).values, rgb[33, :, 1])
    grey = (rng.random((64, 96)) * 255).astype(np.uint8)
    jpeg = tmp_path / "jpeg.tif"
    tifffile.imwrite(jpeg, grey, photometric="minisblack", tile=(32, 32), compression="jpeg")
    ref = tifffile.imread(jpeg)
    da = spatial_xr.open_image(jpeg)
    np.testing.assert_array_equal(da.isel(y=slice(16, 48), x=slice(40, 90)).values,
                                  ref[16:48, 40:90])


def test_a_tile_the_file_does_not_store_reads_as_zero(tmp_path: Path) -> None:
    data = np.full((64, 64), 7, np.uint16)
    data[:32, 32:] = 0
    path = tmp_path / "sparse.tif"
    with tifffile.TiffWriter(path) as tw:  # empty tiles are not written (offset 0)
        tw.write(iter([data[:32, :32], None, data[32:, :32], data[32:, 32:]]), shape=(64, 64),
                 dtype=np.uint16, tile=(32, 32), photometric="minisblack")
    with tifffile.TiffFile(path) as tf:
        assert tf.pages[0].databytecounts[1] == 0
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.isel(y=slice(10, 40), x=slice(20, 60)).values,
                                  data[10:40, 20:60])


def test_planar_samples_go_through_the_zarr_store(tmp_path: Path,
                                                  rng: np.random.Generator) -> None:
    planar = rng.integers(0, 255, (3, 50, 60), dtype=np.uint8)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, planar, photometric="rgb", planarconfig="separate",
                     tile=(16, 16), compression="zlib")
    with tifffile.TiffFile(path) as tf:
        assert not box_readable(tf.pages[0])
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "y", "x")
    np.testing.assert_array_equal(da.isel(y=slice(7, 40), x=slice(3, 33)).values,
                                  planar[:, 7:40, 3:33])
    np.testing.assert_array_equal(da.values, planar)
