"""RGB24 / RGBA32 NIfTI: a uint8 ``c`` dim placed as for RGB DICOM, lazy partial reads,
resampling and round trips, checked against nibabel, SimpleITK, pydicom and dcm2niix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

import spatial_xr
import spatial_xr.io.nifti.read as nifti_mod
from spatial_xr.errors import DimensionError
from spatial_xr.io.nifti import write_nifti
from tests.io.nifti.test_read import CountingFile

# pydicom's RGB test files: an ultrasound frame (480 × 640) and a 2-frame 100 × 100 image
SOURCES = {"us": "US1_UNCR.dcm", "sc2": "SC_rgb_2frame.dcm"}


def _dcm2niix(src: Path, out: Path) -> Path:
    import dcm2niix

    exe = shutil.which("dcm2niix") or str(Path(dcm2niix.bin))
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-o", str(out), "-f", "%f", "-z", "n", "-b", "n", str(src)],
                   check=True, capture_output=True)
    (nii,) = out.glob("*.nii")
    return nii


@pytest.fixture(scope="module")
def rgb_nifti(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """pydicom's RGB files converted to RGB24 NIfTI by dcm2niix (written by software we
    did not write, from real images)."""
    out = {}
    for key, name in SOURCES.items():
        base = tmp_path_factory.mktemp(key)
        (base / "in").mkdir()
        shutil.copy(get_testdata_file(name), base / "in" / name)
        out[key] = _dcm2niix(base / "in", base / "out")
    return out


def _pydicom_rgb(name: str) -> np.ndarray:
    arr = pydicom.dcmread(get_testdata_file(name)).pixel_array
    return arr.reshape(-1, *arr.shape[-3:])  # (frames, rows, cols, 3)


def _nibabel_zyxc(path: Path) -> np.ndarray:
    """nibabel's structured voxels as (…, z, y, x, c) uint8."""
    data = np.asanyarray(nib.load(path).dataobj)
    rgb = np.stack([data[k] for k in data.dtype.names], axis=-1)  # (x, y, z[, t], c)
    return np.moveaxis(rgb, list(range(rgb.ndim - 1)), list(range(rgb.ndim - 2, -1, -1)))


def _sitk_grid_equal(da, img: sitk.Image) -> None:  # type: ignore[no-untyped-def]
    g = da.spatial.grid
    np.testing.assert_allclose(g.origin_xyz, img.GetOrigin()[:3], atol=1e-5)
    np.testing.assert_allclose(g.spacing_xyz, img.GetSpacing()[:3], atol=1e-6)
    np.testing.assert_allclose(g.direction_xyz, np.reshape(img.GetDirection(), (3, 3)),
                               atol=1e-6)


@pytest.mark.parametrize("key", list(SOURCES))
def test_rgb24_opens_like_rgb_dicom(rgb_nifti: dict[str, Path], key: str) -> None:
    path = rgb_nifti[key]
    assert nib.load(path).header["datatype"] == 128  # dcm2niix wrote RGB24
    da = spatial_xr.open_image(path)
    dcm = spatial_xr.open_image(get_testdata_file(SOURCES[key]))
    assert da.dims == dcm.dims == ("c", "z", "y", "x")
    assert da.sizes == dcm.sizes and da.dtype == dcm.dtype == np.uint8
    assert da.attrs["photometric_interpretation"] == "RGB"
    ours = da.transpose("z", "y", "x", "c").values
    np.testing.assert_array_equal(ours, _nibabel_zyxc(path))
    np.testing.assert_array_equal(ours[:, ::-1], _pydicom_rgb(SOURCES[key]))  # dcm2niix
    # stores rows bottom-up
    img = sitk.ReadImage(str(path))
    assert img.GetNumberOfComponentsPerPixel() == 3
    np.testing.assert_array_equal(ours, sitk.GetArrayFromImage(img).reshape(ours.shape))
    # dcm2niix stores no qform/sform (codes 0) for these non-spatial images: the geometry
    # follows nibabel's fallback (ITK's differs there; it is compared on written files)
    hdr = nib.load(path).header
    assert hdr["qform_code"] == hdr["sform_code"] == 0
    np.testing.assert_allclose(da.spatial.grid.affine_ras, nib.load(path).affine, atol=1e-6)


