"""Writing OME-Zarr: round trips, validity (ome-zarr-models), ngff-zarr agreement, safety."""

from __future__ import annotations

import json
import os

import dask.array as dsa
import ngff_zarr
import numpy as np
import ome_zarr_models
import pytest
import xarray as xr
import zarr

import spatial_xr as sx
from spatial_xr.errors import DimensionError, OverwriteError, UnsupportedOptionError

from .conftest import DIRECTIONS, make_image

VERSIONS = ["0.5", "0.4"]


def _assert_same_image(back: xr.DataArray, da: xr.DataArray) -> None:
    assert back.dims == da.dims
    np.testing.assert_array_equal(back.values, da.values)
    assert back.dtype == da.dtype
    # geometry: coords to the last bit, direction exactly
    for d in da.spatial.dims:
        np.testing.assert_allclose(back[d].values, da[d].values, rtol=0, atol=1e-12)
        assert back[d].attrs["units"] == da[d].attrs["units"]
    np.testing.assert_array_equal(back.attrs["direction"], da.attrs["direction"])
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", list(DIRECTIONS))
def test_round_trip_exact_every_direction(tmp_path, version, kind):
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version=version, chunks=8)
    back = sx.open_image(path)
    _assert_same_image(back, da)
    assert back.attrs["geometry_source"] == "spatial_xr"
    model = ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"), version=version)
    assert type(model).__name__ == "Image"
    # every level agrees with the lazily built pyramid, values and geometry
    tree = sx.open_multiscale(path)
    ref = da.spatial.pyramid(chunks=8)
    assert len(tree.spatial) == len(ref.spatial) > 1
    for k in range(len(ref.spatial)):
        _assert_same_image(tree.spatial.level(k), ref.spatial.level(k))


@pytest.mark.parametrize(
    ("shape", "dims"),
    [((15, 17), ("y", "x")), ((4, 9, 10), ("c", "y", "x")), ((3, 6, 9, 10), ("t", "z", "y", "x")),
     ((2, 3, 6, 9, 10), ("t", "c", "z", "y", "x"))],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_2d_to_5d(tmp_path, shape, dims, version):
    n = sum(d in "zyx" for d in dims)
    direction = DIRECTIONS["oblique"] if n == 3 else np.array([[0.0, -1.0], [1.0, 0.0]])
    da = make_image(shape, direction=direction, dims=dims)
    if "t" in dims:
        da = da.assign_coords(t=xr.Variable(("t",), 0.5 + 2.0 * np.arange(shape[0]),
                                            {"units": "second"}))
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version=version, pyramid=False)
    back = sx.open_image(path)
    _assert_same_image(back, da)
    if "t" in dims:
        np.testing.assert_array_equal(back["t"].values, da["t"].values)
        assert back["t"].attrs["units"] == "second"
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"), version=version)


@pytest.mark.parametrize("version", VERSIONS)
def test_metadata_scale_translation_orientation(tmp_path, version):
    da = make_image(direction=DIRECTIONS["flipped"])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version=version, chunks=8, levels=2)
    if version == "0.5":
        attrs = json.loads((path / "zarr.json").read_text())["attributes"]
        ms = attrs["ome"]["multiscales"][0]
    else:
        attrs = json.loads((path / ".zattrs").read_text())
        ms = attrs["multiscales"][0]
        assert ms["version"] == "0.4"
    assert [a["name"] for a in ms["axes"]] == ["z", "y", "x"]
    assert all(a["type"] == "space" and a["unit"] == "millimeter" for a in ms["axes"])
    assert [a["orientation"]["value"] for a in ms["axes"]] == [
        "inferior-to-superior", "posterior-to-anterior", "left-to-right"]
    t0 = ms["datasets"][0]["coordinateTransformations"]
    assert t0[0] == {"type": "scale", "scale": [2.5, 0.7, 0.9]}
    # translation = world origin per axis name (x, y, z of the LPS origin)
    assert t0[1] == {"type": "translation", "translation": [31.0, 7.5, -12.25]}
    assert attrs["spatial_xr"]["world"] == "LPS"
    np.testing.assert_array_equal(attrs["spatial_xr"]["direction_zyx"], da.attrs["direction"])


def _datasets(path, version: str) -> tuple[list[str], list[dict]]:
    """Axis names and datasets of the multiscale metadata as written (raw JSON)."""
    if version == "0.5":
        ms = json.loads((path / "zarr.json").read_text())["attributes"]["ome"]["multiscales"][0]
    else:
        ms = json.loads((path / ".zattrs").read_text())["multiscales"][0]
    return [a["name"] for a in ms["axes"]], ms["datasets"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["oblique", "oblique_det_neg", "signed_permutation_det_neg"])
