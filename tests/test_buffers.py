"""Large result arrays from a plain anonymous mapping (spatial_xr/buffers.py)."""

from __future__ import annotations

import mmap
import os
import pickle

import nibabel as nib
import numpy as np
import pytest

import spatial_xr
from spatial_xr import buffers


def _owner(arr: np.ndarray) -> object:
    base: object = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_small_arrays_are_plain_numpy() -> None:
    arr = buffers.empty((4, 4), np.float32)
    assert arr.base is None and arr.shape == (4, 4) and arr.dtype == np.float32


@pytest.mark.parametrize("shape", [1000, (10, 20, 30)])
def test_large_arrays_are_mapped_writeable_and_picklable(monkeypatch, shape) -> None:
    monkeypatch.setattr(buffers, "MAPPED_BYTES", 64)
    arr = buffers.empty(shape, np.int16)
    assert isinstance(_owner(arr), mmap.mmap)
    assert arr.flags.writeable and arr.flags.c_contiguous
    assert arr.shape == ((shape,) if isinstance(shape, int) else shape)
    arr[...] = 7
    back = pickle.loads(pickle.dumps(arr))
    np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_read_into_a_mapped_buffer_matches_nibabel(tmp_path, monkeypatch, suffix) -> None:
    """A whole-volume read above the threshold lands in a mapped buffer, values as nibabel."""
    rng = np.random.default_rng(5)
    vol = rng.integers(-1000, 3000, size=(20, 18, 16)).astype(np.int16)
    path = tmp_path / f"v{suffix}"
    nib.save(nib.Nifti1Image(vol, np.diag([0.7, 0.8, 2.0, 1.0])), str(path))
    monkeypatch.setattr(buffers, "MAPPED_BYTES", 1024)
    values = spatial_xr.open_image(path).values
    assert isinstance(_owner(values), mmap.mmap)
    np.testing.assert_array_equal(values, np.asarray(nib.load(path).dataobj).T)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_mapping_is_private_to_each_process(monkeypatch) -> None:
    """A forked child writing into an inherited buffer changes its own copy only, as with
    ordinary memory (a shared mapping would change the parent's values)."""
    monkeypatch.setattr(buffers, "MAPPED_BYTES", 64)
    arr = buffers.empty(4096, np.uint8)
    arr[...] = 1
    pid = os.fork()
    if pid == 0:  # child
        arr[...] = 2
        os._exit(0 if int(arr.sum()) == 2 * 4096 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(arr.sum()) == 4096
