"""A read-only Zarr store over a ZIP file, local or remote, that reads each key's bytes
with one request of exactly those bytes.

:class:`OzxStore` reads the archive's central directory once (the file's tail, see
:mod:`spatial_xr.io.ozx.zipindex`), then serves every key, and every byte range of a key
(the shard index and inner chunks of sharded arrays), as a range read of the file: a local
``pread`` or an fsspec ``cat_file`` with start and end (an HTTP range request, an S3
ranged GET). Python's ``zipfile`` (and so ``zarr.storage.ZipStore``) would instead read a
shard from its start up to any byte range inside it.

The store pickles as its source (path or URL and storage options): dask graphs built on
it run on distributed workers, each process reading the directory once (cached per
process, keyed by source and file size).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import (
    ByteRequest,
    OffsetByteRequest,
    RangeByteRequest,
    Store,
    SuffixByteRequest,
)
from zarr.core.buffer import Buffer, BufferPrototype

from spatial_xr.errors import (
    FormatError,
    ParameterError,
    PathNotFoundError,
    RemoteAccessError,
    UnsupportedOptionError,
    require,
)
from spatial_xr.io.ozx.zipindex import ZipIndex, entry_bytes, read_index

__all__ = ["OzxStore", "ozx_comment"]

_INDEX_CACHE: OrderedDict[tuple[Any, ...], ZipIndex] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def ozx_comment(index: ZipIndex) -> dict[str, Any] | None:
    """The RFC-9 archive comment (``{"ome": {"version": …}}``) as JSON, if it is one."""
    try:
        value = json.loads(index.comment.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("ome"), dict) else None


class OzxStore(Store):
    """Read-only Zarr store over a zipped OME-Zarr (``.ozx``) or any ZIP of a Zarr store.

    Parameters
    ----------
    source : str or path-like
        Local path or URL (``https://``, ``s3://``, … through fsspec).
    storage_options : dict, optional
        fsspec options for URLs (credentials, ``endpoint_url``, …).

    Raises
    ------
    PathNotFoundError
        A local file that does not exist.
    FormatError
        Not a ZIP file, or no Zarr metadata at the archive's root (RFC-9 requires the
        root ``zarr.json`` there).
    RemoteAccessError
        A URL that cannot be read.
    """

    supports_writes = False
    supports_deletes = False
    supports_listing = True

    def __init__(self, source: str | os.PathLike[str],
                 storage_options: dict[str, Any] | None = None) -> None:
        super().__init__(read_only=True)
        text = os.fspath(source)
        if text.startswith("file://"):
            text = text[len("file://"):]
        self.path = text
        self.remote = "://" in text
        if storage_options and not self.remote:
            raise UnsupportedOptionError(
                f"storage_options= applies to URLs, not to the local path {text!r}; drop it")
        self.storage_options = dict(storage_options or {})
        self._size: int | None = None
        self._reset()

    def _reset(self) -> None:
        self._index: ZipIndex | None = None
        self._fs: Any = None
        self._fs_path = ""
        self._fd: int | None = None
        self._offsets: dict[str, int] = {}
        self._open_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        keep = ("path", "remote", "storage_options", "_size", "_read_only", "_is_open")
        return {k: v for k, v in self.__dict__.items() if k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, OzxStore) and other.path == self.path
                and other.storage_options == self.storage_options)

    def __hash__(self) -> int:
        return hash(("OzxStore", self.path))

    def __repr__(self) -> str:
        return f"OzxStore({self.path!r})"

    def __str__(self) -> str:
        return f"zip:{self.path}"

    # ------------------------------------------------------------------ reading bytes
    def _read_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        if not self.remote:
            if self._fd is None:
                with self._open_lock if self._index is not None else contextlib.nullcontext():
                    if self._fd is None:
                        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            parts = []
            while start < end:
                chunk = os.pread(self._fd, end - start, start)
                if not chunk:
                    break
                parts.append(chunk)
                start += len(chunk)
            return b"".join(parts)
        try:
            return bytes(self._fs.cat_file(self._fs_path, start=start, end=end))
        except FileNotFoundError as exc:
            raise PathNotFoundError(f"{self.path} no longer exists") from exc
        except OSError as exc:
            raise RemoteAccessError(
                f"could not read bytes {start}–{end} of {self.path} ({type(exc).__name__}: "
                f"{exc}); check the URL, the network and the credentials in storage_options"
            ) from exc

    def _cache_key(self) -> tuple[Any, ...]:
        return (self.path, json.dumps(self.storage_options, sort_keys=True, default=str),
                self._size)

    def index(self) -> ZipIndex:
        """The archive's central directory (read on first use, once per process)."""
        if self._index is not None:
            return self._index
        with self._open_lock:
            if self._index is not None:
                return self._index
            self._connect()
            with _CACHE_LOCK:
                cached = _INDEX_CACHE.get(self._cache_key())
            if cached is None:
                cached = read_index(self._read_range, self._size or 0, self.path)
                self._check_root(cached)
                with _CACHE_LOCK:
                    _INDEX_CACHE[self._cache_key()] = cached
                    while len(_INDEX_CACHE) > _CACHE_SIZE:
                        _INDEX_CACHE.popitem(last=False)
            self._index = cached
        return cached

    def _connect(self) -> None:
        """Find the file and its size (a ``stat`` or one metadata request)."""
        if not self.remote:
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError as exc:
                raise PathNotFoundError(f"no such zipped OME-Zarr file: {self.path!r}") from exc
        else:
            require("fsspec", "remote")
            import fsspec

            try:
                self._fs, self._fs_path = fsspec.core.url_to_fs(self.path,
                                                                **self.storage_options)
                size = int(self._fs.size(self._fs_path)) if self._size is None else self._size
            except FileNotFoundError as exc:
                raise PathNotFoundError(f"no such zipped OME-Zarr file: {self.path}") from exc
            except (OSError, ValueError) as exc:
                raise RemoteAccessError(
                    f"could not reach {self.path} ({type(exc).__name__}: {exc}); check the "
                    "URL, the network and the credentials in storage_options"
                ) from exc
        if self._size is not None and size != self._size:
            self._index = None  # the file changed since this store was made
        self._size = size

    def _check_root(self, index: ZipIndex) -> None:
        names = index.entries
        if any(m in names for m in ("zarr.json", ".zgroup", ".zattrs")):
            return
        nested = sorted({n.split("/")[0] for n in names if n.endswith("/zarr.json")
                         and n.count("/") == 1})
        hint = (f"its hierarchy is in the folder {nested[0]!r}/ — RFC-9 requires the root "
                f"zarr.json at the archive's root: re-create the archive from inside that "
                f"folder (or spatial-xr convert it)" if nested else
                "it holds no Zarr metadata (zarr.json) at all")
        raise FormatError(f"{self.path} is a ZIP file but not a zipped OME-Zarr: {hint}")

    def read_key(self, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        """Bytes ``start:end`` of entry ``key`` (None if absent)."""
        entry = self.index().entries.get(key)
        if entry is None:
            return None
        return entry_bytes(self._read_range, entry, self.path, start, end, self._offsets)

    # ------------------------------------------------------------------ zarr Store API
    def _bounds(self, key: str, byte_range: ByteRequest | None) -> tuple[int, int | None]:
        if byte_range is None:
            return 0, None
        if isinstance(byte_range, RangeByteRequest):
            return byte_range.start, byte_range.end
        if isinstance(byte_range, OffsetByteRequest):
            return byte_range.offset, None
        if isinstance(byte_range, SuffixByteRequest):
            size = self.index().entries[key].size
            return max(0, size - byte_range.suffix), None
        raise ParameterError(f"unexpected byte range {byte_range!r}")

    def _get_sync(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        if key not in self.index().entries:
            return None
        start, end = self._bounds(key, byte_range)
        return self.read_key(key, start, end)

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        if self.remote:  # a network round trip: let other requests proceed meanwhile
            data = await asyncio.to_thread(self._get_sync, key, byte_range)
        else:
            data = self._get_sync(key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def get_partial_values(self, prototype: BufferPrototype,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]
                                 ) -> list[Buffer | None]:
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        return key in self.index().entries

    async def set(self, key: str, value: Buffer) -> None:
        raise UnsupportedOptionError(
            f"{self.path} is opened read-only; write zipped OME-Zarr with "
            "da.spatial.to_ozx(path) (RFC-9 archives are written whole)")

    async def delete(self, key: str) -> None:
        raise UnsupportedOptionError(f"{self.path} is read-only")

    async def list(self) -> AsyncIterator[str]:
        for name in self.index().entries:
            yield name

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for name in self.index().entries:
            if name.startswith(prefix):
                yield name

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/")
        lead = f"{prefix}/" if prefix else ""
        seen = set()
        for name in self.index().entries:
            if name.startswith(lead):
                child = name[len(lead):].split("/", 1)[0]
                if child and child not in seen:
                    seen.add(child)
                    yield child