def test_rgb_reads_stay_lazy_and_partial(rgb_nifti: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def counting_open(path: str) -> CountingFile:
        return CountingFile(open(path, "rb"))

    monkeypatch.setattr(nifti_mod, "open_file", counting_open)
    CountingFile.total = 0
    da = spatial_xr.open_image(rgb_nifti["sc2"], chunks={"z": 1})
    assert CountingFile.total == 0
    assert da.data.numblocks == (1, 2, 1, 1)  # the samples of a voxel stay together
    ref = _nibabel_zyxc(rgb_nifti["sc2"])
    plane = da.isel(z=1).values
    assert CountingFile.total == 100 * 100 * 3  # one plane of interleaved samples
    np.testing.assert_array_equal(plane, np.moveaxis(ref[1], -1, 0))
    sub = da.isel(c=2, z=0, y=slice(10, 20), x=[5, 50, 7]).values
    np.testing.assert_array_equal(sub, ref[0, 10:20][:, [5, 50, 7], 2])


def _oblique_copy(src: Path, out: Path) -> Path:
    """``src``'s voxels written by nibabel with an oblique affine (0.3 mm pixels, rotated
    20° in plane), stored as sform and qform so that every reader takes the same one."""
    img = nib.load(src)
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    affine = np.array([[0.3 * c, -0.3 * s, 0, 12.5], [0.3 * s, 0.3 * c, 0, -40.0],
                       [0, 0, 1.0, 7.0], [0, 0, 0, 1]])
    data = np.asanyarray(img.dataobj)
    new = nib.Nifti1Image(data, affine)
    new.header.set_data_dtype(data.dtype)
    new.set_qform(affine, code=1)
    new.set_sform(affine, code=1)
    nib.save(new, out)
    return out


def test_rgb_resample_matches_simpleitk(rgb_nifti: dict[str, Path], tmp_path: Path) -> None:
    path = _oblique_copy(rgb_nifti["us"], tmp_path / "us_oblique.nii")
    da = spatial_xr.open_image(path)
    _sitk_grid_equal(da, sitk.ReadImage(str(path)))
    out = da.spatial.resample(spacing=(0.41, 0.23, 1.0), interpolation="linear")
    assert out.dims == da.dims and out.sizes["c"] == 3 and out.dtype == np.uint8
    src = sitk.ReadImage(str(path))
    g = out.spatial.grid
    ref = sitk.Image([int(v) for v in g.shape_xyz], sitk.sitkVectorUInt8, 3)
    ref.SetOrigin(g.origin_xyz.tolist())
    ref.SetSpacing(g.spacing_xyz.tolist())
    ref.SetDirection(g.direction_xyz.ravel().tolist())
    theirs = sitk.GetArrayFromImage(sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear))
    ours = out.transpose("z", "y", "x", "c").values
    assert theirs.shape == ours.shape and ours.std() > 10
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    assert diff.max() <= 1  # integer outputs: rounding of the interpolated value may differ


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_rgb_round_trip_writes_rgb24(rgb_nifti: dict[str, Path], tmp_path: Path,
                                     suffix: str) -> None:
    da = spatial_xr.open_image(rgb_nifti["sc2"])
    out = write_nifti(da, tmp_path / f"rgb{suffix}")
    img = nib.load(out)
    assert img.header["datatype"] == 128 and img.shape == (100, 100, 2)
    np.testing.assert_array_equal(_nibabel_zyxc(out), _nibabel_zyxc(rgb_nifti["sc2"]))
    back = spatial_xr.open_image(out)
    assert back.dims == da.dims and back.attrs["photometric_interpretation"] == "RGB"
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(da.spatial.grid)
    simg = sitk.ReadImage(str(out))
    assert simg.GetNumberOfComponentsPerPixel() == 3
    _sitk_grid_equal(back, simg)


def test_rgb_dicom_written_as_rgb24(tmp_path: Path) -> None:
    name = SOURCES["sc2"]
    dcm = spatial_xr.open_image(get_testdata_file(name))
    assert dcm.attrs["photometric_interpretation"] == "RGB"
    out = write_nifti(dcm, tmp_path / "from_dicom.nii.gz")
    assert nib.load(out).header["datatype"] == 128
    np.testing.assert_array_equal(_nibabel_zyxc(out), _pydicom_rgb(name))


