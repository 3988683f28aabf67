"""The label kind: segment tables, and label-safe resample, sample, pyramid, crop, napari.

Label images are made from a real MR volume (pydicom's ``emri_small.dcm``) by
thresholding; resampling is checked against SimpleITK's label interpolators.
"""

from __future__ import annotations

import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
import xarray as xr

import spatial_xr as sx
from spatial_xr.errors import ParameterError, UnsupportedOptionError
from spatial_xr.labels import (
    Code,
    Segment,
    as_label,
    is_label,
    label_dtype,
    segment_table,
    segments_from_json,
    segments_to_json,
)

LIVER = {
    "number": 1, "name": "liver", "color": [221, 130, 101],
    "category": {"value": "123037004", "scheme": "SCT", "meaning": "Anatomical Structure"},
    "type": {"value": "10200004", "scheme": "SCT", "meaning": "Liver"},
    "algorithm": "MANUAL",
}


@pytest.fixture(scope="module")
def mr() -> xr.DataArray:
    return sx.open_image(pydicom.data.get_testdata_file("emri_small.dcm")).load()


@pytest.fixture(scope="module")
def mr_labels(mr: xr.DataArray) -> xr.DataArray:
    """Three tissue classes of the real MR by intensity: 0 background, 1, 2, 3."""
    bins = np.digitize(mr.values, [60, 150, 300]).astype(np.uint8)
    da = mr.copy(data=bins)
    return as_label(da, [{"number": 1, "name": "dim"}, {"number": 2, "name": "mid"},
                         {"number": 3, "name": "bright", "color": [250, 250, 0]}])


# ---------------------------------------------------------------------- segment table
def test_segment_json_round_trip_keeps_codes_colours_and_extra_keys():
    obj = {**LIVER, "slicer_terminology": "Segmentation category and type - 3D Slicer"}
    seg = Segment.from_json(obj)
    assert seg.color == (221, 130, 101)
    assert seg.type == Code("10200004", "SCT", "Liver")
    assert seg.extra == {"slicer_terminology": obj["slicer_terminology"]}
    assert seg.to_json() == obj
    assert Segment.from_json(seg.to_json()) == seg
    assert segments_to_json({2: "kidney", 5: "spleen"}) == [
        {"number": 2, "name": "kidney"}, {"number": 5, "name": "spleen"}]


@pytest.mark.parametrize(("bad", "match"), [
    ({"number": 0, "name": "x"}, "integer ≥ 1"),
    ({"number": 1.5, "name": "x"}, "integer ≥ 1"),
    ({"number": True, "name": "x"}, "integer ≥ 1"),
    ({"name": "x"}, "needs 'number' and 'name'"),
    ({"number": 1, "name": "x", "color": [300, 0, 0]}, "0–255"),
    ({"number": 1, "name": "x", "color": [1, 2]}, "0–255"),
    ({"number": 1, "name": "x", "type": {"value": "1", "scheme": "SCT"}}, "lacks 'meaning'"),
    ({"number": 1, "name": "x", "algorithm": "GUESS"}, "MANUAL, SEMIAUTOMATIC"),
])
def test_bad_segments_are_refused(bad, match):
    with pytest.raises(ParameterError, match=match):
        Segment.from_json(bad)


def test_duplicate_numbers_and_tables_that_do_not_fit_the_image(mr_labels):
    with pytest.raises(ParameterError, match=r"repeated: \[1\]"):
        segments_from_json([{"number": 1, "name": "a"}, {"number": 1, "name": "b"}])
    with pytest.raises(ParameterError, match="holds integers"):
        as_label(mr_labels.astype("float32"), {1: "a"})
    with pytest.raises(ParameterError, match=r"do not fit dtype uint8.*uint16"):
        as_label(mr_labels, {300: "a"})
    stack = xr.concat([mr_labels == 1, mr_labels == 2], dim="c")
    with pytest.raises(ParameterError, match="c has 2 entries but the table has 1"):
        as_label(stack, {1: "dim"})
    assert label_dtype(255) == np.uint8 and label_dtype(256) == np.uint16


