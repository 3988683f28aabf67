"""OME-Zarr 0.6 (RFC-5) named coordinate systems: our 0.6 stores against ngff-zarr's reader
and the spec's JSON schemas, ngff-zarr's 0.6 stores against our reader, stores built like
the spec's examples, and bad inputs."""

from __future__ import annotations

import json

import ngff_zarr
import numpy as np
import pytest
import SimpleITK as sitk
import zarr
from ngff_zarr.ngff_image_to_itk_image import ngff_image_to_itk_image
from ngff_zarr.ngff_transform_to_itk_transform import ngff_transform_to_itk_transform
from ngff_zarr.rfc4 import LPS, RAS
from ngff_zarr.v06.zarr_metadata import (
    Affine,
    Axis,
    CoordinateSystem,
    CoordinateSystemIdentifier,
)
from scipy.spatial.transform import Rotation

import spatial_xr as sx
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    NonLinearTransformError,
    SingularTransformError,
    TransformMetadataError,
    UnknownCoordinateSystemError,
)
from spatial_xr.io.omezarr import coordinate_systems

from .conftest import DIRECTIONS, make_image

ROTATION_XYZ = Rotation.from_euler("xyz", [15.0, 25.0, -40.0], degrees=True).as_matrix()


def _world(da, index_xyz):
    return da.spatial.grid.index_to_world(np.asarray(index_xyz, np.float64))


def _corners(shape_xyz):
    return np.array([[i, j, k] for i in (0, shape_xyz[0] - 1) for j in (0, shape_xyz[1] - 1)
                     for k in (0, shape_xyz[2] - 1)], np.float64)


def _sitk_affine(itk_transform):
    """A SimpleITK AffineTransform with the parameters of an itk-wasm Affine transform."""
    t = sitk.AffineTransform(3)
    t.SetParameters([float(v) for v in itk_transform.parameters])
    t.SetFixedParameters([float(v) for v in itk_transform.fixedParameters])
    return t


def _ngff_world(image, affine_transform, index_xyz):
    """World points of indices as ngff-zarr gives them: its level scale and translation,
    then its own conversion of the multiscale-level transformation to ITK, applied by
    SimpleITK."""
    dims = list(image.dims)
    intrinsic = np.array([[image.translation[a] + image.scale[a] * i for a, i in
                           zip(("x", "y", "z"), p, strict=True)] for p in index_xyz])
    if affine_transform is None:
        return intrinsic
    (itk,) = ngff_transform_to_itk_transform(affine_transform, dims)
    t = _sitk_affine(itk)
    return np.array([t.TransformPoint(tuple(float(v) for v in p)) for p in intrinsic])


def _group_attrs(path):
    return json.loads((path / "zarr.json").read_text())["attributes"]


def _drop_geometry_attr(path):
    """Leave only the standard metadata (delete our namespaced attribute)."""
    meta = json.loads((path / "zarr.json").read_text())
    del meta["attributes"]["spatial_xr"]
    (path / "zarr.json").write_text(json.dumps(meta))


# ---------------------------------------------------------------------- our 0.6 stores
@pytest.mark.parametrize("kind", list(DIRECTIONS))
def test_round_trip_exact_every_direction(tmp_path, kind):
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", chunks=8)
    attrs = _group_attrs(path)
    ngff_zarr.validate(attrs, version="0.6")
    assert attrs["ome"]["version"] == "0.6"
    back = sx.open_image(path)
    assert back.attrs["coordinate_system"] == "world"
    assert back.attrs["coordinate_systems"] == ["intrinsic", "world"]
    np.testing.assert_array_equal(back.values, da.values)
    g, ref = back.spatial.grid, da.spatial.grid
    np.testing.assert_allclose(g.direction_xyz, ref.direction_xyz, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.origin_xyz, ref.origin_xyz, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.spacing_xyz, ref.spacing_xyz, rtol=0, atol=1e-12)
    # every level where the lazily built pyramid puts it
    tree = sx.open_multiscale(path)
    pyr = da.spatial.pyramid(chunks=8)
    assert len(tree.spatial) == len(pyr.spatial) > 1
    for k in range(len(pyr.spatial)):
        assert tree.spatial.level(k).spatial.grid.isclose(pyr.spatial.level(k).spatial.grid,
                                                          atol=1e-12)


