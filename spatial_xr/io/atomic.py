"""Atomic, non-destructive output: write beside the destination, rename when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from spatial_xr.errors import FormatError, OverwriteError

__all__ = ["atomic_output", "check_overwrite"]

_SETTLE_SECONDS = 0.2
"""After a failed write, how long the removed temporary must stay absent (see _remove)."""


def check_overwrite(path: str | os.PathLike[str], overwrite: bool) -> None:
    """Raise :class:`OverwriteError` if ``path`` exists and ``overwrite`` is False."""
    if os.path.lexists(path) and not overwrite:
        raise OverwriteError(
            f"{os.fspath(path)!r} already exists; pass overwrite=True to replace it, or choose "
            "another destination"
        )


def _remove(path: Path, settle: float = 0.0, attempts: int = 100) -> None:
    """Remove a file or folder. With ``settle > 0`` (the failure path) a folder is removed
    again until it stays absent for ``settle`` seconds: tasks of a failed dask computation
    that were already running may still write chunks into it after the error surfaced."""
    for _ in range(attempts if settle > 0 else 1):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if settle <= 0:
            return
        time.sleep(settle)
        if not os.path.lexists(path):
            return


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place if the block succeeds.

    The temporary (file or folder) lives in the destination's folder, so the final
    ``os.replace`` is a rename on the same file system. If the block raises, the temporary
    is removed and the destination is untouched. With ``overwrite=True`` an existing
    destination is replaced only after the new output is complete.

    Parameters
    ----------
    path : str or path-like
        Final destination (file or folder).
    overwrite : bool
        Allow replacing an existing destination.

    Raises
    ------
    OverwriteError
        ``path`` exists and ``overwrite`` is False (checked before anything is written).
    """
    dest = Path(path)
    check_overwrite(dest, overwrite)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = dest.with_name(f".{dest.name}.partial-{tag}")
    try:
        yield tmp
    except BaseException:
        _remove(tmp, settle=_SETTLE_SECONDS)
        raise
    if not os.path.lexists(tmp):
        raise FormatError(f"the writer produced nothing at {tmp}, so {dest} was left unchanged")
    if os.path.lexists(dest):
        if not overwrite:  # appeared while we wrote
            _remove(tmp)
            check_overwrite(dest, overwrite)
        old = dest.with_name(f".{dest.name}.old-{tag}")
        os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except BaseException:
            os.replace(old, dest)
            _remove(tmp)
            raise
        _remove(old)
    else:
        os.replace(tmp, dest)
