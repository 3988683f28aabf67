"""DICOM series reading on synthetic series with known geometry (written with pydicom)."""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_oracles import (
    assert_matches_by_world,
    count_pixel_reads,
    dcm2niix_convert,
    make_series,
    nifti_index_of_world,
    oblique_direction,
    sitk_index_of_world,
    sitk_series,
)

import spatial_xr
from spatial_xr.dicom import discover_series, open_dicom
from spatial_xr.errors import (
    DuplicateSliceError,
    GantryTiltError,
    MixedGeometryError,
    SeriesSelectionError,
    SliceSpacingError,
    SpatialXRWarning,
)


def test_oblique_shuffled_series_exact_geometry(ct_series: tuple) -> None:
    folder, data, truth = ct_series
    da = spatial_xr.open_image(folder)
    assert da.dims == ("z", "y", "x")
    assert da.dtype == np.int16  # 12-bit unsigned, intercept -1024: int16 holds it exactly
    np.testing.assert_array_equal(da.values, data.astype(np.int32) - 1024)
    g = da.spatial.grid
    np.testing.assert_allclose(g.origin_xyz, truth["origin"], atol=1e-5)
    np.testing.assert_allclose(g.direction_xyz, truth["direction"], atol=1e-6)
    np.testing.assert_allclose(g.spacing_xyz, truth["spacing"], atol=1e-5)
    assert np.linalg.det(g.direction_xyz) == pytest.approx(1.0)
    # x is the column index, y the row index
    assert da.sizes["x"] == data.shape[2] and da.sizes["y"] == data.shape[1]


def test_oblique_series_matches_simpleitk_and_dcm2niix(ct_series: tuple, tmp_path: Path
                                                        ) -> None:
    folder, _, _ = ct_series
    da = spatial_xr.open_image(folder)
    im = sitk_series(folder)
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))
    import nibabel as nib

    (nii,) = dcm2niix_convert(folder, tmp_path)
    img = nib.load(nii)
    assert_matches_by_world(da, np.asanyarray(img.dataobj).T, nifti_index_of_world(img))


def test_rescale_off_keeps_stored_values(ct_series: tuple) -> None:
    folder, data, _ = ct_series
    da = open_dicom(folder, apply_rescale=False)
    assert da.dtype == np.uint16
    np.testing.assert_array_equal(da.values, data)
    assert da.attrs["rescale_intercept"] == -1024.0 and da.attrs["rescale_applied"] is False


def test_float_rescale_and_per_slice_rescale(tmp_path: Path) -> None:
    data = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5)
    make_series(tmp_path / "a", data, slope=0.5, intercept=1.25)
    da = open_dicom(tmp_path / "a")
    assert da.dtype == np.float32
    np.testing.assert_allclose(da.values, data * 0.5 + 1.25)
    slopes = [{"RescaleSlope": "1", "RescaleIntercept": str(10 * k)} for k in range(3)]
    make_series(tmp_path / "b", data, per_slice=slopes)
    db = open_dicom(tmp_path / "b")
    assert db.attrs["rescale_varies"] is True
    expected = data.astype(np.int32) + 10 * np.arange(3)[:, None, None]
    np.testing.assert_array_equal(db.values, expected)
    assert db.dtype == np.int32  # int16 stored + intercept 20 can exceed int16


def test_stored_bits_masked_and_sign_extended_like_pydicom(tmp_path: Path) -> None:
    import pydicom

    raw_u = np.array([[0x0FFF, 0xF001, 0x1234]], np.uint16)[None]  # high bits set
    make_series(tmp_path / "u", raw_u, bits_stored=12)
    raw_s = np.array([[0x07FF, 0x0800, 0x0FFF]], np.int16)[None]  # 12-bit signed
    make_series(tmp_path / "s", raw_s, bits_stored=12)
    for name in ("u", "s"):
        (path,) = (tmp_path / name).iterdir()
        da = open_dicom(path, apply_rescale=False)
        np.testing.assert_array_equal(da.values[0], pydicom.dcmread(path).pixel_array)
    np.testing.assert_array_equal(open_dicom(tmp_path / "s").values.ravel(), [2047, -2048, -1])


def test_no_patient_identifying_attrs(ct_series: tuple) -> None:
    folder, _, _ = ct_series
    da = open_dicom(folder)
    text = repr(da.attrs)
    assert "Doe" not in text and "SECRET" not in text and "1970" not in text
    assert da.attrs["series_uid"] and da.attrs["modality"] == "CT"
    opted = open_dicom(folder, include_identifying=True)
    assert opted.attrs["PatientID"] == "SECRET-ID-123"
    import json

    json.dumps({k: v for k, v in da.attrs.items() if k != "direction"})