@pytest.mark.parametrize("kind", ["oblique", "oblique_det_neg", "signed_permutation_det_neg"])
def test_standard_metadata_alone_is_exact(tmp_path, kind):
    """Without our namespaced attribute the RFC-5 affine still gives the exact geometry."""
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", chunks=8)
    _drop_geometry_attr(path)
    assert coordinate_systems(path)["default"] == "world"  # the LPS-labelled system
    tree = sx.open_multiscale(path)
    pyr = da.spatial.pyramid(chunks=8)
    for k in range(len(pyr.spatial)):
        ours = tree.spatial.level(k)
        assert ours.attrs["geometry_source"] == "rfc5"
        assert ours.spatial.grid.isclose(pyr.spatial.level(k).spatial.grid, atol=1e-12)
    assert tree.spatial.level(0).spatial.orientation == da.spatial.orientation


@pytest.mark.parametrize("kind", ["identity", "flipped", "oblique", "oblique_det_neg"])
def test_our_stores_open_in_ngff_zarr_at_the_same_positions(tmp_path, kind):
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", chunks=8)
    ref = ngff_zarr.from_ngff_zarr(str(path), validate=True)
    (transform,) = ref.metadata.coordinateTransformations
    assert transform.output.name == "world"
    tree = sx.open_multiscale(path)
    assert len(ref.images) == len(tree.spatial)
    for k, image in enumerate(ref.images):
        ours = tree.spatial.level(k)
        np.testing.assert_array_equal(np.asarray(image.data), ours.values)
        idx = _corners(ours.spatial.grid.shape_xyz)
        expected = _ngff_world(image, None if transform.type == "identity" else transform, idx)
        np.testing.assert_allclose(_world(ours, idx), expected, rtol=0, atol=1e-9)
    if kind == "flipped":  # level 0 through ngff-zarr's ITK bridge (RFC-4 labels)
        itk = ngff_image_to_itk_image(ref.images[0], wasm=True)
        g = tree.spatial.level(0).spatial.grid
        np.testing.assert_allclose(g.origin_xyz, np.asarray(itk.origin), atol=1e-12)
        np.testing.assert_array_equal(g.direction_xyz, np.asarray(itk.direction))


def test_intrinsic_system_reads_as_0_5_does(tmp_path):
    da = make_image(direction=DIRECTIONS["flipped"])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", pyramid=False)
    intrinsic = sx.open_image(path, coordinate_system="intrinsic")
    assert intrinsic.attrs["coordinate_system"] == "intrinsic"
    assert intrinsic.attrs["geometry_source"] == "orientation"  # RFC-4 labels
    assert intrinsic.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    oblique = make_image(direction=DIRECTIONS["oblique"])
    oblique.spatial.to_ome_zarr(path, version="0.6", pyramid=False, overwrite=True)
    plain = sx.open_image(path, coordinate_system="intrinsic")
    assert plain.attrs["geometry_source"] == "identity"  # no labels: no direction
    np.testing.assert_array_equal(plain.spatial.origin, oblique.spatial.origin)


