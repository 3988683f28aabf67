"""RTSTRUCT reading: real structure sets (pydicom's rtstruct.dcm, rt-utils-built ones on
pydicom's real CT series and on an oblique series) against independent rasterisers
(skimage.draw.polygon per slice from each slice's own IPP/IOP, and rt-utils' reader);
holes, laziness, combining, and bad inputs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pydicom
import pytest

import spatial_xr
from spatial_xr.errors import (
    FormatError,
    FrameOfReferenceError,
    GeometryError,
    LabelOverlapError,
    ParameterError,
    SeriesSelectionError,
    SpatialXRWarning,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid
from spatial_xr.io.formats import find_format
from spatial_xr.io.rtstruct import open_rtstruct, read_structure_set

from .conftest import (
    RTSTRUCT_FILE,
    copy_ct5n,
    dice,
    in_plane_polygon,
    oblique_direction,
    oracle_masks,
    slice_headers,
    world_centroid,
    write_series,
    write_structure_set,
)


def _grid_centroid(mask_zyx: np.ndarray, grid: Grid) -> np.ndarray:
    idx = np.argwhere(mask_zyx)[:, ::-1].astype(float)
    return grid.index_to_world(idx).mean(axis=0)


# ------------------------------------------------------------------ real files
def test_pydicom_rtstruct_on_a_grid_covering_its_contours() -> None:
    """pydicom's rtstruct.dcm (its CT does not ship): rasterised on an axial grid covering
    its contours, against skimage.draw.polygon on the same contours."""
    from skimage.draw import polygon

    origin, spacing, shape = np.array([-210.3, -160.7, -210.0]), np.array([2.3, 1.9, 10.0]), (
        185, 170, 5)
    grid = Grid(shape, spacing, origin)
    da = spatial_xr.open_image(RTSTRUCT_FILE, reference=grid)
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == 1
    assert da.attrs["kind"] == "label" and da.attrs["source_format"] == "RTSTRUCT"
    (seg,) = da.attrs["segments"]
    assert seg["number"] == 1 and seg["name"] == "patient"
    assert seg["color"] == [220, 160, 120] and seg["algorithm"] == "MANUAL"
    assert seg["rt_roi_interpreted_type"] == "EXTERNAL"
    markers = da.attrs["rtstruct_markers"]
    assert [(m["name"], m["types"], m["points"]) for m in markers] == [
        ("Isocenter 1", ["POINT"], [[0.0, 0.0, 0.0]]),
        ("Isocenter 2", ["POINT"], [[0.0, 0.0, 0.0]])]

    ds = pydicom.dcmread(RTSTRUCT_FILE, force=True)
    oracle = np.zeros(shape[::-1], bool)
    for c in ds.ROIContourSequence[0].ContourSequence:
        pts = np.asarray(c.ContourData, float).reshape(-1, 3)
        idx = (pts - origin) / spacing
        k = round(idx[0, 2])
        rr, cc = polygon(idx[:, 1], idx[:, 0], shape[1::-1])
        oracle[k, rr, cc] ^= True
    ours = da.values[0].astype(bool)
    assert oracle.sum() > 10000
    assert dice(ours, oracle) >= 0.98
    assert np.all(np.abs(_grid_centroid(ours, grid) - _grid_centroid(oracle, grid))
                  <= spacing / 2)
    assert not ours[0].any() and not ours[4].any()  # no contour on those slices


def test_pydicom_rtstruct_without_its_series_names_what_is_missing() -> None:
    with pytest.raises(SeriesSelectionError, match=r"2010020400001\.2\.1\.1"):
        open_rtstruct(RTSTRUCT_FILE)


def test_registry_recognises_structure_sets_by_content(tmp_path: Path) -> None:
    assert find_format(RTSTRUCT_FILE).name == "rtstruct"  # implicit VR, no preamble
    folder = copy_ct5n(tmp_path)
    assert find_format(next(folder.iterdir())).name == "dicom"
    rt = write_structure_set(folder / "rs.dcm", [{"number": 1, "name": "a", "contours": []}],
                             implicit=False)
    assert find_format(rt).name == "rtstruct"
    # a folder holding a CT series and a structure set still opens as the CT
    assert spatial_xr.open_image(folder).attrs["modality"] == "CT"


def _rt_utils_build(folder: Path, masks: dict[str, np.ndarray], out: Path) -> Path:
    from rt_utils import RTStructBuilder

    rt = RTStructBuilder.create_new(dicom_series_path=str(folder))
    for n, (name, m) in enumerate(masks.items()):
        rt.add_roi(mask=np.moveaxis(m, 0, 2), color=[40 * n, 200, 90], name=name)
    rt.save(str(out))
    return out


def _ring_and_disk(shape_zyx: tuple[int, int, int]) -> dict[str, np.ndarray]:
    nz, ny, nx = shape_zyx
    z, y, x = np.mgrid[0:nz, 0:ny, 0:nx]
    r2 = (y - ny / 2) ** 2 + (x - nx / 2 + 1) ** 2
    disk = (r2 < (0.3 * nx) ** 2) & (z >= 1)
    ring = (r2 < (0.45 * nx) ** 2) & (r2 >= (0.2 * nx) ** 2) & (z < nz - 1)
    return {"disk": disk, "ring": ring}


def test_rt_utils_structures_on_pydicoms_real_ct_series(tmp_path: Path) -> None:
    """rt-utils builds a structure set from masks on pydicom's real CT series (CT5N);
    ours and rt-utils' own reader give back the masks; a ring has a hole."""
    from rt_utils import RTStructBuilder

    folder = copy_ct5n(tmp_path)
    ct = spatial_xr.open_image(folder)
    masks = _ring_and_disk(ct.shape)
    rt = _rt_utils_build(folder, masks, folder / "rs.dcm")  # beside the series
    da = spatial_xr.open_image(rt)  # the referenced series is found beside the file
    assert [s["name"] for s in da.attrs["segments"]] == ["disk", "ring"]
    assert da.attrs["referenced_series_uid"] == ct.attrs["series_uid"]
    assert da.spatial.grid == ct.spatial.grid
    theirs = RTStructBuilder.create_from(dicom_series_path=str(folder), rt_struct_path=str(rt))
    for c, (name, mask) in enumerate(masks.items()):
        ours = da.isel(c=c).values.astype(bool)
        assert dice(ours, mask) >= 0.98
        np.testing.assert_array_equal(ours, mask)
        np.testing.assert_array_equal(
            ours, np.moveaxis(theirs.get_roi_mask_by_name(name), 2, 0))
        assert np.all(np.abs(_grid_centroid(ours, ct.spatial.grid)
                             - world_centroid(mask, folder))
                      <= np.array(ct.spatial.grid.spacing_xyz) / 2)
    assert not da.isel(c=1).values[2, 8, 7]  # inside the ring's hole


