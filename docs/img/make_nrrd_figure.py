"""Draw docs/img/nrrd.png: nibabel's anatomical.nii (a real MR volume) written as NRRD by
SimpleITK with its grid turned 25° about the superior axis, opened with spatial_xr and
shown in LPS world millimetres (run from the repository root:
python docs/img/make_nrrd_figure.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import nibabel as nib
import numpy as np
import SimpleITK as sitk

import spatial_xr
from spatial_xr.geometry import rotation_matrix

img = sitk.ReadImage(str(Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"))
turned = rotation_matrix(2, 25.0) @ np.reshape(img.GetDirection(), (3, 3))
img.SetDirection(turned.ravel().tolist())
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "anatomical.nrrd"
    sitk.WriteImage(img, str(path), useCompression=True)
    da = spatial_xr.open_image(path)
    fig = da.spatial.plot(figsize=(11, 4.0), pixel_mm=1.0)
    fig.suptitle(f"anatomical.nrrd in LPS world mm: the voxel grid is turned 25° about S "
                 f"(space directions), orientation {da.spatial.orientation}", fontsize=10)
    fig.savefig(Path(__file__).with_name("nrrd.png"), dpi=80)
