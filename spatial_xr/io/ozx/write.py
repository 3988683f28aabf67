"""Zipped OME-Zarr (``.ozx``, RFC-9) writing.

The image is written as an ordinary OME-Zarr 0.5 store into a staging folder beside the
destination (with :func:`spatial_xr.io.omezarr.write.to_ome_zarr`, so every option of that
writer applies), then packed into a ZIP file as RFC-9 asks:

- the archive's root is the OME-Zarr root, and the root ``zarr.json`` is the first entry
  (and the first record of the central directory); the other ``zarr.json`` files follow
  in breadth-first order, then the chunks (``jsonFirst``);
- entries are stored without ZIP compression (Zarr's codecs compress the chunks), each
  local header with ZIP64 sizes;
- the archive comment is ``{"ome": {"version": "0.5", "zipFile": {"centralDirectory":
  {"jsonFirst": true}}}}``.

The ZIP file is written beside the destination and renamed into place when complete; an
existing file is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import xarray as xr

from spatial_xr.errors import UnsupportedOptionError
from spatial_xr.io.atomic import atomic_output, check_overwrite
from spatial_xr.io.omezarr.store import resolve_local_path

__all__ = ["RFC9_COMMENT", "rfc9_order", "to_ozx", "zip_store"]

RFC9_COMMENT = {"ome": {"version": "0.5", "zipFile": {"centralDirectory": {"jsonFirst": True}}}}
"""The archive comment written (RFC-9 "OME-Zarr Zip Comment Structure")."""


def rfc9_order(names: list[str]) -> list[str]:
    """Entry names in RFC-9 order: ``zarr.json`` files breadth-first (the root's first),
    then every other file by path."""
    meta = sorted((n for n in names if n.rsplit("/", 1)[-1] == "zarr.json"),
                  key=lambda n: (n.count("/"), n))
    rest = sorted(n for n in names if n.rsplit("/", 1)[-1] != "zarr.json")
    return meta + rest


def zip_store(folder: str | os.PathLike[str], destination: str | os.PathLike[str],
              comment: dict[str, Any] | None = None) -> None:
    """Pack a local Zarr v3 store (a folder) into an RFC-9 ZIP file.

    Parameters
    ----------
    folder : str or path-like
        The store's root (holding ``zarr.json``).
    destination : str or path-like
        The ZIP file to create (overwritten).
    comment : dict, optional
        JSON archive comment; default :data:`RFC9_COMMENT`.
    """
    root = Path(folder)
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    text = json.dumps(RFC9_COMMENT if comment is None else comment).encode("utf-8")
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for name in rfc9_order(names):
            info = zipfile.ZipInfo.from_file(root / name, arcname=name)
            info.compress_type = zipfile.ZIP_STORED
            with open(root / name, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        zf.comment = text


def to_ozx(obj: xr.DataArray | xr.DataTree, path: str | os.PathLike[str], *,
           overwrite: bool = False, version: str = "0.5", **options: Any) -> None:
    """Write an image or a pyramid as a zipped OME-Zarr (``.ozx``, RFC-9).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.DataTree
        As for :func:`spatial_xr.io.omezarr.to_ome_zarr`.
    path : str or path-like
        Local destination file (``*.ozx``). Remote destinations are refused: write locally,
        then upload the file.
    overwrite : bool
        Replace an existing file.
    version : {"0.5"}
        OME-NGFF version; RFC-9 archives hold OME-Zarr 0.5 (Zarr v3).
    **options
        Options of :func:`~spatial_xr.io.omezarr.to_ome_zarr` (``pyramid``, ``chunks``,
        ``shards`` — RFC-9 recommends sharding, which keeps the central directory short —,
        ``compressor``, ``levels``, ``method``, …).

    Raises
    ------
    OverwriteError
        The destination exists and ``overwrite`` is False (checked before writing).
    UnsupportedOptionError
        ``version`` other than 0.5, or a remote destination.
    """
    from spatial_xr.io.omezarr.write import to_ome_zarr

    if version != "0.5":
        raise UnsupportedOptionError(
            f"zipped OME-Zarr (RFC-9) holds OME-Zarr 0.5 (Zarr v3); got version={version!r}")
    local = resolve_local_path(path)
    if local is None:
        raise UnsupportedOptionError(
            f"cannot write a zipped OME-Zarr to {path!r}: write it to a local file, then "
            "upload that file (a ZIP archive is written whole)")
    options.pop("storage_options", None)
    check_overwrite(local, overwrite)
    parent = os.path.dirname(os.path.abspath(local))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(local)}.staging-", dir=parent)
    try:
        store = os.path.join(staging, "image.ome.zarr")
        to_ome_zarr(obj, store, version="0.5", **options)
        with atomic_output(local, overwrite=overwrite) as tmp:
            zip_store(store, tmp)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
