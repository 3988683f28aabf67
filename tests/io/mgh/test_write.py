"""MGH/MGZ writing: read back by nibabel (and, through a NIfTI nibabel converts it to, by
SimpleITK, which has no MGH reader), atomic, refuses overwrite, streams."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

import spatial_xr
from spatial_xr.errors import DimensionError, FormatError, OverwriteError
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.mgh import write_mgh
from spatial_xr.testing import random_direction


def _image(rng: np.random.Generator, shape=(6, 7, 8), dtype="int16", det=1.0, dims=None):
    values = (rng.random(shape) * 300).astype(dtype)
    return spatial_xr.from_array(values, spacing=(2.5, 0.8, 0.9),
                                 origin=rng.uniform(-50, 50, 3),
                                 direction=random_direction(rng, det=det), dims=dims)


@pytest.mark.parametrize("suffix", [".mgz", ".mgh"])
@pytest.mark.parametrize("det", [1.0, -1.0])
def test_round_trip_checked_by_nibabel_and_simpleitk(tmp_path: Path, rng: np.random.Generator,
                                                     suffix: str, det: float) -> None:
    da = _image(rng, det=det)
    path = tmp_path / f"out{suffix}"
    da.spatial.to_mgh(path)
    img = nib.load(str(path))
    assert isinstance(img, nib.MGHImage)
    np.testing.assert_array_equal(np.asanyarray(img.dataobj), da.values.T)
    np.testing.assert_allclose(lps_ras_flip(img.affine), da.spatial.affine, atol=1e-4)
    # SimpleITK reads no MGH: nibabel converts it to NIfTI, SimpleITK reads that
    nii = tmp_path / "via.nii"
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj), img.affine), str(nii))
    ref = sitk.ReadImage(str(nii))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref), da.values)
    idx = rng.integers(0, [8, 7, 6], size=(10, 3))  # x, y, z
    theirs = np.array([ref.TransformContinuousIndexToPhysicalPoint(i.tolist()) for i in idx])
    np.testing.assert_allclose(da.spatial.index_to_world(idx[:, ::-1]), theirs, atol=1e-4)
    back = spatial_xr.open_image(path)
    assert back.spatial.same_grid(da, atol=1e-4)
    np.testing.assert_array_equal(back.values, da.values)


def test_frames_tr_and_scan_parameters(tmp_path: Path, rng: np.random.Generator) -> None:
    da = _image(rng, shape=(3, 4, 5, 6), dtype="float32", dims=("t", "z", "y", "x"))
    da = da.assign_coords(t=("t", [0.0, 2.5, 5.0], {"units": "second"}))
    da.attrs["mgh_scan_parameters"] = {"te_ms": 30.0, "flip_angle_rad": 0.5}
    path = tmp_path / "f.mgz"
    write_mgh(da, path)
    hdr = nib.load(str(path)).header
    assert hdr.get_data_shape() == (6, 5, 4, 3)
    assert hdr.get_zooms()[3] == pytest.approx(2500.0)  # TR in ms
    assert float(hdr["te"]) == pytest.approx(30.0)
    assert float(hdr["flip_angle"]) == pytest.approx(0.5)
    back = spatial_xr.open_image(path, footer=True)
    np.testing.assert_allclose(back.coords["t"].values, [0.0, 2500.0, 5000.0])
    np.testing.assert_array_equal(back.values, da.values)


def test_2d_bool_and_int8_are_widened(tmp_path: Path) -> None:
    flat = spatial_xr.from_array(np.arange(12, dtype=np.int8).reshape(3, 4) - 6,
                                 spacing=(0.5, 0.25))
    write_mgh(flat, tmp_path / "a.mgh")
    img = nib.load(str(tmp_path / "a.mgh"))
    assert img.shape == (4, 3, 1) and img.get_data_dtype() == np.dtype(">i2")
    np.testing.assert_array_equal(np.asanyarray(img.dataobj)[..., 0], flat.values.T)
    mask = spatial_xr.from_array(np.eye(4, dtype=bool)[None])
    write_mgh(mask, tmp_path / "m.mgz")
    assert nib.load(str(tmp_path / "m.mgz")).get_data_dtype() == np.dtype(">u1")


def test_refuses_what_mgh_cannot_store(tmp_path: Path, rng: np.random.Generator) -> None:
    with pytest.raises(FormatError, match=r"float64.*astype\('float32'\)"):
        write_mgh(_image(rng, dtype="float64"), tmp_path / "x.mgz")
    with pytest.raises(FormatError, match=r"end in \.mgh, \.mgz"):
        write_mgh(_image(rng), tmp_path / "x.nii")
    with pytest.raises(DimensionError, match=r"\['c'\]"):
        write_mgh(_image(rng, shape=(2, 3, 4, 5), dims=("c", "z", "y", "x")),
                  tmp_path / "c.mgz")
    assert list(tmp_path.iterdir()) == []


def test_refuses_overwrite_and_leaves_no_partial_file(tmp_path: Path,
                                                      rng: np.random.Generator) -> None:
    path = tmp_path / "o.mgz"
    write_mgh(_image(rng), path)
    before = path.read_bytes()
    with pytest.raises(OverwriteError, match="overwrite=True"):
        write_mgh(_image(rng), path)
    assert path.read_bytes() == before

    def boom(block):  # a chunk that fails mid-write
        raise RuntimeError("disk gone")

    good = _image(rng).chunk({"z": 2})
    failing = good.copy(data=good.data.map_blocks(boom, dtype=good.dtype))
    with pytest.raises(RuntimeError, match="disk gone"):
        write_mgh(failing, path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["o.mgz"]


def test_writer_streams_slab_by_slab(tmp_path: Path, rng: np.random.Generator) -> None:
    """A dask image is computed one z-chunk at a time (never whole)."""
    da = _image(rng, shape=(12, 5, 6)).chunk({"z": 3})
    seen: list[int] = []

    def record(block: np.ndarray) -> np.ndarray:
        if block.size:  # dask's dtype probe passes an empty block
            seen.append(block.shape[0])
        return block

    traced = da.copy(data=da.data.map_blocks(record, dtype=da.dtype))
    write_mgh(traced, tmp_path / "s.mgh")
    assert seen == [3, 3, 3, 3]
    np.testing.assert_array_equal(np.asanyarray(nib.load(str(tmp_path / "s.mgh")).dataobj),
                                  da.values.T)