def test_4d_and_2d_stores(tmp_path):
    da = make_image((3, 6, 9, 10), direction=DIRECTIONS["oblique"])
    da = da.assign_coords(t=("t", 0.5 + 2.0 * np.arange(3)))
    da["t"].attrs["units"] = "second"
    path = tmp_path / "t.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", pyramid=False)
    ngff_zarr.validate(_group_attrs(path), version="0.6")
    back = sx.open_image(path)
    np.testing.assert_array_equal(back["t"].values, da["t"].values)
    assert back["t"].attrs["units"] == "second"
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    flat = make_image((15, 17), direction=np.array([[0.6, -0.8], [0.8, 0.6]]))
    flat.spatial.to_ome_zarr(tmp_path / "2d.ome.zarr", version="0.6", pyramid=False)
    assert sx.open_image(tmp_path / "2d.ome.zarr").spatial.grid.isclose(flat.spatial.grid,
                                                                        atol=1e-12)


def test_real_oblique_nifti(tmp_path):
    """nibabel's oblique, 4-D example4d.nii.gz: its 0.6 store is placed as nibabel places the
    NIfTI, by the standard metadata alone, and ngff-zarr reads it at the same points."""
    import nibabel as nib
    from nibabel.testing import data_path

    src = f"{data_path}/example4d.nii.gz"
    da = sx.open_image(src)
    path = tmp_path / "fmri.ome.zarr"
    da.spatial.to_ome_zarr(path, version="0.6", pyramid=False)
    _drop_geometry_attr(path)
    back = sx.open_image(path)
    assert back.attrs["geometry_source"] == "rfc5"
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    np.testing.assert_allclose(back.spatial.grid.affine_ras, nib.load(src).affine, atol=1e-5)
    ref = ngff_zarr.from_ngff_zarr(str(path), validate=True)
    (transform,) = ref.metadata.coordinateTransformations
    idx = _corners(back.spatial.grid.shape_xyz)
    np.testing.assert_allclose(_world(back, idx), _ngff_world(ref.images[0], transform, idx),
                               rtol=0, atol=1e-9)


def test_0_6_entry_with_0_5_axes_reads_as_0_5(tmp_path):
    """A 0.6 store written with 0.5-style 'axes' (no coordinateSystems) still opens."""
    da = make_image(direction=DIRECTIONS["flipped"])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, pyramid=False)
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["ome"]["version"] = "0.6"
    (path / "zarr.json").write_text(json.dumps(meta))
    assert sx.open_image(path).spatial.grid.isclose(da.spatial.grid, atol=1e-12)


# ---------------------------------------------------------------------- ngff-zarr's 0.6 stores
def _ngff_store(path, orientation=None, extra=None):
    data = np.random.default_rng(7).integers(0, 4000, (10, 12, 14)).astype("uint16")
    img = ngff_zarr.to_ngff_image(
        data, dims=("z", "y", "x"), scale={"z": 2.0, "y": 0.5, "x": 0.75},
        translation={"z": -3.0, "y": 12.5, "x": 4.25},
        axes_units=dict.fromkeys("zyx", "millimeter"))
    if orientation is not None:
        img.axes_orientations = orientation
    ms = ngff_zarr.to_multiscales(img, scale_factors=[2])
    if extra is not None:
        name, affine_zyx, labelled = extra
        axes = [Axis(name=a.name, type=a.type, unit=a.unit,
                     orientation=LPS[a.name] if labelled else None)
                for a in ms.metadata.coordinateSystems[0].axes]
        ms.metadata.coordinateSystems.append(CoordinateSystem(name=name, axes=axes))
        ms.metadata.coordinateTransformations = [Affine(
            affine=np.asarray(affine_zyx).tolist(),
            input=CoordinateSystemIdentifier(name="intrinsic"),
            output=CoordinateSystemIdentifier(name=name))]
    ngff_zarr.to_ngff_zarr(str(path), ms, version="0.6")
    return data


