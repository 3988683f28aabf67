"""NIfTI writing details not covered by the round trips of test_read.py."""

from __future__ import annotations

import nibabel as nib
import numpy as np

import spatial_xr as sx
from spatial_xr.io.nifti.write import nifti_header


def test_a_selected_timepoint_leaves_a_scalar_t_coord_that_is_no_dim(tmp_path):
    data = np.arange(2 * 3 * 4 * 5 * 6, dtype=np.int16).reshape(2, 3, 4, 5, 6)
    da = sx.from_array(data, spacing=(2.0, 1.0, 0.5), dims=("t", "c", "z", "y", "x"))
    da = da.assign_coords(t=("t", [0.0, 3.0], {"units": "second"}))
    one = da.isel(t=1)  # keeps t as a scalar coord
    assert "t" in one.coords and "t" not in one.dims
    path = tmp_path / "one.nii.gz"
    one.spatial.to_nifti(path)
    img = nib.load(path)
    assert img.shape == (6, 5, 4, 1, 3)
    np.testing.assert_array_equal(np.asarray(img.dataobj)[:, :, :, 0, :],
                                  data[1].transpose(3, 2, 1, 0))
    assert nifti_header(one).get_data_shape() == (6, 5, 4, 1, 3)
    assert float(nifti_header(da)["pixdim"][4]) == 3.0
