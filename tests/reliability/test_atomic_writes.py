"""Atomic, non-destructive writes for every writer.

Faults injected in the middle of a write — a failing dask task, a full disk (a patched
``open`` whose writes raise ``OSError(ENOSPC)``), a ``KeyboardInterrupt`` — must leave no
destination and no stray temporary files; an existing destination is never touched
without ``overwrite=True``, and with it the old data are replaced only after the new
write has completed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import pytest
from _faults import InjectedFault, disk_full_after, failing_dask_image, listing

import spatial_xr
from spatial_xr.errors import OverwriteError

SHAPE = (6, 7, 8)  # z, y, x
CHUNKS = (2, 7, 8)  # three z slabs


@dataclass(frozen=True)
class Writer:
    name: str
    dest: str
    write: Callable[..., Any]
    read: Callable[[Path], np.ndarray]


def _nifti_write(da: Any, path: Path, overwrite: bool = False) -> None:
    from spatial_xr.io.nifti import write_nifti

    write_nifti(da, path, overwrite=overwrite)


def _read_values(path: Path) -> np.ndarray:
    return np.asarray(spatial_xr.open_image(path).values)


def _dicom_write(da: Any, path: Path, overwrite: bool = False) -> None:
    from spatial_xr.io.dicom import write_dicom_series

    write_dicom_series(da, path, overwrite=overwrite)


def _omezarr_write(version: str) -> Callable[..., None]:
    def write(da: Any, path: Path, overwrite: bool = False) -> None:
        from spatial_xr.io.omezarr.write import to_ome_zarr

        to_ome_zarr(da, path, version=version, pyramid=False, chunks=4, overwrite=overwrite)

    return write


WRITERS = [
    Writer("nifti", "out.nii", _nifti_write, _read_values),
    Writer("nifti-gz", "out.nii.gz", _nifti_write, _read_values),
    Writer("dicom", "series", _dicom_write, _read_values),
    Writer("omezarr-0.5", "out.ome.zarr", _omezarr_write("0.5"), _read_values),
    Writer("omezarr-0.4", "out04.ome.zarr", _omezarr_write("0.4"), _read_values),
]


def image(data: Any) -> Any:
    return spatial_xr.from_array(data, spacing=(2.0, 1.0, 0.5), origin=(1.0, 2.0, 3.0))


def good_data(offset: int = 0) -> dsa.Array:
    return (dsa.arange(np.prod(SHAPE), dtype=np.int16, chunks=-1).reshape(SHAPE)
            .rechunk(CHUNKS) + offset)


@pytest.fixture(params=WRITERS, ids=[w.name for w in WRITERS])
def writer(request: pytest.FixtureRequest) -> Writer:
    return request.param


FAULT_COUNT = {"cases": 0}


def _expect_clean(folder: Path, before: dict[str, bytes | None]) -> None:
    FAULT_COUNT["cases"] += 1
    assert listing(folder) == before, "a fault left the folder changed"


@pytest.mark.parametrize("fail_block", [0, 1, 2])
def test_failing_dask_task_leaves_nothing(writer: Writer, tmp_path: Path,
                                          fail_block: int) -> None:
    before = listing(tmp_path)
    da = image(failing_dask_image(SHAPE, CHUNKS, fail_block))
    with pytest.raises(InjectedFault), dask.config.set(scheduler="threads"):
        writer.write(da, tmp_path / writer.dest)
    _expect_clean(tmp_path, before)


UID_SLACK = 64 * SHAPE[0]
"""Bytes by which two writes of the same series can differ (UID lengths, per file)."""


def _bytes_written(writer: Writer, folder: Path) -> int:
    """How many bytes a complete write of the test image writes (through ``open``)."""
    big = 1 << 40
    with disk_full_after(folder, big) as budget:
        writer.write(image(good_data()), folder / writer.dest)
    return big - budget[0]


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9, 0.999])
def test_disk_full_mid_write_leaves_nothing(writer: Writer, tmp_path: Path,
                                            fraction: float) -> None:
    total = _bytes_written(writer, tmp_path / "measure")
    # a DICOM series gets fresh UIDs of varying length (up to 64 characters) on every
    # write, so the second write may be a few bytes shorter than the measured one
    slack = UID_SLACK if writer.name == "dicom" else 0
    budget = min(int(total * fraction), total - slack)
    folder = tmp_path / "dest"
    folder.mkdir()
    before = listing(folder)
    with disk_full_after(folder, budget), pytest.raises(OSError) as info:
        writer.write(image(good_data()), folder / writer.dest)
    # pydicom re-raises write errors as a plain OSError that keeps only the message
    assert info.value.errno == errno.ENOSPC or os.strerror(errno.ENOSPC) in str(info.value)
    _expect_clean(folder, before)


def test_keyboard_interrupt_mid_write_leaves_nothing(writer: Writer, tmp_path: Path) -> None:
    def interrupt(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info is not None and block_info[0]["chunk-location"][0] == 1:
            raise KeyboardInterrupt
        return block

    before = listing(tmp_path)
    da = image(good_data().map_blocks(interrupt, dtype=np.int16))
    with pytest.raises(KeyboardInterrupt), dask.config.set(scheduler="synchronous"):
        writer.write(da, tmp_path / writer.dest)
    _expect_clean(tmp_path, before)


def test_existing_destination_untouched_without_overwrite(writer: Writer,
                                                          tmp_path: Path) -> None:
    dest = tmp_path / writer.dest
    writer.write(image(good_data()), dest)
    before = listing(tmp_path)
    with pytest.raises(OverwriteError, match="overwrite=True"):
        writer.write(image(good_data(5)), dest)
    _expect_clean(tmp_path, before)


def test_failed_overwrite_keeps_old_data(writer: Writer, tmp_path: Path) -> None:
    dest = tmp_path / writer.dest
    writer.write(image(good_data()), dest)
    before = listing(tmp_path)
    with pytest.raises(InjectedFault), dask.config.set(scheduler="threads"):
        writer.write(image(failing_dask_image(SHAPE, CHUNKS, 2)), dest, overwrite=True)
    _expect_clean(tmp_path, before)
    total = _bytes_written(writer, tmp_path / "measure")
    with disk_full_after(tmp_path, total // 2), pytest.raises(OSError):
        writer.write(image(good_data(9)), dest, overwrite=True)
    _expect_clean(tmp_path, {**before, **listing(tmp_path / "measure", "measure")})
    np.testing.assert_array_equal(writer.read(dest), good_data().compute())


def test_overwrite_replaces_only_after_success(writer: Writer, tmp_path: Path) -> None:
    """While the new data are being computed, the destination still holds the old data;
    after success it holds the new data and nothing else is left in the folder."""
    dest = tmp_path / writer.dest
    writer.write(image(good_data()), dest)
    old = listing(tmp_path)
    seen: list[bool] = []

    def peek(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info is not None:
            seen.append(listing(tmp_path).get(writer.dest) == old.get(writer.dest)
                         and np.array_equal(writer.read(dest), good_data().compute()))
        return block

    new = image(good_data(3).map_blocks(peek, dtype=np.int16))
    with dask.config.set(scheduler="synchronous"):
        writer.write(new, dest, overwrite=True)
    assert seen and all(seen)
    np.testing.assert_array_equal(writer.read(dest), good_data(3).compute())
    names = {p.split("/")[0] for p in listing(tmp_path)}
    assert names == {writer.dest}


def test_destination_appearing_during_write_is_not_overwritten(writer: Writer,
                                                               tmp_path: Path) -> None:
    dest = tmp_path / writer.dest
    other = tmp_path / "elsewhere" / writer.dest
    writer.write(image(good_data(7)), other)  # a valid output written by "someone else"

    def race(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info is not None and not dest.exists():
            other.rename(dest)
        return block

    with pytest.raises(OverwriteError), dask.config.set(scheduler="synchronous"):
        writer.write(image(good_data().map_blocks(race, dtype=np.int16)), dest)
    np.testing.assert_array_equal(writer.read(dest), good_data(7).compute())
    assert {p.split("/")[0] for p in listing(tmp_path)} == {writer.dest, "elsewhere"}