def test_rt_utils_structures_on_an_oblique_series(tmp_path: Path) -> None:
    """An oblique series (written with pydicom): rt-utils' contours land on the right
    voxels, world centroids agree with the slices' own IPP/IOP within half a voxel."""
    folder = tmp_path / "obl"
    write_series(folder, np.zeros((10, 40, 40), np.int16), origin=(-30.0, 12.0, 55.0),
                 direction=oblique_direction(), spacing_xyz=(0.9, 0.9, 2.0))
    masks = _ring_and_disk((10, 40, 40))
    rt = _rt_utils_build(folder, masks, tmp_path / "rs.dcm")
    da = open_rtstruct(rt, reference=folder)
    assert not da.spatial.grid.is_axis_aligned
    spacing = np.array(da.spatial.grid.spacing_xyz)
    for c, mask in enumerate(masks.values()):
        ours = da.isel(c=c).values.astype(bool)
        assert dice(ours, mask) >= 0.98
        got = _grid_centroid(ours, da.spatial.grid)
        want = world_centroid(mask, folder)
        assert np.linalg.norm(got - want) <= spacing.min() / 2


def test_oblique_contours_against_an_independent_rasteriser(tmp_path: Path) -> None:
    """Star polygons at arbitrary in-plane positions on an oblique series, written with
    pydicom; ours against skimage.draw.polygon per slice (from each slice's IPP/IOP)."""
    folder = tmp_path / "obl"
    info = write_series(folder, np.zeros((6, 50, 60), np.int16), origin=(10.0, -20.0, 5.0),
                        direction=oblique_direction(), spacing_xyz=(0.7, 0.8, 1.5))
    rng = np.random.default_rng(3)
    contours = []
    for k in (1, 2, 4):
        ang = np.sort(rng.uniform(0, 2 * np.pi, 11))
        rad = rng.uniform(8, 20, 11)
        cr = np.c_[30 + rad * np.cos(ang), 25 + rad * np.sin(ang)] + 0.137
        contours.append(in_plane_polygon(folder, k, cr))
    hole = in_plane_polygon(folder, 2, np.array([[27.3, 22.1], [33.6, 22.9], [31.2, 28.4]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 7, "name": "star",
                                                    "contours": [*contours, hole]}],
                             series_uid=info["series_uid"])
    da = open_rtstruct(rt, reference=folder)
    oracle = oracle_masks(folder, [*contours, hole])
    ours = da.values[0].astype(bool)
    assert ours.sum() > 1500
    assert dice(ours, oracle) >= 0.98
    assert not ours[2, 25, 30]  # inside the hole
    spacing = np.array(da.spatial.grid.spacing_xyz)
    assert np.linalg.norm(_grid_centroid(ours, da.spatial.grid)
                          - world_centroid(oracle, folder)) <= spacing.min() / 2


