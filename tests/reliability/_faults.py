"""Fault injection for writers: a full disk (ENOSPC after a byte budget) and failing dask
tasks. Used by the atomic-write tests of every writer."""

from __future__ import annotations

import builtins
import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask.array as dsa
import numpy as np


class _FullDiskFile:
    """File wrapper whose writes fail with ENOSPC once the shared budget is spent."""

    def __init__(self, raw: Any, budget: list[int]) -> None:
        self._raw = raw
        self._budget = budget

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        if n > self._budget[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget[0] -= n
        return self._raw.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __enter__(self) -> _FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)


@contextmanager
def disk_full_after(root: Path, nbytes: int) -> Iterator[list[int]]:
    """Make every file opened for writing under ``root`` (through ``open``/``io.open``/
    ``Path.open``) fail with ``OSError(ENOSPC)`` once ``nbytes`` bytes in total have been
    written. Yields the remaining budget (a one-item list)."""
    budget = [int(nbytes)]
    real_open = builtins.open
    root = Path(root).resolve()

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        writing = any(c in mode for c in "wax+")
        if writing and isinstance(file, str | os.PathLike):
            path = Path(os.fspath(file)).resolve()
            if root == path or root in path.parents:
                return _FullDiskFile(handle, budget)
        return handle

    builtins.open = fake_open
    io.open = fake_open
    try:
        yield budget
    finally:
        builtins.open = real_open
        io.open = real_open


class InjectedFault(RuntimeError):
    """Raised by a dask task on purpose."""


def failing_dask_image(shape: tuple[int, ...], chunks: tuple[int, ...], fail_block: int,
                       dtype: Any = np.int16) -> dsa.Array:
    """A dask array whose block number ``fail_block`` (in flat block order) raises
    :class:`InjectedFault` when computed; the other blocks hold ``arange`` values."""
    base = dsa.arange(int(np.prod(shape)), dtype=dtype).reshape(shape).rechunk(chunks)
    nblocks = base.numblocks

    def maybe_fail(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        if block_info is not None:
            loc = block_info[0]["chunk-location"]
            if int(np.ravel_multi_index(loc, nblocks)) == fail_block:
                raise InjectedFault(f"injected failure in block {loc}")
        return block

    return base.map_blocks(maybe_fail, dtype=dtype)


def listing(folder: Path, prefix: str = "") -> dict[str, bytes | None]:
    """Every path under ``folder`` (hidden ones too) with file contents (None for dirs),
    keyed by relative path (after ``prefix/`` if given)."""
    out: dict[str, bytes | None] = {}
    if prefix:
        out[prefix] = None
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        rel = f"{prefix}/{rel}" if prefix else rel
        out[rel] = path.read_bytes() if path.is_file() else None
    return out
