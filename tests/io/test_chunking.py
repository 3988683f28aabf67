"""Default z chunking of the file readers."""

from __future__ import annotations

import dask

from spatial_xr.io.chunking import WHOLE_VOLUME_BYTES, default_z_chunk


def test_moderate_volume_is_one_chunk() -> None:
    assert default_z_chunk(300, 512 * 512 * 2) == 300  # 150 MiB
    assert default_z_chunk(300, 512 * 512 * 4) == 300  # 300 MiB
    assert default_z_chunk(1, 10) == 1
    n = WHOLE_VOLUME_BYTES // (512 * 512 * 2)
    assert default_z_chunk(n, 512 * 512 * 2) == n


def test_large_volume_is_cut_into_slabs_of_the_dask_chunk_size() -> None:
    with dask.config.set({"array.chunk-size": "64MiB"}):
        assert default_z_chunk(2048, 512 * 512 * 2) == 128
        assert default_z_chunk(2, 600 << 20) == 1  # one slice bigger than a chunk
