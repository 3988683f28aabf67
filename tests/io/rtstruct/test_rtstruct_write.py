"""RTSTRUCT writing: label image → planar contours → label image (exact on the same
grid, axis-aligned and oblique), the contours checked with an independent rasteriser and
with rt-utils' reader, references to the source series, and → .seg.nrrd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    FrameOfReferenceError,
    OverwriteError,
    ParameterError,
)
from spatial_xr.io.rtstruct import open_rtstruct, write_rtstruct
from spatial_xr.labels import as_label

from .conftest import copy_ct5n, dice, oblique_direction, oracle_masks, slice_headers, write_series


def _labels(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Two segments: a ring (hole), and blobs with diagonal-only contacts and one-voxel
    islands."""
    from scipy import ndimage

    nz, ny, nx = shape
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    r2 = (y - ny / 2) ** 2 + (x - nx / 2) ** 2
    lab = np.zeros(shape, np.uint8)
    lab[(r2 < (0.4 * nx) ** 2) & (r2 >= (0.15 * nx) ** 2) & (z >= 1)] = 1
    rng = np.random.default_rng(seed)
    blobs = ndimage.binary_opening(rng.random(shape) > 0.6, np.ones((1, 2, 2))) | (
        rng.random(shape) > 0.97)
    lab[blobs & (lab == 0)] = 4
    return lab


def _segments() -> list[dict]:
    return [{"number": 1, "name": "ring", "color": [250, 10, 20], "algorithm": "MANUAL",
             "rt_roi_interpreted_type": "ORGAN", "description": "a ring"},
            {"number": 4, "name": "blobs", "color": [0, 128, 255]}]


