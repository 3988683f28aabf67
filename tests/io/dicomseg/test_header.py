"""SEG headers and bad inputs: each refused with a SpatialXRError that names the problem,
nothing guessed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import spatial_xr as sx
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    ParameterError,
    SeriesSelectionError,
    SpatialXRError,
)
from spatial_xr.io.dicomseg import open_dicomseg, read_seg_header

from .conftest import CT5N, copy_series, ct_labels, make_seg, series_datasets


@pytest.fixture(scope="module")
def seg_path(tmp_path_factory) -> Path:
    dss = series_datasets(CT5N)
    return make_seg(tmp_path_factory.mktemp("seg") / "seg.dcm", dss, ct_labels(dss),
                    ["a", "b", "c"], omit_empty_frames=False)


def test_header_holds_frames_segments_and_references(seg_path):
    h = read_seg_header(seg_path)
    ds = pydicom.dcmread(seg_path, stop_before_pixels=True)
    assert (h.rows, h.cols, h.n_frames) == (16, 16, 15)
    assert h.segmentation_type == "BINARY" and h.bits_allocated == 1
    assert h.segment_numbers == [1, 2, 3]
    assert h.referenced_series_uids == [str(series_datasets(CT5N)[0].SeriesInstanceUID)]
    refs = {str(d.SOPInstanceUID) for d in series_datasets(CT5N)}
    assert set(h.referenced_series[0][1]) == refs
    assert sorted(np.bincount(h.frame_segment).tolist()) == [0, 5, 5, 5]
    for k, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        np.testing.assert_allclose(
            h.frame_ipp[k], [float(v) for v in item.PlanePositionSequence[0]
                             .ImagePositionPatient])
    assert h.own_grid is not None and h.own_grid.shape_zyx == (5, 16, 16)


def _edit(src: Path, dst: Path, change) -> Path:
    ds = pydicom.dcmread(src)
    change(ds)
    ds.save_as(dst, enforce_file_format=True)
    return dst


def test_seg_referencing_a_series_that_is_not_given(tmp_path, seg_path):
    other = copy_series(CT5N, tmp_path / "other", new_series=True)
    with pytest.raises(SeriesSelectionError, match="does not hold") as info:
        open_dicomseg(seg_path, reference=other)
    assert str(sx.open_image(other).attrs["series_uid"]) in str(info.value)
    with pytest.raises(SeriesSelectionError, match="was made from series"):
        open_dicomseg(seg_path, reference=sx.open_image(other))
    mr = Path(get_testdata_file("MR_small.dcm"))
    with pytest.raises(SeriesSelectionError, match="was made from series"):
        open_dicomseg(seg_path, reference=[str(mr)])


def test_a_different_frame_of_reference_is_refused(tmp_path, seg_path):
    moved = copy_series(CT5N, tmp_path / "moved", frame_of_reference="1.2.3.4.5.6")
    with pytest.raises(GeometryError, match="FrameOfReferenceUID"):
        open_dicomseg(seg_path, reference=moved)
    ct = sx.open_image(CT5N)
    ct.attrs["frame_of_reference_uid"] = "1.2.3.4.5.6"
    with pytest.raises(GeometryError, match="different patient coordinate systems"):
        open_dicomseg(seg_path, reference=ct)


def test_frames_off_or_outside_the_reference_grid(seg_path):
    ct = sx.open_image(CT5N)
    with pytest.raises(GeometryError, match="pixel spacing or orientation differs"):
        open_dicomseg(seg_path, reference=ct.spatial.resample(spacing=(2.5, 0.3, 0.3)))
    shifted = ct.spatial.assign_grid(ct.spatial.grid.replace(
        origin_xyz=ct.spatial.grid.origin_xyz + [0.2, 0.0, 0.0]))
    with pytest.raises(GeometryError, match="voxel off the voxel centres"):
        open_dicomseg(seg_path, reference=shifted)
    with pytest.raises(GeometryError, match="reach outside the reference"):
        open_dicomseg(seg_path, reference=ct.isel(y=slice(2, None)))


def test_frames_missing(tmp_path, seg_path):
    def fewer_groups(ds):
        ds.NumberOfFrames = 15
        del ds.PerFrameFunctionalGroupsSequence[-1]

    bad = _edit(seg_path, tmp_path / "fewer.dcm", fewer_groups)
    with pytest.raises(FormatError, match="frames are missing"):
        open_dicomseg(bad)

    def short_pixels(ds):
        ds.PixelData = ds.PixelData[: 10 * 16 * 16 // 8]  # 10 of the 15 frames

    bad = _edit(seg_path, tmp_path / "short.dcm", short_pixels)
    with pytest.raises(FormatError, match="frames are missing"):
        open_dicomseg(bad)


def test_segment_numbers_out_of_range(tmp_path, seg_path):
    def unknown_segment(ds):
        ds.PerFrameFunctionalGroupsSequence[4].SegmentIdentificationSequence[0] \
            .ReferencedSegmentNumber = 9

    bad = _edit(seg_path, tmp_path / "nine.dcm", unknown_segment)
    with pytest.raises(FormatError, match=r"segment numbers \[9\].*does not describe"):
        open_dicomseg(bad)
    for wrong in ([7], [], [1, 1], ["x"]):
        with pytest.raises(ParameterError, match="segments="):
            open_dicomseg(seg_path, segments=wrong)


def test_not_a_seg_and_no_positions(tmp_path, seg_path):
    with pytest.raises(FormatError, match="not a DICOM Segmentation"):
        read_seg_header(get_testdata_file("CT_small.dcm"))
    with pytest.raises(FormatError, match="not a readable DICOM Segmentation"):
        read_seg_header(Path(get_testdata_file("CT_small.dcm")).parent / "no_meta.dcm")

    def no_position(ds):
        del ds.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence

    bad = _edit(seg_path, tmp_path / "nopos.dcm", no_position)
    with pytest.raises(SpatialXRError, match="PlanePositionSequence is missing"):
        open_dicomseg(bad)
