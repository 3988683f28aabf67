"""Writing DICOM SEG from label images of real series: highdicom reads back the same voxels,
segment descriptions and referenced instances; round trips label → SEG → label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr

import spatial_xr as sx
from spatial_xr.errors import GeometryError, OverwriteError, ParameterError
from spatial_xr.io.dicomseg import open_dicomseg, write_dicomseg
from spatial_xr.labels import as_label, segment_table

from .conftest import (
    CT5N,
    assert_equals_volume,
    copy_series,
    ct_labels,
    hd,
    hd_volume,
    oblique_rotation,
    series_datasets,
    single_file_series,
)

TABLE = [
    {"number": 1, "name": "fat", "color": [230, 200, 60],
     "category": {"value": "91723000", "scheme": "SCT", "meaning": "Anatomical Structure"},
     "type": {"value": "256453004", "scheme": "SCT", "meaning": "Fat"}},
    {"number": 2, "name": "soft tissue", "algorithm": "AUTOMATIC",
     "algorithm_name": "thresholds"},
    {"number": 3, "name": "dense", "color": [250, 250, 250], "tracking_id": "lesion 1"},
]


@pytest.fixture(scope="module")
def ct() -> xr.DataArray:
    return sx.open_image(CT5N)


@pytest.fixture(scope="module")
def label(ct):
    return as_label(ct.copy(data=ct_labels(series_datasets(CT5N))), TABLE)


def test_round_trip_and_highdicom_reads_the_same(tmp_path, ct, label):
    out = label.spatial.to_dicomseg(tmp_path / "seg.dcm", source=CT5N)
    back = sx.open_image(out, reference=CT5N)
    np.testing.assert_array_equal(back.values, label.values)
    assert back.spatial.same_grid(ct)
    got = {s.number: s.to_json() for s in segment_table(back)}
    for row in TABLE:  # every field of the table survives (colours through CIE Lab)
        for key, value in row.items():
            assert got[row["number"]][key] == value, key
    assert got[1]["algorithm"] == "MANUAL"  # no algorithm given: manual
    assert got[3]["type"] == {"value": "85756007", "scheme": "SCT", "meaning": "Tissue"}
    vol = hd_volume(out, combine_segments=True)  # highdicom's reader, not ours
    own = sx.open_image(out)
    assert_equals_volume(own, vol.array, vol.affine)
    assert_equals_volume(label, vol.array, vol.affine)
    seg = hd.seg.segread(str(out))
    assert [seg.get_segment_description(i).segment_label for i in (1, 2, 3)] == [
        "fat", "soft tissue", "dense"]
    assert seg.get_segment_description(2).algorithm_identification[0].AlgorithmName == (
        "thresholds")


def test_referenced_instances_are_the_source_slices(tmp_path, label):
    out = write_dicomseg(label, tmp_path / "seg.dcm", source=CT5N)
    ds = pydicom.dcmread(out)
    sources = series_datasets(CT5N)
    by_uid = {str(d.SOPInstanceUID): d for d in sources}
    (ref,) = ds.ReferencedSeriesSequence
    assert ref.SeriesInstanceUID == sources[0].SeriesInstanceUID
    assert {str(i.ReferencedSOPInstanceUID) for i in ref.ReferencedInstanceSequence} == set(
        by_uid)
    assert ds.FrameOfReferenceUID == sources[0].FrameOfReferenceUID
    for item in ds.PerFrameFunctionalGroupsSequence:
        src_uid = str(item.DerivationImageSequence[0].SourceImageSequence[0]
                      .ReferencedSOPInstanceUID)
        np.testing.assert_allclose(
            [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient],
            [float(v) for v in by_uid[src_uid].ImagePositionPatient], atol=1e-4)


def test_overlapping_masks_and_fractions(tmp_path, ct, label):
    stack = xr_stack(label)
    out = write_dicomseg(stack, tmp_path / "stack.dcm", source=CT5N)
    back = open_dicomseg(out, reference=CT5N)
    assert back.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(back.values, stack.values)
    frac = stack.astype("float32") * 0.5 + 0.25 * (stack.sum("c") > 0)
    frac.attrs = {"segments": stack.attrs["segments"]}
    out = write_dicomseg(frac, tmp_path / "frac.dcm", source=CT5N,
                         segmentation_type="FRACTIONAL")
    assert pydicom.dcmread(out).BitsAllocated == 8
    back = open_dicomseg(out, reference=CT5N)
    np.testing.assert_allclose(back.values, frac.values, atol=0.5 / 255)


def xr_stack(label):
    masks = xr.concat([label >= 1, label >= 2], dim="c").astype("uint8")
    return as_label(masks, [{"number": 1, "name": "body"}, {"number": 2, "name": "inner"}])


def test_cropped_and_reoriented_masks_go_back_onto_the_source(tmp_path, ct, label):
    part = label.isel(z=slice(1, 4), y=slice(3, 12), x=slice(2, 14)).spatial.reorient("RAS")
    out = write_dicomseg(part, tmp_path / "part.dcm", source=CT5N)
    back = open_dicomseg(out, reference=CT5N)
    want = np.zeros_like(label.values)
    want[1:4, 3:12, 2:14] = label.values[1:4, 3:12, 2:14]
    np.testing.assert_array_equal(back.values, want)


def test_numbers_with_gaps_are_renumbered_in_order(tmp_path, ct):
    vals = ct_labels(series_datasets(CT5N))
    gappy = as_label(ct.copy(data=np.choose(vals, [0, 4, 9, 20]).astype("uint8")),
                     {4: "four", 9: "nine", 20: "twenty"})
    back = open_dicomseg(write_dicomseg(gappy, tmp_path / "g.dcm", source=CT5N),
                         reference=CT5N)
    assert [(s.number, s.name) for s in segment_table(back)] == [
        (1, "four"), (2, "nine"), (3, "twenty")]
    np.testing.assert_array_equal(back.values, vals)


def test_oblique_and_single_slice_sources(tmp_path):
    folder = copy_series(CT5N, tmp_path / "oblique", rotation=oblique_rotation(),
                         new_series=True)
    ct = sx.open_image(folder)
    lab = as_label(ct.copy(data=ct_labels(series_datasets(folder))), TABLE)
    out = write_dicomseg(lab, tmp_path / "ob.dcm", source=folder)
    vol = hd_volume(out, combine_segments=True)
    assert_equals_volume(lab, vol.array, vol.affine)
    np.testing.assert_array_equal(open_dicomseg(out, reference=folder).values, lab.values)
    mr = single_file_series("MR_small.dcm", tmp_path / "mr")
    img = sx.open_image(mr)
    mask = as_label((img > float(np.median(img.values))).astype("uint8"), {1: "bright"})
    back = sx.open_image(write_dicomseg(mask, tmp_path / "mr.dcm", source=mr), reference=mr)
    np.testing.assert_array_equal(back.values, mask.values)


def test_bad_inputs(tmp_path, ct, label):
    with pytest.raises(ParameterError, match="as_label"):
        write_dicomseg(ct, tmp_path / "x.dcm", source=CT5N)
    stray = label.copy(data=np.where(label.values == 3, 7, label.values))
    with pytest.raises(ParameterError, match=r"voxel values \[7\] have no segment"):
        write_dicomseg(stray, tmp_path / "x.dcm", source=CT5N)
    coarse = label.spatial.resample(spacing=(2.5, 0.3, 0.3))
    with pytest.raises(GeometryError, match="resample"):
        write_dicomseg(coarse, tmp_path / "x.dcm", source=CT5N)
    Path(tmp_path / "there.dcm").write_bytes(b"")
    with pytest.raises(OverwriteError):
        write_dicomseg(label, tmp_path / "there.dcm", source=CT5N)
    assert Path(tmp_path / "there.dcm").read_bytes() == b""
