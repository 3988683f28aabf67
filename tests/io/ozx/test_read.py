"""Reading zipped OME-Zarr: local and remote (an HTTP server with range requests on
127.0.0.1, and S3 through moto), only the bytes a computation needs, bad archives."""

from __future__ import annotations

import pickle
import shutil
import zipfile

import dask
import numpy as np
import pytest

import spatial_xr as sx
from spatial_xr.errors import FormatError, PathNotFoundError
from spatial_xr.io.formats import find_format
from spatial_xr.io.ozx import OzxStore, open_ozx, open_ozx_multiscale
from spatial_xr.io.ozx.zipindex import TAIL_BYTES

from .conftest import DIRECTIONS, make_image

CHUNK = 32  # uncompressed uint16 chunks of 32³: 64 KiB entries


@pytest.fixture
def big(tmp_path):
    """A 64×128×128 uint16 image (4 MiB) as .ozx with uncompressed 32³ chunks."""
    da = make_image((64, 128, 128), dtype="uint16", direction=DIRECTIONS["oblique"])
    path = tmp_path / "big.ozx"
    da.spatial.to_ozx(path, chunks=CHUNK, compressor=None, pyramid=False)
    return path, da


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


def test_local_reads_only_the_touched_entry(big):
    path, da = big
    with dask.config.set(scheduler="synchronous"):
        sx.open_image(path).isel(z=0, y=0, x=slice(0, 2)).compute()  # warm-up (imports)
        before = _rchar()
        lazy = sx.open_image(path)
        opened = _rchar() - before
        before = _rchar()
        box = lazy.isel(z=slice(32, 64), y=slice(64, 96), x=slice(0, 32)).values
        read = _rchar() - before
    np.testing.assert_array_equal(box, da.values[32:64, 64:96, 0:32])
    entry = CHUNK ** 3 * 2
    print(f"open: {opened} bytes; one {entry}-byte chunk: {read} bytes")
    assert opened < TAIL_BYTES + 16 * 1024, opened  # tail (comment, directory) + zarr.json
    assert entry <= read < entry + 1024, read  # the entry, its local header and slack


def test_sharded_archive_reads_inner_chunks_not_whole_shards(tmp_path):
    da = make_image((64, 64, 64), dtype="uint16")
    path = tmp_path / "sharded.ozx"
    da.spatial.to_ozx(path, chunks=16, shards=64, compressor=None, pyramid=False)
    with zipfile.ZipFile(path) as zf:
        shards = [i for i in zf.infolist() if "/c/" in i.filename]
    assert len(shards) == 1 and shards[0].file_size > 64 ** 3 * 2  # one shard: 512 KiB
    with dask.config.set(scheduler="synchronous"):
        sx.open_image(path).isel(z=0, y=0, x=slice(0, 2)).compute()
        lazy = sx.open_image(path, chunks=(16, 16, 16))  # dask chunks = inner chunks
        before = _rchar()
        box = lazy.isel(z=slice(16, 32), y=slice(0, 16), x=slice(48, 64)).values
        read = _rchar() - before
    np.testing.assert_array_equal(box, da.values[16:32, 0:16, 48:64])
    inner = 16 ** 3 * 2
    assert inner <= read < inner + 64 * 16 + 1024, read  # chunk, shard index, header


def test_http_range_requests_fetch_only_the_entry(range_server, big):
    root, base, log = range_server
    path, da = big
    shutil.copy(path, root / "big.ozx")
    url = f"{base}/big.ozx"
    assert find_format(url).name == "ozx"
    log.clear()
    lazy = sx.open_image(url)
    opened = log.total
    log.clear()
    with dask.config.set(scheduler="synchronous"):
        box = lazy.isel(z=slice(0, 32), y=slice(32, 64), x=slice(96, 128)).values
    np.testing.assert_array_equal(box, da.values[0:32, 32:64, 96:128])
    entry = CHUNK ** 3 * 2
    sent = list(log.sent)
    print(f"open: {opened} bytes; one chunk: {sent}")
    assert len(sent) == 1 and entry <= sent[0][2] < entry + 200, sent
    size = path.stat().st_size
    assert opened < TAIL_BYTES + 16 * 1024 < size / 20
    tree = sx.open_multiscale(url)  # the OME-Zarr entry point takes .ozx URLs too
    assert tree["scale0"]["image"].shape == da.shape


def test_remote_graph_pickles_and_reads_on_unpickle(range_server, big):
    root, base, _ = range_server
    path, da = big
    shutil.copy(path, root / "p.ozx")
    lazy = open_ozx(f"{base}/p.ozx").isel(z=slice(0, 32))
    back = pickle.loads(pickle.dumps(lazy))
    np.testing.assert_array_equal(back.values, da.values[0:32])
    store = OzxStore(f"{base}/p.ozx")
    assert pickle.loads(pickle.dumps(store)) == store