def test_as_label_marks_without_reading_and_keeps_the_table(mr_labels):
    lazy = mr_labels.chunk({"z": 2})
    plain = lazy.copy()
    plain.attrs = {}
    assert not is_label(plain)
    marked = as_label(plain, segment_table(mr_labels))
    assert marked.attrs["kind"] == "label" and isinstance(marked.data, type(lazy.data))
    assert [s.name for s in segment_table(marked)] == ["dim", "mid", "bright"]
    assert as_label(marked).attrs["segments"] == marked.attrs["segments"]
    assert plain.attrs == {}  # the input is not changed


# ---------------------------------------------------------------------- resample / sample
def _sitk_resample(img: sitk.Image, like: sitk.Image, interp: int) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.Resample(img, like, sitk.Transform(), interp, 0.0))


def test_resample_defaults_to_the_label_rule_of_simpleitk(mr_labels):
    target = mr_labels.spatial.resample(spacing=(0.77, 0.61, 0.83), interpolation="linear",
                                        allow_label_interpolation=True, dtype="float32")
    out = mr_labels.spatial.resample(like=target)
    assert out.attrs["kind"] == "label" and out.attrs["segments"] == mr_labels.attrs["segments"]
    assert out.dtype == np.uint8
    ref = _sitk_resample(mr_labels.spatial.to_sitk(), target.spatial.to_sitk(),
                         sitk.sitkLabelLinear)
    agree = np.mean(out.values == ref)
    assert agree > 0.999  # ties (equal votes) may round either way, see docs/resampling.md
    assert set(np.unique(out.values)) <= {0, 1, 2, 3}
    near = mr_labels.spatial.resample(like=target, interpolation="nearest")
    np.testing.assert_array_equal(
        near.values, _sitk_resample(mr_labels.spatial.to_sitk(), target.spatial.to_sitk(),
                                    sitk.sitkNearestNeighbor))


def test_linear_and_cubic_on_labels_need_an_explicit_allowance(mr_labels, mr):
    for method in ("linear", "cubic"):
        with pytest.raises(UnsupportedOptionError, match="allow_label_interpolation=True"):
            mr_labels.spatial.resample(spacing=2.0, interpolation=method)
        with pytest.raises(UnsupportedOptionError, match="blend the segment numbers"):
            mr_labels.spatial.sample([[0.0, 0.0, 0.0]], interpolation=method)
    frac = (mr_labels == 3).astype("float32")
    frac.attrs = {**mr_labels.attrs, "kind": "label"}
    out = frac.spatial.resample(spacing=2.0, interpolation="linear",
                                allow_label_interpolation=True)
    assert "kind" not in out.attrs and out.attrs["segments"] == mr_labels.attrs["segments"]
    assert 0 < float(out.max()) <= 1 and len(np.unique(out.values)) > 2
    # a plain image still defaults to linear
    assert mr.spatial.resample(spacing=2.0).dtype == mr.dtype
    ref = mr.spatial.resample(spacing=2.0, interpolation="linear")
    np.testing.assert_array_equal(mr.spatial.resample(spacing=2.0).values, ref.values)


def test_fill_values_that_invent_a_segment_are_refused(mr_labels):
    with pytest.raises(UnsupportedOptionError, match="fill_value=0"):
        mr_labels.spatial.resample(spacing=2.0, fill_value=7)
    shifted = mr_labels.spatial.resample(spacing=2.0, fill_value=3)  # a segment number
    assert is_label(shifted)


def test_sample_at_points_defaults_to_the_label_rule(mr_labels):
    idx = np.array([[5, 30, 20], [2, 40, 31], [9, 10, 10]])  # z, y, x
    pts = mr_labels.spatial.index_to_world({"z": idx[:, 0], "y": idx[:, 1], "x": idx[:, 2]})
    got = mr_labels.spatial.sample(pts)
    np.testing.assert_array_equal(got.values, mr_labels.values[tuple(idx.T)])
    assert got.dtype == np.uint8 and got.attrs["kind"] == "label"


