"""Reading OME-Zarr written by others (ngff-zarr, ome-zarr-py), lazily, with selections."""

from __future__ import annotations

import pickle
from pathlib import Path

import ngff_zarr
import numpy as np
import pytest
import zarr
import zarr.storage
from ngff_zarr.ngff_image_to_itk_image import ngff_image_to_itk_image
from ngff_zarr.rfc4 import LPS, RAS

import spatial_xr as sx
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    ParameterError,
    PathNotFoundError,
    UnitError,
)
from spatial_xr.io.omezarr import is_omezarr_path, open_omezarr

from .conftest import make_image


def _ngff_store(path, version, orientation=None, shape=(10, 24, 20), dims=("z", "y", "x"),
                units="millimeter", scale_factors=(2,)):
    rng = np.random.default_rng(7)
    data = rng.integers(0, 4000, size=shape).astype("uint16")
    spatial = [d for d in dims if d in "zyx"]
    scale = dict(zip(spatial, (2.0, 0.5, 0.625)[-len(spatial):], strict=True))
    trans = dict(zip(spatial, (-3.0, 12.5, 4.25)[-len(spatial):], strict=True))
    if "t" in dims:
        scale["t"], trans["t"] = 3.0, 1.0
    img = ngff_zarr.to_ngff_image(
        data, dims=dims, scale=scale, translation=trans,
        axes_units={d: units for d in spatial} | ({"t": "second"} if "t" in dims else {}),
    )
    if orientation is not None:
        img.axes_orientations = orientation
    ms = ngff_zarr.to_multiscales(img, scale_factors=list(scale_factors))
    ngff_zarr.to_ngff_zarr(str(path), ms, version=version)
    return data


def _check_against_ngff_zarr(path):
    """Every level: values, spacing, origin and direction as ngff-zarr's reader gives them
    (its ITK conversion turns RFC-4 labels into a direction)."""
    ref = ngff_zarr.from_ngff_zarr(str(path))
    tree = sx.open_multiscale(path)
    assert len(tree.spatial) == len(ref.images)
    for k, image in enumerate(ref.images):
        ours = tree.spatial.level(k)
        np.testing.assert_array_equal(ours.values, np.asarray(image.data))
        if "t" in image.dims or "c" in image.dims:
            g = ours.spatial.grid
            for i, a in enumerate(g.axes):
                assert g.spacing_xyz[i] == image.scale[a]
                assert g.origin_xyz[i] == image.translation[a]
            continue
        itk = ngff_image_to_itk_image(image, wasm=True)
        g = ours.spatial.grid
        np.testing.assert_array_equal(g.spacing_xyz, np.asarray(itk.spacing))
        np.testing.assert_array_equal(g.origin_xyz, np.asarray(itk.origin))
        np.testing.assert_array_equal(g.direction_xyz, np.asarray(itk.direction))
    return tree


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("orientation", [None, LPS, RAS], ids=["none", "LPS", "RAS"])
def test_ngff_zarr_stores_open_with_its_geometry(tmp_path, version, orientation):
    path = tmp_path / "ngff.ome.zarr"
    data = _ngff_store(path, version, orientation)
    tree = _check_against_ngff_zarr(path)
    np.testing.assert_array_equal(tree.spatial.level(0).values, data)
    expected = "identity" if orientation is None else "orientation"
    assert tree.spatial.level(0).attrs["geometry_source"] == expected
    if orientation is RAS:
        assert tree.spatial.level(0).spatial.orientation == "RAS"


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngff_zarr_5d_micrometer_store(tmp_path, version):
    path = tmp_path / "ngff5d.ome.zarr"
    _ngff_store(path, version, shape=(2, 3, 8, 16, 16), dims=("t", "c", "z", "y", "x"),
                units="micrometer")
    tree = _check_against_ngff_zarr(path)
    da = tree.spatial.level(0)
    assert da.dims == ("t", "c", "z", "y", "x")
    assert da["x"].attrs["units"] == "micrometer"
    np.testing.assert_array_equal(da["t"].values, [1.0, 4.0])
    assert da["t"].attrs["units"] == "second"
    one = sx.open_image(path, channel=1, timepoint=0)
    assert one.dims == ("z", "y", "x")
    np.testing.assert_array_equal(one.values, da.isel(c=1, t=0).values)
    two = sx.open_image(path, channel=[0, 2])
    assert two.sizes["c"] == 2
    mm = sx.open_image(path, units="millimeter")
    assert mm.spatial.spacing["x"] == pytest.approx(0.625e-3, rel=1e-12)
    with pytest.raises(DimensionError, match="out of range"):
        sx.open_image(path, channel=3)