@pytest.mark.parametrize("source", ["image", "tree"])
def test_written_scales_are_level0_spacing_times_factor(tmp_path, version, kind, source):
    # anisotropic (z first keeps factor 1) and oblique or det -1: the case where a scale
    # recovered from a level's coordinates came out an ulp below level 0's
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    if source == "image":
        da.spatial.to_ome_zarr(path, version=version, chunks=8)
    else:
        da.spatial.pyramid(chunks=8).spatial.to_ome_zarr(path, version=version)
    dims, datasets = _datasets(path, version)
    assert dims == ["z", "y", "x"] and len(datasets) > 2
    scales = np.array([d["coordinateTransformations"][0]["scale"] for d in datasets])
    trans = np.array([d["coordinateTransformations"][1]["translation"] for d in datasets])
    grid0 = da.spatial.grid
    assert scales[0].tolist() == grid0.spacing_zyx.tolist()
    shapes = [zarr.open_array(str(path / d["path"]), mode="r").shape for d in datasets]
    for k in range(1, len(datasets)):
        factor = np.rint(scales[k] / scales[0])
        # exactly level 0's spacing times an integer factor, and that factor is the one
        # the level's shape was divided by
        assert factor.min() >= 1
        assert scales[k].tolist() == (scales[0] * factor).tolist()
        assert list(shapes[k]) == [n // int(f) for n, f in zip(shapes[0], factor, strict=True)]
        # translation: world position (x, y, z as z, y, x axes) of the centre of the first
        # block of level 0 (DESIGN §3)
        centre = grid0.index_to_world((factor[::-1] - 1) / 2)
        np.testing.assert_allclose(trans[k], centre[::-1], rtol=0, atol=1e-12)
    # non-decreasing along every axis, as the validators require
    assert np.all(np.diff(scales, axis=0) >= 0)
    assert np.any(scales[1] == scales[0])  # an axis keeps factor 1 at level 1
    model = ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"), version=version)
    assert type(model).__name__ == "Image"


def test_given_levels_that_are_no_integer_zoom_out_keep_their_own_grid(tmp_path):
    da = make_image(direction=DIRECTIONS["oblique"])
    coarse = da.spatial.resample(spacing=(3.75, 1.05, 1.35))  # 1.5 × level 0: no block rule
    tree = xr.DataTree.from_dict({"/scale0": da.to_dataset(name="image"),
                                  "/scale1": coarse.to_dataset(name="image")})
    path = tmp_path / "img.ome.zarr"
    tree.spatial.to_ome_zarr(path, version="0.5")
    _, datasets = _datasets(path, "0.5")
    scale, trans = (t[t["type"]] for t in datasets[1]["coordinateTransformations"])
    grid = coarse.spatial.grid
    assert scale == grid.spacing_zyx.tolist()
    assert trans == grid.origin_xyz[::-1].tolist()
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"), version="0.5")


def _ngff_direction(image) -> np.ndarray:
    from ngff_zarr.ngff_image_to_itk_image import ngff_image_to_itk_image

    return np.asarray(ngff_image_to_itk_image(image, wasm=True).direction)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["identity", "flipped", "permuted"])
def test_ngff_zarr_reads_what_we_wrote(tmp_path, version, kind):
    da = make_image(direction=DIRECTIONS[kind])
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, version=version, chunks=8)
    ms = ngff_zarr.from_ngff_zarr(str(path))
    ours = sx.open_multiscale(path)
    assert len(ms.images) == len(ours.spatial)
    for k, image in enumerate(ms.images):
        level = ours.spatial.level(k)
        g = level.spatial.grid
        # our grid is read back from the level's coordinates, ngff-zarr's straight from the
        # metadata: the two agree to a few ulps (the metadata itself is checked exactly in
        # test_written_scales_are_level0_spacing_times_factor)
        assert set(image.scale) == set(image.translation) == {"x", "y", "z"}
        for i, a in enumerate(("x", "y", "z")):
            np.testing.assert_allclose(image.scale[a], g.spacing_xyz[i], rtol=1e-14, atol=0)
            np.testing.assert_allclose(image.translation[a], g.origin_xyz[i], rtol=0,
                                       atol=1e-12)
        np.testing.assert_array_equal(np.asarray(image.data), level.values)
        # ngff-zarr turns the RFC-4 labels into the same ITK direction
        np.testing.assert_array_equal(_ngff_direction(image), g.direction_xyz)


