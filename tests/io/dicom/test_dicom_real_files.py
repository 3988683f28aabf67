"""DICOM series reading on real files others wrote, checked against SimpleITK and dcm2niix."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from dicom_oracles import (
    DICOMDIRTESTS,
    assert_matches_by_world,
    dcm2niix_convert,
    nifti_index_of_world,
    sitk_index_of_world,
    sitk_series,
)
from pydicom.data import get_testdata_file

import spatial_xr
from spatial_xr.dicom import discover_series, open_dicom
from spatial_xr.errors import (
    MixedGeometryError,
    SeriesSelectionError,
    SliceSpacingError,
)

CT5N = DICOMDIRTESTS / "98892001" / "CT5N"


def test_ct5n_geometry_from_positions_not_instance_numbers() -> None:
    da = spatial_xr.open_image(CT5N)
    assert da.dims == ("z", "y", "x")
    assert dict(da.sizes) == {"z": 5, "y": 16, "x": 16}
    np.testing.assert_allclose(da.spatial.origin, [-72.2, -143.0, -1.2375], atol=1e-5)
    np.testing.assert_allclose(da.spatial.spacing_xyz, [0.488281, 0.488281, 2.5], atol=1e-6)
    np.testing.assert_allclose(da.spatial.direction, np.eye(3), atol=1e-12)
    # InstanceNumber runs against position: slice 0 (lowest z) is InstanceNumber 10
    assert da.attrs["modality"] == "CT"
    assert da.attrs["units"] == "HU"


def test_ct5n_matches_simpleitk_and_dcm2niix(tmp_path: Path) -> None:
    da = spatial_xr.open_image(CT5N)
    im = sitk_series(CT5N)
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))
    (nii,) = dcm2niix_convert(CT5N, tmp_path)
    img = nib.load(nii)
    data = np.asanyarray(img.dataobj).T  # (k, j, i) order
    assert_matches_by_world(da, data, nifti_index_of_world(img))


def test_ct2_gap_raises() -> None:
    with pytest.raises(SliceSpacingError, match="not evenly spaced"):
        spatial_xr.open_image(DICOMDIRTESTS / "77654033" / "CT2")


def test_ct2_regular_subset_by_file_list_matches_simpleitk(tmp_path: Path) -> None:
    folder = DICOMDIRTESTS / "77654033" / "CT2"
    subset = [folder / n for n in ("17136", "17166", "17196")]
    da = open_dicom(subset)
    assert da.sizes["z"] == 3
    for p in subset:
        shutil.copy(p, tmp_path / p.name)
    im = sitk_series(tmp_path)
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))


def test_ct2_resample_gives_regular_grid() -> None:
    da = spatial_xr.open_image(DICOMDIRTESTS / "77654033" / "CT2", irregular="resample")
    g = da.spatial.grid
    np.testing.assert_allclose(g.spacing_xyz[2], 1.25, atol=1e-4)
    assert da.dtype == np.float32
    # the source slices sit exactly on target slices: values are reproduced there
    src = open_dicom(DICOMDIRTESTS / "77654033" / "CT2", select={"InstanceNumber": 181})
    k = round((src.spatial.origin[2] - g.origin_xyz[2]) / g.spacing_xyz[2])
    np.testing.assert_allclose(da.isel(z=k).values, src.isel(z=0).values, atol=1e-3)


def test_mr700_mixed_orientations_raise() -> None:
    with pytest.raises(MixedGeometryError, match="7 different orientations"):
        spatial_xr.open_image(DICOMDIRTESTS / "98892003" / "MR700")


def test_mr2_lists_series_and_selects() -> None:
    folder = DICOMDIRTESTS / "98892003" / "MR2"
    with pytest.raises(SeriesSelectionError) as info:
        spatial_xr.open_image(folder)
    msg = str(info.value)
    assert "3 image series" in msg and "T/S/C RF FAST PILOT" in msg and "3 files" in msg
    infos = discover_series(folder)
    assert sorted(s.n_files for s in infos) == [1, 3, 3]
    pilots = [s for s in infos if s.n_files == 3]
    assert all("3 different orientations" in (s.problem or "") for s in pilots)
    # the chosen series mixes 3 orientations: explicit error, then select one
    with pytest.raises(MixedGeometryError):
        open_dicom(folder, series_uid=pilots[0].series_uid)
    axial = open_dicom(folder, series_uid=pilots[0].series_uid,
                       select={"ImageOrientationPatient": [1, 0, 0, 0, 1, 0]})
    assert axial.sizes["z"] == 1
    (path,) = [p for p in pilots[0].files
               if np.allclose(sitk.ReadImage(p).GetDirection(), np.eye(3).ravel())]
    im = sitk.ReadImage(path)
    assert_matches_by_world(axial, sitk.GetArrayFromImage(im), sitk_index_of_world(im))


def test_mr1_three_single_file_series_by_index() -> None:
    folder = DICOMDIRTESTS / "98892003" / "MR1"
    with pytest.raises(SeriesSelectionError, match="3 image series"):
        open_dicom(folder)
    infos = discover_series(folder)
    for i, info in enumerate(infos):
        da = open_dicom(folder, series=i)
        assert da.attrs["series_uid"] == info.series_uid
        im = sitk.ReadImage(info.files[0])
        assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))
    with pytest.raises(SeriesSelectionError, match="out of range"):
        open_dicom(folder, series=5)
    with pytest.raises(SeriesSelectionError, match="not in"):
        open_dicom(folder, series_uid="1.2.3")


def test_discover_dicomdirtests_skips_dicomdir_and_non_images(tmp_path: Path) -> None:
    infos = discover_series(DICOMDIRTESTS, recursive=True)
    assert len(infos) == 13
    total = sum(s.n_files for s in infos)
    assert total == 31  # every image file under the tree; the DICOMDIR files are skipped
    ct5n = [s for s in infos if s.n_files == 5]
    assert ct5n[0].shape == {"z": 5, "y": 16, "x": 16}
    assert ct5n[0].orientation == "LPS"
    np.testing.assert_allclose(list(ct5n[0].spacing.values()), [2.5, 0.488281, 0.488281])
    gap = next(s for s in infos if s.description == "Routine Brain")
    assert gap.shape is None and "not evenly spaced" in gap.problem
    # junk next to a series is skipped, never fatal
    shutil.copytree(CT5N, tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("not dicom")
    (tmp_path / "s" / "empty").write_bytes(b"")
    shutil.copy(get_testdata_file("rtplan.dcm"), tmp_path / "s" / "plan.dcm")
    shutil.copy(DICOMDIRTESTS / "DICOMDIR", tmp_path / "s" / "DICOMDIR")
    (info,) = discover_series(tmp_path / "s")
    assert info.n_files == 5
    assert spatial_xr.open_image(tmp_path / "s").sizes["z"] == 5


@pytest.mark.parametrize(
    ("name", "twin"),
    [
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("MR_small_bigendian.dcm", "MR_small.dcm"),
        ("MR_small_implicit.dcm", "MR_small.dcm"),
        ("MR_small_expb.dcm", "MR_small.dcm"),
        ("emri_small_RLE.dcm", "emri_small.dcm"),
        ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),
        ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
        ("emri_small_big_endian.dcm", "emri_small.dcm"),
    ],
)
def test_transfer_syntaxes_decode_like_uncompressed_twin(name: str, twin: str) -> None:
    a = spatial_xr.open_image(get_testdata_file(name))
    b = spatial_xr.open_image(get_testdata_file(twin))
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a.values, b.values)
    assert a.spatial.grid.isclose(b.spatial.grid)
    im = sitk.ReadImage(get_testdata_file(twin))
    np.testing.assert_array_equal(b.values, sitk.GetArrayFromImage(im).reshape(b.shape))


def test_compressed_multiframe_decoded_once_per_request(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from dicom_oracles import count_pixel_reads

    calls = count_pixel_reads(monkeypatch)
    da = spatial_xr.open_image(get_testdata_file("emri_small_RLE.dcm"))
    assert calls == []
    whole = da.values
    assert len(calls) == 1
    calls.clear()
    np.testing.assert_array_equal(da.isel(z=3).values, whole[3])
    assert len(calls) == 1  # one frame: decoded alone


def test_fast_uncompressed_path_equals_pydicom() -> None:
    import pydicom

    for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm"):
        da = spatial_xr.open_image(get_testdata_file(name), apply_rescale=False)
        ref = pydicom.dcmread(get_testdata_file(name)).pixel_array
        np.testing.assert_array_equal(da.isel(z=0).values, ref)


def test_missing_decoder_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import pydicom.pixels

    from spatial_xr.errors import DependencyError

    def no_decoder(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Unable to decode the pixel data: missing plugin dependencies")

    class Unavailable:
        is_available = False
        UID = "JPEG 2000 Lossless"

    monkeypatch.setattr(pydicom.pixels, "pixel_array", no_decoder)
    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda uid: Unavailable())
    da = spatial_xr.open_image(get_testdata_file("MR_small_jp2klossless.dcm"))
    with pytest.raises(DependencyError, match=r"spatial-xr\[dicom-codecs\]"):
        da.values  # noqa: B018


def test_enhanced_ct_matches_simpleitk() -> None:
    path = get_testdata_file("eCT_Supplemental.dcm")
    da = spatial_xr.open_image(path)
    assert dict(da.sizes) == {"z": 2, "y": 512, "x": 512}
    assert da.attrs["rescale_intercept"] == -1024.0 and da.attrs["units"] == "HU"
    assert np.linalg.det(da.spatial.direction) > 0
    im = sitk.ReadImage(path)
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))


def test_enhanced_mr_oblique_matches_simpleitk(philips_mprage: Path) -> None:
    da = spatial_xr.open_image(philips_mprage)
    assert dict(da.sizes) == {"z": 176, "y": 256, "x": 256}
    im = sitk.ReadImage(str(philips_mprage))
    ours = da.spatial.grid
    corners = np.array([[i, j, k] for i in (0, 255) for j in (0, 255) for k in (0, 175)])
    theirs = np.array([im.TransformContinuousIndexToPhysicalPoint(c.tolist())
                       for c in corners.astype(float)])
    assert np.abs(ours.index_to_world(corners) - theirs).max() < 1.5e-5
    assert da.attrs["rescale_slope"] == pytest.approx(2.1079365079365)
    assert da.dtype == np.float32
    # nibabel's copy has its pixel data zeroed: the values check is on shape and dtype
    assert float(da.isel(z=slice(0, 2)).max()) == 0.0


def test_mosaic_dwi_split_into_slices_and_volumes(dwi_folder: Path, tmp_path: Path) -> None:
    da = spatial_xr.open_image(dwi_folder)
    assert dict(da.sizes) == {"t": 2, "z": 48, "y": 128, "x": 128}
    assert da.attrs["mosaic"] is True
    assert da.attrs["t_tag"] in ("AcquisitionTime", "DiffusionBValue", "AcquisitionNumber",
                                 "InstanceNumber")
    outs = dcm2niix_convert(dwi_folder, tmp_path)
    img = nib.load(outs[0])
    assert img.shape[:3] == (128, 128, 48)
    vol = np.asanyarray(img.dataobj)
    data = (vol[..., 0] if vol.ndim == 4 else vol).T
    assert_matches_by_world(da.isel(t=0), data, nifti_index_of_world(img), atol=2e-3)


@pytest.mark.parametrize("name", ["SC_rgb_rle.dcm", "SC_rgb_rle_2frame.dcm",
                                  "SC_rgb_small_odd.dcm"])
def test_rgb_becomes_c_dim(name: str) -> None:
    import pydicom

    path = get_testdata_file(name)
    da = spatial_xr.open_image(path)
    assert da.dims[0] == "c" and da.sizes["c"] == 3
    ref = pydicom.dcmread(path).pixel_array  # (frames?, rows, cols, 3)
    ref = ref.reshape(-1, *ref.shape[-3:])
    np.testing.assert_array_equal(da.transpose("z", "y", "x", "c").values, ref)
    im = sitk.ReadImage(path)
    assert im.GetNumberOfComponentsPerPixel() == 3
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(im).reshape(ref.shape), ref)


def test_enhanced_mr_matches_dcm2niix(philips_mprage: Path, tmp_path: Path) -> None:
    da = spatial_xr.open_image(philips_mprage)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(philips_mprage, src / philips_mprage.name)
    (nii,) = dcm2niix_convert(src, tmp_path / "out")
    img = nib.load(nii)
    assert sorted(img.shape) == sorted(da.shape)
    # nibabel's copy has zeroed pixels: compare where every voxel centre lands
    index_of_world = nifti_index_of_world(img)
    corners = np.array([[i, j, k] for i in (0, 255) for j in (0, 255) for k in (0, 175)])
    idx = index_of_world(da.spatial.grid.index_to_world(corners))
    assert np.abs(idx - np.rint(idx)).max() < 1e-3
    assert {tuple(v) for v in np.rint(idx).astype(int)} == {
        (i, j, k) for i in (0, img.shape[0] - 1) for j in (0, img.shape[1] - 1)
        for k in (0, img.shape[2] - 1)}
