"""1-bit (``BitsAllocated`` 1) pixel data, as in DICOM SEG: read directly from packed bits,
checked against pydicom and SimpleITK; "truncated" only for files that really are.

SEG files open as label images through the ``dicomseg`` format (tests/io/dicomseg); here
the generic DICOM reader (``format="dicom"``) reads their frames as plain pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from dicom_oracles import assert_grid_equals_sitk
from pydicom.data import get_testdata_file
from pydicom.pixels import pack_bits

import spatial_xr
from spatial_xr.errors import FormatError


def _pydicom_pixels(path: str | Path) -> np.ndarray:
    arr = pydicom.dcmread(path).pixel_array
    return arr.reshape(-1, *arr.shape[-2:])


@pytest.mark.parametrize("name", ["liver.dcm", "liver_1frame.dcm", "liver_expb.dcm",
                                  "liver_expb_1frame.dcm"])
def test_seg_files_match_pydicom_and_simpleitk(name: str) -> None:
    path = get_testdata_file(name)
    da = spatial_xr.open_image(path, format="dicom")
    ref = _pydicom_pixels(path)
    assert da.dtype == np.uint8 and da.shape == ref.shape
    np.testing.assert_array_equal(da.values, ref)
    for k in range(ref.shape[0]):  # each frame on its own (its own byte range)
        np.testing.assert_array_equal(da.isel(z=k).values, ref[k])
    assert int(ref.sum()) > 0
    im = sitk.ReadImage(path)
    assert_grid_equals_sitk(da, im)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(im) != 0)  # GDCM: 0/255


def test_little_endian_seg_is_read_directly_not_through_pydicom(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pydicom.pixels

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pydicom decoded a frame that can be read directly")

    path = get_testdata_file("liver.dcm")
    ref = _pydicom_pixels(path)
    monkeypatch.setattr(pydicom.pixels, "pixel_array", refuse)
    da = spatial_xr.open_image(path, format="dicom")
    np.testing.assert_array_equal(da.values, ref)


def _odd_seg(path: Path, rows: int = 37, cols: int = 45, top: int = 150, left: int = 120
             ) -> np.ndarray:
    """pydicom-data's liver.dcm cropped to rows × cols (37 × 45 = 1665 bits: frames 1 and
    2 start inside a byte), packed by pydicom, geometry moved with the crop."""
    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    crop = np.ascontiguousarray(ds.pixel_array[:, top : top + rows, left : left + cols])
    dy, dx = (float(v) for v in  # PixelSpacing: between rows, between columns
              ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing)
    for item in ds.PerFrameFunctionalGroupsSequence:
        pos = item.PlanePositionSequence[0]
        x, y, z = (float(v) for v in pos.ImagePositionPatient)
        pos.ImagePositionPatient = [x + left * dx, y + top * dy, z]
    ds.Rows, ds.Columns = rows, cols
    ds.PixelData = pack_bits(crop)
    ds.save_as(path, enforce_file_format=True)
    return crop


def test_frames_not_on_byte_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "odd_seg.dcm"
    crop = _odd_seg(path)
    assert 0.2 < crop.mean() < 0.4 and (37 * 45) % 8 != 0  # the liver's edge: 0s and 1s
    ref = _pydicom_pixels(path)
    np.testing.assert_array_equal(ref, crop)
    da = spatial_xr.open_image(path, format="dicom")
    np.testing.assert_array_equal(da.values, ref)
    for k in range(3):
        np.testing.assert_array_equal(da.isel(z=k).values, ref[k])
        np.testing.assert_array_equal(da.isel(z=k, y=slice(3, 9), x=[0, 44]).values,
                                      ref[k, 3:9][:, [0, 44]])
    im = sitk.ReadImage(str(path))
    assert_grid_equals_sitk(da, im)
    # GDCM gives varying values (uninitialised?) for the pixels in the last, partly padded
    # byte of the pixel data (4995 bits: the last 3 pixels); pydicom is the reference there
    theirs = (sitk.GetArrayFromImage(im) != 0).ravel()
    np.testing.assert_array_equal(da.values.ravel()[:-3], theirs[:-3])
    # and the geometry moved with the crop: same world points as the whole file
    whole = spatial_xr.open_image(get_testdata_file("liver.dcm"), format="dicom")
    np.testing.assert_array_equal(
        da.values, whole.isel(y=slice(150, 187), x=slice(120, 165)).values)
    np.testing.assert_allclose(
        da.spatial.origin, whole.isel(y=slice(150, 187), x=slice(120, 165)).spatial.origin,
        atol=1e-4)


def test_seg_truncated_after_open_says_truncated(tmp_path: Path) -> None:
    path = tmp_path / "seg.dcm"
    path.write_bytes(Path(get_testdata_file("liver.dcm")).read_bytes())
    da = spatial_xr.open_image(path, format="dicom")
    np.testing.assert_array_equal(da.isel(z=0).values, _pydicom_pixels(path)[0])
    os.truncate(path, path.stat().st_size - 5000)  # into the last frame's bits
    np.testing.assert_array_equal(da.isel(z=1).values, _pydicom_pixels(
        get_testdata_file("liver.dcm"))[1])  # the frames still whole still read
    with pytest.raises(FormatError, match=r"seg\.dcm' is truncated: it ends at byte"):
        da.isel(z=2).values  # noqa: B018


def test_short_pixel_element_in_a_whole_file_is_not_called_truncated(tmp_path: Path) -> None:
    """NumberOfFrames claims a frame that the pixel data element does not hold, and the
    file goes on after it (trailing padding): the header is wrong, the copy is fine."""
    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    ds.PixelData = ds.PixelData[: 2 * 512 * 512 // 8]  # two of the three frames
    ds.DataSetTrailingPadding = b"\0" * 40000
    path = tmp_path / "short.dcm"
    ds.save_as(path, enforce_file_format=True)
    da = spatial_xr.open_image(path, format="dicom")
    np.testing.assert_array_equal(da.isel(z=1).values, _pydicom_pixels(
        get_testdata_file("liver.dcm"))[1])
    with pytest.raises(FormatError) as info:
        da.isel(z=2).values  # noqa: B018
    msg = str(info.value)
    assert "pixel data element holds 65536 bytes" in msg and "re-export" in msg
    assert "truncated" not in msg and "re-copy" not in msg