def test_write_tree_and_tree_accessor(tmp_path):
    da = make_image()
    tree = da.spatial.pyramid(levels=3, method="nearest", chunks=8)
    tree.spatial.to_ome_zarr(tmp_path / "a.ome.zarr")
    da.spatial.to_ome_zarr(tmp_path / "b.ome.zarr", pyramid=tree, version="0.4")
    for name in ("a", "b"):
        back = sx.open_multiscale(tmp_path / f"{name}.ome.zarr")
        assert len(back.spatial) == 3
        for k in range(3):
            _assert_same_image(back.spatial.level(k), tree.spatial.level(k))
    with pytest.raises(DimensionError, match="pyramid level 0 has sizes"):
        da.isel(x=slice(0, 5)).spatial.to_ome_zarr(tmp_path / "c.ome.zarr", pyramid=tree)


def test_refuses_to_overwrite_and_overwrites_on_request(tmp_path):
    path = tmp_path / "img.ome.zarr"
    make_image(seed=1).spatial.to_ome_zarr(path, pyramid=False)
    with pytest.raises(OverwriteError, match="overwrite=True"):
        make_image(seed=2).spatial.to_ome_zarr(path, pyramid=False)
    np.testing.assert_array_equal(sx.open_image(path).values, make_image(seed=1).values)
    make_image(seed=2).spatial.to_ome_zarr(path, pyramid=False, overwrite=True)
    np.testing.assert_array_equal(sx.open_image(path).values, make_image(seed=2).values)
    assert sorted(os.listdir(tmp_path)) == ["img.ome.zarr"]


def _boom(block):
    raise RuntimeError("disk on fire")


def test_failed_write_leaves_nothing(tmp_path):
    da = make_image()
    bad = da.copy(data=dsa.from_array(da.values, chunks=6).map_blocks(_boom, dtype=da.dtype))
    path = tmp_path / "img.ome.zarr"
    with pytest.raises(RuntimeError, match="disk on fire"):
        bad.spatial.to_ome_zarr(path)
    assert os.listdir(tmp_path) == []
    # an existing store survives a failed overwrite untouched
    da.spatial.to_ome_zarr(path, pyramid=False)
    with pytest.raises(RuntimeError, match="disk on fire"):
        bad.spatial.to_ome_zarr(path, overwrite=True)
    np.testing.assert_array_equal(sx.open_image(path).values, da.values)
    assert os.listdir(tmp_path) == ["img.ome.zarr"]


def test_sharding_and_compressors(tmp_path):
    da = make_image((20, 32, 32))
    p = tmp_path / "sharded.ome.zarr"
    da.spatial.to_ome_zarr(p, chunks=8, shards=16, compressor="lz4", levels=2)
    arr = zarr.open_array(str(p / "scale0" / "image"), mode="r")
    assert arr.chunks == (8, 8, 8) and arr.shards == (16, 16, 16)
    back = sx.open_image(p)
    assert back.data.chunksize == (16, 16, 16)
    np.testing.assert_array_equal(back.values, da.values)
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(p), mode="r"), version="0.5")
    for comp in (None, "zstd", "zstd-fast", "gzip", "blosc"):
        for version in VERSIONS:
            q = tmp_path / f"{comp}-{version}.ome.zarr"
            da.spatial.to_ome_zarr(q, compressor=comp, version=version, pyramid=False)
            np.testing.assert_array_equal(sx.open_image(q).values, da.values)
    with pytest.raises(UnsupportedOptionError, match="unknown compressor"):
        da.spatial.to_ome_zarr(tmp_path / "x.ome.zarr", compressor="snappy9")
    with pytest.raises(UnsupportedOptionError, match="sharding needs Zarr v3"):
        da.spatial.to_ome_zarr(tmp_path / "x.ome.zarr", shards=16, version="0.4")
    with pytest.raises(UnsupportedOptionError, match="multiple of the chunk"):
        da.spatial.to_ome_zarr(tmp_path / "x.ome.zarr", chunks=8, shards=12)
    assert not (tmp_path / "x.ome.zarr").exists()


def test_bad_arguments(tmp_path):
    da = make_image()
    with pytest.raises(UnsupportedOptionError, match="version must be"):
        da.spatial.to_ome_zarr(tmp_path / "x.ome.zarr", version="0.7")
    with pytest.raises(DimensionError, match="other dims"):
        da.expand_dims(band=2).spatial.to_ome_zarr(tmp_path / "x.ome.zarr")
    with pytest.raises(UnsupportedOptionError, match="label image"):
        da.spatial.to_ome_zarr(tmp_path / "x.ome.zarr", label=True, method="mean")
    assert not (tmp_path / "x.ome.zarr").exists()


