"""Shared helpers of the NIfTI-Zarr tests: nibabel's test files, stores written by the
reference implementation (``niizarr``, PyPI ``nifti-zarr``), and NIfTI-order arrays."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import xarray as xr
from nibabel.testing import data_path

from spatial_xr.geometry import lps_ras_flip

NIBABEL_FILES = ("example4d.nii.gz", "anatomical.nii")
"""An oblique 4-D file (sform and qform, a header extension) and an axis-aligned 3-D one."""


def nibabel_file(name: str) -> str:
    """Path of one of nibabel's bundled test files."""
    return os.path.join(data_path, name)


def reference_store(src, out, *, zarr_version: int = 3, **options) -> str:
    """A NIfTI-Zarr store written by the reference implementation's ``nii2zarr``."""
    from niizarr import nii2zarr

    nii2zarr(src, str(out), zarr_version=zarr_version, **options)
    return str(out)


def nifti_order(da: xr.DataArray) -> np.ndarray:
    """``da``'s values in NIfTI's axis order (x, y, z, t, c), as nibabel returns them."""
    return da.transpose(*[d for d in ("x", "y", "z", "t", "c") if d in da.dims]).values


def lps_affine(img_or_hdr) -> np.ndarray:
    """nibabel's best affine of an image or header, converted from RAS to LPS."""
    hdr = img_or_hdr.header if hasattr(img_or_hdr, "header") else img_or_hdr
    return lps_ras_flip(hdr.get_best_affine())


def load(name: str) -> nib.Nifti1Image:
    return nib.load(nibabel_file(name))
