"""Out-of-core writing: a volume larger than the process may address is written whole."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np, dask, dask.array as dsa
    import spatial_xr as sx
    import zarr.codecs, numcodecs  # noqa: F401  (imported before the limit)

    n, limit_mb, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))

    def block(block_info=None):
        loc = block_info[None]["array-location"]
        z, y, x = (np.arange(a, b, dtype=np.float32) for a, b in loc)
        v = 1000 * np.sin(z[:, None, None] / 20) * np.cos(y[None, :, None] / 30)
        return (v + 500 * np.sin(x / 25)).astype("int16")

    data = dsa.map_blocks(block, dtype="int16", chunks=((64,) * (n // 64),) * 3)
    da = sx.from_array(data, spacing=(1.0, 0.7, 0.7))
    with dask.config.set(num_workers=2):
        da.spatial.to_ome_zarr(out, chunks=64)
    check = sx.open_image(out, level=1)[::37, ::41, ::43].values
    ref = da.spatial.pyramid(chunks=64).spatial.level(1)[::37, ::41, ::43].values
    assert (check == ref).all()
    print(da.nbytes // 2**20)
    """
)


@pytest.mark.slow
def test_volume_larger_than_address_space_limit(tmp_path):
    n, limit_mb = 768, 1100  # 864 MiB of voxels; ~360 MiB of the limit is the interpreter
    out = tmp_path / "big.ome.zarr"
    env = dict(os.environ, MALLOC_ARENA_MAX="2", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(n), str(limit_mb), str(out)],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert int(run.stdout.split()[-1]) == 864
    assert (out / "scale0" / "image" / "zarr.json").exists()
