"""The command line: info, demo, error reporting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spatial_xr
from spatial_xr.cli import main
from spatial_xr.demo import MARKERS_XYZ, make_phantom


def test_info_prints_geometry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    da = spatial_xr.from_array(np.zeros((3, 4, 5), np.int16), spacing=(2.5, 0.7, 0.8),
                               origin=(1, 2, 3))
    da.spatial.to_nifti(tmp_path / "a.nii.gz")
    assert main(["info", str(tmp_path / "a.nii.gz")]) == 0
    out = capsys.readouterr().out
    for fragment in ("z: 3, y: 4, x: 5", "int16", "z: 2.5, y: 0.7, x: 0.8", "(1, 2, 3) LPS",
                     "identity", "LPS", "bounds"):
        assert fragment in out
    assert main(["info", "--orientation", "RAS", str(tmp_path / "a.nii.gz")]) == 0
    assert "RAS" in capsys.readouterr().out


def test_errors_go_to_stderr_without_traceback(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "missing.nii")]) == 1
    err = capsys.readouterr().err
    assert "PathNotFoundError" in err and "missing.nii" in err and "Traceback" not in err
    (tmp_path / "x.txt").write_text("hello")
    assert main(["info", str(tmp_path / "x.txt")]) == 1
    assert "UnsupportedFormatError" in capsys.readouterr().err
    with pytest.raises(spatial_xr.SpatialXRError):
        main(["--debug", "info", str(tmp_path / "missing.nii")])


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "spatial_xr.cli", "info", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "error" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_runs_and_finds_markers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out
    assert (tmp_path / "out" / "phantom.nii.gz").exists()
    assert main(["demo", str(tmp_path / "out")]) == 1  # refuses to overwrite
    assert "overwrite" in capsys.readouterr().err
    assert main(["demo", "--overwrite", str(tmp_path / "out")]) == 0


def test_phantom_markers_are_where_they_were_put() -> None:
    da = make_phantom()
    for m in MARKERS_XYZ:
        idx = da.spatial.world_to_index(m, rounded=True)
        assert int(da.values[tuple(idx)]) == 1000
    assert not da.spatial.grid.is_axis_aligned


def test_info_lists_dicom_series(capsys: pytest.CaptureFixture[str]) -> None:
    from pydicom.data import get_testdata_file

    folder = Path(get_testdata_file("CT_small.dcm")).parent / "dicomdirtests" / "98892003" / "MR2"
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 DICOM series" in out and "FAST LOCALIZER" in out and "--series-uid" in out
    uid = "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.481"
    assert main(["info", str(folder), "--series-uid", uid]) == 0
    out = capsys.readouterr().out
    assert "z: 1, y: 16, x: 16" in out and "spacing" in out


def test_convert_to_ome_zarr_and_info_lists_levels(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    da = make_phantom()
    da.spatial.to_nifti(tmp_path / "p.nii.gz")
    out = tmp_path / "p.ome.zarr"
    assert main(["convert", str(tmp_path / "p.nii.gz"), str(out), "--pyramid", "--chunks", "32",
                 "--version", "0.4", "--no-progress"]) == 0
    assert "scale1" in capsys.readouterr().out
    back = spatial_xr.open_image(out)
    assert back.spatial.same_grid(da, atol=1e-4)
    np.testing.assert_array_equal(back.values, da.values)
    assert main(["convert", str(tmp_path / "p.nii.gz"), str(out)]) == 1
    assert "overwrite" in capsys.readouterr().err
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "omezarr" in text and "levels" in text and "scale1" in text


def test_convert_nifti_to_niftizarr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import nibabel as nib
    from nibabel.testing import data_path

    src = Path(data_path) / "example4d.nii.gz"
    out = tmp_path / "fmri.nii.zarr"
    assert main(["convert", str(src), str(out), "--version", "0.4", "--chunks", "32",
                 "--no-progress"]) == 0
    assert "(niftizarr)" in capsys.readouterr().out
    assert (out / "nifti" / ".zarray").exists()  # 0.4: Zarr v2
    back = spatial_xr.open_image(out)
    assert back.attrs["source_format"] == "NIfTI-Zarr"
    np.testing.assert_allclose(back.spatial.grid.affine_ras, nib.load(src).affine, atol=1e-5)


def test_convert_oblique_nifti_to_ome_zarr_0_6(tmp_path: Path) -> None:
    """nibabel's oblique 4-D example as OME-Zarr 0.6: the direction is in the RFC-5 affine."""
    import nibabel as nib
    from nibabel.testing import data_path

    src = Path(data_path) / "example4d.nii.gz"
    out = tmp_path / "fmri.ome.zarr"
    assert main(["convert", str(src), str(out), "--version", "0.6", "--no-progress"]) == 0
    back = spatial_xr.open_image(out)
    assert back.attrs["coordinate_system"] == "world"
    np.testing.assert_allclose(back.spatial.grid.affine_ras, nib.load(src).affine, atol=1e-5)
    assert back.spatial.grid.isclose(spatial_xr.open_image(src).spatial.grid, atol=1e-12)