def _ome_zarr_py_store(path, version):
    from ome_zarr.data import coins, create_zarr
    from ome_zarr.format import FormatV04, FormatV05

    fmt = FormatV05() if version == "0.5" else FormatV04()
    create_zarr(str(path), method=coins, fmt=fmt)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_py_sample_stores(tmp_path, version):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    path = tmp_path / "sample.zarr"
    _ome_zarr_py_store(path, version)
    node = next(iter(Reader(parse_url(str(path)))()))
    ref_data = node.data
    ref_ct = node.metadata["coordinateTransformations"]
    tree = sx.open_multiscale(path)
    assert len(tree.spatial) == len(ref_data)
    for k, (arr, ct) in enumerate(zip(ref_data, ref_ct, strict=True)):
        da = tree.spatial.level(k)
        np.testing.assert_array_equal(da.values, np.asarray(arr))
        scale = next(t["scale"] for t in ct if t["type"] == "scale")
        trans = next((t["translation"] for t in ct if t["type"] == "translation"),
                     [0.0] * len(scale))
        for i, d in enumerate(node.metadata["axes"]):
            if d["name"] in da.spatial.dims:
                assert da.spatial.spacing[d["name"]] == scale[i]
                assert da[d["name"]].values[0] == trans[i]  # identity direction
    # labels written next to the image open too
    labels = sx.open_multiscale(path / "labels" / "coins")
    assert len(labels.spatial) >= 1


def test_open_is_lazy_with_stored_chunks_and_reads_only_touched_chunks(tmp_path):
    da = make_image((32, 32, 32))
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, chunks=8, pyramid=False)
    store = zarr.storage.LoggingStore(zarr.storage.LocalStore(str(path), read_only=True))
    lazy = open_omezarr(store)
    assert lazy.data.chunksize == (8, 8, 8)
    gets = [k for k, v in store.counter.items() if k == "get"]
    before = store.counter["get"]
    patch = lazy.isel(z=slice(8, 16), y=slice(0, 8), x=slice(16, 24)).values
    np.testing.assert_array_equal(patch, da.values[8:16, 0:8, 16:24])
    assert store.counter["get"] - before == 1, gets
    rechunked = open_omezarr(path, chunks={"z": 16})
    assert rechunked.data.chunksize == (16, 8, 8)


def test_graph_pickles_and_computes_from_the_copy(tmp_path):
    da = make_image()
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, chunks=8)
    lazy = sx.open_image(path, level=1).sum()
    clone = pickle.loads(pickle.dumps(lazy))
    assert int(clone.compute(scheduler="sync")) == int(lazy.compute(scheduler="sync"))


def test_graph_runs_on_distributed_workers(tmp_path, dask_client):
    da = make_image()
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, chunks=8)
    lazy = sx.open_image(path, level=1)
    np.testing.assert_array_equal(lazy.compute(scheduler=dask_client.get).values,
                                  lazy.compute(scheduler="sync").values)


