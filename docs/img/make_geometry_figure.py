"""Draw docs/img/geometry.png: voxel centres, origin, spacing and direction of an oblique
2-D grid in LPS (run from the repository root: python docs/img/make_geometry_figure.py)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from spatial_xr.geometry import Grid

angle = np.deg2rad(25.0)
direction = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
grid = Grid((5, 3), spacing_xyz=(2.0, 3.0), origin_xyz=(4.0, 2.0), direction_xyz=direction)

fig, ax = plt.subplots(figsize=(6.4, 5.2))
ii, jj = np.meshgrid(np.arange(5), np.arange(3), indexing="ij")
centres = grid.index_to_world(np.stack([ii.ravel(), jj.ravel()], -1))
for i in range(5):
    for j in range(3):
        box = [[i - .5, j - .5], [i + .5, j - .5], [i + .5, j + .5], [i - .5, j + .5]]
        corners = grid.index_to_world(np.array([*box, box[0]]))
        ax.plot(corners[:, 0], corners[:, 1], color="0.75", lw=0.8)
ax.plot(centres[:, 0], centres[:, 1], "o", color="tab:blue", ms=4, label="voxel centres")
o = grid.origin_xyz
ax.plot(*o, "o", color="tab:red", ms=7, label="origin O = centre of voxel (0, 0)")
for a, (name, colour) in enumerate([("x axis: D[:, 0]·S_x", "tab:green"),
                                    ("y axis: D[:, 1]·S_y", "tab:purple")]):
    v = direction[:, a] * grid.spacing_xyz[a]
    ax.annotate("", o + v, o, arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
    ax.text(*(o + 1.15 * v), name, color=colour, fontsize=9)
lo, hi = grid.bounds
ax.add_patch(plt.Rectangle(lo, *(hi - lo), fill=False, ls="--", color="tab:orange",
                           label="bounds (corner box)"))
ax.set_xlabel("world x (mm) → L")
ax.set_ylabel("world y (mm) → P")
ax.set_aspect("equal")
ax.invert_yaxis()
ax.set_title("P = O + D · diag(S) · I   (LPS, mm)")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
fig.savefig(Path(__file__).with_name("geometry.png"), dpi=110)
