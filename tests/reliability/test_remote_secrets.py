"""Remote credentials: secrets given in ``storage_options`` never appear in attrs, reprs,
error messages or the metadata written to the store (an S3 server run locally by moto)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import OverwriteError, SpatialXRError

KEY_ID = "AKIAQUIETLYSECRET42"
SECRET = "s3cr3t/Wombat+Plinth+Quasar/9f8e7d6c5b4a"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN-Marmalade-Xylophone"
SECRETS = [KEY_ID, SECRET, TOKEN, "Wombat+Plinth", "Marmalade-Xylophone"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    """A local moto S3 server with a bucket; yields storage_options holding the secrets."""
    pytest.importorskip("moto")
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
                 ).create_bucket(Bucket="vault")
    yield {"key": KEY_ID, "secret": SECRET, "token": TOKEN, "skip_instance_cache": True,
           "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
    server.stop()


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        return [s for s in SECRETS if s.encode() in text]
    return [s for s in SECRETS if s in text]


def _texts(obj: Any) -> list[str]:
    out = [repr(obj), str(obj)]
    if hasattr(obj, "_repr_html_"):
        out.append(obj._repr_html_())
    if hasattr(obj, "attrs"):
        out.append(json.dumps(obj.attrs, default=str))
    if hasattr(obj, "coords"):
        out.extend(json.dumps(obj.coords[c].attrs, default=str) for c in obj.coords)
    return out


def test_secrets_stay_out_of_attrs_reprs_and_written_metadata(s3: dict[str, Any]) -> None:
    import s3fs

    da = spatial_xr.from_array(np.arange(4 * 6 * 8, dtype=np.int16).reshape(4, 6, 8),
                               spacing=(2.0, 1.0, 0.5))
    for version in ("0.5", "0.4"):
        url = f"s3://vault/img{version}.ome.zarr"
        da.spatial.to_ome_zarr(url, version=version, levels=2, storage_options=s3)
        back = spatial_xr.open_image(url, storage_options=s3)
        np.testing.assert_array_equal(back.values, da.values)
        tree = spatial_xr.open_multiscale(url, storage_options=s3)
        for text in [*_texts(back), *_texts(tree), repr(back.data), repr(tree["scale0"])]:
            assert not leaks(text), text
        fs = s3fs.S3FileSystem(**s3)
        objects = fs.find(f"vault/img{version}.ome.zarr")
        assert any(o.endswith(("zarr.json", ".zattrs")) for o in objects)
        for obj in objects:
            assert not leaks(fs.cat_file(obj)), obj


@pytest.mark.parametrize("problem", ["missing", "not_ome", "unreachable", "overwrite"])
def test_secrets_stay_out_of_error_messages(s3: dict[str, Any], problem: str) -> None:
    import s3fs

    options = dict(s3)
    url = "s3://vault/missing.ome.zarr"
    if problem == "not_ome":
        fs = s3fs.S3FileSystem(**s3)
        fs.pipe("vault/plain.zarr/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
        url = "s3://vault/plain.zarr"
    if problem == "unreachable":
        options["client_kwargs"] = {"endpoint_url": f"http://127.0.0.1:{_free_port()}",
                                    "region_name": "us-east-1"}
        options["config_kwargs"] = {"connect_timeout": 1, "retries": {"max_attempts": 1}}
    if problem == "overwrite":
        url = "s3://vault/taken.ome.zarr"
        da = spatial_xr.from_array(np.zeros((2, 3, 4), np.uint8))
        da.spatial.to_ome_zarr(url, pyramid=False, storage_options=s3)
        with pytest.raises(OverwriteError) as info:
            da.spatial.to_ome_zarr(url, pyramid=False, storage_options=options)
    else:
        with pytest.raises(Exception) as info:
            spatial_xr.open_image(url, storage_options=options).compute()
    exc = info.value
    chain = []
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert isinstance(chain[0], SpatialXRError), repr(chain[0])
    for e in chain:
        assert not leaks(str(e)), f"{type(e).__name__}: {e}"
        assert not leaks(repr(e))
