"""The NIfTI header of a NIfTI-Zarr store: parsing real headers (nibabel's files, both
byte orders, with an extension), building them, and the geometry rules."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

import spatial_xr as sx
from spatial_xr.errors import FormatError, GeometryError
from spatial_xr.io.niftizarr.header import NiftiZarrHeader, header_bytes, parse_header
from spatial_xr.io.omezarr.metadata import parse_attrs

from .conftest import load, nibabel_file


def _file_head(name: str, n: int) -> bytes:
    path = nibabel_file(name)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read(n)


@pytest.mark.parametrize("name", ["example4d.nii.gz", "anatomical.nii"])
def test_parse_header_of_nibabels_files(name):
    img = load(name)  # example4d: little-endian with an extension; anatomical: big-endian
    hdr = parse_header(_file_head(name, 1024), name)
    np.testing.assert_array_equal(hdr.get_best_affine(), img.affine)
    assert hdr.get_data_shape() == img.shape
    assert hdr.get_data_dtype() == img.get_data_dtype()
    assert hdr.endianness == img.header.endianness


def test_parse_header_of_nifti2():
    hdr = parse_header(_file_head("example_nifti2.nii.gz", 540), "example_nifti2")
    assert isinstance(hdr, nib.Nifti2Header)
    np.testing.assert_array_equal(hdr.get_best_affine(), load("example_nifti2.nii.gz").affine)


def test_parse_header_refuses_what_the_nifti_reader_refuses():
    raw = bytearray(_file_head("anatomical.nii", 348))
    raw[344:348] = b"abc\x00"  # magic
    with pytest.raises(FormatError, match="header magic"):
        parse_header(bytes(raw), "store")
    with pytest.raises(FormatError, match="truncated"):
        parse_header(bytes(raw[:200]), "store")


def test_header_bytes_equal_the_header_write_nifti_writes(tmp_path):
    da = sx.open_image(nibabel_file("example4d.nii.gz"))
    path = tmp_path / "x.nii"
    da.spatial.to_nifti(path)
    written = bytearray(path.read_bytes()[:348])
    ours = header_bytes(da, da.spatial.grid)
    assert len(ours) == 348
    written[108:112] = ours[108:112]  # vox_offset: 352 in the file, 0 in the store
    assert bytes(written) == ours


def _meta(scales, translations, dims=("z", "y", "x")):
    datasets = [{"path": str(k), "coordinateTransformations": [
        {"type": "scale", "scale": list(s)}, {"type": "translation", "translation": list(t)}]}
        for k, (s, t) in enumerate(zip(scales, translations, strict=True))]
    axes = [{"name": d, "type": "space", "unit": "millimeter"} for d in dims]
    return parse_attrs({"multiscales": [{"version": "0.4", "axes": axes,
                                         "datasets": datasets}]})


def test_level_affine_is_level0_affine_times_the_ome_level_ratio():
    hdr = load("example4d.nii.gz").header
    header = NiftiZarrHeader.from_bytes(hdr.binaryblock, "store")
    meta = _meta([(2.2, 2.0, 2.0), (4.4, 4.0, 8.0)], [(0, 0, 0), (1.1, 1.0, 3.0)])
    ras1 = header.level_ras(meta, 1)
    # index (i, j, k) of level 1 is index (4 i + 1.5, 2 j + 0.5, 2 k + 0.5) of level 0
    ijk = np.array([3.0, 5.0, 7.0, 1.0])
    fine = np.array([4 * 3 + 1.5, 2 * 5 + 0.5, 2 * 7 + 0.5, 1.0])
    np.testing.assert_allclose(ras1 @ ijk, hdr.get_best_affine() @ fine, atol=1e-9)
    grid, source = header.level_grid(meta, 1, (3, 12, 8))
    assert source == "nifti"
    np.testing.assert_allclose(grid.spacing_xyz, [8.0, 4.0, 4.4], rtol=1e-6)


def test_2d_image_with_a_tilted_plane_is_refused():
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((10, 8, 1))
    tilt = np.eye(4)
    tilt[:3, :3] = [[1, 0, 0], [0, 0.8, -0.6], [0, 0.6, 0.8]]
    hdr.set_sform(tilt, code=1)
    header = NiftiZarrHeader.from_bytes(hdr.binaryblock, "store")
    meta = _meta([(1.0, 1.0)], [(0, 0)], dims=("y", "x"))
    with pytest.raises(GeometryError, match="2-D"):
        header.level_grid(meta, 0, (8, 10))


def test_no_scaling_reads_as_identity():
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((4, 5, 6))
    hdr["scl_slope"] = np.nan
    assert NiftiZarrHeader.from_bytes(hdr.binaryblock, "s").slope_inter == (1.0, 0.0)
    hdr.set_slope_inter(2.0, 1.0)
    assert NiftiZarrHeader.from_bytes(hdr.binaryblock, "s").slope_inter == (2.0, 1.0)
