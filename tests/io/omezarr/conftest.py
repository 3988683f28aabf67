"""Shared fixtures of the OME-Zarr tests: images with known geometry, an S3 server."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import spatial_xr as sx

OBLIQUE = Rotation.from_euler("xyz", [10.0, 20.0, 30.0], degrees=True).as_matrix()

DIRECTIONS = {
    "identity": np.eye(3),
    "flipped": np.diag([-1.0, -1.0, 1.0]),
    "permuted": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    "signed_permutation_det_neg": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0],
                                            [0.0, 0.0, 1.0]]) @ np.diag([1.0, 1.0, -1.0]),
    "oblique": OBLIQUE,
    "oblique_det_neg": OBLIQUE @ np.diag([1.0, -1.0, 1.0]),
}


def make_image(shape=(12, 20, 18), direction=None, dims=None, dtype="int16", seed=0,
               spacing=None, origin=None):
    """A random image with a distinctive geometry (spacing, origin, direction)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(-500, 3000, size=shape).astype(dtype)
    dims = dims or {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("t", "z", "y", "x"),
                    5: ("t", "c", "z", "y", "x")}[len(shape)]
    n = sum(d in "zyx" for d in dims)
    if spacing is None:
        spacing = (2.5, 0.7, 0.9)[-n:]
    if origin is None:
        origin = (-12.25, 7.5, 31.0)[:n]
    if direction is not None:
        direction = np.asarray(direction)[:n, :n]
    return sx.from_array(data, spacing=spacing, origin=origin, direction=direction, dims=dims)


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
