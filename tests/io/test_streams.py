"""Lazy reads over stored byte streams (raw, gzip, zlib, bzip2, ASCII, hex; one file or
several; a stream in a byte range of a file), checked against numpy indexing of the same
values, and the reads :func:`read_box` plans checked against numpy's flat order."""

from __future__ import annotations

import bz2
import gzip
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest

import spatial_xr.io.streams as streams_mod
from spatial_xr.errors import FormatError, ParameterError, PathNotFoundError
from spatial_xr.io.indexing import selection_ranges
from spatial_xr.io.streams import DataStream, StreamedArray, read_box, read_stream_range

SHAPE = (5, 6, 7)


def _encode(codec: str, data: np.ndarray) -> bytes:
    raw = data.tobytes()
    if codec == "raw":
        return raw
    if codec == "gzip":
        return gzip.compress(raw)
    if codec == "zlib":
        return zlib.compress(raw)
    if codec == "bzip2":
        return bz2.compress(raw)
    if codec == "hex":
        text = raw.hex()
        return "\n".join(text[i:i + 60] for i in range(0, len(text), 60)).encode()
    return " ".join(str(v) for v in data.ravel()).encode()


def _write(tmp_path: Path, codec: str, data: np.ndarray, pieces: int = 1,
           prefix: bytes = b"") -> list[DataStream]:
    out = []
    for k, part in enumerate(np.array_split(data.reshape(-1), pieces)):
        path = tmp_path / f"part{k}.{codec}"
        path.write_bytes(prefix + _encode(codec, part))
        out.append(DataStream(str(path), part.nbytes, codec=codec, offset=len(prefix),
                              dtype=data.dtype.str))
    return out


def _outer(data: np.ndarray, key: tuple) -> np.ndarray:
    """numpy indexing with integer arrays applied per axis (outer indexing, as dask and
    xarray index a backend array)."""
    if any(k is Ellipsis for k in key):
        return data[key]
    out = data
    axis = 0
    for k in key:
        if isinstance(k, np.ndarray):
            out = np.take(out, k, axis=axis)
            axis += 1
        elif isinstance(k, int):
            out = out[(slice(None),) * axis + (k,)]
        else:
            out = out[(slice(None),) * axis + (k,)]
            axis += 1
    return out


SELECTIONS = [
    (slice(None),),
    (slice(1, 3),),
    (2,),
    (slice(None), slice(1, 4), slice(2, 6)),
    (slice(None, None, 2), slice(None, None, -1), 3),
    (1, 2, slice(None)),
    (slice(4, 0, -2), 0, slice(1, 7, 3)),
    (np.array([0, 3, 4]), slice(2, 3), np.array([6, 0])),
    (slice(2, 2),),
    (Ellipsis, 1),
]


@pytest.mark.parametrize("codec", ["raw", "gzip", "zlib", "bzip2", "hex", "ascii"])
@pytest.mark.parametrize("pieces", [1, 5, 3])
def test_selections_match_numpy(tmp_path: Path, codec: str, pieces: int) -> None:
    data = np.arange(np.prod(SHAPE), dtype=">i2").reshape(SHAPE) * 7 - 100
    arr = StreamedArray(_write(tmp_path, codec, data, pieces, prefix=b"HEAD"), SHAPE,
                        data.dtype)
    assert arr.dtype == np.dtype("=i2")
    for key in SELECTIONS:
        got = arr[key]
        expected = _outer(data, key)
        assert got.dtype.isnative
        np.testing.assert_array_equal(got, expected, err_msg=f"{codec} {key}")
    clone = pickle.loads(pickle.dumps(arr))
    np.testing.assert_array_equal(clone[1:3], data[1:3])


