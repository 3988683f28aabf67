"""Box reads of an array stored raw or as one zlib/gzip stream in a byte range of a file."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from spatial_xr.errors import FormatError, ParameterError, PathNotFoundError
from spatial_xr.io.byterange import ByteRangeArray, covering_box, cut_box


def _stored(tmp_path: Path, arr: np.ndarray, codec: str, wrap=None) -> ByteRangeArray:
    payload = arr.tobytes()
    if codec == "zlib":
        payload = (wrap or zlib.compress)(payload)
    path = tmp_path / f"data-{codec}.bin"
    path.write_bytes(b"HEADER" * 7 + payload + b"trailer")
    return ByteRangeArray(str(path), 42, arr.shape, arr.dtype, codec,  # type: ignore[arg-type]
                          len(payload) if codec == "zlib" else None)


@pytest.mark.parametrize("codec", ["raw", "zlib"])
@pytest.mark.parametrize("seed", range(4))
def test_random_boxes_and_indices_match_numpy(tmp_path: Path, codec: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 9, rng.integers(2, 5)))
    arr = rng.integers(-30000, 30000, shape).astype(">i2" if seed % 2 else "<f8")
    stored = _stored(tmp_path, arr, codec)
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
        box, post = covering_box(tuple(key), shape)
        got = cut_box(stored.read_box(box), post)
        expected = arr
        axis = 0
        for k in key:  # orthogonal indexing, one axis at a time
            sel = [slice(None)] * expected.ndim
            sel[axis] = k
            expected = expected[tuple(sel)]
            if not isinstance(k, int):
                axis += 1
        np.testing.assert_array_equal(got, expected)


def test_gzip_streams_are_read_too(tmp_path: Path) -> None:
    arr = np.arange(4 * 5 * 6, dtype=np.uint16).reshape(4, 5, 6)
    stored = _stored(tmp_path, arr, "zlib", wrap=gzip.compress)
    np.testing.assert_array_equal(stored.read_box([range(1, 3), range(0, 5), range(2, 4)]),
                                  arr[1:3, :, 2:4])


def test_keys_outside_the_array_name_the_axis(tmp_path: Path) -> None:
    """As numpy refuses them (numpy is the oracle for the in-range keys above)."""
    arr = np.arange(4 * 5, dtype=np.int16).reshape(4, 5)
    for key in [(4, slice(None)), (slice(None), [0, 5]), (-5, 0)]:
        with pytest.raises(IndexError):
            arr[key]
        with pytest.raises(ParameterError, match="out of bounds for an axis of size"):
            covering_box(key, arr.shape)
    with pytest.raises(ParameterError, match="box has 1 axes, the array 2"):
        _stored(tmp_path, arr, "raw").read_box([range(0, 1)])


def test_truncated_oversized_and_missing(tmp_path: Path) -> None:
    arr = np.arange(1000, dtype=np.float32).reshape(10, 100)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(arr.tobytes()[:-8])
    stored = ByteRangeArray(str(raw), 0, arr.shape, arr.dtype)
    np.testing.assert_array_equal(stored.read_box([range(0, 2), range(0, 100)]), arr[:2])
    with pytest.raises(FormatError, match="truncated"):
        stored.read_box([range(9, 10), range(0, 100)])
    z = tmp_path / "z.bin"
    z.write_bytes(zlib.compress(arr.tobytes())[:-30])
    with pytest.raises(FormatError, match="truncated"):
        ByteRangeArray(str(z), 0, arr.shape, arr.dtype, "zlib").read_box(
            [range(0, 10), range(0, 100)])
    z.write_bytes(zlib.compress(arr.tobytes() + b"\0" * 400))
    longer = ByteRangeArray(str(z), 0, arr.shape, arr.dtype, "zlib")
    np.testing.assert_array_equal(longer.read_box([range(0, 5), range(0, 100)]), arr[:5])
    with pytest.raises(FormatError, match="more than"):
        longer.read_box([range(0, 10), range(0, 100)])
    z.write_bytes(b"not a zlib stream at all" * 10)
    with pytest.raises(FormatError, match="corrupt"):
        ByteRangeArray(str(z), 0, arr.shape, arr.dtype, "zlib").read_box(
            [range(0, 1), range(0, 100)])
    with pytest.raises(PathNotFoundError):
        ByteRangeArray(str(tmp_path / "gone"), 0, arr.shape, arr.dtype).read_box(
            [range(0, 1), range(0, 1)])
