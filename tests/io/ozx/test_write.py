"""to_ozx: RFC-9 layout, validation by ome-zarr-models, round trips with OME-Zarr, and
interoperability with ngff-zarr's own RFC-9 reader and writer."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import ome_zarr_models
import pytest
import zarr

import spatial_xr as sx
from spatial_xr.errors import OverwriteError, UnsupportedOptionError
from spatial_xr.io.ozx import open_ozx, to_ozx
from spatial_xr.io.ozx.write import RFC9_COMMENT, rfc9_order

from .conftest import DIRECTIONS, make_image


def test_layout_follows_rfc9(tmp_path):
    da = make_image((16, 24, 20), direction=DIRECTIONS["oblique"])
    da.spatial.to_ozx(tmp_path / "a.ozx", chunks=8, levels=2)
    with zipfile.ZipFile(tmp_path / "a.ozx") as zf:
        infos = zf.infolist()  # central directory order
        names = [i.filename for i in infos]
        assert json.loads(zf.comment) == RFC9_COMMENT
    assert names[0] == "zarr.json"
    metas = [n for n in names if n.endswith("zarr.json")]
    assert names[: len(metas)] == metas  # every zarr.json first, breadth-first
    assert [n.count("/") for n in metas] == sorted(n.count("/") for n in metas)
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
    raw = (tmp_path / "a.ozx").read_bytes()
    assert raw[:4] == b"PK\x03\x04" and raw[30:39] == b"zarr.json"  # first local entry
    root = json.loads(zipfile.ZipFile(tmp_path / "a.ozx").read("zarr.json"))
    assert root["attributes"]["ome"]["version"] == "0.5"


def test_rfc9_order():
    names = ["scale0/image/c/0/0", "scale1/zarr.json", "zarr.json", "scale0/image/zarr.json",
             "scale0/zarr.json"]
    assert rfc9_order(names) == ["zarr.json", "scale0/zarr.json", "scale1/zarr.json",
                                 "scale0/image/zarr.json", "scale0/image/c/0/0"]


def test_validates_with_ome_zarr_models(tmp_path):
    make_image().spatial.to_ozx(tmp_path / "v.ozx", chunks=8, shards=16)
    store = zarr.storage.ZipStore(tmp_path / "v.ozx", mode="r")
    ome_zarr_models.open_ome_zarr(zarr.open_group(store, mode="r"), version="0.5")


@pytest.mark.parametrize("direction", ["identity", "oblique_det_neg", "permuted"])
def test_round_trip_omezarr_ozx_omezarr_exact(tmp_path, direction):
    da = make_image(direction=DIRECTIONS[direction])
    da.spatial.to_ome_zarr(tmp_path / "a.ome.zarr", chunks=8, levels=2)
    tree = sx.open_multiscale(tmp_path / "a.ome.zarr")
    tree.spatial.to_ome_zarr(tmp_path / "b.ome.zarr")
    tree.spatial.to_ome_zarr(tmp_path / "b.ozx")  # to_ome_zarr with a .ozx path zips
    # the archive holds exactly the files of the same store written as a folder
    folder = tmp_path / "b.ome.zarr"
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in folder.rglob("*") if p.is_file()}
    with zipfile.ZipFile(tmp_path / "b.ozx") as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files
    plain, zipped = sx.open_multiscale(folder), sx.open_multiscale(tmp_path / "b.ozx")
    for k in range(2):
        a, b = plain[f"scale{k}"]["image"], zipped[f"scale{k}"]["image"]
        np.testing.assert_array_equal(a.values, b.values)
        assert a.spatial.grid.isclose(b.spatial.grid, atol=0)
        np.testing.assert_array_equal(a.values, tree[f"scale{k}"]["image"].values)
        assert tree[f"scale{k}"]["image"].spatial.grid.isclose(b.spatial.grid, atol=1e-12)
    # .ozx → OME-Zarr: one level back to a folder, unchanged
    level1 = open_ozx(tmp_path / "b.ozx", level=1)
    sx.write_image(level1, tmp_path / "c.ozx", pyramid=False)
    level1.spatial.to_ome_zarr(tmp_path / "d.ome.zarr", pyramid=False)
    zipped, plain = sx.open_image(tmp_path / "c.ozx"), sx.open_image(tmp_path / "d.ome.zarr")
    assert zipped.spatial.grid.isclose(plain.spatial.grid, atol=0)
    # the writer derives the origin from the coordinates of an oblique image: 1e-15 mm
    assert zipped.spatial.grid.isclose(level1.spatial.grid, atol=1e-12)
    np.testing.assert_array_equal(zipped.values, level1.values)


def test_ngff_zarr_reads_ours(tmp_path):
    import ngff_zarr

    da = make_image((12, 20, 18), spacing=(2.0, 0.5, 0.25), origin=(3.0, -4.0, 7.5))
    da.coords["z"].attrs["units"] = da.coords["y"].attrs["units"] = "micrometer"
    da.coords["x"].attrs["units"] = "micrometer"
    da.spatial.to_ozx(tmp_path / "ours.ozx", chunks=8, levels=2)
    theirs = ngff_zarr.from_ngff_zarr(str(tmp_path / "ours.ozx"))
    for k, image in enumerate(theirs.images):
        ours = sx.open_image(tmp_path / "ours.ozx", level=k)
        np.testing.assert_array_equal(np.asarray(image.data), ours.values)
        assert image.scale == ours.spatial.spacing
        np.testing.assert_allclose([image.translation[d] for d in "xyz"], ours.spatial.origin,
                                   rtol=0, atol=0)
        assert image.axes_units["x"] == "micrometer"


def test_we_read_ngff_zarr_ozx(tmp_path):
    """ngff-zarr writes .ozx sharded (its default), so this also reads shards in a zip."""
    import ngff_zarr

    rng = np.random.default_rng(3)
    data = rng.integers(0, 4000, (24, 40, 36)).astype("uint16")
    image = ngff_zarr.to_ngff_image(data, dims=("z", "y", "x"),
                                    scale={"z": 2.0, "y": 0.5, "x": 0.5},
                                    translation={"z": 1.0, "y": -3.0, "x": 4.25},
                                    axes_units={"z": "micrometer", "y": "micrometer",
                                                "x": "micrometer"})
    ms = ngff_zarr.to_multiscales(image, scale_factors=[2], chunks=8)
    ngff_zarr.to_ngff_zarr(str(tmp_path / "theirs.ozx"), ms, version="0.5")
    reference = ngff_zarr.from_ngff_zarr(str(tmp_path / "theirs.ozx"))
    tree = sx.open_image(tmp_path / "theirs.ozx", format="ozx")
    np.testing.assert_array_equal(tree.values, data)
    for k, ref in enumerate(reference.images):
        ours = sx.open_image(tmp_path / "theirs.ozx", level=k)
        np.testing.assert_array_equal(ours.values, np.asarray(ref.data))
        assert ours.spatial.spacing == ref.scale
        np.testing.assert_allclose([ref.translation[d] for d in "xyz"], ours.spatial.origin,
                                   atol=0)
        assert ours.coords["x"].attrs["units"] == "micrometer"


def test_refuses_overwrite_and_bad_options(tmp_path):
    da = make_image(seed=1)
    da.spatial.to_ozx(tmp_path / "x.ozx", pyramid=False)
    before = (tmp_path / "x.ozx").read_bytes()
    with pytest.raises(OverwriteError, match="overwrite=True"):
        make_image(seed=2).spatial.to_ozx(tmp_path / "x.ozx")
    assert (tmp_path / "x.ozx").read_bytes() == before
    make_image(seed=2).spatial.to_ozx(tmp_path / "x.ozx", overwrite=True, pyramid=False)
    np.testing.assert_array_equal(sx.open_image(tmp_path / "x.ozx").values,
                                  make_image(seed=2).values)
    with pytest.raises(UnsupportedOptionError, match=r"OME-Zarr 0\.5"):
        to_ozx(da, tmp_path / "y.ozx", version="0.4")
    with pytest.raises(UnsupportedOptionError, match="local file"):
        to_ozx(da, "s3://bucket/y.ozx")
    assert sorted(os.listdir(tmp_path)) == ["x.ozx"]


def test_failed_write_leaves_nothing(tmp_path):
    import dask.array as dsa

    da = make_image()

    def boom(block):
        raise RuntimeError("disk full")

    bad = da.copy(data=dsa.from_array(da.values, chunks=6).map_blocks(boom, dtype=da.dtype))
    with pytest.raises(RuntimeError, match="disk full"):
        bad.spatial.to_ozx(tmp_path / "bad.ozx")
    assert os.listdir(tmp_path) == []