@pytest.mark.parametrize("orientation", [None, LPS, RAS], ids=["none", "LPS", "RAS"])
def test_ngff_zarr_stores_open_with_its_geometry(tmp_path, orientation):
    path = tmp_path / "ngff.ome.zarr"
    data = _ngff_store(path, orientation)
    assert _group_attrs(path)["ome"]["version"] == "0.6"
    ref = ngff_zarr.from_ngff_zarr(str(path))
    tree = sx.open_multiscale(path)
    np.testing.assert_array_equal(tree.spatial.level(0).values, data)
    for k, image in enumerate(ref.images):
        ours = tree.spatial.level(k)
        assert ours.attrs["coordinate_system"] == "intrinsic"
        itk = ngff_image_to_itk_image(image, wasm=True)
        g = ours.spatial.grid
        np.testing.assert_array_equal(g.spacing_xyz, np.asarray(itk.spacing))
        np.testing.assert_array_equal(g.origin_xyz, np.asarray(itk.origin))
        np.testing.assert_array_equal(g.direction_xyz, np.asarray(itk.direction))
    if orientation is RAS:
        assert tree.spatial.level(0).spatial.orientation == "RAS"


@pytest.mark.parametrize("labelled", [False, True], ids=["unlabelled", "LPS-labelled"])
def test_ngff_zarr_affine_coordinate_system(tmp_path, labelled):
    """ngff-zarr writes an extra system reached by an affine (its matrix in an array); we
    open it by name at the positions ngff-zarr's own transform conversion gives."""
    affine = np.zeros((3, 4))
    affine[:, :3] = np.flip(ROTATION_XYZ)
    affine[:, 3] = [5.0, -7.0, 11.0]
    path = tmp_path / "ngff.ome.zarr"
    _ngff_store(path, extra=("physical", affine, labelled))
    listing = coordinate_systems(path)
    assert listing["names"] == ["intrinsic", "physical"]
    assert listing["default"] == ("physical" if labelled else "intrinsic")
    assert listing["transformations"][0]["path"] == "coordinateTransformations/affine"
    ref = ngff_zarr.from_ngff_zarr(str(path))
    (transform,) = ref.metadata.coordinateTransformations
    tree = sx.open_multiscale(path, coordinate_system="physical")
    for k, image in enumerate(ref.images):
        ours = tree.spatial.level(k)
        assert ours.attrs["geometry_source"] == "rfc5"
        idx = _corners(ours.spatial.grid.shape_xyz)
        np.testing.assert_allclose(_world(ours, idx), _ngff_world(image, transform, idx),
                                   rtol=0, atol=1e-9)
    np.testing.assert_allclose(tree.spatial.level(0).spatial.direction_xyz, ROTATION_XYZ,
                               atol=1e-12)


def test_ngff_zarr_displacement_field_is_listed_not_used(tmp_path):
    """A displacements transformation (as ngff-zarr declares one) is read into the metadata;
    the image opens in its intrinsic system, and asking for the warped system is refused."""
    path = tmp_path / "img.ome.zarr"
    make_image(direction=DIRECTIONS["identity"]).spatial.to_ome_zarr(path, version="0.6",
                                                                     pyramid=False)
    meta = json.loads((path / "zarr.json").read_text())
    ms = meta["attributes"]["ome"]["multiscales"][0]
    ms["coordinateSystems"].append({"name": "atlas", "axes": ms["coordinateSystems"][0]["axes"]})
    ms["coordinateTransformations"].append({
        "type": "displacements", "path": "fields/warp", "interpolation": "linear",
        "input": {"name": "world"}, "output": {"name": "atlas"}})
    (path / "zarr.json").write_text(json.dumps(meta))
    listing = coordinate_systems(path)
    assert listing["names"] == ["intrinsic", "world", "atlas"]
    assert listing["transformations"][1]["type"] == "displacements"
    assert sx.open_image(path).attrs["coordinate_system"] == "world"
    with pytest.raises(NonLinearTransformError, match=r"non-linear transformation .*displacements"):
        sx.open_image(path, coordinate_system="atlas")


