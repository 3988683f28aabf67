"""Draw docs/img/microscopy.png: a synthetic fluorescence volume written as a pyramidal
OME-TIFF (z 2 µm, y and x 0.5 µm, stage position as origin), opened lazily and shown in
world micrometres (run from the repository root: python docs/img/make_microscopy_figure.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np

import spatial_xr

rng = np.random.default_rng(3)
shape = (40, 200, 240)  # z, y, x
spacing = (2.0, 0.5, 0.5)  # µm
zz, yy, xx = (np.arange(n) * s for n, s in zip(shape, spacing, strict=True))
volume = np.zeros(shape, np.float32)
for _ in range(25):  # nuclei: ellipsoids of ~6 µm radius
    c = [rng.uniform(8, 72), rng.uniform(10, 90), rng.uniform(10, 110)]
    r = rng.uniform(4, 8, size=3)
    d = (((zz[:, None, None] - c[0]) / (r[0] * 1.5)) ** 2
         + ((yy[None, :, None] - c[1]) / r[1]) ** 2 + ((xx[None, None, :] - c[2]) / r[2]) ** 2)
    volume += 2000 * np.exp(-d ** 2)
volume = rng.poisson(volume + 100).astype(np.uint16)
da = spatial_xr.from_array(volume, spacing=spacing, origin=(1250.0, 830.0, 40.0),
                           units="micrometer")
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "nuclei.ome.tif"
    da.spatial.to_ome_tiff(path, tile=(128, 128))
    opened = spatial_xr.open_image(path)
    fig = opened.spatial.plot(max_pixels=400)
    fig.suptitle("OME-TIFF in world coordinates: origin (1250, 830, 40) µm from the "
                 "plane positions, spacing 0.5 × 0.5 × 2 µm", fontsize=10)
    fig.savefig(Path(__file__).with_name("microscopy.png"), dpi=90)
