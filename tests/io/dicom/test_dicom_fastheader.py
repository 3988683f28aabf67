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
