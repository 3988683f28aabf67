"""The ``spatial`` xarray backend: ``xr.open_dataarray(path, engine="spatial")``.

A thin plugin over :func:`spatial_xr.open_image` (and :func:`spatial_xr.open_multiscale`
for pyramids), registered under the ``xarray.backends`` entry point group, so xarray users
open NIfTI files, DICOM folders and OME-Zarr stores the way they open netCDF::

    da = xr.open_dataarray("brain.nii.gz", engine="spatial")
    ds = xr.open_dataset("ct_series/", engine="spatial")           # variable "image"
    tree = xr.open_datatree("scan.ome.zarr", engine="spatial")      # scale0, scale1, …

The arrays come back dask-backed and lazy (only headers are read); ``chunks=`` given to
xarray re-chunks them. The geometry (coords + ``attrs["direction"]``) is the one
``open_image`` produces, so ``.spatial`` works on the result.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

__all__ = ["SpatialBackendEntrypoint", "can_open"]

_DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


def _is_dicom_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _is_dicom_folder(path: str, probe: int = 8) -> bool:
    """Whether a folder holds DICOM files (checks the ``DICM`` preamble of a few files)."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return False
    checked = 0
    for entry in entries:
        if entry.name.upper() == "DICOMDIR":
            return True
        if entry.is_file():
            if _is_dicom_file(entry.path):
                return True
            checked += 1
            if checked >= probe:
                break
    # DICOMDIR-style trees keep files in subfolders
    for entry in entries:
        if entry.is_dir() and not entry.name.startswith("."):
            return _is_dicom_folder(entry.path, probe=probe)
    return False


def _is_ome_zarr(path: str) -> bool:
    name = path.rstrip("/\\").lower()
    if name.endswith(".ome.zarr"):
        return True
    if name.endswith(".zarr") and os.path.isdir(path):
        for meta in ("zarr.json", ".zattrs"):
            try:
                with open(os.path.join(path, meta), encoding="utf-8") as f:
                    if '"multiscales"' in f.read(1 << 20):
                        return True
            except OSError:
                continue
    return False


def can_open(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like an image spatial_xr opens: ``.nii``/``.nii.gz``,
    ``.ome.zarr`` (or a ``.zarr`` with OME multiscales), a DICOM file or a folder of
    DICOM files."""
    spath = os.fspath(path)
    lower = spath.lower()
    if lower.endswith((".nii", ".nii.gz")) or _is_ome_zarr(spath):
        return True
    if "://" in spath:
        return False
    if os.path.isdir(spath):
        return _is_dicom_folder(spath)
    return lower.endswith(_DICOM_SUFFIXES) or (os.path.isfile(spath) and _is_dicom_file(spath))


def _path_of(filename_or_obj: Any) -> str:
    if isinstance(filename_or_obj, str | os.PathLike):
        return os.fspath(filename_or_obj)
    raise TypeError(
        f"the 'spatial' engine opens paths (str or os.PathLike), not "
        f"{type(filename_or_obj).__name__}; pass the file or folder name"
    )


def _reader_options(
    orientation: str | None,
    series: Any,
    apply_scaling: bool | None,
    affine: str | None,
    reader_kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    options: dict[str, Any] = dict(reader_kwargs or {})
    for key, value in (("orientation", orientation), ("series", series),
                       ("apply_scaling", apply_scaling), ("affine", affine)):
        if value is not None:
            options[key] = value
    return options


def _drop(ds: xr.Dataset, drop_variables: str | Iterable[str] | None) -> xr.Dataset:
    if drop_variables is None:
        return ds
    names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
    return ds.drop_vars(names, errors="ignore")


class SpatialBackendEntrypoint(BackendEntrypoint):
    """xarray backend ``engine="spatial"`` for NIfTI, DICOM folders and OME-Zarr.

    Keyword arguments of ``xr.open_dataset``/``open_dataarray`` (besides xarray's own,
    such as ``chunks=``):

    orientation : str, optional
        Reorient lazily to this code (e.g. ``"RAS"``); default: the file's storage order.
    series : optional
        Which DICOM series to open when a folder holds several (see the DICOM reader).
    apply_scaling : bool, optional
        NIfTI: apply ``scl_slope``/``scl_inter`` (default True).
    affine : {"best", "sform", "qform"}, optional
        NIfTI: which stored affine defines the geometry.
    name : str
        Name of the data variable (default ``"image"``).
    reader_kwargs : dict, optional
        Any other option of the format's reader, passed through unchanged.
    """

    description = "NIfTI, DICOM folders and OME-Zarr as images in physical space (spatial_xr)"
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "orientation",
        "series",
        "apply_scaling",
        "affine",
        "name",
        "reader_kwargs",
    )

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        orientation: str | None = None,
        series: Any = None,
        apply_scaling: bool | None = None,
        affine: str | None = None,
        name: str = "image",
        reader_kwargs: dict[str, Any] | None = None,
    ) -> xr.Dataset:
        """Open one image as a Dataset with one data variable (``name``)."""
        from spatial_xr.io.api import open_image

        path = _path_of(filename_or_obj)
        options = _reader_options(orientation, series, apply_scaling, affine, reader_kwargs)
        da = open_image(path, **options)
        ds = da.rename(name).to_dataset()
        ds.attrs["source"] = path
        return _drop(ds, drop_variables)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """True for ``.nii``, ``.nii.gz``, ``.ome.zarr`` and DICOM files or folders."""
        try:
            return can_open(_path_of(filename_or_obj))
        except TypeError:
            return False

    def open_datatree(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        reader_kwargs: dict[str, Any] | None = None,
    ) -> xr.DataTree:
        """Open an OME-Zarr pyramid as a DataTree (nodes ``scale0``, ``scale1``, …)."""
        from spatial_xr.io.omezarr import open_multiscale

        path = _path_of(filename_or_obj)
        tree = open_multiscale(path, **(reader_kwargs or {}))
        if drop_variables is not None:
            tree = tree.map_over_datasets(lambda ds: _drop(ds, drop_variables))
        return tree

    def open_groups_as_dict(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        reader_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, xr.Dataset]:
        """The pyramid's nodes as ``{"/": root, "/scale0": …}`` (for ``xr.open_groups``)."""
        tree = self.open_datatree(filename_or_obj, drop_variables=drop_variables,
                                  reader_kwargs=reader_kwargs)
        return {node.path: node.to_dataset() for node in tree.subtree}
