"""Draw docs/img/niftizarr.png: nibabel's oblique example4d.nii.gz (an fMRI run) converted
to NIfTI-Zarr by the reference implementation (niizarr's nii2zarr), opened with
spatial_xr and shown in LPS world millimetres, level 0 and level 1 (run from the
repository root: python docs/img/make_niftizarr_figure.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from nibabel.testing import data_path
from niizarr import nii2zarr

import spatial_xr

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "example4d.nii.zarr"
    nii2zarr(str(Path(data_path) / "example4d.nii.gz"), str(path))
    tree = spatial_xr.open_multiscale(path)
    panels = []
    for k in (0, 1):
        da = tree[f"scale{k}"]["image"].isel(t=0)
        fig = da.spatial.plot(figsize=(11, 3.6), pixel_mm=1.0)
        fig.suptitle(f"level {k}: {dict(da.sizes)}, spacing "
                     f"{[round(float(s), 2) for s in da.spatial.grid.spacing_xyz]} mm (x, y, z), "
                     f"orientation {da.spatial.orientation}", fontsize=10)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        panels.append(canvas.buffer_rgba())
    out, axes = plt.subplots(2, 1, figsize=(11, 7.4))
    for ax, panel in zip(axes, panels, strict=True):
        ax.imshow(panel)
        ax.set_axis_off()
    out.suptitle("example4d.nii.zarr written by niizarr, opened with spatial_xr: the header's "
                 "oblique affine in LPS world mm", fontsize=11)
    out.tight_layout()
    out.savefig(Path(__file__).with_name("niftizarr.png"), dpi=80)
