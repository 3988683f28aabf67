"""Physical reference rows: what the machine can do at best with the same bytes.

- memory copy bandwidth: ``numpy.copyto`` of one CT volume's bytes into a second,
  already-touched buffer (read + write of every byte);
- raw file read of the ``.nii`` bytes into a preallocated buffer (``readinto``), warm
  (page cache) and cold (the file's pages evicted first with ``posix_fadvise``);
- gzip decompression of the ``.nii.gz`` with ISA-L (``isal.igzip``, what spatial_xr
  uses when installed) against zlib (``gzip`` module, what nibabel uses).

Each row's note gives the throughput in GB/s of the bytes moved (10⁹ bytes/s).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Case, Side

M = "benchmarks.cases.reference"


def memcpy(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np

    nbytes = os.path.getsize(p["input_path"])
    src = np.ones(nbytes // 2, np.int16)
    dst = np.zeros_like(src)

    def run() -> Any:
        np.copyto(dst, src)
        return {"summary": None, "extra": {"bytes": int(src.nbytes)}}

    return run


def raw_read(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np

    path = p["input_path"]
    buf = np.zeros(os.path.getsize(path), np.uint8)  # touched: excluded from the timing

    def run() -> Any:
        with open(path, "rb", buffering=0) as f:
            view = memoryview(buf)
            got = 0
            while got < len(buf):
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
        return {"summary": None, "extra": {"bytes": got}}

    return run


def _decompress(opener: Callable[..., Any], path: str) -> Callable[[], Any]:
    def run() -> Any:
        total = 0
        with opener(path, "rb") as f:
            while True:
                chunk = f.read(16 << 20)
                if not chunk:
                    break
                total += len(chunk)
        return {"summary": total, "extra": {"bytes": total}}

    return run


def gunzip_isal(p: dict[str, Any]) -> Callable[[], Any]:
    from isal import igzip

    return _decompress(igzip.open, p["input_path"])


def gunzip_zlib(p: dict[str, Any]) -> Callable[[], Any]:
    import gzip

    return _decompress(gzip.open, p["input_path"])


CASES = [
    Case("reference: memory copy (one CT volume)", Side("numpy.copyto", f"{M}:memcpy"),
         inputs=("ct_nii",)),
    Case("reference: raw read of the .nii bytes, warm cache", Side("readinto", f"{M}:raw_read"),
         inputs=("ct_nii",)),
    Case("reference: raw read of the .nii bytes, cold cache", Side("readinto", f"{M}:raw_read"),
         inputs=("ct_nii",), cold=True, repeats=3, quick=False),
    Case("reference: gunzip the .nii.gz", Side("isal.igzip", f"{M}:gunzip_isal"),
         peers=[Side("zlib (gzip module)", f"{M}:gunzip_zlib")], inputs=("ct_nii_gz",)),
]
