"""Mask workflows on a real MR (pydicom's emri_small.dcm): repositioning a cropped mask,
full_mask, and merging masks drawn on different grids, against SimpleITK's label
resampling and label voting."""

from __future__ import annotations

import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
import xarray as xr

import spatial_xr as sx
from spatial_xr.errors import (
    DimensionError,
    GeometryError,
    LabelOverlapError,
    ParameterError,
    UnsupportedOptionError,
)
from spatial_xr.labels import as_label, full_mask, merge, segment_table


@pytest.fixture(scope="module")
def mr() -> xr.DataArray:
    return sx.open_image(pydicom.data.get_testdata_file("emri_small.dcm")).load()


def _mask(mr: xr.DataArray, lo: float, hi: float, number: int, name: str) -> xr.DataArray:
    values = ((mr.values >= lo) & (mr.values < hi)).astype(np.uint8) * number
    return as_label(mr.copy(data=values), {number: name})


def _sitk_onto(mask: xr.DataArray, like: xr.DataArray) -> np.ndarray:
    out = sitk.Resample(mask.spatial.to_sitk(), like.spatial.to_sitk(), sitk.Transform(),
                        sitk.sitkLabelLinear, 0.0)
    return sitk.GetArrayFromImage(out)


def test_cropped_mask_goes_back_exactly(mr):
    whole = _mask(mr, 150, 1e9, 2, "bright")
    crop = whole.isel(z=slice(2, 8), y=slice(10, 50), x=slice(5, 60))
    want = np.zeros_like(whole.values)
    want[2:8, 10:50, 5:60] = whole.values[2:8, 10:50, 5:60]
    recipe = crop.chunk({"z": 2}).spatial.resample(like=mr)  # the documented recipe
    assert recipe.attrs["kind"] == "label" and recipe.spatial.same_grid(mr)
    np.testing.assert_array_equal(recipe.values, want)
    strict = full_mask(crop.spatial.reorient("RAS"), like=mr)
    np.testing.assert_array_equal(strict.values, want)
    assert segment_table(strict) == segment_table(whole)
    blank = full_mask(like=mr, segments={1: "todo"})
    assert blank.shape == mr.shape and not blank.values.any() and blank.attrs["kind"] == "label"
    with pytest.raises(GeometryError, match="resample"):
        full_mask(crop.spatial.resample(spacing=0.7), like=mr)


def test_merge_masks_on_different_grids(mr):
    a = _mask(mr, 60, 150, 1, "dim").where(lambda m: m.z < m.z[4], 0)  # slices 0–4
    b_fine = _mask(mr, 150, 1e9, 2, "bright").where(lambda m: m.z > m.z[6], 0)  # 7–9
    b = b_fine.spatial.resample(spacing=(1.5, 1.3, 1.3))  # drawn on another grid
    assert a.attrs["kind"] == b.attrs["kind"] == "label"
    merged = merge([a, b])
    assert merged.spatial.same_grid(a) and isinstance(merged.data, type(merged.data))
    b_on_a = _sitk_onto(b, a)
    want = np.where(a.values > 0, a.values, b_on_a)
    assert not ((a.values > 0) & (b_on_a > 0)).any()  # disjoint: union has no conflict
    # equal votes (ties) may round either way, see docs/resampling.md: a few voxels
    assert np.mean(merged.values == want) > 0.999
    np.testing.assert_array_equal(merged.values, np.where(a.values > 0, a.values,
                                                          b.spatial.resample(like=a).values))
    assert [(s.number, s.name) for s in segment_table(merged)] == [(1, "dim"), (2, "bright")]
    onto_b = merge([a, b], like=b)
    assert np.mean(onto_b.values == np.maximum(_sitk_onto(a, b), b.values)) > 0.999


def test_priority_union_error_and_majority(mr):
    big = _mask(mr, 60, 1e9, 1, "tissue")
    small = _mask(mr, 150, 1e9, 2, "bright")
    first = merge([small, big], rule="priority").values
    np.testing.assert_array_equal(first, np.where(small.values > 0, 2, big.values))
    with pytest.raises(LabelOverlapError, match="different labels"):
        merge([big, small], rule="union").values  # noqa: B018
    same = merge([big, big.chunk({"z": 3})], rule="union")
    np.testing.assert_array_equal(same.values, big.values)
    with pytest.raises(LabelOverlapError, match="more than one mask"):
        merge([big, big], rule="error").values  # noqa: B018
    raters = [_mask(mr, lo, 1e9, 1, "tissue") for lo in (50, 80, 120)]
    vote = merge(raters, rule="majority")
    oracle = sitk.LabelVoting([r.spatial.to_sitk() for r in raters], 0)
    np.testing.assert_array_equal(vote.values, sitk.GetArrayFromImage(oracle))


def test_bad_merges(mr):
    a = _mask(mr, 60, 150, 1, "dim")
    with pytest.raises(ParameterError, match="renumber"):
        merge([a, _mask(mr, 150, 1e9, 1, "bright")])
    with pytest.raises(ParameterError, match="not a label image"):
        merge([a, mr])
    with pytest.raises(UnsupportedOptionError, match="rule must be"):
        merge([a], rule="vote")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="at least one"):
        merge([])
    stack = as_label(xr.concat([a, a], dim="c"), [{"number": 1, "name": "x"},
                                                  {"number": 2, "name": "y"}])
    with pytest.raises(DimensionError, match="c dim"):
        merge([stack])
