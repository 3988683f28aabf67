"""Write ``msi.ome.zarr`` (next to this script) with multiscale-spatial-image.

multiscale-spatial-image 2.1.0 pins dask<2026, xarray<2026 and ngff-zarr<0.19, so it
cannot be installed next to this project's test dependencies; the store was written once
with it installed without those pins (``pip install --no-deps multiscale-spatial-image
spatial-image xarray-dataclass``) and is kept here. Run: ``python make_msi_store.py
OUT``.
"""
import shutil
import sys

import multiscale_spatial_image as msi
import numpy as np
import spatial_image as si

out = sys.argv[1]
arr = (np.arange(8 * 16 * 12, dtype=np.int64).reshape(8, 16, 12) * 7 % 1000).astype(np.int16)
img = si.to_spatial_image(arr, dims=("z", "y", "x"), scale={"z": 2.5, "y": 0.75, "x": 0.5},
                          translation={"z": 10.0, "y": -5.0, "x": 3.0},
                          axis_units={"z": "millimeter", "y": "millimeter", "x": "millimeter"},
                          name="image")
ms = msi.to_multiscale(img, scale_factors=[2, 4])
shutil.rmtree(out, ignore_errors=True)
ms.msi.to_zarr(out)
