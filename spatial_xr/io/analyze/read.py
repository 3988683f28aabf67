"""Lazy Analyze 7.5 and NIfTI-pair reading (``.hdr`` + ``.img``, optionally gzipped)
through nibabel's array proxy.

**Which image.** nibabel decides what a ``.hdr`` holds (``nibabel.load``): a NIfTI-1 pair
(magic ``ni1``), a NIfTI-2 pair (``ni2``), SPM2 or SPM99 Analyze, or plain Analyze 7.5.

**Which affine.** A NIfTI pair has NIfTI geometry: the sform/qform rule of the NIfTI
reader (:func:`spatial_xr.io.nifti.read.choose_affine`, ``affine=`` chooses). Analyze has
no orientation field that nibabel trusts: its affine is nibabel's — ``pixdim`` voxel sizes
with the x axis flipped (nibabel's radiological-storage assumption), centred on the SPM
``origin`` field for SPM Analyze, else on the volume centre. Either is converted from RAS
to LPS. A sheared affine raises :class:`~spatial_xr.errors.GeometryError`.

**Scaling.** nibabel's scale factors (NIfTI ``scl_slope``/``scl_inter``; the SPM scale
factor in ``funused1``) are applied lazily, with nibabel's output dtype;
``apply_scaling=False`` keeps stored values and records the factors in
``attrs["scale_slope"]``/``attrs["scale_intercept"]``.

**Laziness.** Opening reads the header file. Voxels are read per dask chunk by nibabel's
proxy: for ``.img`` only the bytes of the requested slabs; ``.img.gz`` is inflated from its
start up to the slab, so its chunks are whole frames.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.coords import assign_grid
from spatial_xr.errors import DimensionError, FormatError, GeometryError
from spatial_xr.geometry import Grid, decompose_affine, lps_ras_flip
from spatial_xr.io.analyze.files import analyze_pair
from spatial_xr.io.analyze.validate import check_analyze_header
from spatial_xr.io.chunking import resolve_frame_chunks
from spatial_xr.io.nibabel_proxy import (
    ProxyArray,
    check_voxel_count,
    frame_dims,
    proxy_dask_array,
    to_dataarray,
)
from spatial_xr.io.nifti.read import affine_source, assign_nifti_units, choose_affine
from spatial_xr.io.nifti.validate import check_nifti_file
from spatial_xr.io.validate import require_data_fits

__all__ = ["open_analyze"]


def _load(hdr_path: str) -> Any:
    import nibabel as nib

    try:
        img = nib.load(hdr_path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # nibabel raises many types for bad headers
        raise FormatError(
            f"{hdr_path!r} is not a readable Analyze/NIfTI header ({type(exc).__name__}: "
            f"{exc}); check that it is a complete .hdr file"
        ) from exc
    if not isinstance(img, nib.AnalyzeImage):
        raise FormatError(f"{hdr_path!r} holds a {type(img).__name__}, not an Analyze pair")
    return img


def _is_nifti_pair(img: Any) -> bool:
    import nibabel as nib

    return isinstance(img, nib.Nifti1Pair | nib.Nifti2Pair)


def open_analyze(
    path: str | os.PathLike[str],
    *,
    chunks: Any = None,
    apply_scaling: bool = True,
    affine: str = "best",
) -> xr.DataArray:
    """Open an Analyze 7.5 or NIfTI pair (``.hdr`` + ``.img``) lazily.

    Parameters
    ----------
    path : str or path-like
        Either file of the pair: ``.hdr``, ``.img``, ``.hdr.gz`` or ``.img.gz``.
    chunks : dict, tuple, int or "auto", optional
        dask chunks, a dict keyed by dim name or a value per dim in DataArray order.
        Default: one chunk per ``t``/``c`` frame when it holds at most 512 MiB (always for
        ``.img.gz``), else z slabs of whole x-y planes.
    apply_scaling : bool
        Apply nibabel's scale factors lazily (see the module notes).
    affine : {"best", "sform", "qform"}
        NIfTI pairs: which stored affine defines the geometry (as for NIfTI files).
        Analyze files have one affine; only ``"best"`` is accepted.

    Returns
    -------
    xarray.DataArray
        dims ``(t, c, z, y, x)`` minus those the header lacks; dask-backed.
        ``attrs["source_format"]`` is ``"Nifti1Pair"``, ``"Nifti2Pair"``,
        ``"Spm2Analyze"``, ``"Spm99Analyze"`` or ``"Analyze"``.

    Raises
    ------
    PathNotFoundError
        The other file of the pair is missing.
    FormatError
        Unreadable header, more voxels declared than the data file can hold; truncated
        data when computed.
    GeometryError
        Sheared, singular or non-finite affine.
    """
    path = os.fspath(path)
    hdr_path, img_path = analyze_pair(path)
    img = _load(hdr_path)
    hdr = img.header
    nifti = _is_nifti_pair(img)
    if nifti:
        check_nifti_file(hdr_path, affine=affine)
    else:
        check_analyze_header(hdr_path)
    if not nifti and affine != "best":
        raise GeometryError(
            f"{hdr_path!r} is {type(img).__name__.replace('Image', '')}, which stores one "
            f"affine; affine={affine!r} applies to NIfTI only — use affine='best'"
        )
    shape_f = tuple(int(v) for v in img.shape)
    if len(shape_f) > 5:
        raise DimensionError(
            f"{hdr_path!r} has {len(shape_f)} data dims; spatial_xr reads up to 5 (x, y, z, "
            "t, c)"
        )
    check_voxel_count(hdr_path, shape_f, "Analyze")
    shape_f = shape_f + (1,) * (3 - len(shape_f))
    proxy = img.dataobj
    raw_dtype = np.dtype(proxy.dtype)
    offset = int(proxy.offset)
    gz = img_path.lower().endswith(".gz")
    require_data_fits(img_path, offset, int(np.prod(shape_f, dtype=object)) * raw_dtype.itemsize,
                      compressed=gz)
    slope, inter = float(proxy.slope), float(proxy.inter)
    if not (np.isfinite(slope) and np.isfinite(inter)):
        raise FormatError(f"{hdr_path!r} has non-finite scale factors ({slope}, {inter})")
    source = type(img).__name__.replace("Image", "")
    attrs: dict[str, Any] = {"source_format": source}
    if not apply_scaling:
        if (slope, inter) != (1.0, 0.0):
            attrs["scale_slope"], attrs["scale_intercept"] = slope, inter
        slope, inter = 1.0, 0.0

    if nifti:
        ras = choose_affine(hdr, hdr_path, affine)  # type: ignore[arg-type]
        where = affine_source(hdr, affine)  # type: ignore[arg-type]
    else:
        ras = np.asarray(img.affine, dtype=np.float64)
        where = f"nibabel's {source} affine (pixdim and the origin field)"
    try:
        origin, spacing, direction = decompose_affine(lps_ras_flip(ras))
    except GeometryError as exc:
        raise GeometryError(f"{hdr_path!r}: {where}: {exc}") from exc
    grid = Grid(shape_f[:3], spacing, origin, direction)

    lazy = ProxyArray(img_path, shape_f, raw_dtype, offset, slope, inter, what="Analyze")
    names = frame_dims(len(shape_f))
    c_chunks = resolve_frame_chunks(chunks, names, lazy.shape, shape_f, lazy.dtype.itemsize,
                                    compressed=gz)
    data = proxy_dask_array(lazy, c_chunks, "analyze")
    da = assign_grid(to_dataarray(data, names, attrs), grid)
    return assign_nifti_units(da, hdr) if nifti else da
