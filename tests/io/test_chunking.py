"""Default z chunking of the file readers."""

from __future__ import annotations

import dask
import nibabel as nib
import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import DimensionError
from spatial_xr.io.chunking import WHOLE_VOLUME_BYTES, chunks_by_name, default_z_chunk


def test_moderate_volume_is_one_chunk() -> None:
    assert default_z_chunk(300, 512 * 512 * 2) == 300  # 150 MiB
    assert default_z_chunk(300, 512 * 512 * 4) == 300  # 300 MiB
    assert default_z_chunk(1, 10) == 1
    n = WHOLE_VOLUME_BYTES // (512 * 512 * 2)
    assert default_z_chunk(n, 512 * 512 * 2) == n


def test_large_volume_is_cut_into_slabs_of_the_dask_chunk_size() -> None:
    with dask.config.set({"array.chunk-size": "64MiB"}):
        assert default_z_chunk(2048, 512 * 512 * 2) == 128
        assert default_z_chunk(2, 600 << 20) == 1  # one slice bigger than a chunk


def test_chunks_by_name_completes_from_defaults() -> None:
    names, default, shape = ("t", "z", "y", "x"), (1, 40, 64, 64), (3, 40, 64, 64)
    assert chunks_by_name({"z": 8}, names, default, shape) == (1, 8, 64, 64)
    assert chunks_by_name({"t": -1, "y": None}, names, default, shape) == (3, 40, 64, 64)
    assert chunks_by_name({}, names, default, shape) == default
    with pytest.raises(DimensionError, match=r"\['q'\].*\('t', 'z', 'y', 'x'\)"):
        chunks_by_name({"q": 2}, names, default, shape)


def _nifti(tmp_path):
    path = tmp_path / "v.nii"
    nib.save(nib.Nifti1Image(np.zeros((6, 5, 8), np.int16), np.eye(4)), str(path))
    return path


def _dicom(tmp_path):
    da = spatial_xr.from_array(np.zeros((8, 5, 6), np.int16), spacing=(2.0, 1.0, 1.0))
    da.spatial.to_dicom_series(tmp_path / "series")
    return tmp_path / "series"


def _omezarr(tmp_path):
    da = spatial_xr.from_array(np.zeros((8, 5, 6), np.int16), spacing=(2.0, 1.0, 1.0))
    da.spatial.to_ome_zarr(str(tmp_path / "v.ome.zarr"), pyramid=False)
    return tmp_path / "v.ome.zarr"


@pytest.mark.parametrize("make", [_nifti, _dicom, _omezarr], ids=["nifti", "dicom", "omezarr"])
def test_readers_share_the_rule(tmp_path, make) -> None:
    """Every reader takes chunks by dim name the same way: -1 is the whole axis, other
    dims keep their default, an unknown name is a DimensionError naming it."""
    path = make(tmp_path)
    da = spatial_xr.open_image(path, chunks={"z": 2, "x": -1})
    assert da.chunks[da.dims.index("z")][0] == 2
    assert da.chunks[da.dims.index("x")] == (da.sizes["x"],)
    with pytest.raises(DimensionError, match="'q'"):
        spatial_xr.open_image(path, chunks={"q": 2})
