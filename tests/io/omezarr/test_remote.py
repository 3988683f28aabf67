"""Remote stores: an S3 server (moto) on 127.0.0.1 through s3fs, HTTP, fsspec mappers."""

from __future__ import annotations

import functools
import http.server
import logging
import re
import threading

import fsspec
import numpy as np
import ome_zarr_models
import pytest
import zarr

import spatial_xr as sx
from spatial_xr.errors import FormatError, OverwriteError

from .conftest import DIRECTIONS, make_image


def _s3fs(options):
    import s3fs

    return s3fs.S3FileSystem(**options)


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_s3_write_read_round_trip(s3_server, version):
    da = make_image(direction=DIRECTIONS["oblique"])
    url = f"s3://test-bucket/round-{version}.ome.zarr"
    da.spatial.to_ome_zarr(url, version=version, chunks=16, levels=2,
                           storage_options=s3_server)
    fs = _s3fs(s3_server)
    assert fs.exists(f"test-bucket/round-{version}.ome.zarr/scale0/image")
    back = sx.open_image(url, storage_options=s3_server)
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(da.spatial.grid, atol=1e-12)
    tree = sx.open_multiscale(url, storage_options=s3_server)
    assert len(tree.spatial) == 2
    local = tree.spatial.level(1).compute()
    np.testing.assert_array_equal(
        local.values, da.spatial.pyramid(levels=2, chunks=16).spatial.level(1).values)
    # the validator reads it over S3 too
    store = zarr.storage.FsspecStore.from_url(url, storage_options=s3_server, read_only=True)
    ome_zarr_models.open_ome_zarr(zarr.open_group(store, mode="r"), version=version)


def test_s3_refuses_overwrite_then_overwrites(s3_server):
    url = "s3://test-bucket/over.ome.zarr"
    make_image(seed=1).spatial.to_ome_zarr(url, pyramid=False, storage_options=s3_server)
    with pytest.raises(OverwriteError, match="overwrite=True"):
        make_image(seed=2).spatial.to_ome_zarr(url, pyramid=False, storage_options=s3_server)
    np.testing.assert_array_equal(sx.open_image(url, storage_options=s3_server).values,
                                  make_image(seed=1).values)
    make_image(seed=2).spatial.to_ome_zarr(url, pyramid=False, storage_options=s3_server,
                                           overwrite=True)
    np.testing.assert_array_equal(sx.open_image(url, storage_options=s3_server).values,
                                  make_image(seed=2).values)


def test_s3_reads_only_touched_chunks(s3_server, caplog):
    """The S3 server's own request log shows which chunk objects a computation fetched."""
    da = make_image((32, 32, 32))
    url = "s3://test-bucket/touch.ome.zarr"
    da.spatial.to_ome_zarr(url, chunks=8, pyramid=False, storage_options=s3_server)
    lazy = sx.open_image(url, storage_options=s3_server)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        patch = lazy.isel(z=slice(0, 8), y=slice(8, 16), x=slice(8, 24)).values
    np.testing.assert_array_equal(patch, da.values[0:8, 8:16, 8:24])
    gets = sorted(
        hit.group(1)
        for m in caplog.messages
        if (hit := re.search(r'"GET /test-bucket/touch\.ome\.zarr/scale0/image/(c/\S+)', m))
    )
    assert gets == ["c/0/1/1", "c/0/1/2"]


def test_partial_remote_write_is_not_a_valid_image(s3_server):
    da = make_image()

    def boom(block):
        raise RuntimeError("network down")

    import dask.array as dsa

    bad = da.copy(data=dsa.from_array(da.values, chunks=6).map_blocks(boom, dtype=da.dtype))
    url = "s3://test-bucket/partial.ome.zarr"
    with pytest.raises(RuntimeError, match="network down"):
        bad.spatial.to_ome_zarr(url, storage_options=s3_server)
    with pytest.raises(sx.SpatialXRError):
        sx.open_image(url, storage_options=s3_server)


def test_interrupted_remote_overwrite_leaves_no_valid_image(s3_server):
    """What docs/omezarr.md promises for object stores (no rename): an interrupted
    overwrite=True loses the old image, but never leaves a store that claims to be one."""
    import dask.array as dsa

    url = "s3://test-bucket/replace.ome.zarr"
    da = make_image()
    da.spatial.to_ome_zarr(url, storage_options=s3_server)

    def boom(block):
        raise RuntimeError("network down")

    bad = da.copy(data=dsa.from_array(da.values, chunks=6).map_blocks(boom, dtype=da.dtype))
    with pytest.raises(RuntimeError, match="network down"):
        bad.spatial.to_ome_zarr(url, storage_options=s3_server, overwrite=True)
    with pytest.raises(FormatError, match="multiscales"):
        sx.open_image(url, storage_options=s3_server)


def test_fsspec_memory_mapper_round_trip():
    da = make_image(direction=DIRECTIONS["permuted"])
    mapper = fsspec.get_mapper("memory://mapped/img.ome.zarr")
    da.spatial.to_ome_zarr(mapper, chunks=8, levels=2)
    back = sx.open_omezarr(fsspec.get_mapper("memory://mapped/img.ome.zarr"))
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.orientation == da.spatial.orientation
    tree = sx.open_multiscale("memory://mapped/img.ome.zarr")
    assert len(tree.spatial) == 2


@pytest.fixture
def http_root(tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))

    class Quiet(http.server.ThreadingHTTPServer):
        pass

    handler_cls = type("H", (http.server.SimpleHTTPRequestHandler,),
                       {"log_message": lambda *a: None})
    server = Quiet(("127.0.0.1", 0), functools.partial(handler_cls, directory=str(tmp_path)))
    del handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_http_read(http_root, version):
    root, base = http_root
    da = make_image(direction=DIRECTIONS["flipped"])
    da.spatial.to_ome_zarr(root / "img.ome.zarr", chunks=8, version=version)
    back = sx.open_image(f"{base}/img.ome.zarr", level=1)
    ref = sx.open_image(root / "img.ome.zarr", level=1)
    np.testing.assert_array_equal(back.values, ref.values)
    assert back.spatial.grid.isclose(ref.spatial.grid, atol=0)