# ---------------------------------------------------------------------- pyramid / crop
def test_pyramid_of_a_label_image_takes_the_mode_and_keeps_the_table(mr_labels):
    tree = mr_labels.chunk(8).spatial.pyramid(levels=2)
    lvl = tree.spatial.level(1)
    assert lvl.attrs["kind"] == "label" and lvl.attrs["segments"] == mr_labels.attrs["segments"]
    blocks = mr_labels.values[:10, :64, :64].reshape(5, 2, 32, 2, 32, 2)
    # the mode of every 2×2×2 block (ties to the smallest label), by brute force
    flat = blocks.transpose(0, 2, 4, 1, 3, 5).reshape(5, 32, 32, 8)
    counts = np.stack([(flat == k).sum(-1) for k in range(4)], -1)
    np.testing.assert_array_equal(lvl.values, counts.argmax(-1))
    with pytest.raises(UnsupportedOptionError, match="label image"):
        mr_labels.spatial.pyramid(levels=2, method="mean")


def test_crop_pads_labels_with_background_and_refuses_other_fills(mr_labels):
    lo = mr_labels.spatial.index_to_world({"z": -2, "y": -3, "x": 0})
    hi = mr_labels.spatial.index_to_world({"z": 3, "y": 5, "x": 6})
    out = mr_labels.spatial.crop(lo, hi, clip=False)
    assert out.attrs["kind"] == "label"
    assert (out.isel(z=slice(0, 2)).values == 0).all()
    np.testing.assert_array_equal(out.isel(z=slice(2, None), y=slice(3, None)).values,
                                  mr_labels.values[:4, :6, :7])
    with pytest.raises(UnsupportedOptionError, match="no segment"):
        mr_labels.spatial.crop(lo, hi, clip=False, fill_value=9)


# ---------------------------------------------------------------------- napari
def test_napari_labels_layer_has_names_colours_and_the_image_placement(mr_labels, mr):
    napari_components = pytest.importorskip("napari.components", reason="napari extra")
    from spatial_xr.napari import napari_layer_type, to_napari_layers

    viewer = napari_components.ViewerModel()
    data, kwargs = mr_labels.spatial.to_napari(name="classes")
    assert napari_layer_type(mr_labels) == "labels" and napari_layer_type(mr) == "image"
    layer = viewer.add_labels(data, **kwargs)
    image_data, image_kwargs = mr.spatial.to_napari()
    image = viewer.add_image(image_data, **image_kwargs)
    np.testing.assert_allclose(layer.affine.affine_matrix, image.affine.affine_matrix)
    np.testing.assert_allclose(layer.colormap.map(np.array([3]))[0], [250 / 255, 250 / 255,
                                                                      0, 1], atol=1e-6)
    assert layer.colormap.map(np.array([0]))[0][3] == 0  # background transparent
    k = tuple(np.argwhere(mr_labels.values == 2)[0])
    world = np.asarray(layer.data_to_world(np.asarray(k, float)), float)
    np.testing.assert_allclose(world, mr_labels.spatial.index_to_world(
        {"z": k[0], "y": k[1], "x": k[2]})[::-1], atol=1e-9)
    viewer.dims.point = tuple(world)  # napari reads values from the slice it shows
    assert layer.get_value(world, world=True) == 2
    status = layer.get_status(np.asarray(k, float))
    assert "name: mid" in status["coordinates"]
    stack = as_label(xr.concat([mr_labels == 1, mr_labels == 3], dim="c").astype("uint8"),
                     [{"number": 1, "name": "dim"}, {"number": 3, "name": "bright"}])
    layers = to_napari_layers(stack, name="s")
    assert [(kw["name"], t) for _, kw, t in layers] == [("s [dim]", "labels"),
                                                         ("s [bright]", "labels")]
    np.testing.assert_array_equal(np.asarray(layers[1][0]), (mr_labels.values == 3))
    with pytest.raises(sx.errors.DimensionError, match="to_napari_layers"):
        stack.spatial.to_napari()
