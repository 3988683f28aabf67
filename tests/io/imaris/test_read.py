"""Imaris reading: files written by hand with h5py in Imaris' published layout, checked
against imaris-ims-file-reader (an independent reader) and against the layout's own
numbers; laziness, pickling and bad inputs."""

from __future__ import annotations

import pickle

import dask
import h5py
import numpy as np
import pytest

import spatial_xr as sx
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRWarning,
    UnitError,
)
from spatial_xr.io.formats import find_format, format_named
from spatial_xr.io.imaris import open_imaris, open_imaris_multiscale

from .conftest import chars, pyramid_levels, write_ims_by_hand

EXT_MIN = np.array([-3.5, 10.0, 0.25])
EXT_MAX = np.array([12.5, 34.0, 30.25])


@pytest.fixture
def levels(rng):
    return pyramid_levels(rng, shape=(2, 2, 12, 24, 32), n=3)


@pytest.fixture
def ims(tmp_path, levels):
    return write_ims_by_hand(tmp_path / "hand.ims", levels)


def expected_grid(level_shape_zyx):
    n_xyz = np.array(level_shape_zyx[::-1], np.float64)
    spacing = (EXT_MAX - EXT_MIN) / n_xyz
    return spacing, EXT_MIN + spacing / 2


def test_geometry_per_level_from_extents(ims, levels):
    tree = open_imaris_multiscale(ims)
    assert list(tree.children) == ["scale0", "scale1", "scale2"]
    for k, level in enumerate(levels):
        da = tree[f"scale{k}"]["image"]
        spacing, origin = expected_grid(level.shape[2:])
        np.testing.assert_allclose(da.spatial.spacing_xyz, spacing, rtol=0, atol=1e-12)
        np.testing.assert_allclose(da.spatial.origin, origin, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(da.spatial.direction, np.eye(3))
        lo, hi = da.spatial.bounds  # the voxel-corner box Imaris stores, at every level
        np.testing.assert_allclose(lo, EXT_MIN, atol=1e-12)
        np.testing.assert_allclose(hi, EXT_MAX, atol=1e-12)
        assert {da.coords[d].attrs["units"] for d in "zyx"} == {"micrometer"}
        np.testing.assert_array_equal(da.values, level)  # cropped: no 9999 padding


def test_channels_times_and_attrs(ims):
    da = open_imaris(ims)
    assert da.dims == ("t", "c", "z", "y", "x")
    assert da.coords["c"].values.tolist() == ["DAPI", "GFP"]
    np.testing.assert_array_equal(da.coords["t"].values, [0.0, 2.0])
    assert da.coords["t"].attrs["units"] == "second"
    assert da.attrs["source_format"] == "Imaris"
    assert da.attrs["acquisition_start"] == "2021-03-04 05:06:07.500"
    one = open_imaris(ims, channel=1, timepoint=0)
    assert one.dims == ("z", "y", "x") and one.attrs["channel_name"] == "GFP"


@pytest.mark.parametrize("level", [0, 1, 2])
def test_matches_imaris_ims_file_reader(ims, levels, level):
    from imaris_ims_file_reader.ims import ims as ims_reader

    theirs = ims_reader(str(ims), ResolutionLevelLock=level, resolution_decimal_places=None,
                        squeeze_output=False)
    ours = open_imaris(ims, level=level)
    assert theirs.shape == ours.shape
    assert (theirs.TimePoints, theirs.Channels) == (2, 2)
    np.testing.assert_allclose([ours.spatial.spacing[d] for d in "zyx"], theirs.resolution,
                               rtol=1e-12)
    np.testing.assert_array_equal(ours.values, theirs[:, :, :, :, :])
    np.testing.assert_array_equal(ours.isel(t=1, c=0, z=slice(1, 3)).values,
                                  theirs[1, 0, 1:3, :, :][0, 0])
    theirs.close()


def test_registry_open_image_and_multiscale_reader(ims, levels):
    fmt = find_format(ims)
    assert fmt.name == "imaris" and fmt.capabilities["multiscale"]
    tree = format_named("imaris").open_multiscale(ims)
    assert len(tree.spatial) == 3
    da = sx.open_image(ims, level=-1)
    np.testing.assert_array_equal(da.values, levels[2])
    # spacing= in the image's unit (micrometre), or with a unit
    s1 = expected_grid(levels[1].shape[2:])[0]  # x, y, z
    assert sx.open_image(ims, spacing=s1[::-1].tolist()).shape == levels[1].shape
    in_mm = {d: f"{v * 1e-3} mm" for d, v in zip("xyz", s1, strict=True)}
    assert sx.open_image(ims, spacing=in_mm).shape == levels[1].shape
    assert tree.spatial.level(spacing=dict(zip("zyx", s1[::-1], strict=True))).shape == \
        levels[1].shape


def test_units_conversion(ims):
    mm = open_imaris(ims, units="millimeter")
    um = open_imaris(ims)
    np.testing.assert_allclose(mm.spatial.origin, um.spatial.origin * 1e-3, rtol=1e-12)
    assert mm.coords["x"].attrs["units"] == "millimeter"


def test_unit_spellings(tmp_path, levels):
    for text, unit in [("nm", "nanometer"), ("mm", "millimeter"), ("µm", "micrometer")]:
        path = write_ims_by_hand(tmp_path / f"{unit}.ims", levels[:1], unit=text)
        assert open_imaris(path).coords["x"].attrs["units"] == unit


def test_chunks_follow_hdf5_and_user_choice(ims):
    da = open_imaris(ims)
    assert da.chunks[2:] == ((12,), (24,), (32,))  # one chunk per frame (small level)
    custom = open_imaris(ims, chunks={"z": 4, "x": 8})
    assert custom.chunks[2] == (4, 4, 4) and custom.chunks[4] == (8,) * 4
    np.testing.assert_array_equal(custom.values, da.values)


def test_negative_steps_and_single_voxels(ims, levels):
    da = open_imaris(ims)
    np.testing.assert_array_equal(da.isel(z=slice(None, None, -2), x=5).values,
                                  levels[0][:, :, ::-2, :, 5])
    assert da.isel(t=1, c=1, z=3, y=4, x=5).values == levels[0][1, 1, 3, 4, 5]


def test_graph_pickles_and_holds_no_open_file(ims, levels):
    da = open_imaris(ims, chunks={"z": 4})
    back = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(back.values, levels[0])
    with h5py.File(ims, "a") as f:  # no handle stays open: the file can be opened for writing
        f.attrs["touched"] = 1


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


def test_open_reads_metadata_and_a_chunk_reads_that_chunk(tmp_path, rng):
    """An uncompressed, chunked file: the bytes read (rchar) by opening stay far below one
    chunk, and reading one chunk reads about that chunk's bytes, not the level's."""
    data = rng.integers(0, 60000, size=(1, 1, 64, 256, 256)).astype("uint16")  # 8 MiB
    path = write_ims_by_hand(tmp_path / "big.ims", [data], names=("only",),
                             chunks=(16, 64, 64), pad=0, compression=None)
    chunk_bytes = 16 * 64 * 64 * 2  # 128 KiB
    with dask.config.set(scheduler="synchronous"):
        open_imaris(path).isel(z=slice(0, 2), y=slice(0, 2), x=slice(0, 2)).compute()  # warm-up
        before = _rchar()
        da = open_imaris(path)
        opened = _rchar() - before
        before = _rchar()
        box = da.isel(z=slice(16, 32), y=slice(64, 128), x=slice(128, 192)).values
        read = _rchar() - before
    np.testing.assert_array_equal(box, data[0, 0, 16:32, 64:128, 128:192])
    print(f"open: {opened} bytes, one 128 KiB chunk: {read} bytes")
    assert opened < 64 * 1024, opened
    assert chunk_bytes <= read < chunk_bytes + 64 * 1024, read
    assert read < data.nbytes / 32


# ---------------------------------------------------------------------- bad inputs
def test_level_missing(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "gap.ims", levels, skip=[(1,)])
    with pytest.raises(FormatError, match=r"ResolutionLevel \[1\] is missing"):
        open_imaris(path)


def test_channel_missing_in_a_level(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "nochan.ims", levels, skip=[(2, 1, 1)])
    with pytest.raises(FormatError, match="ResolutionLevel 2/TimePoint 1/Channel 1' is missing"):
        open_imaris_multiscale(path)


def test_data_smaller_than_declared(tmp_path, levels):
    declared = [(12, 24, 32), (6, 12, 40), (3, 6, 8)]  # level 1 claims 40 x voxels
    path = write_ims_by_hand(tmp_path / "small.ims", levels, declared=declared, pad=0)
    with pytest.raises(FormatError, match=r"smaller than the size \(6, 12, 40\)"):
        open_imaris(path)


def test_unit_not_a_length(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "sec.ims", levels[:1], unit="s")
    with pytest.raises(UnitError, match="not a length unit"):
        open_imaris(path)


def test_missing_unit_warns_and_uses_micrometre(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "nounit.ims", levels[:1], unit=None)
    with pytest.warns(SpatialXRWarning, match="no Unit"):
        da = open_imaris(path)
    assert da.coords["x"].attrs["units"] == "micrometer"


def test_empty_box(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "flat.ims", levels[:1], ext_max=(12.5, 10.0, 30.25))
    with pytest.raises(GeometryError, match="ExtMax1"):
        open_imaris(path)


def test_bad_extent_text(tmp_path, levels):
    path = write_ims_by_hand(tmp_path / "text.ims", levels[:1])
    with h5py.File(path, "a") as f:
        f["DataSetInfo/Image"].attrs["ExtMin0"] = chars("left")
    with pytest.raises(FormatError, match=r"ExtMin0.*'left', not a finite number"):
        open_imaris(path)


def test_not_hdf5_and_truncated(tmp_path, levels):
    bad = tmp_path / "text.ims"
    bad.write_text("not an hdf5 file")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        open_imaris(bad)
    good = write_ims_by_hand(tmp_path / "cut.ims", levels, compression=None)
    cut = tmp_path / "cut2.ims"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError):
        open_imaris(cut).compute()
    with pytest.raises(PathNotFoundError):
        open_imaris(tmp_path / "none.ims")


def test_not_imaris_hdf5(tmp_path):
    path = tmp_path / "other.ims"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FormatError, match="no 'DataSet' group: not an Imaris file"):
        open_imaris(path)


def test_level_and_selection_errors(ims):
    with pytest.raises(DimensionError, match="3 resolution levels"):
        open_imaris(ims, level=3)
    with pytest.raises(DimensionError, match="out of range"):
        open_imaris(ims, channel=5)
    with pytest.raises(sx.SpatialXRError, match="not both"):
        open_imaris(ims, level=0, spacing=1.0)
    with pytest.raises(UnitError, match="not a length unit"):
        open_imaris(ims, spacing="2 s")