def test_slab_reads_only_its_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.arange(np.prod(SHAPE), dtype="<f4").reshape(SHAPE)
    arr = StreamedArray(_write(tmp_path, "raw", data, prefix=b"x" * 100), SHAPE, data.dtype)
    read = []

    class Counting:
        def __init__(self, path: str) -> None:
            self.f = open(path, "rb", buffering=0)  # noqa: SIM115

        def __getattr__(self, name: str) -> object:
            return getattr(self.f, name)

        def readinto(self, b: memoryview) -> int:
            n = self.f.readinto(b)
            read.append(n)
            return n

        def read(self, n: int = -1) -> bytes:
            out = self.f.read(n)
            read.append(len(out))
            return out

    monkeypatch.setattr(streams_mod, "open_data_file", Counting)
    np.testing.assert_array_equal(arr[2:4], data[2:4])
    assert sum(read) == 2 * 6 * 7 * 4
    read.clear()
    np.testing.assert_array_equal(arr[1, 2:4, 1:3], data[1, 2:4, 1:3])
    assert sum(read) == 2 * 7 * 4  # the two whole rows spanning the box


def test_gzip_slab_stops_at_last_needed_byte(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 1 << 15, size=(40, 64, 64), dtype=np.int16)
    arr = StreamedArray(_write(tmp_path, "gzip", data), data.shape, data.dtype)
    consumed = []
    original = streams_mod._Inflater._feed

    def feed(self: object) -> bool:
        ok = original(self)
        consumed.append(ok)
        return ok

    monkeypatch.setattr(streams_mod._Inflater, "_feed", feed)
    monkeypatch.setattr(streams_mod, "_INPUT_BLOCK", 4096)
    np.testing.assert_array_equal(arr[2:4], data[2:4])
    size = (tmp_path / "part0.gzip").stat().st_size
    assert sum(consumed) * 4096 < size / 4  # far less than the whole stream was inflated


def test_truncated_and_missing(tmp_path: Path) -> None:
    data = np.arange(100, dtype="<u2")
    for codec in ("raw", "gzip", "bzip2", "ascii"):
        path = tmp_path / f"t.{codec}"
        path.write_bytes(_encode(codec, data)[:-20])
        stream = DataStream(str(path), data.nbytes, codec=codec, dtype=data.dtype.str)
        with pytest.raises(FormatError, match=r"truncated|corrupt"):
            read_stream_range(stream, 0, np.empty(100, "<u2"))
    gone = DataStream(str(tmp_path / "gone.raw"), 8)
    with pytest.raises(PathNotFoundError, match="no longer exists"):
        read_stream_range(gone, 0, np.empty(8, np.uint8))
    with pytest.raises(FormatError, match="encoding"):
        DataStream("x", 1, codec="zrl")


def test_skips_and_data_at_end(tmp_path: Path) -> None:
    data = np.arange(12, dtype="<i4")
    path = tmp_path / "d.bin"
    path.write_bytes(b"line one\nline two\nSKIP" + data.tobytes())
    s = DataStream(str(path), data.nbytes, line_skip=2, skip=4)
    out = np.empty(12, "<i4")
    read_stream_range(s, 0, out)
    np.testing.assert_array_equal(out, data)
    s = DataStream(str(path), data.nbytes, from_end=True)
    read_stream_range(s, 8, out[2:])
    np.testing.assert_array_equal(out[2:], data[2:])
    gz = tmp_path / "d.gz"
    gz.write_bytes(b"junk line\n" + gzip.compress(b"abcd" + data.tobytes()))
    s = DataStream(str(gz), data.nbytes, codec="gzip", line_skip=1, skip=4)
    read_stream_range(s, 0, out)
    np.testing.assert_array_equal(out, data)


def test_multi_member_gzip(tmp_path: Path) -> None:
    data = np.arange(1000, dtype="<i2")
    raw = data.tobytes()
    path = tmp_path / "m.gz"
    path.write_bytes(gzip.compress(raw[:700]) + gzip.compress(raw[700:]))
    out = np.empty(1000, "<i2")
    read_stream_range(DataStream(str(path), len(raw), codec="gzip"), 0, out)
    np.testing.assert_array_equal(out, data)


