"""A 64³ patch from a large OME-Zarr store: only the chunks it touches are read.

The store is the out-of-core volume written as one OME-Zarr 0.5 level with 128³ chunks
(4 GiB of int16 in the full profile). Our side opens it with ``spatial_xr.open_image``
(metadata, geometry, a lazy DataArray) and computes a 64³ patch; the peer is plain
zarr-python slicing the level's array. Each side reports the bytes its process read
during ``run()`` (``rchar`` from ``/proc/self/io``) against the size of the chunk files
the patch touches: one chunk when the patch lies inside a chunk, eight when it straddles
chunk corners (the second case).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum, reader_registered, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.patch"
CHUNK = 128


def _bytes_read() -> int:
    """Bytes this process has read through read-like system calls so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no rchar line")


def _patch(shape: tuple[int, ...], straddle: bool) -> tuple[slice, ...]:
    """64³ (or smaller) patch near the centre: inside one chunk, or across a chunk corner."""
    out = []
    for n in shape:
        size = min(64, n)
        if straddle:
            start = max(0, min(n - size, (n // 2 // CHUNK) * CHUNK - size // 2))
        else:
            start = max(0, min(n - size, (n // 2 // CHUNK) * CHUNK + (CHUNK - size) // 2))
        out.append(slice(start, start + size))
    return tuple(out)


def _touched_bytes(level: Path, sl: tuple[slice, ...]) -> tuple[int, int]:
    """Number and total size of the chunk files that the patch ``sl`` touches."""
    import itertools

    ranges = [range(s.start // CHUNK, (s.stop - 1) // CHUNK + 1) for s in sl]
    files = [level / "c" / "/".join(map(str, idx)) for idx in itertools.product(*ranges)]
    return len(files), sum(f.stat().st_size for f in files if f.exists())


def _note(before: int, level: Path, sl: tuple[slice, ...]) -> dict[str, Any]:
    got = _bytes_read() - before
    n, size = _touched_bytes(level, sl)
    return {"note": f"read {got / 2**20:.2f} MiB; the {n} chunk file(s) the patch touches "
                    f"hold {size / 2**20:.2f} MiB"}


def _level(p: dict[str, Any]) -> Path:
    return Path(p["input_path"]) / "scale0" / "image"


def ours(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    straddle = bool(p.get("straddle"))
    warm = spatial_xr.open_image(p["input_path"])
    warm.isel(z=slice(0, 2), y=slice(0, 2), x=slice(0, 2)).values  # noqa: B018  codecs loaded

    def run() -> Any:
        before = _bytes_read()
        da = spatial_xr.open_image(p["input_path"])
        sl = _patch(da.shape, straddle)
        arr = da.isel(z=sl[0], y=sl[1], x=sl[2]).values
        note = _note(before, _level(p), sl)
        return {"summary": checksum(arr), "extra": note}

    return run


def plain_zarr(p: dict[str, Any]) -> Callable[[], Any]:
    import zarr

    straddle = bool(p.get("straddle"))
    zarr.open_array(str(_level(p)), mode="r")[0:2, 0:2, 0:2]

    def run() -> Any:
        before = _bytes_read()
        z = zarr.open_array(str(_level(p)), mode="r")
        sl = _patch(z.shape, straddle)
        arr = z[sl]
        note = _note(before, _level(p), sl)
        return {"summary": checksum(arr), "extra": note}

    return run


def _available() -> str | None:
    return reader_registered("omezarr")


CASES = [
    Case(f"64³ patch from the big OME-Zarr store ({where})",
         Side("spatial_xr", f"{M}:ours", params={"straddle": straddle}),
         peers=[Side("zarr-python", f"{M}:plain_zarr", params={"straddle": straddle})],
         inputs=("big_omezarr",), requires=_available)
    for where, straddle in (("inside one chunk", False), ("across a chunk corner", True))
]
