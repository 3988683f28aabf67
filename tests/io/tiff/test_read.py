"""TIFF reading checked against tifffile's reads and OME-XML, ome-types and bioio, on files
that tifffile writes (OME, ImageJ, plain, BigTIFF, pyramids, series) and on the TIFF files
that scikit-image ships (written by ImageMagick and tifffile)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    ParameterError,
    UnitError,
)
from spatial_xr.io.formats import find_format
from spatial_xr.io.tiff.read import open_tiff, open_tiff_multiscale

from .conftest import bioio_image, ome_pixels, rchar, tifffile, write_ome

AXES = {"YX": (0, 0, 0), "ZYX": (0, 0), "CYX": (0, slice(None), 0), "TYX": (slice(None), 0, 0),
        "CZYX": (0,), "TZYX": (slice(None), 0), "TCZYX": ()}  # selections of (t, c, z, y, x)


@pytest.mark.parametrize("axes", list(AXES))
def test_ome_2d_to_5d_against_tifffile_ome_types_and_bioio(
    tmp_path: Path, volume: np.ndarray, axes: str
) -> None:
    data = volume[AXES[axes]]
    names = ["DAPI", "GFP", "RFP"]
    md = {"PhysicalSizeX": 0.25, "PhysicalSizeXUnit": "µm", "PhysicalSizeY": 0.3,
          "PhysicalSizeYUnit": "µm", "PhysicalSizeZ": 1.5, "PhysicalSizeZUnit": "µm",
          "TimeIncrement": 2.5, "TimeIncrementUnit": "s"}
    if "C" in axes:
        md["Channel"] = {"Name": names}
    path = write_ome(tmp_path / f"{axes}.ome.tif", data, axes, **md)
    da = spatial_xr.open_image(path)
    assert da.dims == tuple(axes.lower())
    np.testing.assert_array_equal(da.values, tifffile.imread(path))
    pixels = ome_pixels(path)
    assert da.spatial.spacing["x"] == pixels.physical_size_x == 0.25
    assert da.spatial.spacing["y"] == pixels.physical_size_y == 0.3
    assert pixels.physical_size_x_unit.value == "µm"
    assert all(da.coords[d].attrs["units"] == "micrometer" for d in da.spatial.dims)
    bio = bioio_image(path)
    pps = bio.physical_pixel_sizes
    assert (da.spatial.spacing["x"], da.spatial.spacing["y"]) == (pps.X, pps.Y)
    sizes = {d: getattr(bio.dims, d.upper()) for d in "tczyx"}
    assert {d: sizes[d] for d in da.dims} == dict(da.sizes)
    assert all(sizes[d] == 1 for d in "tczyx" if d not in da.dims)
    if "z" in da.dims:
        assert da.spatial.spacing["z"] == pps.Z == pixels.physical_size_z == 1.5
    if "c" in da.dims:
        assert list(da.coords["c"].values) == names == list(bio.channel_names)
    if "t" in da.dims:
        np.testing.assert_allclose(da.coords["t"].values, 2.5 * np.arange(da.sizes["t"]))
        assert da.coords["t"].attrs["units"] == "second"
    np.testing.assert_array_equal(
        da.values, bio.get_image_data("".join(d.upper() for d in da.dims)))
    np.testing.assert_array_equal(da.spatial.direction, np.eye(len(da.spatial.dims)))
    assert da.attrs["source_format"] == "OME-TIFF"


def test_units_are_kept_as_written_and_z_follows_x(tmp_path: Path, volume: np.ndarray) -> None:
    path = write_ome(tmp_path / "nm.ome.tif", volume[0, 0], "ZYX", PhysicalSizeX=65.0,
                     PhysicalSizeXUnit="nm", PhysicalSizeY=65.0, PhysicalSizeYUnit="nm",
                     PhysicalSizeZ=0.2, PhysicalSizeZUnit="µm")
    da = spatial_xr.open_image(path)
    assert {d: da.coords[d].attrs["units"] for d in "zyx"} == dict.fromkeys("zyx", "nanometer")
    assert da.spatial.spacing == pytest.approx({"z": 200.0, "y": 65.0, "x": 65.0})
    pixels = ome_pixels(path)
    assert pixels.physical_size_z_unit.value == "µm" and pixels.physical_size_x == 65.0


def test_no_physical_size_gives_pixel_units(tmp_path: Path, volume: np.ndarray) -> None:
    path = write_ome(tmp_path / "bare.ome.tif", volume[0, 0], "ZYX")
    da = spatial_xr.open_image(path)
    assert da.spatial.spacing == {"z": 1.0, "y": 1.0, "x": 1.0}
    assert da.coords["x"].attrs["units"] == "pixel" and da.attrs["geometry_source"] == "none"
    assert bioio_image(path).physical_pixel_sizes.X is None


def test_a_unit_that_is_not_a_length_is_refused(tmp_path: Path, volume: np.ndarray) -> None:
    path = write_ome(tmp_path / "sec.ome.tif", volume[0, 0, 0], "YX", PhysicalSizeX=1.0,
                     PhysicalSizeXUnit="µm")
    with tifffile.TiffFile(path) as tf:
        xml = tf.ome_metadata
    tifffile.tiffcomment(path, xml.replace('PhysicalSizeXUnit="µm"',
                                           'PhysicalSizeXUnit="s"').encode())
    with pytest.raises(UnitError, match="'s' is not a length unit"):
        spatial_xr.open_image(path)


# ---------------------------------------------------------------------- plane positions
def _with_planes(path: Path, data: np.ndarray, axes: str, x: list[float], z: list[float],
                 unit: str = "µm") -> Path:
    n = len(x)
    return write_ome(path, data, axes, PhysicalSizeX=0.5, PhysicalSizeY=0.5,
                     PhysicalSizeZ=2.0, Plane={"PositionX": x, "PositionY": [7.0] * n,
                                               "PositionZ": z,
                                               "PositionXUnit": [unit] * n,
                                               "PositionYUnit": [unit] * n,
                                               "PositionZUnit": [unit] * n})


def test_consistent_plane_positions_give_the_origin(tmp_path: Path, volume: np.ndarray) -> None:
    path = _with_planes(tmp_path / "p.ome.tif", volume[0, 0], "ZYX", [5.0] * 4,
                        [100.0, 102.0, 104.0, 106.0])
    da = spatial_xr.open_image(path)
    np.testing.assert_allclose(da.spatial.origin, [5.0, 7.0, 100.0])
    pixels = ome_pixels(path)
    assert [p.position_z for p in pixels.planes] == [100.0, 102.0, 104.0, 106.0]
    assert "positions_ignored" not in da.attrs
    mm = _with_planes(tmp_path / "mm.ome.tif", volume[0, 0], "ZYX", [0.005] * 4,
                      [0.1] * 4, unit="mm")
    np.testing.assert_allclose(spatial_xr.open_image(mm).spatial.origin, [5.0, 7000.0, 100.0])


def test_drifting_positions_are_ignored_and_said(tmp_path: Path, volume: np.ndarray) -> None:
    path = _with_planes(tmp_path / "drift.ome.tif", volume[:, 0, 0], "TYX", [5.0, 5.5],
                        [0.0, 0.0])
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.spatial.origin, [0.0, 0.0])
    assert "PositionX differs between planes" in da.attrs["positions_ignored"]
    ref = _with_planes(tmp_path / "ref.ome.tif", volume[0, 0, 0], "YX", [5.0], [0.0],
                       unit="reference frame")
    assert "reference frame" in spatial_xr.open_image(ref).attrs["positions_ignored"]


# ---------------------------------------------------------------------- ImageJ, plain TIFF
@pytest.mark.parametrize(("unit", "expected"), [("um", "micrometer"), ("micron", "micrometer"),
                                                ("\\u00B5m", "micrometer"), ("nm", "nanometer")])
def test_imagej_hyperstack_against_tifffile(tmp_path: Path, volume: np.ndarray, unit: str,
                                            expected: str) -> None:
    data = np.ascontiguousarray(volume.transpose(0, 2, 1, 3, 4))  # TZCYX
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.2, 1 / 0.4),
                     metadata={"axes": "TZCYX", "spacing": 1.25, "unit": unit,
                               "finterval": 4.0})
    da = spatial_xr.open_image(path)
    with tifffile.TiffFile(path) as tf:
        meta, page = tf.imagej_metadata, tf.pages[0]
        xres, yres = page.get_resolution()
        assert tf.is_imagej and tf.series[0].axes == "TZCYX"
    assert da.dims == ("t", "c", "z", "y", "x")
    np.testing.assert_array_equal(da.values, volume)
    assert da.spatial.spacing == pytest.approx({"z": meta["spacing"], "y": 1 / yres,
                                                "x": 1 / xres})
    assert da.spatial.spacing == pytest.approx({"z": 1.25, "y": 0.4, "x": 0.2})
    assert da.coords["x"].attrs["units"] == expected
    np.testing.assert_allclose(da.coords["t"].values, [0.0, 4.0])
    assert da.attrs["source_format"] == "ImageJ TIFF"


def test_imagej_rgb_samples_become_c(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.integers(0, 255, (5, 30, 40, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, imagej=True, photometric="rgb",
                     metadata={"axes": "ZYXS", "unit": "um", "spacing": 3.0})
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "z", "y", "x")
    assert list(da.coords["c"].values) == ["R", "G", "B"]
    np.testing.assert_array_equal(da.values, np.moveaxis(tifffile.imread(path), -1, 0))
    assert da.spatial.spacing["z"] == 3.0


@pytest.mark.parametrize(("unit", "name", "per_unit"), [
    ("INCH", "inch", 300.0), ("CENTIMETER", "centimeter", 1000.0), ("NONE", "pixel", 1.0)])
def test_plain_tiff_resolution_units(tmp_path: Path, volume: np.ndarray, unit: str, name: str,
                                     per_unit: float) -> None:
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, volume[0, 0], photometric="minisblack", metadata=None,
                     resolution=(per_unit, per_unit), resolutionunit=unit)
    da = spatial_xr.open_image(path)
    assert da.dims == ("z", "y", "x")  # the pages of a plain multi-page TIFF
    with tifffile.TiffFile(path) as tf:
        assert tf.pages[0].get_resolution() == (per_unit, per_unit)
    expected = 1.0 if name == "pixel" else 1 / per_unit
    assert da.spatial.spacing == pytest.approx({"z": 1.0, "y": expected, "x": expected})
    assert da.coords["y"].attrs["units"] == name
    np.testing.assert_array_equal(da.values, volume[0, 0])


def test_bigtiff(tmp_path: Path, volume: np.ndarray) -> None:
    path = tmp_path / "big.btf"
    tifffile.imwrite(path, volume[0], bigtiff=True, photometric="minisblack",
                     tile=(16, 16), compression="zstd", metadata={"axes": "CZYX"})
    da = spatial_xr.open_image(path)
    assert da.attrs["source_format"] == "BigTIFF"
    np.testing.assert_array_equal(da.values, volume[0])


@pytest.mark.parametrize("name", ["multipage.tif", "multipage_rgb.tif"])
def test_tiff_files_shipped_with_scikit_image(name: str) -> None:
    skimage = pytest.importorskip("skimage")  # napari (test extra) depends on it
    path = Path(skimage.__file__).parent / "data" / name
    da = spatial_xr.open_image(path)
    ref = tifffile.imread(path)
    with tifffile.TiffFile(path) as tf:
        axes = tf.series[0].axes
        res = tf.pages[0].tags.get("XResolution")
        runit = tf.pages[0].tags.get("ResolutionUnit")
    if axes == "IYX":  # ImageMagick: 72 pixels per inch
        np.testing.assert_array_equal(da.values, ref)
        num, den = res.value
        assert runit.value == 2
        assert da.spatial.spacing["x"] == pytest.approx(den / num)
        assert da.coords["x"].attrs["units"] == "inch"
    else:  # tifffile, QSYX: pages → z, samples → c
        np.testing.assert_array_equal(da.values, ref.transpose(1, 0, 2, 3))
        assert da.dims == ("c", "z", "y", "x")


# ---------------------------------------------------------------------- pyramids and series
def test_pyramid_levels_against_tifffile(pyramid_file: Path) -> None:
    tree = spatial_xr.open_multiscale(pyramid_file)
    assert open_tiff_multiscale(pyramid_file).identical(tree)
    with tifffile.TiffFile(pyramid_file) as tf:
        levels = tf.series[0].levels
        assert len(levels) == 3
        for k, lv in enumerate(levels):
            da = tree[f"scale{k}"]["image"]
            np.testing.assert_array_equal(da.values, lv.asarray())
            f = 2**k
            assert da.spatial.spacing == pytest.approx({"y": 0.325 * f, "x": 0.325 * f})
            np.testing.assert_allclose(da.spatial.origin, [(f - 1) * 0.325 / 2] * 2)
            assert list(da.coords["c"].values) == ["DAPI", "GFP"]


def test_level_and_spacing_selection(pyramid_file: Path) -> None:
    assert spatial_xr.open_image(pyramid_file, level=-1).sizes == {"c": 2, "y": 256, "x": 384}
    for spacing in (1.3, "1.3 um", "1300 nm", (1.3, "um"), {"y": 1.3, "x": "1.3um"}, [1.3, 1.3]):
        da = spatial_xr.open_image(pyramid_file, spacing=spacing)
        assert da.spatial.spacing["x"] == pytest.approx(1.3), spacing
    assert spatial_xr.open_image(pyramid_file, spacing=0.7).spatial.spacing["x"] == 0.65
    one = spatial_xr.open_image(pyramid_file, channel=1, level=1)
    assert one.dims == ("y", "x") and one.coords["c"].item() == "GFP"
    with pytest.raises(DimensionError, match="out of range"):
        spatial_xr.open_image(pyramid_file, level=3)
    with pytest.raises(ParameterError, match="not both"):
        spatial_xr.open_image(pyramid_file, level=1, spacing=1.0)
    with pytest.raises(UnitError):
        spatial_xr.open_image(pyramid_file, spacing="1 s")


def test_multi_series_ome_against_bioio_scenes(tmp_path: Path, volume: np.ndarray) -> None:
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(volume[0, 0], photometric="minisblack",
                 metadata={"axes": "ZYX", "Name": "first", "PhysicalSizeX": 0.5})
        tw.write(volume[0, :, 0, :16], photometric="minisblack",
                 metadata={"axes": "CYX", "Name": "second", "PhysicalSizeX": 2.0,
                           "PhysicalSizeXUnit": "nm", "Channel": {"Name": ["a", "b", "c"]}})
    bio = bioio_image(path)
    assert len(bio.scenes) == 2
    second = spatial_xr.open_image(path, series=1)
    assert second.equals(spatial_xr.open_image(path, series="second"))
    np.testing.assert_array_equal(second.values, tifffile.imread(path, series=1))
    bio.set_scene(1)
    assert second.sizes == {"c": bio.dims.C, "y": bio.dims.Y, "x": bio.dims.X}
    assert second.spatial.spacing["x"] == bio.physical_pixel_sizes.X == 2.0
    assert second.coords["x"].attrs["units"] == "nanometer"
    assert list(second.coords["c"].values) == list(bio.channel_names)
    with pytest.raises(ParameterError, match="out of range"):
        spatial_xr.open_image(path, series=2)
    with pytest.raises(ParameterError, match="no series named"):
        spatial_xr.open_image(path, series="third")


def test_reduced_resolution_pages_are_levels(tmp_path: Path, volume: np.ndarray) -> None:
    path = tmp_path / "reduced.tif"
    plane = volume[0, 0, 0]
    with tifffile.TiffWriter(path) as tw:  # no SubIFDs: levels follow as NewSubfileType=1
        tw.write(plane, photometric="minisblack", resolution=(1000, 1000),
                 resolutionunit="CENTIMETER")
        tw.write(plane[::2, ::2], photometric="minisblack", subfiletype=1)
    with tifffile.TiffFile(path) as tf:
        assert len(tf.series[0].levels) == 2
    tree = open_tiff_multiscale(path)
    np.testing.assert_array_equal(tree["scale1"]["image"].values, plane[::2, ::2])
    assert tree["scale1"]["image"].spatial.spacing == pytest.approx({"y": 2e-3, "x": 2e-3})


# ---------------------------------------------------------------------- laziness
def test_open_reads_metadata_and_a_tile_reads_only_its_tiles(pyramid_file: Path) -> None:
    assert spatial_xr.open_image(pyramid_file).isel(x=slice(0, 1)).values.size  # warm-up
    before = rchar()
    da = spatial_xr.open_image(pyramid_file, level=1)
    opened = rchar() - before
    size = os.path.getsize(pyramid_file)
    assert opened < 64 * 1024 < size / 10
    with tifffile.TiffFile(pyramid_file) as tf:
        page = tf.series[0].levels[1].pages[1]  # channel 1 of level 1 (512 × 768)
        per_row = -(-tf.series[0].levels[1].shape[-1] // 256)
        touched = [r * per_row + c for r in (0, 1) for c in (1, 2)]  # rows 0–511, cols 256–767
        tile_bytes = sum(page.databytecounts[i] for i in touched)
        level_bytes = sum(sum(p.databytecounts) for p in tf.series[0].levels[1].pages)
    before = rchar()
    tile = da.isel(c=1, y=slice(100, 356), x=slice(300, 556)).values
    read = rchar() - before
    assert tile.shape == (256, 256)
    np.testing.assert_array_equal(tile, tifffile.imread(pyramid_file, level=1)[1, 100:356,
                                                                                 300:556])
    assert tile_bytes <= read < tile_bytes + 64 * 1024
    assert read < level_bytes / 2  # 4 of the 12 tiles of the level


def test_graph_pickles_and_runs_on_distributed(pyramid_file: Path, dask_client) -> None:
    da = spatial_xr.open_image(pyramid_file, level=1, chunks={"y": 128})
    clone = pickle.loads(pickle.dumps(da))
    ref = tifffile.imread(pyramid_file, level=1)
    np.testing.assert_array_equal(clone.values, ref)
    total = da.astype("int64").sum().compute(scheduler=dask_client.get)
    assert int(total) == int(ref.sum(dtype=np.int64))


def test_fancy_selections_match_tifffile(pyramid_file: Path) -> None:
    da = spatial_xr.open_image(pyramid_file)
    ref = tifffile.imread(pyramid_file)
    np.testing.assert_array_equal(da.isel(y=[5, 900, 3], x=slice(10, 20)).values,
                                  ref[:, [5, 900, 3], 10:20])
    np.testing.assert_array_equal(da.isel(c=0, y=7).values, ref[0, 7])


# ---------------------------------------------------------------------- bad files
def test_truncated_file_is_refused_at_open(pyramid_file: Path) -> None:
    with open(pyramid_file, "r+b") as f:
        f.truncate(os.path.getsize(pyramid_file) - 5000)
    with pytest.raises(FormatError, match="truncated"):
        spatial_xr.open_image(pyramid_file)


def test_corrupt_tile_is_a_format_error_when_read(tmp_path: Path, volume: np.ndarray) -> None:
    path = write_ome(tmp_path / "bad.ome.tif", volume[0, 0, 0], "YX")
    with tifffile.TiffFile(path) as tf:
        offset = tf.pages[0].dataoffsets[1]
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * 16)  # breaks the zlib stream of tile 1
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.isel(x=slice(0, 32), y=slice(0, 32)).values,
                                  volume[0, 0, 0, :32, :32])
    with pytest.raises(FormatError, match="could not read tiles"):
        da.values  # noqa: B018


@pytest.mark.parametrize(("old", "new", "match"), [
    ('SizeZ="4"', 'SizeZ="5"', "disagrees with its IFDs"),
    ('SizeX="48"', 'SizeX="47"', "disagrees with its IFDs"),
    ('Type="uint16"', 'Type="int16"', "disagrees with its IFDs"),
    ('<TiffData IFD="0" PlaneCount="4"/>', "", "disagrees with its IFDs"),
])
def test_ome_xml_that_disagrees_with_the_ifds(tmp_path: Path, volume: np.ndarray, old: str,
                                              new: str, match: str) -> None:
    path = write_ome(tmp_path / "stale.ome.tif", volume[0, 0], "ZYX", PhysicalSizeX=1.0)
    with tifffile.TiffFile(path) as tf:
        xml = tf.ome_metadata
    assert old in xml
    tifffile.tiffcomment(path, xml.replace(old, new).encode())
    with pytest.raises(FormatError, match=match):
        spatial_xr.open_image(path)
    plain = open_tiff(path, ome=False)  # the IFDs alone still read
    np.testing.assert_array_equal(plain.values, volume[0, 0])


def test_not_a_tiff(tmp_path: Path) -> None:
    path = tmp_path / "fake.tif"
    path.write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(FormatError, match="holds no image"):
        spatial_xr.open_image(path)


# ---------------------------------------------------------------------- registry
def test_recognised_by_content_and_name(tmp_path: Path, volume: np.ndarray) -> None:
    path = write_ome(tmp_path / "x.ome.tif", volume[0, 0, 0], "YX")
    other = tmp_path / "no_extension"
    other.write_bytes(path.read_bytes())
    assert find_format(path).name == find_format(other).name == "tiff"
    np.testing.assert_array_equal(spatial_xr.open_image(other).values, volume[0, 0, 0])
    import xarray as xr

    via_engine = xr.open_dataarray(path, engine="spatial")
    np.testing.assert_array_equal(via_engine.values, volume[0, 0, 0])


def test_full_read_decodes_each_page_once(pyramid_file: Path) -> None:
    da = spatial_xr.open_image(pyramid_file)
    assert da.data.chunks == ((2,), (1024,), (1536,))  # whole pages: one chunk
    with tifffile.TiffFile(pyramid_file) as tf:
        stored = sum(sum(p.databytecounts) for p in tf.series[0].pages)
    assert da.isel(c=0, y=slice(0, 8)).values.size  # warm-up
    before = rchar()
    values = da.values
    read = rchar() - before
    np.testing.assert_array_equal(values, tifffile.imread(pyramid_file))
    assert stored <= read < stored + 256 * 1024


def test_default_chunks() -> None:
    from spatial_xr.io.tiff.read import default_chunks

    # small pages: whole pages, grouped up to 512 MiB
    assert default_chunks((3, 100, 512, 512), (1, 1, 256, 256), 2, 2) == (3, 100, 512, 512)
    assert default_chunks((4, 2000, 512, 512), (1, 1, 256, 256), 2, 2) == (1, 1024, 512, 512)
    # one 2 GiB page: bands of whole tile rows of about dask's chunk size
    chunks = default_chunks((32768, 32768), (256, 256), 2, 2)
    assert chunks[1] == 32768 and chunks[0] % 256 == 0 and chunks[0] * 32768 * 2 <= 128 << 20


def test_truncated_contiguous_imagej_stack(tmp_path: Path, volume: np.ndarray) -> None:
    path = tmp_path / "ij.tif"  # one IFD, then the pixels of every plane back to back
    tifffile.imwrite(path, volume[0, 0], imagej=True, truncate=True,
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 2.0})
    np.testing.assert_array_equal(spatial_xr.open_image(path).values, volume[0, 0])
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)
    with pytest.raises(FormatError, match="truncated"):
        spatial_xr.open_image(path)
