"""Reading DICOM SEG: voxels and world positions equal highdicom's own volumes, on the SEG's
grid and placed on the real series it was made from (pydicom's CT5N, CT_small, MR_small,
pydicom-data's liver.dcm)."""

from __future__ import annotations

import pickle

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import RLELossless

import spatial_xr as sx
from spatial_xr.errors import LabelOverlapError, UnsupportedOptionError
from spatial_xr.io.dicomseg import open_dicomseg
from spatial_xr.labels import Code, segment_table

from .conftest import (
    CT5N,
    assert_equals_volume,
    copy_series,
    ct_labels,
    hd,
    hd_volume,
    make_seg,
    oblique_rotation,
    series_datasets,
    single_file_series,
)


@pytest.fixture(scope="module")
def ct5n() -> list[pydicom.Dataset]:
    return series_datasets(CT5N)


@pytest.fixture(scope="module")
def labels(ct5n) -> np.ndarray:
    return ct_labels(ct5n)


# ---------------------------------------------------------------------- files others wrote
@pytest.mark.parametrize("name", ["liver.dcm", "liver_1frame.dcm"])
def test_liver_seg_from_pydicom_data_equals_highdicom(name: str):
    path = get_testdata_file(name)
    da = sx.open_image(path)
    assert da.attrs["kind"] == "label" and da.attrs["source_format"] == "DICOM-SEG"
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(da, vol.array, vol.affine)
    assert int(da.sum()) == int(vol.array.sum()) > 0
    (liver,) = segment_table(da)
    desc = hd.seg.segread(path).get_segment_description(1)
    assert liver.name == "Liver" and liver.number == 1
    assert liver.type == Code("T-62000", "SRT", "Liver")
    assert liver.category == Code("T-D0050", "SRT", "Tissue")
    assert (liver.algorithm, liver.algorithm_name) == ("SEMIAUTOMATIC", "SlicerEditor")
    lab = [int(v) for v in desc.RecommendedDisplayCIELabValue]
    assert liver.color == hd.color.CIELabColor.from_dicom_value(lab).to_rgb(clip=True)
    # the own grid is ordered along the frame normal, as spatial_xr's DICOM reader orders
    # a series: highdicom's volume runs the other way here
    assert da.spatial.direction.tolist() == np.eye(3).tolist()


def test_big_endian_seg_is_refused_with_the_way_out():
    with pytest.raises(sx.errors.FormatError, match="format='dicom'"):
        sx.open_image(get_testdata_file("liver_expb.dcm"))


# ---------------------------------------------------------------------- SEGs made by highdicom
def test_binary_segments_combine_into_one_label_image(tmp_path, ct5n, labels):
    path = make_seg(tmp_path / "seg.dcm", ct5n, labels, ["fat", "soft", "dense"],
                    colors=[(200, 180, 0), (220, 40, 40), (250, 250, 250)])
    assert pydicom.dcmread(path).BitsAllocated == 1
    da = sx.open_image(path)
    assert da.dims == ("z", "y", "x") and da.dtype == np.uint8
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(da, vol.array, vol.affine)
    assert [s.name for s in segment_table(da)] == ["fat", "soft", "dense"]
    assert segment_table(da)[1].color == (220, 40, 40)
    # on the series it was made from (folder, or the image itself): the labels exactly
    ct = sx.open_image(CT5N)
    for ref in (CT5N, ct, [str(p) for p in sorted(CT5N.iterdir())]):
        placed = open_dicomseg(path, reference=ref)
        assert placed.spatial.same_grid(ct)
        np.testing.assert_array_equal(placed.values, labels)


def test_overlapping_segments_become_a_c_dim_in_segment_order(tmp_path, ct5n, labels):
    masks = np.stack([labels >= 1, labels >= 2, labels == 3], -1)  # nested: they overlap
    path = make_seg(tmp_path / "seg.dcm", ct5n, masks, ["body", "inner", "core"])
    assert pydicom.dcmread(path, stop_before_pixels=True).SegmentsOverlap == "YES"
    da = sx.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.dtype == np.uint8
    assert da.coords["c"].values.tolist() == [1, 2, 3]
    vol = hd_volume(path)
    assert_equals_volume(da, vol.array, vol.affine)
    assert [s.name for s in segment_table(da)] == ["body", "inner", "core"]
    picked = open_dicomseg(path, segments=[3, 1])
    np.testing.assert_array_equal(picked.values, da.values[[2, 0]])
    assert [s.name for s in segment_table(picked)] == ["core", "body"]
    forced = open_dicomseg(path, layout="label")  # lazy: the overlap shows when computed
    with pytest.raises(LabelOverlapError, match="layout='stack'"):
        forced.values  # noqa: B018
    single = open_dicomseg(path, layout="label", segments=[2])
    np.testing.assert_array_equal(single.values, (labels >= 2) * 2)


