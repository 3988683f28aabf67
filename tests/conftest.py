"""Fixtures shared by the whole suite."""

from __future__ import annotations

import socket
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on 127.0.0.1 with a bucket ``test-bucket``; yields storage_options."""
    import s3fs
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        "skip_instance_cache": True,
    }
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="test-bucket")
    assert s3fs.S3FileSystem(**options).exists("test-bucket")
    yield options
    server.stop()
