"""Draw docs/img/rtstruct-segnrrd.png: the chest CT and the segmentation 3D Slicer saved
for it (both shipped by slicerio), the segmentation written as an RTSTRUCT and its
contour points drawn at their world positions over the label voxels, in LPS world
millimetres (run from the repository root:
python docs/img/make_rtstruct_segnrrd_figure.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pydicom
import slicerio

import spatial_xr
from spatial_xr.plot import orthogonal_slice

data = Path(slicerio.__file__).parent / "data"
ct = spatial_xr.open_image(data / "CTChest4.nrrd")
labels = spatial_xr.open_image(data / "Segmentation.seg.nrrd")
segments = labels.attrs["segments"]
z_mm = -180.25  # a slice of the grid
point = np.array([0.0, 0.0, z_mm])
with tempfile.TemporaryDirectory() as tmp:
    rt = labels.spatial.to_rtstruct(Path(tmp) / "structures.dcm")
    ds = pydicom.dcmread(rt)
    contours = {int(rc.ReferencedROINumber): [
        np.asarray(c.ContourData, float).reshape(-1, 3) for c in rc.ContourSequence]
        for rc in ds.ROIContourSequence if "ContourSequence" in rc}
    back = spatial_xr.open_image(rt, reference=ct, combine=True)
    assert np.array_equal(back.values, labels.values)

fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
image, hs, vs = orthogonal_slice(ct, "axial", point)
lab, _, _ = orthogonal_slice(labels, "axial", point, order=0)
extent = (hs[0], hs[-1], vs[0], vs[-1])
colours = np.zeros((int(np.nanmax(lab)) + 1, 4))
for s in segments:
    colours[s["number"]] = [*(np.array(s["color"]) / 255), 0.45]
overlay = colours[np.nan_to_num(lab).astype(int)]
for ax, title in zip(axes, ("seg.nrrd labels (voxels)", "RTSTRUCT written from them "
                            "(contour points)"), strict=True):
    ax.imshow(image, cmap="gray", vmin=-1000, vmax=600, origin="lower", extent=extent)
    if ax is axes[0]:
        ax.imshow(overlay, origin="lower", extent=extent, interpolation="nearest")
    else:
        for s in segments:
            for pts in contours.get(s["number"], []):
                if abs(pts[0, 2] - z_mm) < 1e-3:
                    closed = np.vstack([pts, pts[:1]])
                    ax.plot(closed[:, 0], closed[:, 1], color=np.array(s["color"]) / 255,
                            lw=1.0)
    ax.invert_yaxis()
    ax.set_xlabel("x (mm, LPS)")
    ax.set_ylabel("y (mm, LPS)")
    ax.set_title(f"{title}, z = {z_mm} mm", fontsize=10)
fig.suptitle("Slicer's chest CT segmentation in LPS world mm: label voxels and the "
             "RTSTRUCT contours written from them coincide", fontsize=10)
fig.savefig(Path(__file__).with_name("rtstruct-segnrrd.png"), dpi=80)
