"""Writing Slicer segmentations: Slicer's own files survive a round trip field for field
(checked with our header parser, slicerio and SimpleITK); edited tables, new label images
and overlapping masks are written so that slicerio reads them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import slicerio

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    LabelOverlapError,
    OverwriteError,
    ParameterError,
)
from spatial_xr.io.nrrd import read_nrrd_header
from spatial_xr.io.segnrrd import open_seg_nrrd, write_seg_nrrd
from spatial_xr.labels import as_label

from .conftest import OVERLAPPING, SEGMENTATION


@pytest.mark.parametrize("source", [SEGMENTATION, OVERLAPPING], ids=["one", "layers"])
def test_slicer_files_round_trip_field_for_field(tmp_path: Path, source: Path) -> None:
    da = spatial_xr.open_image(source)
    out = spatial_xr.write_image(da, tmp_path / source.name)  # chosen by the .seg.nrrd name
    before, after = read_nrrd_header(source), read_nrrd_header(out)
    assert after.key_values == before.key_values  # every Segment and Segmentation field
    assert after.sizes == before.sizes and after.kinds == before.kinds
    assert after.space_directions == before.space_directions
    assert after.space_origin == before.space_origin
    theirs, ours = slicerio.read_segmentation(str(source)), slicerio.read_segmentation(str(out))
    np.testing.assert_array_equal(ours["voxels"], theirs["voxels"])
    assert ours["segments"] == theirs["segments"]
    a, b = sitk.ReadImage(str(source)), sitk.ReadImage(str(out))
    assert (a.GetOrigin(), a.GetSpacing(), a.GetDirection()) == (
        b.GetOrigin(), b.GetSpacing(), b.GetDirection())


def test_edited_table_updates_only_what_changed(tmp_path: Path) -> None:
    da = open_seg_nrrd(SEGMENTATION)
    segs = [dict(s) for s in da.attrs["segments"]]
    segs[0]["name"] = "costae"
    segs[1]["color"] = [10, 20, 30]
    segs[2]["type"] = {"value": "421060004", "scheme": "SCT", "meaning": "Vertebra"}
    out = write_seg_nrrd(as_label(da, segs), tmp_path / "edited.seg.nrrd")
    before, after = read_nrrd_header(SEGMENTATION).key_values, read_nrrd_header(out).key_values
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == {"Segment0_Name", "Segment1_Color", "Segment2_Tags"}
    ref = slicerio.read_segmentation(str(out), skip_voxels=True)["segments"]
    assert ref[0]["name"] == "costae"
    assert [round(c * 255) for c in ref[1]["color"]] == [10, 20, 30]
    assert ref[2]["terminology"]["type"] == ["SCT", "421060004", "Vertebra"]
    assert ref[2]["status"] == "inprogress"  # the other tags are kept


def test_a_new_label_image_on_an_oblique_grid(tmp_path: Path) -> None:
    from scipy.spatial.transform import Rotation

    lab = np.zeros((5, 12, 14), np.int16)
    lab[1:3, 2:6, 3:8] = 3
    lab[2:5, 7:11, 6:12] = 8
    lab[0, 0, 0] = 99  # no segment has this value: written as background
    d = Rotation.from_euler("xyz", [15, 25, -35], degrees=True).as_matrix()
    da = spatial_xr.from_array(lab, spacing=(2.0, 0.6, 0.7), origin=(4.0, -3.0, 9.0),
                               direction=d)
    da = as_label(da, [{"number": 3, "name": "kidney", "color": [185, 102, 83],
                        "category": {"value": "123037004", "scheme": "SCT",
                                     "meaning": "Anatomical Structure"},
                        "type": {"value": "64033007", "scheme": "SCT", "meaning": "Kidney"}},
                       {"number": 8, "name": "cyst"}])
    out = da.spatial.to_seg_nrrd(tmp_path / "new.seg.nrrd")
    ref = slicerio.read_segmentation(str(out))
    want = np.where(lab == 99, 0, lab)
    np.testing.assert_array_equal(ref["voxels"].T, want)
    np.testing.assert_allclose(ref["ijkToLPS"], da.spatial.grid.affine, atol=1e-9)
    assert [(s["name"], s["labelValue"], s["layer"], s["extent"]) for s in ref["segments"]] \
        == [("kidney", 3, 0, [0, 13, 0, 11, 0, 4]), ("cyst", 8, 0, [0, 13, 0, 11, 0, 4])]
    assert ref["segments"][0]["terminology"]["type"] == ["SCT", "64033007", "Kidney"]
    back = open_seg_nrrd(out)
    np.testing.assert_array_equal(back.values, want)
    assert back.spatial.grid.isclose(da.spatial.grid)
    fields = read_nrrd_header(out).key_values
    assert fields["Segmentation_MasterRepresentation"] == "Binary labelmap"
    assert fields["Segmentation_ReferenceImageExtentOffset"] == "0 0 0"


def test_overlapping_masks_go_on_layers(tmp_path: Path) -> None:
    _, y, x = np.mgrid[0:4, 0:16, 0:16]
    masks = np.stack([(y - 7) ** 2 + (x - 6) ** 2 < 20, (y - 7) ** 2 + (x - 9) ** 2 < 20,
                      (y > 12) & (x > 12)]).astype(np.uint8)
    da = as_label(spatial_xr.from_array(masks, dims=("c", "z", "y", "x")),
                  {4: "left", 5: "right", 6: "corner"})
    out = write_seg_nrrd(da, tmp_path / "m.seg.nrrd")
    ref = slicerio.read_segmentation(str(out))
    assert ref["voxels"].shape[0] == 3  # one layer per segment (nothing to reuse)
    for i, seg in enumerate(ref["segments"]):
        np.testing.assert_array_equal((ref["voxels"][seg["layer"]] == seg["labelValue"]).T,
                                      masks[i].astype(bool))
    np.testing.assert_array_equal(open_seg_nrrd(out).values, masks)


def test_segments_sharing_a_layer_must_not_overlap(tmp_path: Path) -> None:
    da = open_seg_nrrd(OVERLAPPING)  # 8 masks, read with their layers
    edited = da.copy(data=da.values)
    edited.values[1] |= edited.values[0]  # segment 2 now covers the ribs, on the same layer
    with pytest.raises(LabelOverlapError, match="layers='separate'"):
        write_seg_nrrd(edited, tmp_path / "x.seg.nrrd")
    assert not (tmp_path / "x.seg.nrrd").exists()
    out = write_seg_nrrd(edited, tmp_path / "x.seg.nrrd", layers="separate")
    np.testing.assert_array_equal(open_seg_nrrd(out).values, edited.values)


def test_extent_grows_when_the_data_leave_it(tmp_path: Path) -> None:
    da = open_seg_nrrd(SEGMENTATION)
    lab = da.values.copy()
    lab[0, 0, 127] = 1  # x = 127 lies outside the stored extent 0..124
    out = write_seg_nrrd(da.copy(data=lab), tmp_path / "grown.seg.nrrd")
    fields = read_nrrd_header(out).key_values
    assert fields["Segment0_Extent"] == "0 127 0 127 0 33"


def test_write_refuses_bad_inputs(tmp_path: Path) -> None:
    da = open_seg_nrrd(SEGMENTATION)
    with pytest.raises(FormatError, match=r"\*\.seg\.nrrd"):
        write_seg_nrrd(da, tmp_path / "x.nrrd")
    with pytest.raises(ParameterError, match="holds integers"):
        write_seg_nrrd(da.astype("float32"), tmp_path / "x.seg.nrrd")
    with pytest.raises(DimensionError, match="3-D label image"):
        write_seg_nrrd(da.expand_dims("t"), tmp_path / "x.seg.nrrd")
    out = write_seg_nrrd(da, tmp_path / "x.seg.nrrd")
    with pytest.raises(OverwriteError):
        write_seg_nrrd(da, out)
