"""Recognising SEG files by the SOP Class UID in their first bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.filebase import DicomBytesIO

from spatial_xr.io.dicomseg.detect import sop_class_in_head
from spatial_xr.io.formats import HEAD_BYTES, find_format, recognise

from .conftest import CT5N, ct_labels, make_seg, series_datasets


def _head(path: str | Path) -> bytes:
    return Path(path).read_bytes()[:HEAD_BYTES]


def test_seg_and_labelmap_files_are_dicomseg_other_dicom_is_not(tmp_path):
    dss = series_datasets(CT5N)
    seg = make_seg(tmp_path / "seg.dcm", dss, ct_labels(dss), ["a", "b", "c"])
    lm = make_seg(tmp_path / "lm.dcm", dss, ct_labels(dss), ["a", "b", "c"],
                  segmentation_type="LABELMAP")
    for path in (seg, lm, get_testdata_file("liver.dcm")):
        assert find_format(path).name == "dicomseg"
        assert sop_class_in_head(_head(path)) == pydicom.dcmread(
            path, stop_before_pixels=True).SOPClassUID
    for name in ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm"):
        path = get_testdata_file(name)
        assert find_format(path).name == "dicom"
        assert sop_class_in_head(_head(path)) == pydicom.dcmread(path).SOPClassUID
    assert find_format(CT5N).name == "dicom"
    assert recognise(str(tmp_path / "missing.dcm")) is not None  # by name: a writer target


def test_implicit_vr_without_file_meta(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    del ds.file_meta
    fp = DicomBytesIO()  # no preamble, no file meta: the data set alone, implicit VR
    fp.is_little_endian, fp.is_implicit_VR = True, True
    pydicom.filewriter.write_dataset(fp, ds)
    path = tmp_path / "bare.dcm"
    path.write_bytes(fp.getvalue())
    head = _head(path)
    assert head[128:132] != b"DICM"
    assert sop_class_in_head(head) == "1.2.840.10008.5.1.4.1.1.66.4"
    assert find_format(path).name == "dicomseg"
    assert sop_class_in_head(b"\0" * 200) is None
    assert sop_class_in_head(np.zeros(10, np.uint8).tobytes()) is None