def test_s3(s3_server, big):
    import s3fs

    path, da = big
    s3fs.S3FileSystem(**s3_server).put(str(path), "test-bucket/img.ozx")
    url = "s3://test-bucket/img.ozx"
    back = sx.open_image(url, storage_options=s3_server)
    np.testing.assert_array_equal(back.isel(z=slice(30, 34)).values, da.values[30:34])
    assert back.spatial.grid.isclose(sx.open_image(path).spatial.grid, atol=0)


def test_multiscale_and_selection(tmp_path):
    da = make_image((2, 3, 16, 24, 20)[2:], direction=DIRECTIONS["permuted"])
    da.spatial.to_ozx(tmp_path / "m.ozx", chunks=8, levels=2)
    tree = open_ozx_multiscale(tmp_path / "m.ozx")
    assert list(tree.children) == ["scale0", "scale1"]
    coarse = sx.open_image(tmp_path / "m.ozx", spacing=tree["scale1"]["image"].spatial.spacing)
    assert coarse.shape == tree["scale1"]["image"].shape
    assert sx.open_omezarr(tmp_path / "m.ozx", level=1).shape == coarse.shape


def test_store_api_matches_zipfile(tmp_path):
    import asyncio

    from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
    from zarr.core.buffer import default_buffer_prototype

    make_image().spatial.to_ozx(tmp_path / "s.ozx", chunks=8, pyramid=False, compressor=None)
    store = OzxStore(tmp_path / "s.ozx")
    proto = default_buffer_prototype()

    async def run():
        with zipfile.ZipFile(tmp_path / "s.ozx") as zf:
            name = next(n for n in zf.namelist() if "/c/" in n)
            whole = zf.read(name)
            names = sorted(zf.namelist())
        got = (await store.get(name, proto)).to_bytes()
        part = (await store.get(name, proto, RangeByteRequest(10, 50))).to_bytes()
        tail = (await store.get(name, proto, SuffixByteRequest(7))).to_bytes()
        rest = (await store.get(name, proto, OffsetByteRequest(100))).to_bytes()
        listed = sorted([k async for k in store.list()])
        top = sorted([k async for k in store.list_dir("")])
        return whole, got, part, tail, rest, names, listed, top, await store.get("no", proto)

    whole, got, part, tail, rest, names, listed, top, missing = asyncio.run(run())
    assert got == whole and part == whole[10:50] and tail == whole[-7:] and rest == whole[100:]
    assert listed == names and top == ["scale0", "zarr.json"] and missing is None


def test_zip_of_a_folder_store_with_deflate_and_any_extension(tmp_path):
    """A ZIP made by generic tools (deflated entries, .zip name) opens when its first
    entry is the root zarr.json."""
    da = make_image()
    da.spatial.to_ome_zarr(tmp_path / "a.ome.zarr", chunks=8, pyramid=False)
    folder = tmp_path / "a.ome.zarr"
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(folder / "zarr.json", "zarr.json")
        for p in sorted(folder.rglob("*")):
            if p.is_file() and p != folder / "zarr.json":
                zf.write(p, p.relative_to(folder).as_posix())
    assert find_format(tmp_path / "a.zip").name == "ozx"
    back = sx.open_image(tmp_path / "a.zip")
    np.testing.assert_array_equal(back.values, da.values)
    assert back.spatial.grid.isclose(sx.open_image(folder).spatial.grid, atol=0)


# ---------------------------------------------------------------------- bad inputs
def test_not_a_zip_and_missing(tmp_path):
    (tmp_path / "t.ozx").write_text("hello")
    with pytest.raises(FormatError, match="not a readable ZIP file"):
        sx.open_image(tmp_path / "t.ozx")
    with pytest.raises(PathNotFoundError):
        sx.open_image(tmp_path / "none.ozx")


def test_hierarchy_in_a_subfolder(tmp_path):
    make_image().spatial.to_ome_zarr(tmp_path / "a.ome.zarr", pyramid=False)
    shutil.make_archive(str(tmp_path / "nested"), "zip", tmp_path, "a.ome.zarr")
    (tmp_path / "nested.zip").rename(tmp_path / "nested.ozx")
    with pytest.raises(FormatError, match=r"in the folder 'a\.ome\.zarr'/.*RFC-9 requires"):
        sx.open_image(tmp_path / "nested.ozx")


def test_truncated_and_corrupt(tmp_path, big):
    path, _ = big
    raw = path.read_bytes()
    (tmp_path / "cut.ozx").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match="not a readable ZIP file"):
        sx.open_image(tmp_path / "cut.ozx")
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if "/c/" in i.filename)
    bad = bytearray(raw)
    at = info.header_offset + 30 + len(info.filename) + 100
    bad[at:at + 8] = b"\xff" * 8
    (tmp_path / "bad.ozx").write_bytes(bytes(bad))
    lazy = sx.open_image(tmp_path / "bad.ozx")
    with pytest.raises(FormatError, match="CRC-32"):
        lazy.compute()