def test_round_trip_on_a_real_ct_series_is_exact(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    ct = spatial_xr.open_image(folder)
    lab = _labels(ct.shape)
    da = as_label(ct.copy(data=lab), _segments())
    out = da.spatial.to_rtstruct(tmp_path / "rs.dcm", reference=folder)
    back = open_rtstruct(out, reference=folder, combine=True)
    np.testing.assert_array_equal(back.values, lab)
    assert back.spatial.grid == ct.spatial.grid
    got = {s["number"]: s for s in back.attrs["segments"]}
    assert got[1] == {"number": 1, "name": "ring", "color": [250, 10, 20],
                      "algorithm": "MANUAL", "rt_roi_interpreted_type": "ORGAN",
                      "description": "a ring"}
    assert got[4]["name"] == "blobs" and got[4]["color"] == [0, 128, 255]

    # the file itself: patient/study/frame of the series, one image reference per contour
    ds = pydicom.dcmread(out)
    ref = slice_headers(folder)
    assert ds.Modality == "RTSTRUCT" and ds.PatientID == ref[0].PatientID
    assert ds.StudyInstanceUID == ref[0].StudyInstanceUID
    assert ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID == \
        ref[0].FrameOfReferenceUID
    z_of = {str(r.SOPInstanceUID): float(r.ImagePositionPatient[2]) for r in ref}
    for rc in ds.ROIContourSequence:
        for c in rc.ContourSequence:
            pts = np.asarray(c.ContourData, float).reshape(-1, 3)
            uid = str(c.ContourImageSequence[0].ReferencedSOPInstanceUID)
            assert np.allclose(pts[:, 2], z_of[uid], atol=1e-4)


def test_written_contours_fill_to_the_labels_with_an_independent_rasteriser(
        tmp_path: Path) -> None:
    """The ContourData (read with pydicom) filled by skimage per slice from each slice's
    IPP/IOP give back each segment."""
    folder = copy_ct5n(tmp_path)
    ct = spatial_xr.open_image(folder)
    lab = _labels(ct.shape, seed=1)
    out = write_rtstruct(as_label(ct.copy(data=lab), _segments()), tmp_path / "rs.dcm",
                         reference=folder)
    ds = pydicom.dcmread(out)
    for rc in ds.ROIContourSequence:
        contours = [np.asarray(c.ContourData, float).reshape(-1, 3)
                    for c in rc.ContourSequence]
        oracle = oracle_masks(folder, contours)
        np.testing.assert_array_equal(oracle, lab == int(rc.ReferencedROINumber))


def test_rt_utils_reads_what_we_write(tmp_path: Path) -> None:
    """rt-utils fills polygons after rounding the vertices to whole pixels, so it differs
    by boundary pixels; its Dice against the labels is the documented figure."""
    from rt_utils import RTStructBuilder

    folder = tmp_path / "obl"
    write_series(folder, np.zeros((8, 48, 48), np.int16), origin=(0.0, 0.0, 0.0),
                 direction=np.eye(3), spacing_xyz=(0.8, 0.8, 2.0))
    ct = spatial_xr.open_image(folder)
    z, y, x = np.mgrid[0:8, 0:48, 0:48]
    lab = (((y - 24) ** 2 + (x - 22) ** 2 < 15 ** 2) & (z > 0)).astype(np.uint8)
    out = write_rtstruct(as_label(ct.copy(data=lab), {1: "disk"}), tmp_path / "rs.dcm",
                         reference=folder)
    rt = RTStructBuilder.create_from(dicom_series_path=str(folder), rt_struct_path=str(out))
    theirs = np.moveaxis(rt.get_roi_mask_by_name("disk"), 2, 0)
    assert dice(theirs, lab) >= 0.95


def test_round_trip_on_an_oblique_grid_without_a_series(tmp_path: Path) -> None:
    lab = _labels((6, 30, 26), seed=2)
    da = as_label(spatial_xr.from_array(lab, spacing=(2.0, 0.9, 0.7), origin=(12.0, -7.0, 30.0),
                                        direction=oblique_direction()), _segments())
    out = write_rtstruct(da, tmp_path / "rs.dcm")
    ds = pydicom.dcmread(out)
    assert "RTReferencedStudySequence" not in ds.ReferencedFrameOfReferenceSequence[0]
    back = open_rtstruct(out, reference=da, combine=True)  # a DataArray as reference
    np.testing.assert_array_equal(back.values, lab)
    assert back.attrs["frame_of_reference_uid"] == \
        ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    stack = open_rtstruct(out, reference=da.spatial.grid)
    np.testing.assert_array_equal(stack.values[1], lab == 4)


def test_overlapping_masks_on_c_round_trip(tmp_path: Path) -> None:
    _, y, x = np.mgrid[0:4, 0:20, 0:20]
    a = (y - 9) ** 2 + (x - 8) ** 2 < 30
    b = (y - 9) ** 2 + (x - 12) ** 2 < 30
    masks = np.stack([a, b]).astype(np.uint8)
    da = as_label(spatial_xr.from_array(masks, dims=("c", "z", "y", "x"), spacing=1.5),
                  [{"number": 2, "name": "a"}, {"number": 5, "name": "b"}])
    out = spatial_xr.write_image(da, tmp_path / "rs.dcm", format="rtstruct")
    back = open_rtstruct(out, reference=da)
    np.testing.assert_array_equal(back.values, masks)
    assert [s["number"] for s in back.attrs["segments"]] == [2, 5]


def test_label_image_to_rtstruct_to_seg_nrrd_and_back(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    ct = spatial_xr.open_image(folder)
    lab = _labels(ct.shape, seed=3)
    out = write_rtstruct(as_label(ct.copy(data=lab), _segments()), tmp_path / "rs.dcm",
                         reference=folder)
    labels = open_rtstruct(out, reference=folder, combine=True)
    seg = labels.spatial.to_seg_nrrd(tmp_path / "labels.seg.nrrd")
    again = spatial_xr.open_image(seg)
    np.testing.assert_array_equal(again.values, lab)
    assert again.spatial.grid.isclose(ct.spatial.grid)
    assert [(s["number"], s["name"], s["color"]) for s in again.attrs["segments"]] == [
        (1, "ring", [250, 10, 20]), (4, "blobs", [0, 128, 255])]


def test_write_refuses_bad_inputs(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    ct = spatial_xr.open_image(folder)
    lab = ct.copy(data=_labels(ct.shape))
    with pytest.raises(DimensionError, match="3-D label image"):
        write_rtstruct(lab.isel(z=0), tmp_path / "a.dcm")
    with pytest.raises(ParameterError, match="holds integers"):
        write_rtstruct(lab.astype("float32"), tmp_path / "a.dcm")
    out = write_rtstruct(lab, tmp_path / "a.dcm")  # segments from the values found
    assert [s["name"] for s in open_rtstruct(out, reference=ct).attrs["segments"]] == [
        "Segment 1", "Segment 4"]
    with pytest.raises(OverwriteError):
        write_rtstruct(lab, out)
    other = lab.copy()
    other.attrs["frame_of_reference_uid"] = "1.2.3.4.5.6"
    with pytest.raises(FrameOfReferenceError, match=r"1\.2\.3\.4\.5\.6"):
        write_rtstruct(other, tmp_path / "b.dcm", reference=folder)
    assert not (tmp_path / "b.dcm").exists()
