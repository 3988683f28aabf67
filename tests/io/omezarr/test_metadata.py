"""Pure multiscales JSON ↔ geometry (spatial_xr.io.omezarr.metadata)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from spatial_xr.errors import FormatError, SpatialXRWarning, UnitError
from spatial_xr.geometry import code_to_direction
from spatial_xr.io.omezarr.metadata import (
    build_attrs,
    direction_from_orientations,
    level_grid,
    orientations_from_direction,
    parse_attrs,
    unit_factor,
)

from .conftest import OBLIQUE


def _all_codes_3d():
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((0, 1), repeat=3):
            yield "".join(("LPS", "RAI")[s][w] for w, s in zip(perm, signs, strict=True))


@pytest.mark.parametrize("code", list(_all_codes_3d()))
def test_orientation_labels_round_trip_every_signed_permutation(code):
    d_xyz = code_to_direction(code)
    labels = orientations_from_direction(np.flip(d_xyz))
    assert labels is not None
    back = direction_from_orientations(labels, ("z", "y", "x"))
    np.testing.assert_array_equal(np.flip(back), d_xyz)


def test_lps_labels_match_rfc4_names():
    labels = orientations_from_direction(np.eye(3))
    assert labels == {"x": "right-to-left", "y": "anterior-to-posterior",
                      "z": "inferior-to-superior"}
    ras = orientations_from_direction(np.flip(np.diag([-1.0, -1.0, 1.0])))
    assert ras == {"x": "left-to-right", "y": "posterior-to-anterior",
                   "z": "inferior-to-superior"}


def test_oblique_direction_has_no_labels():
    assert orientations_from_direction(np.flip(OBLIQUE)) is None


def test_incomplete_or_non_lps_labels_give_none():
    assert direction_from_orientations({"x": "right-to-left", "y": None, "z": None},
                                       ("z", "y", "x")) is None
    assert direction_from_orientations(
        {"x": "dorsal-to-ventral", "y": "anterior-to-posterior", "z": "inferior-to-superior"},
        ("z", "y", "x")) is None
    # two axes along the same world axis is no permutation
    assert direction_from_orientations(
        {"x": "right-to-left", "y": "left-to-right", "z": "inferior-to-superior"},
        ("z", "y", "x")) is None


def _v05(axes, datasets, extra=None, **ms):
    return {"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets,
                                                       **ms}]}, **(extra or {})}


AXES = [{"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"}]


def _ds(path, scale, translation=None):
    t = [{"type": "scale", "scale": scale}]
    if translation is not None:
        t.append({"type": "translation", "translation": translation})
    return {"path": path, "coordinateTransformations": t}


def test_parse_v05_with_global_transform():
    attrs = _v05(AXES, [_ds("0", [1, 2, 3], [10, 20, 30]), _ds("1", [2, 4, 6])],
                 coordinateTransformations=[{"type": "scale", "scale": [2, 2, 2]},
                                            {"type": "translation", "translation": [1, 1, 1]}])
    meta = parse_attrs(attrs)
    assert meta.version == "0.5"
    assert meta.dims == ("z", "y", "x")
    assert meta.levels[0].scale == (2.0, 4.0, 6.0)
    assert meta.levels[0].translation == (21.0, 41.0, 61.0)
    assert meta.levels[1].translation == (1.0, 1.0, 1.0)
    assert meta.geometry_source == "identity"


def test_parse_v04_and_v03_string_axes():
    v04 = {"multiscales": [{"version": "0.4", "axes": AXES, "datasets": [_ds("s0", [1, 1, 1])]}]}
    assert parse_attrs(v04).version == "0.4"
    v03 = {"multiscales": [{"version": "0.3", "axes": ["t", "c", "y", "x"],
                            "datasets": [{"path": "0"}]}]}
    meta = parse_attrs(v03)
    assert meta.dims == ("t", "c", "y", "x")
    assert meta.levels[0].scale == (1.0,) * 4


def test_custom_named_time_and_channel_axes_map_to_t_c():
    axes = [{"name": "time", "type": "time"}, {"name": "ch", "type": "channel"}, *AXES[1:]]
    meta = parse_attrs(_v05(axes, [_ds("0", [1, 1, 1, 1])]))
    assert meta.dims == ("t", "c", "y", "x")


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({}, "no OME-NGFF 'multiscales'"),
        ({"multiscales": [{"version": "0.9", "axes": AXES, "datasets": []}]}, "not supported"),
        (_v05(AXES, []), "no 'datasets'"),
        (_v05(AXES, [_ds("0", [1, 1])]), "must hold 3 finite numbers"),
        (_v05(AXES, [_ds("0", [1, 0, 1])]), "must be > 0"),
        (_v05(AXES, [_ds("0", [1, float("nan"), 1])]), "finite"),
        (_v05(AXES, [{"path": "0", "coordinateTransformations": [{"type": "affine"}]}]),
         "unsupported coordinate transformation"),
        (_v05(AXES, [{"path": "0", "coordinateTransformations": [{"type": "scale",
                                                                  "path": "s.bin"}]}]),
         "no inline values"),
        (_v05([{"name": "q", "type": "space"}, *AXES[1:]], [_ds("0", [1, 1, 1])]),
         "space axis 'q'"),
        (_v05(AXES[:1], [_ds("0", [1])]), "needs space axes 'y' and 'x'"),
        (_v05(AXES, [{"scale": 1}]), "has no 'path'"),
    ],
)
def test_bad_metadata_raises_format_error(attrs, match):
    with pytest.raises(FormatError, match=match):
        parse_attrs(attrs)


def test_multiscale_index_out_of_range():
    with pytest.raises(FormatError, match="out of range"):
        parse_attrs(_v05(AXES, [_ds("0", [1, 1, 1])]), multiscale=1)


def test_geometry_attr_wins_over_labels_and_bad_attr_warns():
    axes = [dict(a, orientation={"type": "anatomical", "value": v}) for a, v in
            zip(AXES, ["inferior-to-superior", "posterior-to-anterior", "left-to-right"],
                strict=True)]
    attrs = _v05(axes, [_ds("0", [1, 1, 1])])
    meta = parse_attrs(attrs)
    assert meta.geometry_source == "orientation"
    np.testing.assert_array_equal(np.flip(meta.direction_zyx), np.diag([-1.0, -1.0, 1.0]))
    attrs["spatial_xr"] = {"world": "LPS", "direction_zyx": np.flip(OBLIQUE).tolist()}
    meta = parse_attrs(attrs)
    assert meta.geometry_source == "spatial_xr"
    np.testing.assert_array_equal(meta.direction_zyx, np.flip(OBLIQUE))
    attrs["spatial_xr"] = {"world": "LPS", "direction_zyx": [[1, 0], [0, 1]]}
    with pytest.warns(SpatialXRWarning, match="ignoring the 'spatial_xr'"):
        meta = parse_attrs(attrs)
    assert meta.geometry_source == "orientation"


def test_level_grid_uses_translation_as_origin_and_converts_units():
    attrs = _v05(AXES, [_ds("0", [2.0, 0.5, 0.25], [30.0, 20.0, 10.0])])
    meta = parse_attrs(attrs)
    g = level_grid(meta, 0, (4, 5, 6))
    assert g.shape_xyz == (6, 5, 4)
    np.testing.assert_array_equal(g.spacing_xyz, [0.25, 0.5, 2.0])
    np.testing.assert_array_equal(g.origin_xyz, [10.0, 20.0, 30.0])
    g_mm = level_grid(meta, 0, (4, 5, 6), units="millimeter")
    np.testing.assert_allclose(g_mm.spacing_xyz, [0.00025, 0.0005, 0.002], rtol=1e-12)
    np.testing.assert_allclose(g_mm.origin_xyz, [0.01, 0.02, 0.03], rtol=1e-12)


def test_unit_factor():
    assert unit_factor("micrometer", "millimeter") == pytest.approx(1e-3)
    assert unit_factor("mm", "micrometer") == pytest.approx(1e3)
    with pytest.raises(UnitError, match="'second' is not a UDUNITS-2 length unit"):
        unit_factor("second", "millimeter")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_build_attrs_is_json_and_parses_back(version):
    d = np.flip(np.diag([-1.0, -1.0, 1.0]))
    attrs = build_attrs(
        version=version, dims=["t", "c", "z", "y", "x"],
        units={"t": "second", "c": None, "z": "millimeter", "y": "millimeter",
               "x": "millimeter"},
        levels=[("scale0/image", {"t": 1.5, "c": 1, "z": 2, "y": 0.5, "x": 0.5},
                 {"t": 0, "c": 0, "z": 0.1, "y": 0.2, "x": 1 / 3})],
        direction_zyx=d, name="ct",
    )
    back = json.loads(json.dumps(attrs))
    meta = parse_attrs(back)
    assert meta.version == version
    assert meta.levels[0].translation[-1] == 1 / 3  # exact float round trip
    assert [a.type for a in meta.axes] == ["time", "channel", "space", "space", "space"]
    assert meta.axes[0].unit == "second" and meta.axes[1].unit is None
    assert meta.axes[-1].orientation == "left-to-right"
    np.testing.assert_array_equal(meta.direction_zyx, d)


def test_image_frame_translations_give_the_world_origin_and_no_labels():
    """NIfTI-Zarr stores write translations as image-frame coordinates (Dᵀ·origin)."""
    d_xyz = np.diag([-1.0, -1.0, 1.0])  # RAS
    origin = np.array([10.0, -20.0, 5.0])
    first = d_xyz.T @ origin
    attrs = build_attrs(
        version="0.5", dims=["z", "y", "x"], units=dict.fromkeys("zyx", "millimeter"),
        levels=[("0", {"z": 2.0, "y": 1.0, "x": 1.0},
                 {"z": first[2], "y": first[1], "x": first[0]})],
        direction_zyx=np.flip(d_xyz), translation_frame="image",
    )
    back = json.loads(json.dumps(attrs))
    assert all("orientation" not in a for a in back["ome"]["multiscales"][0]["axes"])
    assert back["spatial_xr"]["translation_frame"] == "image"
    np.testing.assert_array_equal(back["spatial_xr"]["origin_xyz"], origin)
    meta = parse_attrs(back)
    assert meta.translation_frame == "image"
    grid = level_grid(meta, 0, (4, 5, 6))
    np.testing.assert_array_equal(grid.origin_xyz, origin)
    np.testing.assert_array_equal(grid.direction_xyz, d_xyz)
    back["spatial_xr"]["translation_frame"] = "scanner"
    with pytest.raises(FormatError, match="translation_frame 'scanner'"):
        parse_attrs(back)
    with pytest.raises(FormatError, match="translation_frame must be"):
        build_attrs(version="0.5", dims=["y", "x"], units={}, levels=[("0", {"y": 1, "x": 1},
                    {"y": 0, "x": 0})], direction_zyx=np.eye(2), translation_frame="scanner")
