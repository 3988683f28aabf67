"""Deflated Explicit VR Little Endian files: headers from the inflated stream, pixels through
pydicom, checked against pydicom and SimpleITK."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from dicom_oracles import (
    assert_grid_equals_sitk,
    assert_matches_by_world,
    bytes_read_by,
    enlarge_enhanced,
    sitk_index_of_world,
)
from pydicom.data import get_testdata_file

import spatial_xr
from spatial_xr.io.dicom.deflate import DEFLATED, InflatingReader, read_deflated
from spatial_xr.io.dicom.fastheader import parse_file_meta
from spatial_xr.io.dicom.headers import HEADER_TAGS


def _deflated_copy(name: str, out: Path) -> Path:
    """pydicom's test file ``name`` written again by pydicom as a deflated file."""
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.file_meta.TransferSyntaxUID = DEFLATED
    ds.save_as(out, enforce_file_format=True)
    return out


def test_pydicom_deflated_file_opens_like_pydicom_and_simpleitk() -> None:
    path = get_testdata_file("image_dfl.dcm")
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == DEFLATED
    da = spatial_xr.open_image(path)
    assert dict(da.sizes) == {"z": 1, "y": 512, "x": 512}
    ref = pydicom.dcmread(path).pixel_array
    assert da.dtype == ref.dtype
    np.testing.assert_array_equal(da.isel(z=0).values, ref)
    im = sitk.ReadImage(path)
    assert_grid_equals_sitk(da, im)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(im))


def test_deflated_multiframe_frames_match_pydicom_and_simpleitk(tmp_path: Path) -> None:
    path = _deflated_copy("emri_small.dcm", tmp_path / "emri_dfl.dcm")
    da = spatial_xr.open_image(path, apply_rescale=False)
    ref = pydicom.dcmread(path).pixel_array  # (frames, rows, cols)
    assert da.shape == ref.shape
    np.testing.assert_array_equal(da.values, ref)
    np.testing.assert_array_equal(da.isel(z=7).values, ref[7])  # one frame on its own
    twin = spatial_xr.open_image(get_testdata_file("emri_small.dcm"), apply_rescale=False)
    assert da.spatial.grid.isclose(twin.spatial.grid)
    im = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(im))
    # no position or orientation in the file: both read an index grid; the slice step is
    # a guess (SliceThickness here, 1 in GDCM), so only origin, direction and the in-plane
    # spacing are compared
    np.testing.assert_allclose(da.spatial.origin, im.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(da.spatial.direction,
                               np.reshape(im.GetDirection(), (3, 3)), atol=1e-9)
    np.testing.assert_allclose(da.spatial.spacing_xyz[:2], im.GetSpacing()[:2], atol=1e-9)


def test_deflated_enhanced_ct_matches_simpleitk(tmp_path: Path) -> None:
    path = _deflated_copy("eCT_Supplemental.dcm", tmp_path / "ect_dfl.dcm")
    da = spatial_xr.open_image(path)
    plain = spatial_xr.open_image(get_testdata_file("eCT_Supplemental.dcm"))
    assert da.attrs["rescale_intercept"] == -1024.0
    np.testing.assert_array_equal(da.values, plain.values)
    im = sitk.ReadImage(str(path))
    assert_matches_by_world(da, sitk.GetArrayFromImage(im), sitk_index_of_world(im))


def test_opening_a_deflated_file_inflates_the_header_only(tmp_path: Path) -> None:
    path = tmp_path / "big_dfl.dcm"
    enlarge_enhanced(path, 40, transfer_syntax=DEFLATED)
    size = path.stat().st_size
    assert size > 2_000_000
    spatial_xr.open_image(path)  # imports and caches warmed up
    da, nread = bytes_read_by(lambda: spatial_xr.open_image(path))
    assert da.sizes["z"] == 40
    assert nread < 300_000, (nread, size)
    ds = pydicom.dcmread(path)
    for k in (0, 39):  # frame k lies 10·k mm along the slice normal (-z): it is z=k
        frame = pydicom.pixels.pixel_array(ds, index=k).astype(np.int32) - 1024
        np.testing.assert_array_equal(da.isel(z=k).values, frame)


def test_inflating_reader_equals_zlib_in_any_step_sizes() -> None:
    raw = Path(get_testdata_file("image_dfl.dcm")).read_bytes()
    ts, start = parse_file_meta(raw)  # type: ignore[misc]
    assert ts == DEFLATED
    whole = zlib.decompress(raw[start:], -zlib.MAX_WBITS)
    reader = InflatingReader(io.BytesIO(raw), start)
    rng = np.random.default_rng(0)
    got = bytearray()
    while True:
        part = reader.read(int(rng.integers(1, 5000)))
        if not part:
            break
        got += part
        back = int(rng.integers(0, 12))  # pydicom rewinds a few bytes: seek back and re-read
        reader.seek(-back, io.SEEK_CUR)
        assert reader.read(back) == bytes(got[len(got) - back :])
    assert bytes(got) == whole
    assert reader.tell() == len(whole)


def test_read_deflated_says_none_for_other_syntaxes() -> None:
    with open(get_testdata_file("CT_small.dcm"), "rb") as f:
        assert read_deflated(f, HEADER_TAGS) is None
    with open(get_testdata_file("image_dfl.dcm"), "rb") as f:
        got = read_deflated(f, HEADER_TAGS)
    assert got is not None
    ds, has_pixels = got
    assert has_pixels and ds.Rows == 512 and ds.file_meta.TransferSyntaxUID == DEFLATED


def test_truncated_deflated_file_fails_with_format_error(tmp_path: Path) -> None:
    from spatial_xr.errors import FormatError

    raw = Path(get_testdata_file("image_dfl.dcm")).read_bytes()
    (tmp_path / "head.dcm").write_bytes(raw[:200])  # cut inside the header: no image
    with pytest.raises(FormatError, match="no DICOM image found"):
        spatial_xr.open_image(tmp_path / "head.dcm")
    (tmp_path / "pixels.dcm").write_bytes(raw[:2000])  # cut inside the pixel data
    da = spatial_xr.open_image(tmp_path / "pixels.dcm")  # the header is whole
    with pytest.raises(FormatError, match=r"pixels\.dcm.*truncated"):
        da.values  # noqa: B018
