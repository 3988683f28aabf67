"""OME-TIFF and TIFF-stack writing, read back by tifffile, ome-types (schema-validated
OME-XML) and bioio; OME-Zarr ↔ OME-TIFF with exact geometry."""

from __future__ import annotations

import os
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    OverwriteError,
    UnsupportedOptionError,
)
from spatial_xr.io.tiff import write as write_mod
from spatial_xr.io.tiff.write import to_ome_tiff, to_tiff_stack

from .conftest import bioio_image, ome_pixels, tifffile


@pytest.fixture
def image(rng: np.random.Generator) -> spatial_xr.Grid:
    data = rng.integers(0, 4000, (2, 5, 300, 420), dtype=np.uint16)
    da = spatial_xr.from_array(data, spacing=(2.0, 0.5, 0.25), origin=(10.0, 20.0, 30.0),
                               dims=("c", "z", "y", "x"), units="micrometer")
    da = da.assign_coords(c=["DAPI", "GFP"])
    return da.copy(data=dsa.from_array(data, chunks=(1, 2, 150, 420)))


def test_round_trip_against_tifffile_ome_types_and_bioio(tmp_path: Path, image) -> None:
    path = tmp_path / "out.ome.tif"
    image.spatial.to_ome_tiff(path, tile=(128, 128), levels=3)
    with tifffile.TiffFile(path) as tf:
        s = tf.series[0]
        assert tf.is_ome and not tf.is_bigtiff and s.axes == "CZYX"
        assert [lv.shape for lv in s.levels] == [(2, 5, 300, 420), (2, 5, 150, 210),
                                                 (2, 5, 75, 105)]
        page = s.pages[0]
        assert page.is_tiled and (page.tilelength, page.tilewidth) == (128, 128)
        assert page.compression == 8  # ADOBE_DEFLATE (zlib)
        np.testing.assert_array_equal(s.asarray(), image.values)
        ours = image.spatial.pyramid(levels=3, factors={"y": 2, "x": 2})
        for k in (1, 2):
            np.testing.assert_array_equal(s.levels[k].asarray(),
                                          ours[f"scale{k}"]["image"].values)
    pixels = ome_pixels(path)  # validated against the OME schema
    assert (pixels.physical_size_x, pixels.physical_size_y, pixels.physical_size_z) == (
        0.25, 0.5, 2.0)
    assert {pixels.physical_size_x_unit.value, pixels.physical_size_z_unit.value} == {"µm"}
    assert [c.name for c in pixels.channels] == ["DAPI", "GFP"]
    assert [p.position_z for p in pixels.planes[:5]] == [30.0, 32.0, 34.0, 36.0, 38.0]
    bio = bioio_image(path)
    assert tuple(bio.physical_pixel_sizes) == (2.0, 0.5, 0.25)
    assert (bio.dims.C, bio.dims.Z, bio.dims.Y, bio.dims.X) == (2, 5, 300, 420)
    assert list(bio.channel_names) == ["DAPI", "GFP"]
    np.testing.assert_array_equal(bio.get_image_data("CZYX"), image.values)
    back = spatial_xr.open_image(path)
    assert back.spatial.grid == image.spatial.grid
    assert back.coords["x"].attrs["units"] == "micrometer"
    assert list(back.coords["c"].values) == ["DAPI", "GFP"]
    tree = spatial_xr.open_multiscale(path)
    for k in (1, 2):
        assert tree[f"scale{k}"]["image"].spatial.grid.isclose(
            ours[f"scale{k}"]["image"].spatial.grid, atol=1e-12)


def test_omezarr_to_ometiff_and_back_keep_geometry_exact(tmp_path: Path, image) -> None:
    zarr_path = tmp_path / "a.ome.zarr"
    image.spatial.to_ome_zarr(zarr_path, pyramid=False)
    from_zarr = spatial_xr.open_image(zarr_path)
    tif = tmp_path / "a.ome.tif"
    from_zarr.spatial.to_ome_tiff(tif, pyramid=False)
    from_tif = spatial_xr.open_image(tif)
    assert from_tif.spatial.grid == from_zarr.spatial.grid == image.spatial.grid
    np.testing.assert_array_equal(from_tif.values, image.values)
    again = tmp_path / "b.ome.zarr"
    from_tif.spatial.to_ome_zarr(again, pyramid=False)
    last = spatial_xr.open_image(again)
    assert last.spatial.grid == image.spatial.grid
    assert last.coords["x"].attrs["units"] == "micrometer"
    np.testing.assert_array_equal(last.values, image.values)