def test_several_series_in_one_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 100, (4, 6, 7)).astype(np.int16)
    b = rng.integers(0, 100, (5, 6, 7)).astype(np.int16)
    ta = make_series(tmp_path, a, names=[f"a{i}.dcm" for i in range(4)], description="first")
    tb = make_series(tmp_path, b, names=[f"b{i}.dcm" for i in range(5)], description="second",
                     direction=oblique_direction())
    with pytest.raises(SeriesSelectionError) as info:
        spatial_xr.open_image(tmp_path)
    assert ta["uid"] in str(info.value) and "'second'" in str(info.value)
    infos = discover_series(tmp_path)
    assert {i.description: i.n_files for i in infos} == {"first": 4, "second": 5}
    db = open_dicom(tmp_path, series_uid=tb["uid"])
    np.testing.assert_array_equal(db.values, b)
    da = open_dicom(tmp_path, series=[i.series_uid for i in infos].index(ta["uid"]))
    np.testing.assert_array_equal(da.values, a)


def test_multi_echo_becomes_t(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    echoes = [rng.integers(0, 500, (4, 5, 6)).astype(np.int16) for _ in range(3)]
    uid = "1.2.826.0.1.3680043.8.498.777"
    for e, (te, vol) in enumerate(zip((30.0, 10.0, 20.0), echoes, strict=True)):
        make_series(tmp_path, vol, series_uid=uid, names=[f"e{e}_{k}.dcm" for k in range(4)],
                    per_slice=[{"EchoTime": str(te), "InstanceNumber": 100 - 10 * e - k}
                               for k in range(4)], modality="MR")
    da = spatial_xr.open_image(tmp_path)
    assert da.dims == ("t", "z", "y", "x")
    assert da.attrs["t_tag"] == "EchoTime"
    np.testing.assert_array_equal(da.t.values, [10.0, 20.0, 30.0])
    assert da.t.attrs["units"] == "millisecond"
    np.testing.assert_array_equal(da.values, np.stack([echoes[1], echoes[2], echoes[0]]))
    # forcing another tag, and selecting one echo
    forced = open_dicom(tmp_path, t_tag="InstanceNumber")
    assert forced.attrs["t_tag"] == "InstanceNumber"
    one = open_dicom(tmp_path, select={"EchoTime": 20.0})
    assert one.dims == ("z", "y", "x")
    np.testing.assert_array_equal(one.values, echoes[2])


def test_gap_and_uneven_spacing_raise_then_resample(tmp_path: Path) -> None:
    data = np.stack([np.full((4, 5), 10 * k, np.int16) for k in range(5)])
    z = np.array([0.0, 2.0, 4.0, 8.0, 10.0])  # slice at 6 mm missing
    pos = np.array([[1.0, 2.0, v] for v in z])
    make_series(tmp_path, data, positions=pos)
    with pytest.raises(SliceSpacingError, match="not evenly spaced") as info:
        spatial_xr.open_image(tmp_path)
    assert "irregular='resample'" in str(info.value)
    da = open_dicom(tmp_path, irregular="resample")
    assert da.sizes["z"] == 6
    np.testing.assert_allclose(da.spatial.spacing["z"], 2.0)
    np.testing.assert_allclose(da.values[:, 0, 0], [0, 10, 20, 25, 30, 40])
    assert "resampled" in da.attrs


def test_gantry_tilt_raises_then_resamples(tmp_path: Path) -> None:
    ny, nx = 8, 9
    yy = np.arange(ny)[:, None].repeat(nx, 1).astype(np.int16)
    data = np.stack([yy * 10 + k for k in range(6)])  # value encodes the row index
    tilt = np.tan(np.radians(15.0))
    spacing = (1.0, 1.0, 2.0)
    pos = np.array([[0.0, k * 2.0 * tilt, k * 2.0] for k in range(6)])  # sheared in y
    make_series(tmp_path, data, positions=pos, spacing=spacing)
    with pytest.raises(GantryTiltError, match="tilt of about 15"):
        spatial_xr.open_image(tmp_path)
    da = open_dicom(tmp_path, irregular="resample", fill_value=-1)
    g = da.spatial.grid
    np.testing.assert_allclose(g.direction_xyz, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(g.origin_xyz, [0, 0, 0], atol=1e-6)
    # target voxel (k, j) sits at world y = j; source slice k has its row r at y = r + k*shift
    shift = 2.0 * tilt
    for k in range(6):
        for j in range(ny):
            r = j - k * shift
            got = float(da.values[k, j, 3])
            if r < 0:
                assert got == -1
            else:
                lo = int(np.floor(r))
                w = r - lo
                hi = min(lo + 1, ny - 1)
                expect = (1 - w) * (lo * 10 + k) + w * (hi * 10 + k)
                assert got == pytest.approx(expect, abs=1e-3)


def test_mixed_sizes_and_spacing_raise(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.555"
    make_series(tmp_path / "a", np.zeros((2, 4, 5), np.int16), series_uid=uid)
    make_series(tmp_path / "a", np.zeros((2, 4, 6), np.int16), series_uid=uid,
                origin=(-40.0, 25.0, 20.0), names=["x1.dcm", "x2.dcm"])
    with pytest.raises(MixedGeometryError, match="Rows x Columns"):
        open_dicom(tmp_path / "a")
    make_series(tmp_path / "b", np.zeros((2, 4, 5), np.int16), series_uid=uid)
    make_series(tmp_path / "b", np.zeros((2, 4, 5), np.int16), series_uid=uid,
                origin=(-40.0, 25.0, 20.0), names=["x1.dcm", "x2.dcm"], spacing=(0.5, 0.5, 2.5))
    with pytest.raises(MixedGeometryError, match="PixelSpacing"):
        open_dicom(tmp_path / "b")


def test_duplicate_positions(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = rng.integers(0, 100, (3, 4, 5)).astype(np.int16)
    uid = "1.2.826.0.1.3680043.8.498.556"
    same = [{"InstanceNumber": 1, "AcquisitionNumber": 1}] * 3
    make_series(tmp_path / "copies", data, series_uid=uid, per_slice=same)
    make_series(tmp_path / "copies", data, series_uid=uid, per_slice=same,
                names=["c1.dcm", "c2.dcm", "c3.dcm"])
    with pytest.warns(SpatialXRWarning, match="identical copies"):
        da = open_dicom(tmp_path / "copies")
    np.testing.assert_array_equal(da.values, data)
    make_series(tmp_path / "conflict", data, series_uid=uid, per_slice=same)
    make_series(tmp_path / "conflict", data + 1, series_uid=uid, per_slice=same,
                names=["c1.dcm", "c2.dcm", "c3.dcm"])
    with pytest.raises(DuplicateSliceError, match="share the position"):
        open_dicom(tmp_path / "conflict")


def test_single_file_opens_as_one_slice(ct_series: tuple) -> None:
    folder, data, truth = ct_series
    first = sorted(folder.iterdir())[0]
    da = spatial_xr.open_image(first)
    assert da.sizes["z"] == 1
    k = int(np.argmin(np.abs(truth["positions"] @ truth["direction"][:, 2]
                             - da.spatial.origin @ truth["direction"][:, 2])))
    np.testing.assert_array_equal(da.values[0], data[k].astype(np.int32) - 1024)


# ---------------------------------------------------------------------- laziness
@pytest.fixture(scope="module")
def long_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("long") / "s"
    data = (np.arange(300, dtype=np.int16)[:, None, None] * np.ones((1, 8, 8), np.int16))
    make_series(folder, data, spacing=(1.0, 1.0, 1.0))
    return folder, data


def test_open_decodes_nothing_and_crop_decodes_only_its_files(
    long_series: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, data = long_series
    calls = count_pixel_reads(monkeypatch)
    da = spatial_xr.open_image(folder, chunks={"z": 16})
    assert calls == []
    part = da.isel(z=slice(100, 110), y=slice(2, 5)).values
    assert len(calls) == 10 and len(set(calls)) == 10
    np.testing.assert_array_equal(part, data[100:110, 2:5])


def test_graph_pickles_and_runs_on_distributed(long_series: tuple, dask_client) -> None:
    folder, data = long_series
    da = spatial_xr.open_image(folder, chunks={"z": 50})
    graph = pickle.dumps(da.data)
    assert b"DicomSliceArray" in graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        total = int(da.sum().compute(scheduler=dask_client.get))
        sl = da.isel(z=slice(10, 20)).compute(scheduler=dask_client.get).values
    assert total == int(data.astype(np.int64).sum())
    np.testing.assert_array_equal(sl, data[10:20])


def test_default_chunks_are_whole_slices(long_series: tuple) -> None:
    folder, _ = long_series
    da = spatial_xr.open_image(folder)
    assert da.chunksizes["y"] == (8,) and da.chunksizes["x"] == (8,)
    assert da.chunksizes["z"] == (300,)  # small slices: one chunk under dask's chunk size
    db = spatial_xr.open_image(folder, chunks={"z": 7})
    assert db.chunksizes["z"][0] == 7


def _truncate_a_slice_after_open_and_read(folder: Path, n_slices: int, victim: int) -> None:
    """Open a series, cut the end off one slice file, then read: a FormatError naming
    the truncation must reach the caller."""
    from spatial_xr.errors import FormatError

    make_series(folder, np.ones((n_slices, 4, 5), np.int16))
    da = open_dicom(folder)
    path = sorted(folder.iterdir())[victim]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FormatError, match="truncated"):
        da.values  # noqa: B018


def test_file_removed_after_open_raises_clearly(tmp_path: Path) -> None:
    _truncate_a_slice_after_open_and_read(tmp_path / "s", 3, 0)
    shutil.rmtree(tmp_path / "s")


# ---------------------------------------------------------------------- in-place rescale
@pytest.mark.parametrize(
    ("stored", "bits", "slope", "intercept", "dtype"),
    [
        (np.uint16, 16, 1, -32768, np.int16),  # raw values above int16: exact by wrap-around
        (np.uint16, 12, 1, -1024, np.int16),  # typical CT
        (np.uint16, 16, 1, -1024, np.int32),  # wider output, read through a slice buffer
        (np.uint16, 8, 3, -100, np.int16),  # integer slope
        (np.int16, 16, 2, 5, np.int32),
        (np.uint16, 16, 0.5, -3.25, np.float32),
    ],
)
def test_rescale_matches_pydicom_and_simpleitk(
    tmp_path: Path, stored: type, bits: int, slope: float, intercept: float, dtype: type
) -> None:
    import pydicom

    rng = np.random.default_rng(bits)
    info = np.iinfo(stored)
    lo, hi = (max(info.min, -(2 ** (bits - 1))), min(info.max, 2 ** (bits - 1) - 1)) \
        if info.min < 0 else (0, 2**bits - 1)
    data = rng.integers(lo, hi, size=(5, 9, 11), endpoint=True).astype(stored)
    data[0, 0, :2] = lo, hi  # both ends of the stored range
    make_series(tmp_path / "s", data, slope=slope, intercept=intercept, bits_stored=bits)
    da = spatial_xr.open_image(tmp_path / "s")
    assert da.dtype == dtype
    assert da.data.npartitions == 1
    values = da.values
    ds = [pydicom.dcmread(p) for p in (tmp_path / "s").iterdir()]
    ds.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    ref = np.stack([d.pixel_array.astype(np.float64) * slope + intercept for d in ds])
    np.testing.assert_array_equal(values.astype(np.float64), ref.astype(dtype))
    oracle = sitk.GetArrayFromImage(sitk_series(tmp_path / "s")).astype(np.float64)
    np.testing.assert_allclose(values, oracle, rtol=1e-6, atol=1e-4)


def test_default_single_chunk_crop_decodes_only_its_files(
    long_series: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, data = long_series
    calls = count_pixel_reads(monkeypatch)
    da = spatial_xr.open_image(folder)
    assert da.data.npartitions == 1 and calls == []
    part = da.isel(z=slice(100, 110)).values
    assert len(calls) == 10 and len(set(calls)) == 10
    np.testing.assert_array_equal(part, data[100:110])
    whole = da.values
    assert whole.flags.writeable and not np.shares_memory(whole, da.values)


def test_many_slices_read_on_threads_equal_serial_read(
    long_series: tuple, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from spatial_xr.io.dicom import lazy

    folder, data = long_series
    threaded = spatial_xr.open_image(folder).values  # 300 slices ≥ PARALLEL_MIN_SLICES
    monkeypatch.setattr(lazy, "PARALLEL_MIN_SLICES", 10**9)
    np.testing.assert_array_equal(spatial_xr.open_image(folder).values, threaded)
    np.testing.assert_array_equal(threaded, data)
    monkeypatch.undo()
    # an error in a worker thread (40 slices: read on threads) reaches the caller
    _truncate_a_slice_after_open_and_read(tmp_path / "s", 40, 17)