def test_holes_and_nested_contours_follow_the_even_odd_rule(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    square = {s: in_plane_polygon(folder, 2, np.array([[c - s, c - s], [c + s, c - s],
                                                       [c + s, c + s], [c - s, c + s]]))
              for c in (7.5,) for s in (6.0, 4.0, 2.0)}
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 1, "name": "nested",
                                                    "contours": list(square.values())}])
    da = open_rtstruct(rt, reference=folder)
    m = da.values[0, 2].astype(bool)
    oracle = oracle_masks(folder, list(square.values()))[2]
    np.testing.assert_array_equal(m, oracle)
    assert m[7, 2] and not m[7, 4] and m[7, 7]  # outer ring, hole, island in the hole


# ------------------------------------------------------------------ laziness
def test_opening_rasterises_nothing_and_a_slice_only_its_contours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spatial_xr.io.rtstruct import lazy

    folder = copy_ct5n(tmp_path)
    masks = _ring_and_disk((5, 16, 16))
    rt = _rt_utils_build(folder, masks, tmp_path / "rs.dcm")
    calls: list[int] = []
    real = lazy.fill_polygons

    def counting(polys, rows, cols, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(polys))
        return real(polys, rows, cols, **kw)

    monkeypatch.setattr(lazy, "fill_polygons", counting)
    da = open_rtstruct(rt, reference=folder, chunks={"z": 2})
    assert calls == []
    assert da.data.numblocks == (1, 3, 1, 1) or da.data.numblocks == (2, 3, 1, 1)
    one = da.isel(c=0, z=3).values
    assert len(calls) == 1  # the disk's contours on slice 3 only
    np.testing.assert_array_equal(one, masks["disk"][3])
    back = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(back.values[1], masks["ring"])


