"""FreshReadArray: no copy of a reader's single-chunk result, dask's copy otherwise."""

from __future__ import annotations

import dask.array as dsa
import numpy as np

from spatial_xr.io._dask import FreshReadArray, fresh_read_array


class Reader:
    """A lazy array that returns a new buffer at every read (as the file readers do),
    remembering the buffers it handed out."""

    def __init__(self, shape: tuple[int, ...], readonly: bool = False) -> None:
        self.shape, self.ndim, self.dtype = shape, len(shape), np.dtype(np.int32)
        self.readonly = readonly
        self.given: list[np.ndarray] = []

    def __getitem__(self, key: object) -> np.ndarray:
        out = np.arange(int(np.prod(self.shape)), dtype=self.dtype).reshape(self.shape)[key]
        out = np.array(out)
        out.flags.writeable = not self.readonly
        self.given.append(out)
        return out


def _wrap(reader: Reader, chunks: tuple[int, ...]) -> FreshReadArray:
    arr = dsa.from_array(reader, chunks=chunks, asarray=False, fancy=True,
                         meta=np.empty((0,) * reader.ndim, reader.dtype))
    return fresh_read_array(arr)


def test_single_chunk_result_is_the_read_buffer() -> None:
    reader = Reader((4, 5))
    arr = _wrap(reader, (4, 5))
    assert isinstance(arr, FreshReadArray) and isinstance(arr, dsa.Array)
    got = arr.compute()
    assert any(got is g for g in reader.given)  # handed over, not copied
    again = arr.compute()
    assert not np.shares_memory(got, again)  # every compute reads again
    np.testing.assert_array_equal(got, np.arange(20).reshape(4, 5))


def test_other_results_keep_dasks_copy() -> None:
    ro = Reader((4, 5), readonly=True)
    got = _wrap(ro, (4, 5)).compute()
    assert got.flags.writeable and not any(np.shares_memory(got, g) for g in ro.given)
    many = Reader((4, 5))
    got = _wrap(many, (2, 5)).compute()  # several chunks: concatenated by dask
    np.testing.assert_array_equal(got, np.arange(20).reshape(4, 5))
    derived = _wrap(Reader((4, 5)), (4, 5)) + 1
    assert type(derived) is dsa.Array
