"""Reading Slicer segmentations: files 3D Slicer wrote (shipped by slicerio) against
slicerio's reader and SimpleITK's geometry; files written by hand in Slicer's layout
(pixels by SimpleITK and pynrrd); layers; bad headers."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import slicerio

import spatial_xr
from spatial_xr.errors import FormatError, LabelOverlapError
from spatial_xr.io.formats import find_format
from spatial_xr.io.segnrrd import open_seg_nrrd

from .conftest import OVERLAPPING, SEGMENTATION, TAGS, slicer_fields, write_pynrrd, write_sitk


def _assert_geometry_like_sitk(da, path: Path) -> None:
    img = sitk.ReadImage(str(path))
    g = da.spatial.grid
    np.testing.assert_allclose(g.origin_xyz, img.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(g.spacing_xyz, img.GetSpacing()[:3], atol=1e-9)
    np.testing.assert_allclose(g.direction_xyz.ravel(),
                               np.asarray(img.GetDirection()).reshape(
                                   img.GetDimension(), -1)[:3, :3].ravel(), atol=1e-9)


def test_slicer_file_matches_slicerio() -> None:
    da = spatial_xr.open_image(SEGMENTATION)
    ref = slicerio.read_segmentation(str(SEGMENTATION))
    assert da.dims == ("z", "y", "x") and da.attrs["kind"] == "label"
    np.testing.assert_array_equal(da.values, ref["voxels"].T)  # slicerio: i, j, k
    np.testing.assert_allclose(da.spatial.grid.affine, ref["ijkToLPS"], atol=1e-9)
    _assert_geometry_like_sitk(da, SEGMENTATION)
    assert len(da.attrs["segments"]) == len(ref["segments"]) == 7
    for ours, theirs in zip(da.attrs["segments"], ref["segments"], strict=True):
        assert ours["number"] == theirs["labelValue"]
        assert ours["name"] == theirs["name"]
        assert ours["color"] == [round(c * 255) for c in theirs["color"]]
        term = theirs["terminology"]
        assert [ours["category"][k] for k in ("scheme", "value", "meaning")] == \
            term["category"]
        assert [ours["type"][k] for k in ("scheme", "value", "meaning")] == term["type"]
        assert ours["slicer_fields"]["ID"] == theirs["id"]
        assert ours["slicer_fields"]["Extent"] == " ".join(map(str, theirs["extent"]))
    assert da.attrs["nrrd_fields"]["Segmentation_MasterRepresentation"] == "Binary labelmap"
    assert not any(k.startswith("Segment0") for k in da.attrs["nrrd_fields"])


def test_overlapping_layers_become_masks_on_c() -> None:
    da = open_seg_nrrd(OVERLAPPING)
    ref = slicerio.read_segmentation(str(OVERLAPPING))
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == 8
    values = da.values
    for i, seg in enumerate(ref["segments"]):
        want = ref["voxels"][seg["layer"]] == seg["labelValue"]
        np.testing.assert_array_equal(values[i].astype(bool), want.T)
    # label values repeat across layers (the sphere is 1 on layer 1, like the ribs on 0)
    assert [s["number"] for s in da.attrs["segments"]] == list(range(1, 9))
    assert da.attrs["segments"][7]["name"] == "overlapping sphere"
    assert (values[7] & values[:7].any(axis=0)).any()  # it does overlap
    with pytest.raises(LabelOverlapError, match="overlap"):
        open_seg_nrrd(OVERLAPPING, combine=True).values  # noqa: B018
    _assert_geometry_like_sitk(da, OVERLAPPING)


def test_opening_is_lazy_and_pickles() -> None:
    da = open_seg_nrrd(OVERLAPPING, chunks={"z": 8})
    assert da.chunks is not None and len(da.chunks[1]) == 5
    back = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(back.isel(z=slice(10, 12)).values,
                                  da.values[:, 10:12])


def test_hand_written_by_simpleitk_in_slicers_layout(tmp_path: Path) -> None:
    from scipy.spatial.transform import Rotation

    data = np.zeros((6, 20, 24), np.uint8)
    data[1:4, 2:9, 3:10] = 2
    data[2:5, 10:18, 12:20] = 7
    fields = slicer_fields([
        {"ID": "Segment_1", "Name": "liver", "Color": (0.866667, 0.509804, 0.396078),
         "LabelValue": 2, "Layer": 0, "Extent": (0, 23, 0, 19, 0, 5), "Tags": TAGS},
        {"ID": "tumour_x", "Name": "tumour", "Color": (1, 0, 0), "LabelValue": 7,
         "Layer": 0, "Extent": (0, 23, 0, 19, 0, 5), "Custom": "yes"},
        {"ID": "empty", "Name": "nothing yet", "Color": (0, 0, 1), "LabelValue": 9,
         "Layer": 0, "Extent": (0, -1, 0, -1, 0, -1)},
    ])
    direction = Rotation.from_euler("xyz", [10, -20, 30], degrees=True).as_matrix()
    path = write_sitk(tmp_path / "hand.seg.nrrd", data, fields, direction=direction)
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.values, data)
    _assert_geometry_like_sitk(da, path)
    segs = da.attrs["segments"]
    assert [(s["number"], s["name"], s["color"]) for s in segs] == [
        (2, "liver", [221, 130, 101]), (7, "tumour", [255, 0, 0]), (9, "nothing yet",
                                                                    [0, 0, 255])]
    assert segs[0]["type"] == {"value": "10200004", "scheme": "SCT", "meaning": "Liver"}
    assert segs[1]["slicer_fields"]["Custom"] == "yes" and "type" not in segs[1]
    assert da.attrs["nrrd_fields"]["MyTool_Note"] == "kept as is"
    # the same header under a plain .nrrd name is recognised by its Segment fields
    plain = write_sitk(tmp_path / "hand.nrrd", data, fields)
    assert find_format(plain).name == "segnrrd"


def test_layers_with_disjoint_extents_merge_into_one_label_image(tmp_path: Path) -> None:
    layers = np.zeros((2, 5, 16, 18), np.uint8)
    layers[0, 1:3, 2:6, 2:6] = 1
    layers[1, 2:4, 9:14, 10:16] = 1  # same label value, other layer, elsewhere
    fields = slicer_fields([
        {"ID": "a", "Name": "a", "Color": (1, 0, 0), "LabelValue": 1, "Layer": 0,
         "Extent": (2, 5, 2, 5, 1, 2)},
        {"ID": "b", "Name": "b", "Color": (0, 1, 0), "LabelValue": 1, "Layer": 1,
         "Extent": (10, 15, 9, 13, 2, 3)},
    ])
    path = write_pynrrd(tmp_path / "two.seg.nrrd", layers, fields)
    da = open_seg_nrrd(path)
    assert da.dims == ("z", "y", "x")
    assert [s["number"] for s in da.attrs["segments"]] == [1, 2]
    np.testing.assert_array_equal(da.values, layers[0] * 1 + layers[1] * 2)
    masks = open_seg_nrrd(path, combine=False)
    np.testing.assert_array_equal(masks.values, layers)
    one = open_seg_nrrd(SEGMENTATION, combine=False)
    assert one.dims == ("c", "z", "y", "x") and one.sizes["c"] == 7
    np.testing.assert_array_equal(one.values[4], open_seg_nrrd(SEGMENTATION).values == 5)


def test_legacy_files_without_label_values_have_one_segment_per_component(
        tmp_path: Path) -> None:
    layers = np.zeros((3, 4, 10, 12), np.uint8)
    layers[0, 1, 2:5, 2:5] = 1
    layers[1, 1:3, 3:8, 3:9] = 1
    layers[2, 2, 5:9, 1:4] = 1
    fields = {f"Segment{i}_{k}": v for i in range(3) for k, v in
              (("ID", f"s{i}"), ("Name", f"seg {i}"), ("Color", "0.5 0.5 0.5"))}
    path = write_pynrrd(tmp_path / "legacy.seg.nrrd", layers, fields)
    da = open_seg_nrrd(path)
    assert da.dims == ("c", "z", "y", "x")  # no extents: the layers may overlap
    np.testing.assert_array_equal(da.values, layers)
    assert [s["name"] for s in da.attrs["segments"]] == ["seg 0", "seg 1", "seg 2"]


@pytest.mark.parametrize(("change", "message"), [
    ({"Segment1_Layer": "3"}, "on Layer 3, but the data have 1 layer"),
    ({"Segment1_LabelValue": "300"}, "LabelValue 300"),
    ({"Segment1_LabelValue": "2"}, "both have LabelValue 2 on Layer 0"),
    ({"Segment1_LabelValue": "two"}, "not an integer"),
])
def test_headers_that_disagree_with_the_data_are_refused(tmp_path: Path, change, message
                                                         ) -> None:
    data = np.zeros((3, 8, 8), np.uint8)
    data[1, 2:4, 2:4] = 2
    data[1, 5:7, 5:7] = 5
    fields = slicer_fields([
        {"ID": "a", "Name": "a", "Color": (1, 0, 0), "LabelValue": 2, "Layer": 0},
        {"ID": "b", "Name": "b", "Color": (0, 1, 0), "LabelValue": 5, "Layer": 0},
    ])
    fields.update(change)
    path = write_sitk(tmp_path / "bad.seg.nrrd", data, fields)
    with pytest.raises(FormatError, match=message):
        open_seg_nrrd(path)
