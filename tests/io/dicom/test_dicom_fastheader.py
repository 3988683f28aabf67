"""The fast header path gives the same headers as pydicom (or defers to it)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from dicom_oracles import DICOMDIRTESTS, PYDICOM_FILES, make_series, oblique_direction

from spatial_xr.io.dicom import headers
from spatial_xr.io.dicom.fastheader import read_fast


def _slow(path: str) -> tuple | None:
    """read_dataset with the fast path switched off."""
    import spatial_xr.io.dicom.fastheader as fh

    real = fh.read_fast
    fh.read_fast = lambda *a, **k: None
    try:
        return headers.read_dataset(path)
    finally:
        fh.read_fast = real


def _files(tmp_path: Path) -> list[str]:
    import numpy as np

    make_series(tmp_path / "syn", np.arange(60, dtype=np.int16).reshape(3, 4, 5),
                direction=oblique_direction(), slope=0.5, intercept=-3.0)
    out = sorted(str(p) for p in PYDICOM_FILES.glob("*.dcm"))
    out += sorted(str(p) for p in DICOMDIRTESTS.rglob("*") if p.is_file())
    out += sorted(str(p) for p in (tmp_path / "syn").iterdir())
    return out


def test_fast_headers_equal_pydicom_headers(tmp_path: Path) -> None:
    used = 0
    for path in _files(tmp_path):
        fast = read_fast(path, headers.HEADER_TAGS)
        slow = _slow(path)
        if fast is None:
            continue
        if slow is None:  # pydicom finds no image here: the fast path must agree
            assert "Rows" not in fast[0] or "PixelData" not in pydicom.dcmread(path)
            continue
        used += 1
        assert fast[1] == slow[1], path
        a = headers.base_fields(fast[0], path, fast[1], identifying=True)
        b = headers.base_fields(slow[0], path, slow[1], identifying=True)
        assert a == b, path
    assert used >= 30


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "eCT_Supplemental.dcm"])
def test_unusual_files_defer_to_pydicom(name: str) -> None:
    from pydicom.data import get_testdata_file

    assert read_fast(get_testdata_file(name), headers.HEADER_TAGS) is None


@pytest.fixture(scope="module")
def large_enhanced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """pydicom-data's enhanced CT written with 101 frames (> 50 MiB of pixel data), and the
    size of its functional-group sequences."""
    from dicom_oracles import enlarge_enhanced

    path = tmp_path_factory.mktemp("large") / "enhanced_ct_101.dcm"
    groups = enlarge_enhanced(path, 101)
    return path, groups


def test_opening_a_large_enhanced_file_reads_its_header_only(
        large_enhanced: tuple[Path, int]) -> None:
    import numpy as np
    from dicom_oracles import bytes_read_by

    import spatial_xr

    path, groups = large_enhanced
    size = path.stat().st_size
    assert size > 50 * 2**20
    spatial_xr.open_image(path)  # imports and caches warmed up
    da, nread = bytes_read_by(lambda: spatial_xr.open_image(path))
    assert da.sizes["z"] == 101
    assert nread < 2**20 + groups, (nread, groups, size)
    # the header read is complete: frame positions and pixels are right
    ds = pydicom.dcmread(path)
    frame = pydicom.pixels.pixel_array(ds, index=100).astype(np.int32) - 1024
    np.testing.assert_array_equal(da.isel(z=100).values, frame)  # 10 mm per frame along -z


def test_fast_path_skips_large_values_without_reading_them(tmp_path: Path) -> None:
    """A 20 MB private OB element before the pixel data is skipped by its length."""
    import numpy as np
    from dicom_oracles import bytes_read_by
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add_new(0x00091010, "OB", np.random.default_rng(0).bytes(20_000_000))
    path = tmp_path / "ct_with_blob.dcm"
    ds.save_as(path, enforce_file_format=True)
    got, nread = bytes_read_by(lambda: read_fast(str(path), headers.HEADER_TAGS))
    assert got is not None
    assert nread < 100_000, nread
    slow = _slow(str(path))
    assert slow is not None and got[1] == slow[1]
    assert headers.base_fields(got[0], str(path), got[1], identifying=True) == \
        headers.base_fields(slow[0], str(path), slow[1], identifying=True)