def test_rgba32_from_nibabel(rgb_nifti: dict[str, Path], tmp_path: Path) -> None:
    """An RGBA32 file written by nibabel: the ultrasound frame with an alpha channel."""
    src = nib.load(rgb_nifti["us"])
    rgb = np.asanyarray(src.dataobj)
    rgba = np.empty(rgb.shape, nib.nifti1.data_type_codes.dtype[2304])
    for k in "RGB":
        rgba[k] = rgb[k]
    rgba["A"] = 255 - rgb["G"]
    path = tmp_path / "rgba.nii"
    img = nib.Nifti1Image(rgba, src.affine)
    img.header.set_data_dtype(rgba.dtype)
    nib.save(img, path)
    assert nib.load(path).header["datatype"] == 2304
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == 4 and da.dtype == np.uint8
    assert da.attrs["photometric_interpretation"] == "RGBA"
    ours = da.transpose("z", "y", "x", "c").values
    np.testing.assert_array_equal(ours, _nibabel_zyxc(path))
    simg = sitk.ReadImage(str(path))
    assert simg.GetNumberOfComponentsPerPixel() == 4
    np.testing.assert_array_equal(ours, sitk.GetArrayFromImage(simg).reshape(ours.shape))
    out = write_nifti(da, tmp_path / "rgba_again.nii")
    assert nib.load(out).header["datatype"] == 2304
    np.testing.assert_array_equal(_nibabel_zyxc(out), _nibabel_zyxc(path))


def test_4d_rgb_has_t_then_c(rgb_nifti: dict[str, Path], tmp_path: Path) -> None:
    """The 2-frame image as two time points of one slice, written by nibabel."""
    src = nib.load(rgb_nifti["sc2"])
    data = np.asanyarray(src.dataobj)[:, :, None, :]  # (x, y, 1, t=2)
    path = tmp_path / "rgb4d.nii.gz"
    img = nib.Nifti1Image(data, src.affine)
    img.header.set_data_dtype(data.dtype)
    nib.save(img, path)
    da = spatial_xr.open_image(path)
    assert da.dims == ("t", "c", "z", "y", "x")
    assert dict(da.sizes) == {"t": 2, "c": 3, "z": 1, "y": 100, "x": 100}
    np.testing.assert_array_equal(da.transpose("t", "z", "y", "x", "c").values,
                                  _nibabel_zyxc(path))
    out = write_nifti(da, tmp_path / "again.nii")
    assert nib.load(out).header["datatype"] == 128 and nib.load(out).shape == (100, 100, 1, 2)
    np.testing.assert_array_equal(_nibabel_zyxc(out), _nibabel_zyxc(path))


def test_color_option_of_the_writer(rgb_nifti: dict[str, Path], tmp_path: Path) -> None:
    da = spatial_xr.open_image(rgb_nifti["sc2"])
    plain = write_nifti(da, tmp_path / "channels.nii", color=False)  # c as the 5th dim
    img = nib.load(plain)
    assert img.header["datatype"] == 2 and img.shape == (100, 100, 2, 1, 3)
    np.testing.assert_array_equal(np.asanyarray(img.dataobj)[:, :, :, 0, :],
                                  np.moveaxis(_nibabel_zyxc(rgb_nifti["sc2"]), (0, 1, 2),
                                              (2, 1, 0)))
    unmarked = da.copy()
    unmarked.attrs.pop("photometric_interpretation")
    assert nib.load(write_nifti(unmarked, tmp_path / "u.nii")).header["datatype"] == 2
    assert nib.load(write_nifti(unmarked, tmp_path / "f.nii", color=True)
                    ).header["datatype"] == 128
    with pytest.raises(DimensionError, match="uint8 'c' dim of 3 or 4"):
        write_nifti(da.astype(np.float32), tmp_path / "bad.nii", color=True)
    with pytest.raises(DimensionError, match="c of size 2"):
        write_nifti(da.isel(c=[0, 1]), tmp_path / "bad.nii", color=True)


def test_5d_rgb_is_refused_clearly(rgb_nifti: dict[str, Path], tmp_path: Path) -> None:
    src = nib.load(rgb_nifti["sc2"])
    data = np.asanyarray(src.dataobj)[:, :, :1, None, None].repeat(2, axis=4)
    path = tmp_path / "rgb5d.nii"
    img = nib.Nifti1Image(data, src.affine)
    img.header.set_data_dtype(data.dtype)
    nib.save(img, path)
    with pytest.raises(DimensionError, match="RGB with a 5th data dim"):
        spatial_xr.open_image(path)
