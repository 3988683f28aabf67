"""open_image dispatch to the DICOM reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
from dicom_oracles import DICOMDIRTESTS
from pydicom.data import get_testdata_file
from pydicom.filewriter import write_dataset

import spatial_xr
from spatial_xr.dicom import is_dicom


def test_files_with_and_without_preamble(tmp_path: Path) -> None:
    assert is_dicom(get_testdata_file("CT_small.dcm"))
    assert is_dicom(DICOMDIRTESTS / "98892001" / "CT5N" / "2062")  # no extension
    # a bare dataset: no preamble, no file meta; pydicom parses it, we open it
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    bare = pydicom.Dataset()
    bare.update(ds)
    buf = pydicom.filebase.DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, bare)
    path = tmp_path / "bare"
    path.write_bytes(buf.getvalue())
    assert path.read_bytes()[128:132] != b"DICM"
    assert is_dicom(path)
    da = spatial_xr.open_image(path, apply_rescale=False)
    np.testing.assert_array_equal(da.values[0], ds.pixel_array)
    # datasets without pixel data are not images
    assert not is_dicom(get_testdata_file("no_meta.dcm"))


def test_folders_but_not_zarr_stores(tmp_path: Path) -> None:
    assert is_dicom(DICOMDIRTESTS / "98892001" / "CT5N")
    for marker in ("zarr.json", ".zattrs", ".zgroup"):
        store = tmp_path / f"s{marker}"
        store.mkdir()
        (store / marker).write_text("{}")
        assert not is_dicom(store)
    named = tmp_path / "image.zarr"
    named.mkdir()
    assert not is_dicom(named)


def test_non_dicom_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "b.bin").write_bytes(b"\x00" * 500)
    assert not is_dicom(tmp_path / "a.txt")
    assert not is_dicom(tmp_path / "b.bin")
    assert not is_dicom(tmp_path / "missing.dcm")


def test_open_image_dispatches(tmp_path: Path) -> None:
    shutil.copytree(DICOMDIRTESTS / "98892001" / "CT5N", tmp_path / "ct")
    da = spatial_xr.open_image(tmp_path / "ct", orientation="RAS")
    assert da.spatial.orientation == "RAS"
    assert da.attrs["source_format"] == "DICOM"