# ------------------------------------------------------------------ selection, combining
def _two_rois(tmp_path: Path, overlap: bool) -> tuple[Path, Path]:
    folder = copy_ct5n(tmp_path)
    a = in_plane_polygon(folder, 1, np.array([[1.5, 1.5], [7.5, 1.5], [7.5, 7.5]]))
    x0 = 5.5 if overlap else 9.5
    b = in_plane_polygon(folder, 1, np.array([[x0, 4.5], [14.5, 4.5], [14.5, 14.5]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [
        {"number": 3, "name": "a", "color": [1, 2, 3], "contours": [a]},
        {"number": 9, "name": "b", "contours": [b]}])
    return folder, rt


def test_combine_gives_one_label_image_with_roi_numbers(tmp_path: Path) -> None:
    folder, rt = _two_rois(tmp_path, overlap=False)
    stack = open_rtstruct(rt, reference=folder).values
    lab = open_rtstruct(rt, reference=folder, combine=True)
    assert lab.dims == ("z", "y", "x") and lab.dtype == np.uint8
    np.testing.assert_array_equal(lab.values, stack[0] * 3 + stack[1] * 9)
    only_b = open_rtstruct(rt, reference=folder, rois=["b"])
    assert [s["number"] for s in only_b.attrs["segments"]] == [9]
    np.testing.assert_array_equal(only_b.values[0], stack[1])
    by_number = open_rtstruct(rt, reference=folder, rois=[9, 3])
    assert [s["name"] for s in by_number.attrs["segments"]] == ["b", "a"]


def test_combine_refuses_overlapping_rois_when_computed(tmp_path: Path) -> None:
    folder, rt = _two_rois(tmp_path, overlap=True)
    lab = open_rtstruct(rt, reference=folder, combine=True)  # lazy: nothing computed yet
    with pytest.raises(LabelOverlapError, match="overlap"):
        lab.values  # noqa: B018
    stack = open_rtstruct(rt, reference=folder).values  # one mask per ROI keeps both
    assert (stack[0] & stack[1]).any()


def test_unknown_or_areal_less_roi_is_refused(tmp_path: Path) -> None:
    grid = Grid((185, 170, 5), (2.3, 1.9, 10.0), (-210.3, -160.7, -210.0))
    with pytest.raises(ParameterError, match="no ROI 'liver'"):
        open_rtstruct(RTSTRUCT_FILE, reference=grid, rois=["liver"])
    with pytest.raises(UnsupportedOptionError, match="POINT"):
        open_rtstruct(RTSTRUCT_FILE, reference=grid, rois=["Isocenter 1"])


# ------------------------------------------------------------------ bad inputs
def test_contour_with_fewer_than_three_points(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    good = in_plane_polygon(folder, 1, np.array([[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]]))
    bad = in_plane_polygon(folder, 2, np.array([[2.0, 2.0], [9.0, 2.0]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 1, "name": "x",
                                                    "contours": [good, bad]}])
    with pytest.raises(FormatError, match=r"2 point.*at least 3"):
        open_rtstruct(rt, reference=folder)
    da = open_rtstruct(rt, reference=folder, invalid_contours="skip")
    assert da.values[0, 1].sum() > 0 and da.values[0, 2].sum() == 0
    line = open_rtstruct(rt, reference=folder, invalid_contours="outline").values[0, 2]
    assert line.sum() == 8 and line[2, 2:10].all()  # the centres the segment runs through


def test_contours_off_the_grid_warn_by_default(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    on = in_plane_polygon(folder, 1, np.array([[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]]))
    normal = np.cross(*np.reshape(np.asarray(slice_headers(folder)[0]
                                             .ImageOrientationPatient, float), (2, 3)))
    beyond = on + 40.0 * normal  # 16 slices further: on no slice
    partly = in_plane_polygon(folder, 3, np.array([[8.0, 8.0], [30.0, 8.0], [8.0, 30.0]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 1, "name": "x",
                                                    "contours": [on, beyond, partly]}])
    with pytest.warns(SpatialXRWarning, match=r"1 contour\(s\) on no slice.*1 contour"):
        da = open_rtstruct(rt, reference=folder)
    assert da.values[0, 1].sum() > 0 and da.values[0, 3].sum() > 0
    with pytest.raises(GeometryError, match="off the reference grid"):
        open_rtstruct(rt, reference=folder, off_grid="raise")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_rtstruct(rt, reference=folder, off_grid="ignore")


def test_a_different_frame_of_reference_is_refused(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    poly = in_plane_polygon(folder, 1, np.array([[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 1, "name": "x",
                                                    "contours": [poly]}],
                             frame_uid="1.2.3.999")
    ct = spatial_xr.open_image(folder)
    with pytest.raises(FrameOfReferenceError, match=r"1\.2\.3\.999.*"
                       + ct.attrs["frame_of_reference_uid"].replace(".", r"\.")):
        open_rtstruct(rt, reference=folder)
    with pytest.raises(FrameOfReferenceError):
        open_rtstruct(rt, reference=ct)
    # the caller vouches for a bare grid: placed without the check
    assert open_rtstruct(rt, reference=ct.spatial.grid).values.sum() > 0


def test_contours_between_slices_or_across_them_are_refused(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    ds0 = slice_headers(folder)[0]
    normal = np.cross(*np.reshape(np.asarray(ds0.ImageOrientationPatient, float), (2, 3)))
    poly = in_plane_polygon(folder, 1, np.array([[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]]))
    between = write_structure_set(tmp_path / "a.dcm", [{"number": 1, "name": "x",
                                                        "contours": [poly + 1.0 * normal]}])
    with pytest.raises(GeometryError, match="between slices"):
        open_rtstruct(between, reference=folder)
    assert open_rtstruct(between, reference=folder, tolerance=0.45).values[0, 1].sum() > 0
    tilted = poly.copy()
    tilted[1] += 6.0 * normal  # a contour that crosses the slices
    across = write_structure_set(tmp_path / "b.dcm", [{"number": 1, "name": "x",
                                                       "contours": [tilted]}])
    with pytest.raises(GeometryError, match="not parallel"):
        open_rtstruct(across, reference=folder)
    with pytest.raises(ParameterError, match="tolerance"):
        open_rtstruct(between, reference=folder, tolerance=0.7)


def test_malformed_structure_sets(tmp_path: Path) -> None:
    folder = copy_ct5n(tmp_path)
    with pytest.raises(FormatError, match="not an RT Structure Set"):
        open_rtstruct(next(folder.iterdir()), reference=folder)
    poly = in_plane_polygon(folder, 1, np.array([[2.0, 2.0], [9.0, 2.0], [9.0, 9.0]]))
    rt = write_structure_set(tmp_path / "rs.dcm", [{"number": 1, "name": "x",
                                                    "contours": [poly]}])
    ds = pydicom.dcmread(rt)
    ds.ROIContourSequence[0].ContourSequence[0].NumberOfContourPoints = 5
    ds.save_as(rt)
    with pytest.raises(FormatError, match="NumberOfContourPoints is 5"):
        read_structure_set(rt)