def test_transposed_array_is_written_in_ome_order(tmp_path):
    da = make_image(direction=DIRECTIONS["oblique"])
    path = tmp_path / "img.ome.zarr"
    da.transpose("x", "z", "y").spatial.to_ome_zarr(path, pyramid=False)
    _assert_same_image(sx.open_image(path), da)


def test_label_pyramid_keeps_labels(tmp_path):
    rng = np.random.default_rng(3)
    labels = sx.from_array(rng.integers(0, 4, (16, 16, 16)).astype("uint8") * 10,
                           attrs={"kind": "label"})
    path = tmp_path / "labels.ome.zarr"
    labels.spatial.to_ome_zarr(path, chunks=4)
    tree = sx.open_multiscale(path)
    for k in range(len(tree.spatial)):
        assert set(np.unique(tree.spatial.level(k).values)) <= {0, 10, 20, 30}


def test_micrometer_units_are_kept(tmp_path):
    da = sx.from_array(np.zeros((4, 5, 6), "uint8"), spacing=(0.5, 0.1, 0.1),
                       units="micrometer")
    path = tmp_path / "um.ome.zarr"
    da.spatial.to_ome_zarr(path, pyramid=False)
    ms = ngff_zarr.from_ngff_zarr(str(path))
    assert ms.images[0].axes_units == {"z": "micrometer", "y": "micrometer", "x": "micrometer"}
    back = sx.open_image(path)
    assert back["x"].attrs["units"] == "micrometer"
    assert back.spatial.spacing == {"z": 0.5, "y": 0.1, "x": 0.1}
    mm = sx.open_image(path, units="millimeter")
    assert mm["x"].attrs["units"] == "millimeter"
    assert mm.spatial.spacing["z"] == pytest.approx(0.0005, rel=1e-12)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("method", ["mean", "gaussian", "mode"])
def test_in_memory_and_lazy_images_write_the_same_pyramid(tmp_path, version, method):
    """A NumPy-backed image is pyramided in memory in one computation, a dask-backed one
    level by level from the stored previous level: the stores must be identical, and
    both equal the lazy pyramid of ``da.spatial.pyramid``; the input is left untouched."""
    da = make_image((20, 36, 28), direction=DIRECTIONS["oblique"])
    before = da.values.copy()
    lazy = da.copy(data=dsa.from_array(da.values, chunks=(7, 9, 11)))
    kw = dict(chunks=8, version=version, method=method, shards=None)
    da.spatial.to_ome_zarr(tmp_path / "mem.ome.zarr", **kw)
    lazy.spatial.to_ome_zarr(tmp_path / "lazy.ome.zarr", **kw)
    np.testing.assert_array_equal(da.values, before)
    mem = sx.open_multiscale(tmp_path / "mem.ome.zarr")
    ref = sx.open_multiscale(tmp_path / "lazy.ome.zarr")
    tree = da.spatial.pyramid(method=method, chunks=8)
    assert len(mem.spatial) == len(ref.spatial) == len(tree.spatial) >= 3
    for k in range(len(tree.spatial)):
        _assert_same_image(mem.spatial.level(k), ref.spatial.level(k))
        _assert_same_image(mem.spatial.level(k), tree.spatial.level(k))
        assert mem.spatial.level(k).data.chunksize == ref.spatial.level(k).data.chunksize


def test_lazy_pyramid_tasks_make_whole_chunks_without_merging_pieces(tmp_path):
    """Each task of level k of a lazy image reads, from the store, the f-fold block of
    level k − 1 that makes one output chunk, so no task gathers pieces computed by other
    tasks (on a cluster: by other workers). Input chunks equal to the write chunks need
    no rechunking at all."""
    from dask.callbacks import Callback

    da = make_image((32, 48, 40))
    lazy = da.copy(data=dsa.from_array(da.values, chunks=8))
    keys: list[str] = []
    with Callback(pretask=lambda key, dsk, state: keys.append(str(key))):
        lazy.spatial.to_ome_zarr(tmp_path / "p.ome.zarr", chunks=8)
    assert any(k.startswith("('store-map") for k in keys)
    assert not [k for k in keys if k.startswith("('rechunk")]
    back = sx.open_multiscale(tmp_path / "p.ome.zarr")
    tree = da.spatial.pyramid(chunks=8)
    assert len(back.spatial) == len(tree.spatial) >= 3
    for k in range(len(tree.spatial)):
        _assert_same_image(back.spatial.level(k), tree.spatial.level(k))