def test_5d_with_time_and_a_given_pyramid(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.random((3, 2, 4, 64, 80)).astype(np.float32)
    da = spatial_xr.from_array(data, spacing=(1.0, 0.1, 0.1), units="nanometer")
    da = da.assign_coords(t=("t", [0.0, 0.5, 1.0], {"units": "second"}))
    tree = da.spatial.pyramid(levels=2, factors={"y": 2, "x": 2}, method="nearest")
    path = tmp_path / "t.ome.tif"
    to_ome_tiff(tree, path, tile=16, compression="zstd")
    pixels = ome_pixels(path)
    assert pixels.time_increment == 0.5 and pixels.physical_size_x_unit.value == "nm"
    back = spatial_xr.open_multiscale(path)
    np.testing.assert_array_equal(back["scale1"]["image"].values,
                                  tree["scale1"]["image"].values)
    np.testing.assert_allclose(back["scale0"]["image"].coords["t"].values, [0.0, 0.5, 1.0])
    assert back["scale0"]["image"].dims == ("t", "c", "z", "y", "x")


def test_labels_are_reduced_by_mode(tmp_path: Path, rng: np.random.Generator) -> None:
    labels = rng.integers(0, 4, (64, 64), dtype=np.uint8)
    da = spatial_xr.from_array(labels, units="micrometer", attrs={"kind": "label"})
    path = tmp_path / "labels.ome.tif"
    to_ome_tiff(da, path, levels=2, tile=32)
    expected = da.spatial.pyramid(levels=2, factors={"y": 2, "x": 2}, method="mode")
    np.testing.assert_array_equal(tifffile.imread(path, level=1),
                                  expected["scale1"]["image"].values)
    with pytest.raises(UnsupportedOptionError, match="labels"):
        to_ome_tiff(da, tmp_path / "x.ome.tif", method="mean")


def test_bands_stay_within_their_budget(image) -> None:
    seen = [band.nbytes for _, _, band in write_mod._bands(image.data, 64, 100_000)]
    assert max(seen) <= 100_000 and sum(seen) == image.nbytes


def test_bigtiff_when_large(tmp_path: Path, image, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_mod, "BIGTIFF_BYTES", 1000)
    to_ome_tiff(image, tmp_path / "big.ome.tif", pyramid=False)
    with tifffile.TiffFile(tmp_path / "big.ome.tif") as tf:
        assert tf.is_bigtiff
    np.testing.assert_array_equal(spatial_xr.open_image(tmp_path / "big.ome.tif").values,
                                  image.values)


def test_refuses_overwrite_and_leaves_nothing_on_failure(tmp_path: Path, image) -> None:
    path = tmp_path / "x.ome.tif"
    path.write_bytes(b"keep")
    with pytest.raises(OverwriteError):
        to_ome_tiff(image, path)
    assert path.read_bytes() == b"keep"

    def boom(block: np.ndarray) -> np.ndarray:
        raise RuntimeError("disk on fire")

    broken = image.copy(data=image.data.map_blocks(boom, dtype=image.dtype))
    with pytest.raises(RuntimeError, match="disk on fire"):
        to_ome_tiff(broken, path, overwrite=True)
    assert path.read_bytes() == b"keep"
    assert sorted(os.listdir(tmp_path)) == ["x.ome.tif"]
    to_ome_tiff(image, path, overwrite=True, pyramid=False)
    np.testing.assert_array_equal(tifffile.imread(path), image.values)


def test_what_ome_tiff_cannot_hold(tmp_path: Path, image) -> None:
    oblique = image.spatial.reorient("RAS")
    with pytest.raises(GeometryError, match="stores no direction"):
        to_ome_tiff(oblique, tmp_path / "a.ome.tif")
    with pytest.raises(UnsupportedOptionError, match="pixel types"):
        to_ome_tiff(image.astype("int64"), tmp_path / "b.ome.tif")
    with pytest.raises(UnsupportedOptionError, match="multiple of 16"):
        to_ome_tiff(image, tmp_path / "c.ome.tif", tile=100)
    with pytest.raises(DimensionError, match="other dims"):
        to_ome_tiff(image.rename(c="band"), tmp_path / "d.ome.tif")
    assert not any(tmp_path.iterdir())


def test_tiff_stack_round_trip(tmp_path: Path, image) -> None:
    one = image.isel(c=0)
    one.spatial.to_tiff_stack(tmp_path / "stack")
    files = sorted(os.listdir(tmp_path / "stack"))
    assert files == [f"z{k:04d}.tif" for k in range(5)]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "stack" / files[3]),
                                  one.values[3])
    back = spatial_xr.open_image(tmp_path / "stack")
    assert back.spatial.grid == one.spatial.grid
    np.testing.assert_array_equal(back.values, one.values)
    with pytest.raises(OverwriteError):
        to_tiff_stack(one, tmp_path / "stack")
    spatial_xr.write_image(one, tmp_path / "via_registry", format="tiff")
    assert len(os.listdir(tmp_path / "via_registry")) == 5
    spatial_xr.write_image(one, tmp_path / "one.ome.tif")
    assert spatial_xr.open_image(tmp_path / "one.ome.tif").spatial.grid == one.spatial.grid
