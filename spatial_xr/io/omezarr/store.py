"""Turn a path, URL, fsspec mapper or Zarr store into a Zarr store, for reading or writing.

Local paths become :class:`zarr.storage.LocalStore`; ``*.ozx`` files and URLs (zipped
OME-Zarr, RFC-9) a read-only :class:`spatial_xr.io.ozx.store.OzxStore`; other URLs (``s3://``, ``gs://``,
``http(s)://``, ``memory://``, …) and fsspec mappers become
:class:`zarr.storage.FsspecStore` with ``storage_options`` handed to fsspec. Stores are
picklable, so dask graphs built on them run on distributed workers.
"""

from __future__ import annotations

import os
from typing import Any

import zarr
import zarr.abc.store
import zarr.storage

from spatial_xr.errors import ParameterError, PathNotFoundError, UnsupportedOptionError, require

__all__ = ["StoreTarget", "describe", "open_store", "resolve_local_path"]

StoreTarget = Any  # str | os.PathLike | fsspec.FSMap | zarr.abc.store.Store


def resolve_local_path(target: StoreTarget) -> str | None:
    """The local file-system path of ``target``, or ``None`` if it is not local."""
    if isinstance(target, os.PathLike):
        return os.fspath(target)
    if isinstance(target, str):
        if target.startswith("file://"):
            return target[len("file://"):]
        if "://" not in target:
            return target
    return None


def describe(target: StoreTarget) -> str:
    """A short human-readable name of ``target`` for messages."""
    if isinstance(target, str | os.PathLike):
        return os.fspath(target)
    root = getattr(target, "root", None) or getattr(target, "path", None)
    return f"{type(target).__name__}({root!r})" if root else repr(target)


def open_store(
    target: StoreTarget,
    *,
    mode: str = "r",
    storage_options: dict[str, Any] | None = None,
) -> zarr.abc.store.Store:
    """A Zarr store for ``target``.

    Parameters
    ----------
    target : str, path-like, fsspec mapper or zarr Store
        Local path, URL understood by fsspec, ``fsspec.FSMap`` or an existing store.
    mode : {"r", "w"}
        Read-only or writable.
    storage_options : dict, optional
        fsspec options for URLs (credentials, ``endpoint_url``, …).

    Raises
    ------
    PathNotFoundError
        A local path to read does not exist.
    DependencyError
        fsspec is missing for a URL or mapper.
    """
    read_only = mode == "r"
    if isinstance(target, zarr.abc.store.Store):
        return target
    if isinstance(target, str | os.PathLike) and \
            os.fspath(target).rstrip("/").lower().endswith(".ozx"):  # zipped OME-Zarr, RFC-9
        from spatial_xr.io.ozx.store import OzxStore

        if not read_only:
            raise UnsupportedOptionError(
                f"{os.fspath(target)!r} names a zipped OME-Zarr (.ozx), which is written whole: "
                "use da.spatial.to_ozx(path) or spatial_xr.write_image(da, path)")
        return OzxStore(target, storage_options)
    local = resolve_local_path(target)
    if local is not None:
        if storage_options:
            raise ParameterError("storage_options= applies to URLs, not to the local path "
                            f"{local!r}; drop it")
        if read_only and not os.path.exists(local):
            raise PathNotFoundError(f"no such OME-Zarr store: {local!r}")
        return zarr.storage.LocalStore(local, read_only=read_only)
    require("fsspec", "remote")
    import fsspec

    if isinstance(target, fsspec.FSMap):
        if storage_options:
            raise ParameterError("storage_options= cannot apply to an fsspec mapper, which is "
                            "already configured; build the mapper with them instead")
        return zarr.storage.FsspecStore.from_mapper(target, read_only=read_only)
    if isinstance(target, str):
        return zarr.storage.FsspecStore.from_url(
            target.rstrip("/"), storage_options=storage_options, read_only=read_only
        )
    raise ParameterError(
        f"cannot open {target!r} as a Zarr store; pass a path, a URL, an fsspec mapper or a "
        "zarr store"
    )
