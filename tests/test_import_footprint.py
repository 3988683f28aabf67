"""``import spatial_xr`` loads no heavy optional library; opening a NIfTI file loads only
what it needs. Checked in a fresh interpreter (``sys.modules``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

import spatial_xr

ROOT = Path(__file__).resolve().parents[1]

# never needed by the import itself
HEAVY = ["pydicom", "zarr", "numba", "scipy", "SimpleITK", "itk", "matplotlib", "nibabel",
         "fsspec", "s3fs", "ngff_zarr", "ome_zarr", "ome_zarr_models", "numcodecs", "dask",
         "distributed", "isal", "tqdm", "PIL", "napari"]
# a .nii open needs dask.array and nibabel (which import scipy.sparse, and pydicom with
# Pillow, themselves), never these
NOT_FOR_NIFTI = ["zarr", "numba", "SimpleITK", "itk", "matplotlib", "fsspec", "s3fs",
                 "ngff_zarr", "ome_zarr", "ome_zarr_models", "numcodecs", "isal", "napari"]


def _loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_import_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import spatial_xr")
    assert "spatial_xr" in loaded and "xarray" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_opening_a_nifti_file_loads_only_its_reader(tmp_path: Path) -> None:
    path = tmp_path / "small.nii"
    nib.save(nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4)), path)
    loaded = _loaded_after(
        f"import spatial_xr\nda = spatial_xr.open_image({str(path)!r})\nassert int(da.sum()) == 276"
    )
    assert {"dask", "nibabel"} <= loaded
    assert sorted(loaded & set(NOT_FOR_NIFTI)) == []


def test_lazy_names_resolve() -> None:
    for name in spatial_xr.__all__:
        assert getattr(spatial_xr, name) is not None, name
    assert set(spatial_xr.__all__) <= set(dir(spatial_xr))
    from spatial_xr.convert import from_sitk
    from spatial_xr.io.omezarr import open_omezarr

    assert spatial_xr.from_sitk is from_sitk and spatial_xr.open_omezarr is open_omezarr
    assert spatial_xr.convert.from_sitk is from_sitk  # subpackage as an attribute
    try:
        spatial_xr.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_opening_a_dicom_folder_does_not_load_zarr(tmp_path: Path) -> None:
    from spatial_xr.io.dicom import write_dicom_series

    folder = tmp_path / "series"
    write_dicom_series(spatial_xr.from_array(np.zeros((3, 4, 5), np.int16)), folder)
    loaded = _loaded_after(
        f"import spatial_xr\nda = spatial_xr.open_image({str(folder)!r})\n"
        "assert da.shape == (3, 4, 5)"
    )
    assert "pydicom" in loaded
    assert sorted(loaded & {"zarr", "fsspec", "numcodecs", "ngff_zarr", "SimpleITK",
                            "matplotlib", "numba"}) == []
