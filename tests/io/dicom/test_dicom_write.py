"""DICOM series writer: exact round trips, SimpleITK reads our output, safe writing."""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from dicom_oracles import (
    assert_matches_by_world,
    oblique_direction,
    sitk_index_of_world,
    sitk_series,
)

import spatial_xr
import spatial_xr.dicom
from spatial_xr.dicom import write_dicom_series
from spatial_xr.errors import DimensionError, OverwriteError


def _image(data: np.ndarray, direction: np.ndarray | None = None) -> object:
    return spatial_xr.from_array(data, spacing=(2.5, 0.7, 0.9), origin=(10.0, -20.0, 30.5),
                                 direction=direction)


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int32])
def test_integers_round_trip_exactly(tmp_path: Path, dtype: type) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -30000), min(info.max, 30000)
    data = rng.integers(lo, hi, (5, 6, 7)).astype(dtype)
    if dtype is np.int32:
        data = data.astype(np.int32) + 40000  # needs an intercept shift to fit 16 bits
    da = _image(data, oblique_direction())
    da.spatial.to_dicom_series(tmp_path / "s")
    back = spatial_xr.open_image(tmp_path / "s")
    np.testing.assert_array_equal(back.values, data)
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-6)


def test_simpleitk_reads_our_series_with_same_geometry(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(-1000, 3000, (6, 8, 9)).astype(np.int16)
    da = _image(data, oblique_direction())
    da.spatial.to_dicom_series(tmp_path / "s", modality="MR")
    im = sitk_series(tmp_path / "s")
    np.testing.assert_allclose(im.GetOrigin(), da.spatial.origin, atol=1e-6)
    np.testing.assert_allclose(im.GetSpacing(), da.spatial.spacing_xyz, atol=1e-6)
    np.testing.assert_allclose(np.reshape(im.GetDirection(), (3, 3)), da.spatial.direction,
                               atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(im), data)
    ds = pydicom.dcmread(next((tmp_path / "s").iterdir()))
    assert ds.SOPClassUID == pydicom.uid.MRImageStorage and ds.Modality == "MR"


def test_floats_keep_precision_and_other_modality(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    data = rng.normal(100.0, 40.0, (4, 5, 6)).astype(np.float32)
    da = _image(data)
    write_dicom_series(da, tmp_path / "f", modality="PT")
    back = spatial_xr.open_image(tmp_path / "f")
    assert back.dtype == np.float32
    step = (data.max() - data.min()) / 65534
    assert np.abs(back.values - data).max() <= step * 0.51 + 1e-4
    ds = pydicom.dcmread(sorted((tmp_path / "f").iterdir())[0])
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    im = sitk_series(tmp_path / "f")
    np.testing.assert_allclose(sitk.GetArrayFromImage(im), back.values, atol=1e-3)


def test_left_handed_direction_reads_back_flipped_same_world(tmp_path: Path) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    d = np.diag([1.0, 1.0, -1.0])
    da = _image(data, d)
    da.spatial.to_dicom_series(tmp_path / "s")
    back = spatial_xr.open_image(tmp_path / "s")
    flipped = back.isel(z=slice(None, None, -1))
    np.testing.assert_array_equal(flipped.values, data)
    assert flipped.spatial.grid.isclose(da.spatial.grid, atol=1e-6)
    im = sitk_series(tmp_path / "s")
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))


def test_fresh_uids_and_no_overwrite(tmp_path: Path) -> None:
    da = _image(np.zeros((2, 3, 4), np.int16))
    da.spatial.to_dicom_series(tmp_path / "a")
    da.spatial.to_dicom_series(tmp_path / "b")
    ua = {pydicom.dcmread(p).SeriesInstanceUID for p in (tmp_path / "a").iterdir()}
    ub = {pydicom.dcmread(p).SeriesInstanceUID for p in (tmp_path / "b").iterdir()}
    assert len(ua) == 1 and len(ub) == 1 and ua != ub
    sops = [pydicom.dcmread(p).SOPInstanceUID for p in (tmp_path / "a").iterdir()]
    assert len(set(sops)) == 2
    with pytest.raises(OverwriteError, match="overwrite=True"):
        da.spatial.to_dicom_series(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    da.spatial.to_dicom_series(tmp_path / "empty")  # an empty folder is fine
    new = _image(np.ones((3, 3, 4), np.int16))
    new.spatial.to_dicom_series(tmp_path / "a", overwrite=True)
    assert spatial_xr.open_image(tmp_path / "a").sizes["z"] == 3


def test_failure_leaves_no_partial_output(tmp_path: Path) -> None:
    def boom(block: np.ndarray) -> np.ndarray:
        if block.shape[0] and block[0, 0, 0] > 0:
            raise RuntimeError("disk on fire")
        return block

    arr = dsa.from_array(np.arange(4)[:, None, None] * np.ones((1, 3, 3), np.int16),
                         chunks=(1, 3, 3)).map_blocks(boom, dtype=np.int16)
    da = spatial_xr.from_array(np.zeros((4, 3, 3), np.int16)).copy(data=arr)
    with pytest.raises(RuntimeError):
        da.spatial.to_dicom_series(tmp_path / "s")
    assert list(tmp_path.iterdir()) == []


def test_rejects_t_and_c(tmp_path: Path) -> None:
    da = spatial_xr.from_array(np.zeros((2, 3, 4, 5), np.int16))
    with pytest.raises(DimensionError, match="isel"):
        da.spatial.to_dicom_series(tmp_path / "s")


def test_two_d_image_writes_one_slice(tmp_path: Path) -> None:
    da = spatial_xr.from_array(np.arange(12, dtype=np.int16).reshape(3, 4), spacing=(0.5, 0.25))
    da.spatial.to_dicom_series(tmp_path / "s")
    back = spatial_xr.open_image(tmp_path / "s")
    assert back.sizes["z"] == 1
    np.testing.assert_array_equal(back.values[0], da.values)


def test_our_series_shuffled_and_mixed_in_one_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1000, (6, 5, 4)).astype(np.int16)
    b = rng.integers(0, 1000, (3, 5, 4)).astype(np.int16)
    da_a, da_b = _image(a, oblique_direction()), _image(b)
    da_a.spatial.to_dicom_series(tmp_path / "a")
    da_b.spatial.to_dicom_series(tmp_path / "b", modality="MR")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    names = rng.permutation(9)
    for i, p in enumerate(sorted((tmp_path / "a").iterdir()) + sorted((tmp_path / "b").iterdir())):
        p.rename(mixed / f"x{names[i]:02d}")
    infos = spatial_xr.dicom.discover_series(mixed)
    assert sorted(i.n_files for i in infos) == [3, 6]
    ia = next(i for i in infos if i.n_files == 6)
    back = spatial_xr.open_image(mixed, series_uid=ia.series_uid)
    np.testing.assert_array_equal(back.values, a)
    assert back.spatial.grid.isclose(da_a.spatial.grid, atol=1e-6)
    import shutil

    only_a = tmp_path / "only_a"
    only_a.mkdir()
    for f in ia.files:
        shutil.copy(f, only_a)
    im = sitk_series(only_a)
    assert_matches_by_world(back, sitk.GetArrayFromImage(im), sitk_index_of_world(im))
