"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spatial_xr  # noqa: F401  (registers the accessor)


@pytest.fixture(scope="session")
def nibabel_data() -> Path:
    """nibabel's bundled test files (real NIfTI written by other software)."""
    import nibabel

    return Path(nibabel.__file__).parent / "tests" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def dask_client():  # type: ignore[no-untyped-def]
    """A dask.distributed client on a LocalCluster of 2 worker processes, shared by the
    session. Not set as the default scheduler: compute with ``scheduler=dask_client.get``
    or ``dask_client.compute``."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield client