def test_fractional_8_bit_keeps_fractions_or_thresholds(tmp_path, ct5n):
    v = np.stack([d.pixel_array.astype(float) for d in ct5n])
    frac = ((v - v.min()) / (v.max() - v.min())).astype(np.float32)
    path = make_seg(tmp_path / "frac.dcm", ct5n, frac, ["probability"],
                    segmentation_type="FRACTIONAL")
    assert pydicom.dcmread(path).BitsAllocated == 8
    da = sx.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.dtype == np.float32
    assert "kind" not in da.attrs and da.attrs["segments"][0]["name"] == "probability"
    vol = hd_volume(path)
    assert_equals_volume(da, vol.array, vol.affine)
    thr = open_dicomseg(path, fractional="threshold")
    assert thr.attrs["kind"] == "label" and thr.dims == ("z", "y", "x")
    np.testing.assert_array_equal(thr.values, (da.values[0] >= 0.5).astype(np.uint8))
    with pytest.raises(UnsupportedOptionError, match="fractional='threshold'"):
        open_dicomseg(path, layout="label")


def test_labelmap_and_rle_compressed_frames(tmp_path, ct5n, labels):
    lm = make_seg(tmp_path / "lm.dcm", ct5n, labels, ["a", "b", "c"],
                  segmentation_type="LABELMAP", transfer_syntax=RLELossless)
    ds = pydicom.dcmread(lm, stop_before_pixels=True)
    assert (ds.SegmentationType, ds.BitsAllocated) == ("LABELMAP", 8)
    da = sx.open_image(lm, reference=CT5N)
    np.testing.assert_array_equal(da.values, labels)
    stack = open_dicomseg(lm, reference=CT5N, layout="stack", segments=[3, 2])
    np.testing.assert_array_equal(stack.values, np.stack([labels == 3, labels == 2]))
    frac = make_seg(tmp_path / "frac.dcm", ct5n, (labels == 2).astype(np.float32), ["b"],
                    segmentation_type="FRACTIONAL", transfer_syntax=RLELossless)
    np.testing.assert_array_equal(sx.open_image(frac).values[0], labels == 2)


def test_sparse_frames_own_grid_spans_the_frames_reference_places_them(tmp_path, ct5n):
    mask = np.zeros((5, 16, 16), np.uint8)
    mask[2:4, 4:9, 5:12] = 1  # only slices 2 and 3 hold voxels: empty frames are omitted
    path = make_seg(tmp_path / "sparse.dcm", ct5n, mask, ["lesion"])
    assert int(pydicom.dcmread(path).NumberOfFrames) == 2
    own = sx.open_image(path)
    assert own.sizes["z"] == 2
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(own, vol.array, vol.affine)
    placed = open_dicomseg(path, reference=CT5N)
    np.testing.assert_array_equal(placed.values, mask)


def test_seg_on_a_subset_of_the_source_frames(tmp_path, ct5n, labels):
    subset = [0, 1, 3]  # slice 2 not segmented at all (not a source image of the SEG)
    path = make_seg(tmp_path / "subset.dcm", [ct5n[k] for k in subset], labels[subset],
                    ["a", "b", "c"], omit_empty_frames=False)
    want = np.zeros_like(labels)
    want[subset] = labels[subset]
    np.testing.assert_array_equal(open_dicomseg(path, reference=CT5N).values, want)
    own = sx.open_image(path)  # highdicom's volume: slices 0–3, slice 2 empty
    vol = hd_volume(path, combine_segments=True)
    assert own.sizes["z"] == vol.array.shape[0] == 4
    assert_equals_volume(own, vol.array, vol.affine)


