"""Default z chunking of the file readers."""

from __future__ import annotations

import dask
import nibabel as nib
import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import DimensionError
from spatial_xr.io.chunking import (
    WHOLE_VOLUME_BYTES,
    chunks_by_name,
    default_z_chunk,
    resolve_chunks,
)


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


def test_resolve_chunks_takes_names_or_dataarray_order() -> None:
    names, default, shape = ("t", "z", "y", "x", "c"), (1, 40, 64, 64, 3), (2, 40, 64, 64, 3)
    assert resolve_chunks(None, names, shape, default) == default
    assert resolve_chunks({"z": 8, "t": -1}, names, shape, default) == (2, 8, 64, 64, 3)
    # one value per dim in DataArray order (t, c, z, y, x), returned in the array's order
    assert resolve_chunks((1, 3, 8, 32, 64), names, shape, default) == (1, 8, 32, 64, 3)
    assert resolve_chunks("auto", names, shape, default) == "auto"
    with pytest.raises(DimensionError, match=r"\['q'\]"):
        resolve_chunks({"q": 2}, names, shape, default)


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


def _sitk_written(path):
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.zeros((8, 5, 6, 3), np.uint8), isVector=True)
    sitk.WriteImage(img, str(path))
    return path


def _nrrd(tmp_path):
    return _sitk_written(tmp_path / "v.nrrd")


def _metaimage(tmp_path):
    return _sitk_written(tmp_path / "v.mha")


@pytest.mark.parametrize("make", [_nrrd, _metaimage], ids=["nrrd", "metaimage"])
def test_chunks_in_dataarray_order(tmp_path, make) -> None:
    """A tuple of chunks is read in the DataArray's dim order (c before z, y, x), whatever
    the reader's array order (channels last)."""
    da = spatial_xr.open_image(make(tmp_path), chunks=(3, 2, 5, 3))
    assert da.dims == ("c", "z", "y", "x")
    assert da.chunks == ((3,), (2, 2, 2, 2), (5,), (3, 3))


@pytest.mark.parametrize("make", [_nifti, _dicom, _omezarr, _nrrd, _metaimage],
                         ids=["nifti", "dicom", "omezarr", "nrrd", "metaimage"])
def test_readers_share_the_rule(tmp_path, make) -> None:
    """Every reader takes chunks by dim name the same way: -1 is the whole axis, other
    dims keep their default, an unknown name is a DimensionError naming it."""
    path = make(tmp_path)
    da = spatial_xr.open_image(path, chunks={"z": 2, "x": -1})
    assert da.chunks[da.dims.index("z")][0] == 2
    assert da.chunks[da.dims.index("x")] == (da.sizes["x"],)
    with pytest.raises(DimensionError, match="'q'"):
        spatial_xr.open_image(path, chunks={"q": 2})
