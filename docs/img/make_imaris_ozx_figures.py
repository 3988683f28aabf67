"""Draw the figures of docs/imaris-ozx.md (run from the repository root:
python docs/img/make_imaris_ozx_figures.py):

- imaris-box.png: Imaris' voxel-corner box (ExtMin–ExtMax) and the voxel centres of three
  resolution levels along one axis;
- imaris-world.png / ozx-world.png: a synthetic light-sheet-like volume written as Imaris
  (3 levels) and as zipped OME-Zarr, reopened and shown in world micrometres — level 0 of
  the .ims and level 2 of the .ozx cover the same place.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import spatial_xr as sx

HERE = Path(__file__).parent

# ---------------------------------------------------------------- the box rule
ext_min, ext_max = 10.0, 26.0
fig, ax = plt.subplots(figsize=(7.0, 2.6), layout="constrained")
for row, n in enumerate((8, 4, 2)):
    spacing = (ext_max - ext_min) / n
    centres = ext_min + spacing / 2 + spacing * np.arange(n)
    for k in range(n + 1):
        ax.plot([ext_min + k * spacing] * 2, [row - 0.3, row + 0.3], color="0.7", lw=0.8)
    ax.plot(centres, [row] * n, "o", color="tab:blue", ms=5)
    ax.plot(centres[0], row, "o", color="tab:red", ms=7)
    ax.text(ext_max + 0.4, row, f"level {row}: {n} voxels, spacing {spacing:g} µm, "
            f"origin {centres[0]:g} µm", va="center", fontsize=8)
ax.axvline(ext_min, color="tab:orange", ls="--")
ax.axvline(ext_max, color="tab:orange", ls="--")
ax.text(ext_min, -0.8, "ExtMin0", color="tab:orange", ha="center", fontsize=8)
ax.text(ext_max, -0.8, "ExtMax0", color="tab:orange", ha="center", fontsize=8)
ax.set_xlim(ext_min - 1, ext_max + 17)
ax.set_ylim(2.6, -1.1)
ax.set_yticks([])
ax.set_xlabel("world x (µm); red: origin = centre of voxel 0")
ax.set_title("Imaris stores the voxel-corner box; spacing = box / voxels, "
             "origin = ExtMin + spacing/2", fontsize=9)
fig.savefig(HERE / "imaris-box.png", dpi=110)
plt.close(fig)

# ---------------------------------------------------------------- world views
rng = np.random.default_rng(7)
shape = (48, 160, 160)
zz, yy, xx = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
volume = np.zeros(shape, np.float32)
for _ in range(40):  # nuclei: anisotropic Gaussian blobs (z spacing 4x coarser)
    cz, cy, cx = rng.uniform((6, 20, 20), (42, 140, 140))
    r = rng.uniform(6, 12)
    volume += np.exp(-(((zz - cz) * 4) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
image = sx.from_array((volume / volume.max() * 4000).astype(np.uint16),
                      spacing=(2.0, 0.5, 0.5), origin=(120.0, -35.0, 8.0), units="micrometer")
with tempfile.TemporaryDirectory() as tmp:
    image.spatial.to_imaris(Path(tmp) / "nuclei.ims", pyramid=True, levels=3)
    image.spatial.to_ozx(Path(tmp) / "nuclei.ozx", levels=3)
    ims = sx.open_image(Path(tmp) / "nuclei.ims")
    ozx = sx.open_image(Path(tmp) / "nuclei.ozx", level=2)
    centre = ims.spatial.index_to_world({"z": 24, "y": 80, "x": 80})
    for da, name in ((ims, "imaris-world.png"), (ozx, "ozx-world.png")):
        shown = da.rename(f"{name.split('-')[0]}: {dict(da.sizes)}").compute()
        fig = shown.spatial.plot(centre, cmap="magma", figsize=(12.0, 4.0))
        fig.savefig(HERE / name, dpi=80)
        plt.close(fig)