def test_sizes_must_add_up(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="hold 10 bytes"):
        StreamedArray([DataStream("x", 10)], (3, 4), np.dtype(np.uint8))


# ---------------------------------------------------------------- one stream in a byte range
def _in_range(tmp_path: Path, arr: np.ndarray, codec: str, wrap=None) -> StreamedArray:
    """``arr`` stored after a 42-byte header and before a trailer, raw or deflated."""
    payload = arr.tobytes()
    if codec == "zlib":
        payload = (wrap or zlib.compress)(payload)
    path = tmp_path / f"data-{codec}.bin"
    path.write_bytes(b"HEADER" * 7 + payload + b"trailer")
    stream = DataStream(str(path), arr.nbytes, codec, offset=42,
                        stored_nbytes=len(payload) if codec == "zlib" else None, exact=True)
    return StreamedArray([stream], arr.shape, arr.dtype)


@pytest.mark.parametrize("codec", ["raw", "zlib"])
@pytest.mark.parametrize("seed", range(4))
def test_random_boxes_and_indices_match_numpy(tmp_path: Path, codec: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 9, rng.integers(2, 5)))
    arr = rng.integers(-30000, 30000, shape).astype(">i2" if seed % 2 else "<f8")
    stored = _in_range(tmp_path, arr, codec)
    for _ in range(25):
        key = []
        for n in shape:
            kind = rng.integers(0, 4)
            if kind == 0:
                key.append(int(rng.integers(-n, n)))
            elif kind == 1:
                a, b = sorted(rng.integers(0, n + 1, 2))
                key.append(slice(int(a), int(b), int(rng.choice([1, 2, -1, -3]))))
            elif kind == 2:
                key.append(rng.integers(0, n, rng.integers(1, 4)))
            else:
                key.append(slice(None))
        got = stored[tuple(key)]
        expected = arr
        axis = 0
        for k in key:  # orthogonal indexing, one axis at a time
            sel = [slice(None)] * expected.ndim
            sel[axis] = k
            expected = expected[tuple(sel)]
            if not isinstance(k, int):
                axis += 1
        np.testing.assert_array_equal(got, expected)


def test_gzip_data_in_a_zlib_stream_are_read_too(tmp_path: Path) -> None:
    arr = np.arange(4 * 5 * 6, dtype=np.uint16).reshape(4, 5, 6)
    stored = _in_range(tmp_path, arr, "zlib", wrap=gzip.compress)
    np.testing.assert_array_equal(stored[1:3, :, 2:4], arr[1:3, :, 2:4])


def test_keys_outside_the_array_name_the_axis(tmp_path: Path) -> None:
    """As numpy refuses them (numpy is the oracle for the in-range keys above)."""
    arr = np.arange(4 * 5, dtype=np.int16).reshape(4, 5)
    stored = _in_range(tmp_path, arr, "raw")
    for key in [(4, slice(None)), (slice(None), [0, 5]), (-5, 0)]:
        with pytest.raises(IndexError):
            arr[key]
        with pytest.raises(ParameterError, match="out of bounds for an axis of size"):
            stored[key]
    with pytest.raises(ParameterError, match="too many indices: 3 for an array of 2 axes"):
        stored[0, 0, 0]
    with pytest.raises(ParameterError, match="box has 1 axes, the array 2"):
        read_box(arr.shape, [range(0, 1)], arr.dtype, lambda start, view: None)


