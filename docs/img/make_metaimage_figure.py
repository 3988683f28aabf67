"""Draw docs/img/metaimage.png: the demo phantom on its oblique grid, written as .mha by
SimpleITK, opened with spatial_xr and drawn in world coordinates (run from the repository
root: python docs/img/make_metaimage_figure.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import SimpleITK as sitk

import spatial_xr
from spatial_xr.demo import MARKERS_XYZ, make_phantom

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "phantom.mha"
    sitk.WriteImage(make_phantom().spatial.to_sitk(), str(path), useCompression=True)
    da = spatial_xr.open_image(path)
    fig = da.spatial.plot(point=MARKERS_XYZ[0], figsize=(10.0, 4.2), vmin=-1100, vmax=1100)
    fig.suptitle("phantom.mha (written by SimpleITK, 20° × 10° oblique grid) in LPS world mm",
                 fontsize=10, y=0.99)
    out = Path(__file__).with_name("metaimage.png")
    fig.savefig(out, dpi=72)
    print(f"wrote {out}")