def test_oblique_series(tmp_path, labels):
    folder = copy_series(CT5N, tmp_path / "oblique", rotation=oblique_rotation(),
                         new_series=True)
    dss = series_datasets(folder)
    path = make_seg(tmp_path / "seg.dcm", dss, labels, ["a", "b", "c"])
    ct = sx.open_image(folder)
    assert not ct.spatial.grid.is_axis_aligned
    own = sx.open_image(path)
    assert own.spatial.grid.isclose(ct.spatial.grid, atol=1e-5)
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(own, vol.array, vol.affine)
    np.testing.assert_array_equal(open_dicomseg(path, reference=folder).values, labels)
    # a reoriented reference: the frames land on the same world points
    ras = ct.spatial.reorient("RAS")
    placed = open_dicomseg(path, reference=ras)
    assert placed.spatial.same_grid(ras)
    np.testing.assert_array_equal(placed.values,
                                  own.spatial.reorient("RAS").transpose(*placed.dims).values)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_single_slice_series(tmp_path, name):
    folder = single_file_series(name, tmp_path / "series")
    (src,) = series_datasets(folder)
    pix = src.pixel_array.astype(float)
    mask = (pix > np.percentile(pix, 75))[np.newaxis].astype(np.uint8)
    path = make_seg(tmp_path / "seg.dcm", [src], mask, ["bright"])
    da = sx.open_image(path)
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(da, vol.array, vol.affine)
    np.testing.assert_array_equal(sx.open_image(path, reference=folder).values, mask)


def test_folder_with_ct_and_seg(tmp_path, ct5n, labels):
    folder = copy_series(CT5N, tmp_path / "study")
    make_seg(folder / "zz_seg.dcm", ct5n, labels, ["a", "b", "c"])
    found = sx.dicom.discover_series(folder)
    kinds = {s.kind: s for s in found}
    assert set(kinds) == {"image", "segmentation"}
    assert kinds["segmentation"].references == (kinds["image"].series_uid,)
    assert "segmentation of" in kinds["segmentation"].summary()
    image = sx.open_image(folder)  # the CT, not the SEG
    assert image.attrs["modality"] == "CT" and "kind" not in image.attrs
    seg = sx.open_image(folder, series_uid=kinds["segmentation"].series_uid)
    assert seg.attrs["kind"] == "label" and seg.spatial.same_grid(image)
    np.testing.assert_array_equal(seg.values, labels)


# ---------------------------------------------------------------------- laziness
def test_open_reads_no_frames_and_a_chunk_reads_only_its_own(tmp_path, ct5n, labels,
                                                            monkeypatch):
    path = make_seg(tmp_path / "seg.dcm", ct5n, labels, ["a", "b", "c"])
    read: list[int] = []
    original = hd.io.ImageFileReader.read_frame_raw

    def counting(self, index):
        read.append(index)
        return original(self, index)

    monkeypatch.setattr(hd.io.ImageFileReader, "read_frame_raw", counting)
    da = open_dicomseg(path, reference=CT5N, chunks={"z": 1})
    assert read == [] and da.chunks[0] == (1,) * 5
    np.testing.assert_array_equal(da.isel(z=3).values, labels[3])
    frame_slice = {k: int(np.rint(np.asarray(item.PlanePositionSequence[0]
                                              .ImagePositionPatient, float)[2]))
                   for k, item in enumerate(pydicom.dcmread(path)
                                            .PerFrameFunctionalGroupsSequence)}
    z3 = int(np.rint(float(ct5n[3].ImagePositionPatient[2])))
    assert read and all(frame_slice[k] == z3 for k in read)
    back = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(back.values, labels)
    np.testing.assert_array_equal(da[1:4:2, ::-3, 5].values, labels[1:4:2, ::-3, 5])


def test_1_bit_frames_not_starting_on_a_byte(tmp_path):
    """liver.dcm cropped to 37 × 45 (1665 bits: frames 2 and 3 start inside a byte), packed
    by pydicom: decoded through highdicom's frame reader, equal to pydicom's pixels."""
    from pydicom.pixels import pack_bits

    ds = pydicom.dcmread(get_testdata_file("liver.dcm"))
    crop = np.ascontiguousarray(ds.pixel_array[:, 150:187, 120:165])
    dy, dx = (float(v) for v in
              ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing)
    for item in ds.PerFrameFunctionalGroupsSequence:
        pos = item.PlanePositionSequence[0]
        x, y, z = (float(v) for v in pos.ImagePositionPatient)
        pos.ImagePositionPatient = [x + 120 * dx, y + 150 * dy, z]
    ds.Rows, ds.Columns = crop.shape[1:]
    ds.PixelData = pack_bits(crop)
    path = tmp_path / "odd.dcm"
    ds.save_as(path, enforce_file_format=True)
    da = sx.open_image(path)
    whole = sx.open_image(get_testdata_file("liver.dcm"))
    np.testing.assert_array_equal(da.values, whole.values[:, 150:187, 120:165])
    assert 0.2 < da.values.mean() < 0.4
    vol = hd_volume(path, combine_segments=True)
    assert_equals_volume(da, vol.array, vol.affine)
