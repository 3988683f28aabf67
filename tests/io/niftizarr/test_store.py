"""The ``nifti`` array of a NIfTI-Zarr group: both forms the specification allows, and
arrays that are not a header."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import spatial_xr as sx
from spatial_xr.errors import FormatError
from spatial_xr.io.niftizarr.store import MAX_HEADER_BYTES, read_header_bytes

from .conftest import load, lps_affine, nibabel_file, reference_store


@pytest.mark.parametrize("zarr_version", [2, 3])
def test_byte_string_form_of_the_header(tmp_path, zarr_version):
    """The specification also allows one fixed-length byte string (dtype ``S348``)."""
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr",
                           zarr_version=zarr_version)
    root = zarr.open_group(path, mode="a")
    raw = np.asarray(root["nifti"][:]).tobytes()
    del root["nifti"]
    arr = root.create_array(name="nifti", shape=(1,), dtype=f"S{len(raw)}")
    arr[0] = raw
    assert read_header_bytes(zarr.open_group(path, mode="r"), "store") == raw
    da = sx.open_image(path)
    np.testing.assert_allclose(da.spatial.grid.affine, lps_affine(load("anatomical.nii")),
                               atol=1e-6)


def test_no_header_is_none(tmp_path):
    root = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    assert read_header_bytes(root, "store") is None


@pytest.mark.parametrize("make, match", [
    (lambda g: g.create_group("nifti"), "is a group"),
    (lambda g: g.create_array(name="nifti", shape=(348,), dtype="float32"), "dtype float32"),
    (lambda g: g.create_array(name="nifti", shape=(2, 348), dtype="uint8"), "shape"),
    (lambda g: g.create_array(name="nifti", shape=(MAX_HEADER_BYTES + 1,), dtype="uint8"),
     "more than a NIfTI header"),
])
def test_arrays_that_are_no_header_raise_format_error(tmp_path, make, match):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "img.nii.zarr")
    root = zarr.open_group(path, mode="a")
    del root["nifti"]
    make(root)
    with pytest.raises(FormatError, match=match):
        sx.open_image(path)
