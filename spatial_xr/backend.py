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

def can_open(path: str | os.PathLike[str] | list[str]) -> bool:
    """Whether the format registry recognises ``path`` (see :mod:`spatial_xr.io.formats`):
    the same test ``open_image`` applies, without checking that the path exists."""
    from spatial_xr.io.formats import recognise

    return recognise(path) is not None


def _path_of(filename_or_obj: Any) -> str | list[str]:
    if isinstance(filename_or_obj, str | os.PathLike):
        return os.fspath(filename_or_obj)
    if isinstance(filename_or_obj, list | tuple) and all(
            isinstance(p, str | os.PathLike) for p in filename_or_obj):
        return [os.fspath(p) for p in filename_or_obj]  # a list of DICOM files
    from spatial_xr.errors import ParameterError

    raise ParameterError(
        f"the 'spatial' engine opens paths (str or os.PathLike) or a list of them, not "
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
        """True for every path the format registry recognises (``spatial-xr formats``)."""
        from spatial_xr.io.formats import recognise

        return recognise(filename_or_obj) is not None

    def open_datatree(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        reader_kwargs: dict[str, Any] | None = None,
    ) -> xr.DataTree:
        """Open a pyramid (OME-Zarr, or any format with a multiscale reader) as a DataTree
        (nodes ``scale0``, ``scale1``, …)."""
        from spatial_xr.io.formats import find_format

        path = _path_of(filename_or_obj)
        tree = find_format(path).open_multiscale(path, **(reader_kwargs or {}))
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
