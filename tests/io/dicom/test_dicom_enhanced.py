"""Enhanced multi-frame DICOM: frames ordered by position, echoes split into t or selected."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import spatial_xr
from spatial_xr.dicom import open_dicom


def _multi_echo(path: Path) -> np.ndarray:
    """An enhanced file derived from pydicom-data's eCT_Supplemental.dcm: 3 positions x 2
    echoes, frames stored shuffled, per-frame rescale and echo times in the functional
    groups. (SimpleITK/GDCM does not sort such frames, so the truth here is by
    construction; the unmodified file is checked against SimpleITK elsewhere.)"""
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    rows, cols = 6, 7
    template = ds.PerFrameFunctionalGroupsSequence[0]
    order = [(1, 1), (0, 0), (2, 1), (1, 0), (0, 1), (2, 0)]  # (position, echo)
    values = np.zeros((len(order), rows, cols), np.uint16)
    items = []
    for f, (k, e) in enumerate(order):
        item = copy.deepcopy(template)
        item.PlanePositionSequence[0].ImagePositionPatient = [99.5, -301.5, -159.0 + 10.0 * k]
        echo = Dataset()
        echo.EffectiveEchoTime = [12.0, 4.0][e]
        item.MREchoSequence = Sequence([echo])
        pvt = Dataset()
        pvt.RescaleIntercept = str(-100 * (e + 1))
        pvt.RescaleSlope = "1"
        pvt.RescaleType = "US"
        item.PixelValueTransformationSequence = Sequence([pvt])  # overrides the shared one
        item.FrameContentSequence[0].InStackPositionNumber = k + 1
        values[f] = 1000 * e + 100 * k + np.arange(rows * cols).reshape(rows, cols)
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    ds.NumberOfFrames = len(order)
    ds.Rows, ds.Columns = rows, cols
    ds.PixelData = values.tobytes()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.save_as(path)
    out = np.zeros((2, 3, rows, cols), np.int32)  # (t sorted by echo time, z)
    for f, (k, e) in enumerate(order):
        out[1 - e, 2 - k] = values[f].astype(np.int32) - 100 * (e + 1)  # normal is -z
    return out


def test_enhanced_echoes_split_into_t(tmp_path: Path) -> None:
    expected = _multi_echo(tmp_path / "echo.dcm")
    da = spatial_xr.open_image(tmp_path / "echo.dcm")
    assert da.dims == ("t", "z", "y", "x")
    assert da.attrs["t_tag"] == "EffectiveEchoTime"
    np.testing.assert_array_equal(da.t.values, [4.0, 12.0])
    np.testing.assert_array_equal(da.values, expected)
    np.testing.assert_allclose(da.spatial.spacing_xyz, [0.388672, 0.388672, 10.0])
    # IOP (-1,0,0, 0,1,0): normal = row x col = -z, so the highest frame comes first
    np.testing.assert_allclose(da.spatial.origin, [99.5, -301.5, -139.0])
    np.testing.assert_allclose(da.spatial.direction, np.diag([-1.0, 1.0, -1.0]), atol=1e-12)
    one = open_dicom(tmp_path / "echo.dcm", select={"EffectiveEchoTime": 12.0})
    np.testing.assert_array_equal(one.values, expected[1])
    # an odd frame read touches only its own frame
    from dicom_oracles import count_pixel_reads

    mp = pytest.MonkeyPatch()
    try:
        calls = count_pixel_reads(mp)
        da.isel(t=1, z=2).values  # noqa: B018
        assert len(calls) == 1
    finally:
        mp.undo()
