"""The numba kernels are cached on disk: a new process loads them instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import numpy as np
import spatial_xr
from spatial_xr.ops import _kernels
da = spatial_xr.from_array(np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8), spacing=1.0)
out = da.spatial.resample(spacing=0.7, interpolation="nearest")
stats = _kernels._separable_kernel.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()),
                  "sum": int(out.values.sum())}))
"""


def _run(cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_kernels_load_from_a_user_cache_dir(tmp_path):
    """With ``NUMBA_CACHE_DIR`` (what to set when the package folder is read-only), the
    first process compiles into that folder and the next one loads from it."""
    first = _run(tmp_path)
    assert first["misses"] >= 1 and first["hits"] == 0
    assert list(tmp_path.rglob("_kernels._separable_kernel-*.nbi"))
    second = _run(tmp_path)
    assert second["hits"] >= 1 and second["misses"] == 0
    assert second["sum"] == first["sum"]