def test_level_and_spacing_selection(tmp_path):
    da = make_image((16, 64, 64), spacing=(2.0, 0.5, 0.5))
    path = tmp_path / "img.ome.zarr"
    da.spatial.to_ome_zarr(path, chunks=8)
    tree = sx.open_multiscale(path)
    spacings = [tree.spatial.level(k).spatial.spacing for k in range(len(tree.spatial))]
    assert spacings[:4] == [{"z": 2.0, "y": 0.5, "x": 0.5}, {"z": 2.0, "y": 1.0, "x": 1.0},
                            {"z": 2.0, "y": 2.0, "x": 2.0}, {"z": 4.0, "y": 4.0, "x": 4.0}]
    assert sx.open_image(path, spacing=2.1).spatial.spacing == spacings[2]
    assert sx.open_image(path, spacing={"z": 2, "y": 1, "x": 1}).spatial.spacing == spacings[1]
    assert sx.open_image(path, spacing=(4.0, 3.5, 3.5)).spatial.spacing == spacings[3]
    assert sx.open_image(path, level=-1).spatial.spacing == spacings[-1]
    assert tree.spatial.level(spacing=1.1).spatial.spacing == spacings[1]
    table = tree.spatial.levels
    assert list(table["spacing_y"][:3]) == [0.5, 1.0, 2.0]
    assert list(table.index[:2]) == ["scale0", "scale1"]
    with pytest.raises(DimensionError, match="out of range"):
        sx.open_image(path, level=99)
    with pytest.raises(ParameterError, match="not both"):
        sx.open_image(path, level=0, spacing=1.0)
    with pytest.raises(DimensionError, match="no 'c' axis"):
        sx.open_image(path, channel=0)
    with pytest.raises(UnitError):
        sx.open_image(path, units="parsecs-ish")


def test_micrometer_spacing_selection_is_in_mm(tmp_path):
    da = sx.from_array(np.zeros((4, 32, 32), "uint8"), spacing=(4.0, 1.0, 1.0),
                       units="micrometer")
    path = tmp_path / "um.ome.zarr"
    da.spatial.to_ome_zarr(path, chunks=8)
    assert sx.open_image(path, spacing=0.004).spatial.spacing["x"] == 4.0


def test_errors_and_dispatch(tmp_path):
    with pytest.raises(PathNotFoundError):
        sx.open_image(tmp_path / "missing.ome.zarr")
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    with pytest.raises(FormatError, match="holds no Zarr group"):
        sx.open_image(empty)
    plain = tmp_path / "plain.zarr"
    zarr.open_group(str(plain), mode="w").create_array("a", shape=(2,), dtype="u1")
    with pytest.raises(FormatError, match="no OME-NGFF 'multiscales'"):
        sx.open_image(plain)
    da = make_image()
    folder = tmp_path / "no_suffix"
    da.spatial.to_ome_zarr(folder, pyramid=False)
    assert is_omezarr_path(folder) and is_omezarr_path("s3://b/x.ome.zarr/")
    assert not is_omezarr_path("s3://b/x.nii.gz")
    np.testing.assert_array_equal(sx.open_image(folder).values, da.values)


def test_missing_level_array_is_a_format_error(tmp_path):
    path = tmp_path / "img.ome.zarr"
    make_image().spatial.to_ome_zarr(path, chunks=8, levels=2)
    import shutil

    shutil.rmtree(path / "scale1")
    sx.open_image(path, level=0)
    with pytest.raises(FormatError, match="missing from the store"):
        sx.open_image(path, level=1)


def test_tree_read_from_ngff_zarr_rewrites_as_valid_ome_zarr(tmp_path):
    import ome_zarr_models

    src = tmp_path / "ngff.ome.zarr"
    _ngff_store(src, "0.4", RAS)
    tree = sx.open_multiscale(src)
    assert "multiscales" in tree.attrs  # the root keeps the metadata it was read from
    dst = tmp_path / "again.ome.zarr"
    tree.spatial.to_ome_zarr(dst)
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(dst), mode="r"), version="0.5")
    again = sx.open_multiscale(dst)
    for k in range(len(tree.spatial)):
        a, b = tree.spatial.level(k), again.spatial.level(k)
        np.testing.assert_array_equal(a.values, b.values)
        assert a.spatial.grid.isclose(b.spatial.grid, atol=1e-12)
    assert again.spatial.level(0).spatial.orientation == "RAS"


