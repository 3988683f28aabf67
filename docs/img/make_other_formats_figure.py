"""Draw docs/img/other-formats.png: nibabel's MINC 2 test file small.mnc, opened through the
SimpleITK fallback, in world coordinates (run from the repository root:
python docs/img/make_other_formats_figure.py)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import nibabel

import spatial_xr

path = Path(nibabel.__file__).parent / "tests" / "data" / "small.mnc"
da = spatial_xr.open_image(path)
fig = da.spatial.plot(figsize=(12.0, 4.4))
fig.suptitle(f"{path.name} (MINC 2, via SimpleITK): {da.spatial.orientation}, spacing "
             f"{da.spatial.spacing_xyz.tolist()} mm, LPS world")
fig.savefig(Path(__file__).with_name("other-formats.png"), dpi=90)