def test_ngff_zarr_standalone_displacement_field(tmp_path):
    """A field store as ngff-zarr declares one (component axis typed 'displacement', a
    'physical' system mapped onto itself by the field) opens as a (c, z, y, x) vector image
    on the field's grid; its displacements transformation is listed, and refused as a
    geometry."""
    from ngff_zarr.declare_field_transform import declare_field_transform

    field = np.random.default_rng(0).normal(size=(3, 5, 6, 7)).astype("float32")
    image = ngff_zarr.to_ngff_image(
        field, dims=("c", "z", "y", "x"), scale={"c": 1.0, "z": 4.0, "y": 1.0, "x": 1.5},
        translation={"c": 0.0, "z": -3.0, "y": 12.5, "x": 4.25})
    image.axes_types = {"c": "displacement"}
    ms = declare_field_transform(ngff_zarr.to_multiscales(image, scale_factors=[]))
    path = tmp_path / "field.ome.zarr"
    ngff_zarr.to_ngff_zarr(str(path), ms, version="0.6")
    listing = coordinate_systems(path)
    assert listing["names"] == ["intrinsic", "physical"]
    assert [t["type"] for t in listing["transformations"]] == ["displacements"]
    da = sx.open_image(path)
    assert da.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(da.values, field)
    ref = ngff_zarr.from_ngff_zarr(str(path)).images[0]
    g = da.spatial.grid
    np.testing.assert_array_equal(g.spacing_xyz, [ref.scale[a] for a in "xyz"])
    np.testing.assert_array_equal(g.origin_xyz, [ref.translation[a] for a in "xyz"])
    with pytest.raises(NonLinearTransformError, match="displacements"):
        sx.open_image(path, coordinate_system="physical")


# ---------------------------------------------------------------------- the spec's examples
def _hand_store(path, systems, datasets, transforms=None, shape=(6, 5), arrays=None):
    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    for ds in datasets:
        root.create_array(ds["path"], shape=shape, dtype="uint8", fill_value=0)
    for name, values in (arrays or {}).items():
        root.create_array(name, shape=np.shape(values), dtype="float64")[...] = values
    ms = {"name": "example", "coordinateSystems": systems, "datasets": datasets}
    if transforms is not None:
        ms["coordinateTransformations"] = transforms
    root.attrs.update({"ome": {"version": "0.6", "multiscales": [ms]}})
    return path


def _yx(name, unit="micrometer", labels=None):
    axes = [{"name": "y", "type": "space", "unit": unit}, {"name": "x", "type": "space",
                                                            "unit": unit}]
    for ax, lab in zip(axes, labels or (), strict=False):
        ax["orientation"] = {"type": "anatomical", "value": lab}
    return {"name": name, "axes": axes}


def _level(path, scale, translation=None, output="intrinsic"):
    steps = [{"type": "scale", "scale": scale}]
    if translation is not None:
        steps.append({"type": "translation", "translation": translation})
    t = steps[0] if len(steps) == 1 else {"type": "sequence", "transformations": steps}
    return {"path": path, "coordinateTransformations": [
        {**t, "input": {"path": path}, "output": {"name": output}}]}


def _positions(da):
    """World (x, y) of every voxel, by (j, i) = (y, x) array index."""
    g = da.spatial.grid
    j, i = np.meshgrid(np.arange(da.sizes["y"]), np.arange(da.sizes["x"]), indexing="ij")
    return g.index_to_world(np.stack([i, j], -1).astype(float))  # (..., [x, y])