def test_truncated_oversized_and_missing(tmp_path: Path) -> None:
    arr = np.arange(1000, dtype=np.float32).reshape(10, 100)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(arr.tobytes()[:-8])
    stored = StreamedArray([DataStream(str(raw), arr.nbytes)], arr.shape, arr.dtype)
    np.testing.assert_array_equal(stored[0:2], arr[:2])
    with pytest.raises(FormatError, match="truncated"):
        stored[9:10]
    z = tmp_path / "z.bin"
    z.write_bytes(zlib.compress(arr.tobytes())[:-30])
    zstream = DataStream(str(z), arr.nbytes, "zlib", exact=True)
    with pytest.raises(FormatError, match="truncated"):
        StreamedArray([zstream], arr.shape, arr.dtype)[0:10]
    z.write_bytes(zlib.compress(arr.tobytes()) + b"")  # complete, then cut before its end
    z.write_bytes(z.read_bytes()[:-2])
    with pytest.raises(FormatError, match="does not end"):
        StreamedArray([zstream], arr.shape, arr.dtype)[0:10]
    z.write_bytes(zlib.compress(arr.tobytes() + b"\0" * 400))
    longer = StreamedArray([zstream], arr.shape, arr.dtype)
    np.testing.assert_array_equal(longer[0:5], arr[:5])
    with pytest.raises(FormatError, match="more than"):
        longer[0:10]
    tolerant = StreamedArray([DataStream(str(z), arr.nbytes, "zlib")], arr.shape, arr.dtype)
    np.testing.assert_array_equal(tolerant[0:10], arr)  # the surplus is ignored
    z.write_bytes(b"not a zlib stream at all" * 10)
    with pytest.raises(FormatError, match="corrupt"):
        StreamedArray([zstream], arr.shape, arr.dtype)[0:1]
    gone = DataStream(str(tmp_path / "gone"), arr.nbytes)
    with pytest.raises(PathNotFoundError):
        StreamedArray([gone], arr.shape, arr.dtype)[0:1, 0:1]


# ---------------------------------------------------------------- what read_box reads
@pytest.mark.parametrize("seed", range(4))
def test_read_box_reads_forward_once_per_plane_at_most(seed: int) -> None:
    """Random selections of a 4-D array: the values match numpy; the reads move forward
    without overlap, stay inside the rows of the selection's first and last byte, number
    at most one per plane (index of all axes but the last two); a
    selection that is one contiguous range of the data is exactly one read of it."""
    rng = np.random.default_rng(seed)
    shape = (3, 4, 5, 6)
    ref = np.arange(np.prod(shape), dtype="<i4").reshape(shape)
    data = ref.tobytes()
    for _ in range(200):
        key = []
        for n in shape:
            pick = rng.integers(3)
            if pick == 0:
                key.append(int(rng.integers(n)))
            elif pick == 1:
                key.append(slice(None))
            else:
                a, b = sorted(rng.integers(0, n + 1, 2))
                key.append(slice(int(a), int(b), int(rng.choice([1, 1, 2, -1]))))
        want = ref[tuple(key)]
        if want.size == 0:
            continue
        reads: list[tuple[int, int]] = []

        def fill(start: int, view: memoryview, reads: list[tuple[int, int]] = reads) -> None:
            reads.append((start, view.nbytes))
            view[:] = data[start:start + view.nbytes]

        ranges, post = selection_ranges(tuple(key), shape)
        got = read_box(shape, ranges, ref.dtype, fill)
        np.testing.assert_array_equal(got[post], want, err_msg=str(key))
        ends = [s + n for s, n in reads]
        assert all(e <= s for e, (s, _) in zip(ends, reads[1:], strict=False)), key
        lo, hi = int(want.min()) * 4, (int(want.max()) + 1) * 4
        row = 4 * shape[-1]  # whole rows: from the start of the first to the end of the last
        assert lo // row * row <= reads[0][0] and ends[-1] <= -(-hi // row) * row, key
        planes = {tuple(i) for i in np.argwhere(np.ones(got.shape[:2], bool))}
        assert len(reads) <= len(planes), key
        flat = np.sort(want.ravel())
        if (np.diff(flat) == 1).all():
            assert reads == [(lo, hi - lo)], key