def test_open_image_accepts_an_fsspec_mapper():
    import fsspec

    da = make_image()
    mapper = fsspec.get_mapper("memory://open-image-mapper/img.ome.zarr")
    da.spatial.to_ome_zarr(mapper, chunks=8)
    back = sx.open_image(fsspec.get_mapper("memory://open-image-mapper/img.ome.zarr"))
    assert back.spatial.same_grid(da)
    np.testing.assert_array_equal(back.values, da.values)


MSI_STORE = Path(__file__).parent / "data" / "msi.ome.zarr"


def _check_msi_store(path, coords_of):
    """Every level of a multiscale-spatial-image store: values as zarr reads them, and
    image-frame coords (so spacing and origin) equal to the coords that
    multiscale-spatial-image computed for the level (``coords_of(k, dim)``)."""
    tree = sx.open_multiscale(path)
    da0 = sx.open_image(path)
    assert da0.dims == ("z", "y", "x")
    raw = zarr.open_group(str(path), mode="r")
    assert len(tree.spatial) == 3
    for k in range(3):
        da = tree.spatial.level(k)
        np.testing.assert_array_equal(da.values, raw[f"scale{k}/image"][...])
        for d in ("z", "y", "x"):
            ref = np.asarray(coords_of(k, d), np.float64)
            np.testing.assert_allclose(da[d].values, ref, rtol=0, atol=1e-9)
            assert da[d].attrs["units"] == "millimeter"
            assert da.spatial.spacing[d] == pytest.approx(ref[1] - ref[0], abs=1e-9)
        np.testing.assert_array_equal(da.attrs["direction"], np.eye(3))
    level = sx.open_image(path, spacing=3.0)  # the level closest to 3 mm
    assert level.sizes == tree.spatial.level(2).sizes
    return tree


def test_multiscale_spatial_image_store_opens():
    """A store multiscale-spatial-image 2.1.0 wrote (``data/make_msi_store.py``: NGFF 0.4,
    Zarr v2, a coordinate array per dim next to each level's image)."""
    raw = zarr.open_group(str(MSI_STORE), mode="r")
    tree = _check_msi_store(MSI_STORE, lambda k, d: raw[f"scale{k}/{d}"][...])
    level0 = (np.arange(8 * 16 * 12).reshape(8, 16, 12) * 7 % 1000).astype(np.int16)
    np.testing.assert_array_equal(tree.spatial.level(0).values, level0)
    # the geometry the generator asked for: spacing f·S, first voxel at O + (f − 1)·S/2
    s0, o0 = np.array([2.5, 0.75, 0.5]), np.array([10.0, -5.0, 3.0])
    for k, f in enumerate((1, 2, 4)):
        g = tree.spatial.level(k).spatial.grid
        np.testing.assert_allclose(g.spacing_zyx, f * s0, rtol=1e-12)
        np.testing.assert_allclose(g.origin_xyz[::-1], o0 + (f - 1) * s0 / 2, rtol=1e-12)


def test_multiscale_spatial_image_writes_open(tmp_path):
    """The same, live, where multiscale-spatial-image is installed (it pins dask, xarray
    and ngff-zarr below this project's versions, so the test extra cannot carry it)."""
    msi = pytest.importorskip("multiscale_spatial_image")
    si = pytest.importorskip("spatial_image")
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 4000, size=(12, 20, 16)).astype(np.uint16)
    img = si.to_spatial_image(arr, dims=("z", "y", "x"),
                              scale={"z": 2.0, "y": 0.5, "x": 0.625},
                              translation={"z": -3.0, "y": 12.5, "x": 4.25},
                              axis_units=dict.fromkeys("zyx", "millimeter"), name="image")
    ms = msi.to_multiscale(img, scale_factors=[2, 4])
    path = tmp_path / "msi.ome.zarr"
    ms.msi.to_zarr(str(path))
    _check_msi_store(path, lambda k, d: ms[f"scale{k}"].ds[d].values)