def test_spec_multiscales_example_5d(tmp_path):
    """Three levels: a scale, then sequences of scale and translation (half-block shifts)."""
    axes = [{"name": "t", "type": "time", "unit": "millisecond"},
            {"name": "c", "type": "channel"}] + [
        {"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    datasets = [_level("s0", [0.1, 1.0, 0.5, 0.5, 0.5]),
                _level("s1", [0.1, 1.0, 1.0, 1.0, 1.0], [0, 0, 0.25, 0.25, 0.25]),
                _level("s2", [0.1, 1.0, 2.0, 2.0, 2.0], [0, 0, 0.75, 0.75, 0.75])]
    root = zarr.open_group(str(tmp_path / "ex.ome.zarr"), mode="w", zarr_format=3)
    for k, ds in enumerate(datasets):
        root.create_array(ds["path"], shape=(2, 1, 16 >> k, 16 >> k, 16 >> k), dtype="uint8",
                          fill_value=0)
    root.attrs.update({"ome": {"version": "0.6rc0", "multiscales": [
        {"name": "example", "coordinateSystems": [{"name": "intrinsic", "axes": axes}],
         "datasets": datasets}]}})
    tree = sx.open_multiscale(tmp_path / "ex.ome.zarr")
    for k, (s, o) in enumerate([(0.5, 0.0), (1.0, 0.25), (2.0, 0.75)]):
        da = tree.spatial.level(k)
        assert da.dims == ("t", "c", "z", "y", "x")
        np.testing.assert_array_equal(da["x"].values, o + s * np.arange(16 >> k))
        assert da["z"].attrs["units"] == "micrometer"
        np.testing.assert_allclose(da["t"].values, [0.0, 0.1])
        assert da.attrs["coordinate_system"] == "intrinsic"
    # level centres line up: the first coarse voxel sits at the centre of the fine block
    assert tree.spatial.level(1)["x"].values[0] == np.mean(tree.spatial.level(0)["x"][:2])


def test_spec_multiscale_level_scale(tmp_path):
    """intrinsic → physical by a scale of 10: the physical system is ten times larger."""
    path = _hand_store(tmp_path / "s.ome.zarr", [_yx("physical"), _yx("intrinsic")],
                       [_level("s0", [1, 1])],
                       [{"type": "scale", "scale": [10, 10], "input": {"name": "intrinsic"},
                         "output": {"name": "physical"}}])
    default = sx.open_image(path)
    assert default.attrs["coordinate_system"] == "intrinsic"
    physical = sx.open_image(path, coordinate_system="physical")
    np.testing.assert_array_equal(_positions(physical), 10 * _positions(default))
    assert physical.spatial.spacing == {"y": 10.0, "x": 10.0}


def test_spec_sequence(tmp_path):
    """sequence [translation (0.1, 0.9), scale (2, 3)]: y = (j + 0.1)·2, x = (i + 0.9)·3."""
    path = _hand_store(tmp_path / "s.ome.zarr", [_yx("in"), _yx("out")],
                       [_level("s0", [1, 1], output="in")],
                       [{"type": "sequence", "input": {"name": "in"}, "output": {"name": "out"},
                         "transformations": [{"type": "translation", "translation": [0.1, 0.9]},
                                             {"type": "scale", "scale": [2, 3]}]}])
    da = sx.open_image(path, coordinate_system="out")
    j, i = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    pos = _positions(da)
    np.testing.assert_allclose(pos[..., 1], (j + 0.1) * 2, atol=1e-12)
    np.testing.assert_allclose(pos[..., 0], (i + 0.9) * 3, atol=1e-12)


def test_spec_map_axis(tmp_path):
    """mapAxis [0, 1] is the identity, [1, 0] swaps: out2 y = in x, out2 x = in y."""
    path = _hand_store(tmp_path / "m.ome.zarr", [_yx("in"), _yx("out1"), _yx("out2")],
                       [_level("s0", [1, 1], output="in")],
                       [{"name": "equivalent to identity", "type": "mapAxis", "mapAxis": [0, 1],
                         "input": "in", "output": "out1"},
                        {"name": "permutation", "type": "mapAxis", "mapAxis": [1, 0],
                         "input": {"name": "in"}, "output": {"name": "out2"}}])
    base = _positions(sx.open_image(path))
    np.testing.assert_array_equal(_positions(sx.open_image(path, coordinate_system="out1")),
                                  base)
    swapped = sx.open_image(path, coordinate_system="out2")
    np.testing.assert_array_equal(_positions(swapped), base[..., ::-1])
    np.testing.assert_array_equal(swapped.spatial.direction_xyz, [[0, 1], [1, 0]])


def test_spec_affine_rotation_and_inverse_walk(tmp_path):
    """An orthogonal affine (rotation by 30°, scale 2, shift) maps as its matrix says; the
    same system reached by walking a stored inverse backwards lands at the same points."""
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    a = np.array([[2 * c, -2 * s, 3.0], [2 * s, 2 * c, -4.0]])  # rows y, x; columns y, x, 1
    inverse = np.linalg.inv(np.vstack([a, [0, 0, 1]]))[:2]
    path = _hand_store(tmp_path / "a.ome.zarr",
                       [_yx("intrinsic"), _yx("rotated"), _yx("rotated_back")],
                       [_level("s0", [0.5, 0.25], [1.0, -2.0])],
                       [{"type": "affine", "affine": a.tolist(), "input": {"name": "intrinsic"},
                         "output": {"name": "rotated"}},
                        {"type": "affine", "affine": inverse.tolist(),
                         "input": {"name": "rotated_back"}, "output": {"name": "intrinsic"}}])
    base = _positions(sx.open_image(path))  # (x, y)
    yx = np.stack([base[..., 1], base[..., 0]], -1)
    want = yx @ a[:, :2].T + a[:, 2]
    for name in ("rotated", "rotated_back"):
        pos = _positions(sx.open_image(path, coordinate_system=name))
        np.testing.assert_allclose(pos[..., ::-1], want, atol=1e-12)


def test_spec_affine_matrix_in_an_array_bijection_and_by_dimension(tmp_path):
    swap = [[0.0, 1.0, 0.5], [1.0, 0.0, -0.5]]
    path = _hand_store(
        tmp_path / "b.ome.zarr",
        [_yx("intrinsic"), _yx("stored"), _yx("bij"), _yx("bydim")],
        [_level("s0", [1, 1])],
        [{"type": "affine", "path": "params/swap", "input": {"name": "intrinsic"},
          "output": {"name": "stored"}},
         {"type": "bijection", "input": {"name": "bij"}, "output": {"name": "intrinsic"},
          "forward": {"type": "translation", "translation": [-3.0, -4.0]},
          "inverse": {"type": "translation", "translation": [3.0, 4.0]}},
         {"type": "byDimension", "input": {"name": "intrinsic"}, "output": {"name": "bydim"},
          "transformations": [
              {"transformation": {"type": "scale", "scale": [2.0]}, "inputAxes": [1],
               "outputAxes": [0]},
              {"transformation": {"type": "translation", "translation": [7.0]},
               "inputAxes": [0], "outputAxes": [1]}]}],
        arrays={"params/swap": np.array(swap)})
    base = _positions(sx.open_image(path))
    stored = _positions(sx.open_image(path, coordinate_system="stored"))
    np.testing.assert_allclose(stored[..., 1], base[..., 0] + 0.5)  # y' = x + 0.5
    np.testing.assert_allclose(stored[..., 0], base[..., 1] - 0.5)  # x' = y − 0.5
    bij = _positions(sx.open_image(path, coordinate_system="bij"))  # the inverse member
    np.testing.assert_allclose(bij, base + [4.0, 3.0])
    bydim = _positions(sx.open_image(path, coordinate_system="bydim"))
    np.testing.assert_allclose(bydim[..., 1], 2 * base[..., 0])  # y' = 2·x
    np.testing.assert_allclose(bydim[..., 0], base[..., 1] + 7)  # x' = y + 7


# ---------------------------------------------------------------------- bad inputs
def _one_transform_store(tmp_path, transform, target=None):
    return _hand_store(tmp_path / "bad.ome.zarr", [_yx("intrinsic"), _yx(target or "out")],
                       [_level("s0", [1, 1])],
                       [{**transform, "input": {"name": "intrinsic"},
                         "output": {"name": target or "out"}}])


def test_unknown_coordinate_system_lists_the_available_ones(tmp_path):
    path = _one_transform_store(tmp_path, {"type": "identity"})
    with pytest.raises(UnknownCoordinateSystemError, match="'intrinsic', 'out'"):
        sx.open_image(path, coordinate_system="atlas")
    with pytest.raises(UnknownCoordinateSystemError, match="'intrinsic', 'out'"):
        sx.open_multiscale(path, coordinate_system="atlas")
    old = tmp_path / "old.ome.zarr"
    make_image().spatial.to_ome_zarr(old, pyramid=False)
    with pytest.raises(UnknownCoordinateSystemError, match=r"0\.5, which has no named coordinate"):
        sx.open_image(old, coordinate_system="world")


@pytest.mark.parametrize(("transform", "match"), [
    ({"type": "shear", "shear": [1]}, "unknown coordinate transformation type 'shear'"),
    ({"type": "scale", "scale": [1, 2, 3]}, r"must have shape \(2,\)"),
    ({"type": "affine", "affine": [[1, 0], [0, 1]]}, "must have 3 columns"),
    ({"type": "rotation", "rotation": [[1, 0, 0]]}, r"shape \(2, 2\)"),
    ({"type": "mapAxis", "mapAxis": [0, 0]}, "every input axis index"),
    ({"type": "translation"}, "neither 'translation' values nor a 'path'"),
    ({"type": "sequence", "transformations": []}, "non-empty list"),
])
def test_malformed_transformations(tmp_path, transform, match):
    path = _one_transform_store(tmp_path, transform)
    with pytest.raises(TransformMetadataError, match=match):
        sx.open_image(path, coordinate_system="out")


def test_non_invertible_affine(tmp_path):
    """A rank-deficient affine stored towards the intrinsic system cannot be walked back;
    stored away from it, it gives no grid (an axis without extent)."""
    flat = {"type": "affine", "affine": [[1.0, 2.0, 0.0], [2.0, 4.0, 1.0]]}
    path = _hand_store(tmp_path / "s.ome.zarr", [_yx("intrinsic"), _yx("out")],
                       [_level("s0", [1, 1])],
                       [{**flat, "input": {"name": "out"}, "output": {"name": "intrinsic"}}])
    with pytest.raises(SingularTransformError, match="not invertible"):
        sx.open_image(path, coordinate_system="out")
    assert sx.open_image(path).attrs["coordinate_system"] == "intrinsic"
    forward = _one_transform_store(tmp_path, {"type": "scale", "scale": [0.0, 1.0]}, "zero")
    with pytest.raises(SingularTransformError, match="singular"):
        sx.open_image(forward, coordinate_system="zero")


def test_shear_and_unplaceable_axes(tmp_path):
    sheared = _one_transform_store(tmp_path, {"type": "affine",
                                              "affine": [[1, 2, 3], [4, 5, 6]]})
    with pytest.raises(GeometryError, match="shears"):
        sx.open_image(sheared, coordinate_system="out")
    path = _hand_store(tmp_path / "ji.ome.zarr",
                       [_yx("intrinsic"), {"name": "ji", "axes": [
                           {"name": "j", "type": "space"}, {"name": "i", "type": "space"}]}],
                       [_level("s0", [1, 1])],
                       [{"type": "identity", "input": {"name": "intrinsic"},
                         "output": {"name": "ji"}}])
    with pytest.raises(FormatError, match="which LPS world axis"):
        sx.open_image(path, coordinate_system="ji")


def test_writer_refuses_nifti_zarr_at_0_6(tmp_path):
    from spatial_xr.errors import UnsupportedOptionError

    with pytest.raises(UnsupportedOptionError, match="NIfTI-Zarr"):
        make_image().spatial.to_ome_zarr(tmp_path / "x.nii.zarr", version="0.6", nifti=True)
    assert not (tmp_path / "x.nii.zarr").exists()
