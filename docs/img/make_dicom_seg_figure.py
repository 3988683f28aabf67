"""Draw docs/img/dicom-seg.png: pydicom-data's liver.dcm (a DICOM SEG of a liver, three
512 × 512 frames) opened with spatial_xr and shown in LPS world millimetres (run from the
repository root: python docs/img/make_dicom_seg_figure.py)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pydicom.data

import spatial_xr

seg = spatial_xr.open_image(pydicom.data.get_testdata_file("liver.dcm"))
inside = np.argwhere(seg.values[1] > 0).mean(axis=0)  # a point in the liver, middle frame
point = seg.spatial.index_to_world({"z": 1, "y": inside[0], "x": inside[1]})
fig = seg.spatial.plot(point, figsize=(11, 4.0), pixel_mm=0.8, cmap="magma", vmin=0, vmax=1)
fig.suptitle("liver.dcm (DICOM SEG, segment 'Liver') in LPS world mm: label image, "
             "nearest-neighbour display", fontsize=10)
fig.savefig(Path(__file__).with_name("dicom-seg.png"), dpi=80)
