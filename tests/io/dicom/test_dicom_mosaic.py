"""Siemens mosaic splitting, checked against nibabel's nicom and dcm2niix."""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from dicom_oracles import assert_matches_by_world, dcm2niix_convert, nifti_index_of_world

import spatial_xr


def _patterned_mosaic(src: Path, dst: Path) -> np.ndarray:
    """Copy of a real mosaic whose (zeroed) pixels are replaced by a known pattern."""
    ds = pydicom.dcmread(src)
    rows, cols = ds.Rows, ds.Columns
    rr, cc = np.mgrid[0:rows, 0:cols]
    tile = (rr // 128) * 7 + cc // 128
    # unique per tile, fits the file's 12 stored bits
    pattern = (tile * 80 + (rr % 128) // 16 * 8 + (cc % 128) % 8).astype(np.uint16)
    ds.PixelData = pattern.tobytes()
    ds.save_as(dst)
    return pattern


def test_mosaic_tiles_match_nibabel_and_dcm2niix(dwi_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    _patterned_mosaic(dwi_folder / "siemens_dwi_1000.dcm", folder / "mosaic.dcm")
    da = spatial_xr.open_image(folder)
    assert dict(da.sizes) == {"z": 48, "y": 128, "x": 128}
    assert int(da.isel(z=0, y=0, x=0)) in (0, 47 * 80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomwrappers

        wrapper = dicomwrappers.wrapper_from_file(str(folder / "mosaic.dcm"))
        ref = wrapper.get_data()  # indexed (i = column, j = row, k = slice)
        inv = np.linalg.inv(wrapper.affine)  # nicom's affine maps to DICOM LPS
    assert ref.shape == (128, 128, 48)
    assert_matches_by_world(da, np.asarray(ref).T,
                            lambda pts: np.asarray(pts) @ inv[:3, :3].T + inv[:3, 3],
                            atol=2e-3)
    (nii,) = dcm2niix_convert(folder, tmp_path / "nii")
    img = nib.load(nii)
    assert_matches_by_world(da, np.asanyarray(img.dataobj).T, nifti_index_of_world(img),
                            atol=2e-3)


def test_mosaic_crop_reads_the_file_once(dwi_folder: Path, monkeypatch) -> None:
    from dicom_oracles import count_pixel_reads

    calls = count_pixel_reads(monkeypatch)
    da = spatial_xr.open_image(dwi_folder, chunks={"z": 48})
    assert calls == []
    da.isel(t=0, z=slice(3, 9)).values  # noqa: B018
    assert len(calls) == 1  # six tiles of one mosaic: decoded once
