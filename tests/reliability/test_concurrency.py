"""The same file read from many threads and processes at once gives identical values.

Three patterns: one lazily opened DataArray computed from many threads at once (they share
one file manager and its lock), many independent ``open_image`` calls in threads, and many
processes each opening and reading the file. Values are compared with nibabel's reading.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import dask
import nibabel as nib
import numpy as np
import pytest

import spatial_xr

THREADS = 8
PROCESSES = 4
SHAPE_XYZ = (40, 30, 24)


@pytest.fixture(scope="module", params=["plain", "gzip"])
def shared_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("concurrent")
    rng = np.random.default_rng(7)
    arr = rng.normal(size=SHAPE_XYZ).astype(np.float32)
    path = folder / ("shared.nii" if request.param == "plain" else "shared.nii.gz")
    nib.save(nib.Nifti1Image(arr, np.diag([1.5, 1.0, 2.0, 1.0])), path)
    return path, np.asarray(nib.load(path).dataobj).T


def _crop_sum(path: str, z: int) -> tuple[float, bytes]:
    """Open, read a z slab and a full compute, in a worker (thread or process)."""
    with dask.config.set(scheduler="synchronous"):
        da = spatial_xr.open_image(path, chunks={"z": 3})
        slab = da.isel(z=slice(z, z + 5)).values
        return float(slab.sum(dtype=np.float64)), da.values.tobytes()


def test_one_dataarray_many_threads(shared_file: tuple[Path, np.ndarray]) -> None:
    path, expected = shared_file
    da = spatial_xr.open_image(path, chunks={"z": 2})  # many tasks share one file handle
    assert da.data.npartitions == SHAPE_XYZ[2] // 2

    def work(i: int) -> np.ndarray:
        with dask.config.set(scheduler="threads", num_workers=4):
            return da.isel(y=slice(i % 5, None)).values

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(3 * THREADS)))
    for i, got in enumerate(results):
        np.testing.assert_array_equal(got, expected[:, i % 5 :, :])


def test_independent_opens_many_threads(shared_file: tuple[Path, np.ndarray]) -> None:
    path, expected = shared_file
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda z: _crop_sum(str(path), z), range(2 * THREADS)))
    for z, (total, raw) in enumerate(results):
        assert total == float(expected[z : z + 5].sum(dtype=np.float64))
        assert raw == expected.tobytes()


def test_many_processes(shared_file: tuple[Path, np.ndarray]) -> None:
    path, expected = shared_file
    assert spatial_xr.open_image(path).values.shape == expected.shape  # parent read it too
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        results = list(pool.map(_crop_sum, [str(path)] * (2 * PROCESSES),
                                range(2 * PROCESSES)))
    for z, (total, raw) in enumerate(results):
        assert total == float(expected[z : z + 5].sum(dtype=np.float64))
        assert raw == expected.tobytes()
