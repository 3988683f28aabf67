"""write_imaris: round trips, read back by imaris-ims-file-reader (an independent reader)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import spatial_xr as sx
from spatial_xr.errors import GeometryError, OverwriteError, SpatialXRWarning
from spatial_xr.io.imaris import open_imaris, open_imaris_multiscale, write_imaris


def image(rng, shape=(2, 3, 16, 24, 20), unit="micrometer"):
    data = rng.integers(0, 4000, size=shape).astype("uint16")
    da = sx.from_array(data, spacing=(2.0, 0.5, 0.25), origin=(10.0, -5.0, 3.0),
                       dims=("t", "c", "z", "y", "x"), units=unit)
    return da.assign_coords(c=("c", ["DAPI", "GFP", "RFP"][: shape[1]]),
                            t=("t", 30.0 * np.arange(shape[0]), {"units": "second"}))


def test_round_trip_exact(tmp_path, rng):
    da = image(rng)
    da.spatial.to_imaris(tmp_path / "a.ims")
    back = open_imaris(tmp_path / "a.ims")
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    assert back.coords["c"].values.tolist() == ["DAPI", "GFP", "RFP"]
    np.testing.assert_array_equal(back.coords["t"].values, [0.0, 30.0])
    assert back.coords["x"].attrs["units"] == "micrometer"


def test_pyramid_read_by_imaris_ims_file_reader(tmp_path, rng):
    from imaris_ims_file_reader.ims import ims as ims_reader

    da = image(rng)
    sx.write_image(da, tmp_path / "p.ims", pyramid=True, levels=3, chunks=(4, 8, 8))
    tree = open_imaris_multiscale(tmp_path / "p.ims")
    ours = da.spatial.pyramid(levels=3)
    for k in range(3):
        theirs = ims_reader(str(tmp_path / "p.ims"), ResolutionLevelLock=k,
                            resolution_decimal_places=None, squeeze_output=False)
        level = tree[f"scale{k}"]["image"]
        expected = ours[f"scale{k}"]["image"]
        np.testing.assert_array_equal(theirs[:, :, :, :, :], expected.values)
        np.testing.assert_array_equal(level.values, expected.values)
        np.testing.assert_allclose(theirs.resolution, [expected.spatial.spacing[d] for d in "zyx"],
                                   rtol=1e-12)
        assert level.spatial.grid.isclose(expected.spatial.grid, atol=1e-12)
        theirs.close()
    with h5py.File(tmp_path / "p.ims") as f:  # padded to whole chunks, as Imaris pads
        assert f["DataSet/ResolutionLevel 0/TimePoint 0/Channel 0/Data"].shape == (16, 24, 24)


def test_refuses_overwrite_and_direction(tmp_path, rng):
    da = image(rng, shape=(1, 1, 4, 6, 8))
    da.spatial.to_imaris(tmp_path / "x.ims")
    with pytest.raises(OverwriteError):
        da.spatial.to_imaris(tmp_path / "x.ims")
    da.spatial.to_imaris(tmp_path / "x.ims", overwrite=True)
    flipped = da.isel(x=slice(None, None, -1))
    with pytest.raises(GeometryError, match="reorient"):
        flipped.spatial.to_imaris(tmp_path / "f.ims")
    flipped.spatial.reorient("LPS").spatial.to_imaris(tmp_path / "f.ims")
    assert open_imaris(tmp_path / "f.ims").spatial.grid.isclose(da.spatial.grid, atol=1e-12)


def test_odd_sizes_warn_that_imaris_places_levels_by_its_box(tmp_path, rng):
    da = sx.from_array(rng.integers(0, 9, (9, 21, 20)).astype("uint8"), spacing=0.5)
    with pytest.warns(SpatialXRWarning, match="level 1 covers a box"):
        da.spatial.to_imaris(tmp_path / "odd.ims", pyramid=True, levels=2)


def test_plain_3d_image_in_millimetres(tmp_path, rng):
    da = sx.from_array(rng.integers(0, 255, (5, 6, 7)).astype("uint8"), spacing=(1.5, 0.8, 0.8),
                       origin=(-4.0, 2.0, 9.0))
    write_imaris(da, tmp_path / "mm.ims")
    back = sx.open_image(tmp_path / "mm.ims")
    assert back.dims == ("z", "y", "x") and back.coords["x"].attrs["units"] == "millimeter"
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    np.testing.assert_array_equal(back.values, da.values)
